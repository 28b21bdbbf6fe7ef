import { AFTER_PATTERN, ID_PATTERN, INT32_MAX, LIMIT_PATTERN } from '@stackbench/contract';
import { IsDefined, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';

/**
 * Request DTOs. Path and query values are strings on the wire: they are validated as strings against the
 * contract's canonical patterns and converted by the controllers, never coerced (no implicit conversion).
 * Body fields are JSON values: `"1"` is not an integer.
 */

/** `/products/:id`, `/orders/:id`. */
export class IdParams {
  @Matches(new RegExp(ID_PATTERN))
  id!: string;
}

/** `GET /products?limit&after`. A repeated parameter arrives as an array and fails `@Matches`. */
export class ListProductsQuery {
  @IsOptional()
  @Matches(new RegExp(LIMIT_PATTERN))
  limit?: string;

  @IsOptional()
  @Matches(new RegExp(AFTER_PATTERN))
  after?: string;
}

/** `POST /orders`. */
export class PlaceOrderBody {
  @IsDefined()
  @IsInt()
  @Min(1)
  @Max(INT32_MAX)
  productId!: number;

  @IsDefined()
  @IsInt()
  @Min(1)
  @Max(100)
  quantity!: number;
}
