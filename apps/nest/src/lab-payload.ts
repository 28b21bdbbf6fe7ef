import {
  ClassSerializerInterceptor,
  Injectable,
  type CallHandler,
  type ClassSerializerContextOptions,
  type ExecutionContext,
  type NestInterceptor,
  type PlainLiteralObject,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { errors, type Product, type ProductPage } from '@stackbench/contract';
import { IsArray, IsInt, IsNotEmpty, IsString, Min, ValidateIf, ValidateNested, validate } from 'class-validator';
import { mergeMap, type Observable } from 'rxjs';

/**
 * The payload lab's serializations in Nest (package.json `labVariants.payload`), all sent by the platform's
 * JSON.stringify, all the same bytes:
 * - `plain`: the store's plain objects, returned as they are;
 * - `class-serializer`: entity class instances, turned back into plain objects by ClassSerializerInterceptor
 *   (class-transformer's instanceToPlain), the way Nest's serialization docs do it;
 * - `validated-dto`: response DTO instances checked with class-validator before they are sent.
 */
export const PAYLOAD_VARIANTS = ['plain', 'class-serializer', 'validated-dto'] as const;
export type PayloadVariant = (typeof PAYLOAD_VARIANTS)[number];

export class ProductEntity implements Product {
  id!: number;
  name!: string;
  priceCents!: number;
  stock!: number;
  sold!: number;

  constructor(product: Product) {
    Object.assign(this, product);
  }
}

export class ProductPageEntity implements ProductPage {
  items!: ProductEntity[];
  nextAfter!: number | null;

  constructor(page: ProductPage) {
    this.items = page.items.map((p) => new ProductEntity(p));
    this.nextAfter = page.nextAfter;
  }
}

export class ProductDto implements Product {
  @IsInt()
  @Min(1)
  id!: number;

  @IsString()
  @IsNotEmpty()
  name!: string;

  @IsInt()
  @Min(0)
  priceCents!: number;

  @IsInt()
  @Min(0)
  stock!: number;

  @IsInt()
  @Min(0)
  sold!: number;

  constructor(product: Product) {
    Object.assign(this, product);
  }
}

export class ProductPageDto implements ProductPage {
  @IsArray()
  @ValidateNested({ each: true })
  items!: ProductDto[];

  @ValidateIf((page: ProductPageDto) => page.nextAfter !== null)
  @IsInt()
  @Min(1)
  nextAfter!: number | null;

  constructor(page: ProductPage) {
    this.items = page.items.map((p) => new ProductDto(p));
    this.nextAfter = page.nextAfter;
  }
}

/** The page in the shape its variant sends. */
export function pageFor(variant: PayloadVariant, page: ProductPage): ProductPage {
  switch (variant) {
    case 'plain':
      return page;
    case 'class-serializer':
      return new ProductPageEntity(page);
    case 'validated-dto':
      return new ProductPageDto(page);
  }
}

/**
 * ClassSerializerInterceptor for entity instances only: it would otherwise walk the `plain` and `validated-dto`
 * pages too (instanceToPlain copies plain objects), charging them the class-serializer variant's cost.
 */
@Injectable()
export class EntitySerializerInterceptor extends ClassSerializerInterceptor {
  constructor(reflector: Reflector) {
    super(reflector);
  }

  override serialize(response: PlainLiteralObject | PlainLiteralObject[], options: ClassSerializerContextOptions): PlainLiteralObject | PlainLiteralObject[] {
    return response instanceof ProductPageEntity ? super.serialize(response, options) : response;
  }
}

/** Validates response DTOs before they are sent; a response that breaks its own rules is a 500, never sent. */
@Injectable()
export class ResponseValidationInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(
      mergeMap(async (body: unknown) => {
        if (body instanceof ProductPageDto) {
          const failures = await validate(body, { forbidUnknownValues: true });
          if (failures.length > 0) throw errors.internal();
        }
        return body;
      }),
    );
  }
}
