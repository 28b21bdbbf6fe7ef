import { Controller, Get, Header, Headers, Inject, Param, Query, Res, UseInterceptors } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ProductPage } from '@stackbench/contract';
import {
  parseCpuQuery,
  parseFanoutQuery,
  parsePbkdf2Query,
  parseProductsQuery,
  parseWaitQuery,
  type CpuBody,
  type CpuQuery,
  type FanoutBody,
  type FanoutQuery,
  type Lab,
  type LabCacheStats,
  type Pbkdf2Body,
  type Pbkdf2Query,
  type ProductsQuery,
  type SimpleBody,
  type WaitBody,
  type WaitQuery,
} from '@stackbench/lab';
import { EntitySerializerInterceptor, pageFor, PAYLOAD_VARIANTS, ResponseValidationInterceptor, type PayloadVariant } from './lab-payload.js';
import { LabQueryPipe } from './lab-query.pipe.js';
import { LAB } from './lab.tokens.js';

/** The lab's routes; the work and the parsing are the lab's (@stackbench/lab), the controller only adapts them. */
@Controller('lab')
export class LabController {
  constructor(
    @Inject(LAB) private readonly lab: Lab,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  @Get('simple')
  simple(): SimpleBody {
    return this.lab.simple().body!;
  }

  @Get('wait')
  async wait(@Query(new LabQueryPipe(parseWaitQuery)) query: WaitQuery): Promise<WaitBody> {
    return (await this.lab.wait(query)).body!;
  }

  @Get('cpu')
  async cpu(@Query(new LabQueryPipe(parseCpuQuery)) query: CpuQuery): Promise<CpuBody> {
    return (await this.lab.cpu(query)).body!;
  }

  @Get('fanout')
  async fanout(@Query(new LabQueryPipe(parseFanoutQuery)) query: FanoutQuery): Promise<FanoutBody> {
    return (await this.lab.fanout(query)).body!;
  }

  @Get('pbkdf2')
  async pbkdf2(@Query(new LabQueryPipe(parsePbkdf2Query)) query: Pbkdf2Query): Promise<Pbkdf2Body> {
    return (await this.lab.pbkdf2(query)).body!;
  }

  @Get('products')
  @UseInterceptors(EntitySerializerInterceptor, ResponseValidationInterceptor)
  async products(@Query(new LabQueryPipe((q) => parseProductsQuery(q, PAYLOAD_VARIANTS))) query: ProductsQuery): Promise<ProductPage> {
    return pageFor(query.variant as PayloadVariant, (await this.lab.products(query)).body!);
  }

  /**
   * Status (200 or 304) and headers (cache-control, etag) depend on the cache mode and the request, so this route
   * writes its response itself, through the platform-neutral HTTP adapter.
   */
  @Get('cache/products/:id')
  async cacheProduct(@Param('id') id: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res() response: unknown): Promise<void> {
    const reply = await this.lab.cacheProduct(id, ifNoneMatch);
    const { httpAdapter } = this.adapterHost;
    for (const [name, value] of Object.entries(reply.headers)) httpAdapter.setHeader(response, name, value);
    httpAdapter.reply(response, reply.body, reply.status);
  }

  @Get('cache/stats')
  @Header('cache-control', 'no-store')
  stats(): LabCacheStats {
    return this.lab.cacheStats().body!;
  }
}
