import type { PipeTransform } from '@nestjs/common';
import type { LabQuery } from '@stackbench/lab';

/**
 * A lab route's query string through the lab's own parser (its patterns, ranges and fixed messages): the typed query,
 * or the parser's ApiError, which the exception filter answers as the contract's 400. Built per route with its
 * parser (`@Query(new LabQueryPipe(parseWaitQuery))`), not by the injector.
 */
export class LabQueryPipe<T> implements PipeTransform<LabQuery, T> {
  constructor(private readonly parse: (query: LabQuery) => T) {}

  transform(query: LabQuery): T {
    return this.parse(query);
  }
}
