import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { DEFAULT_AFTER, DEFAULT_LIMIT, errors, type Product, type ProductPage, type Store } from '@stackbench/contract';
import { IdParams, ListProductsQuery } from './dto.js';
import { STORE } from './store.module.js';
import { queryValidation, strictValidation } from './validation.js';

@Controller('products')
export class ProductsController {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @Get()
  list(@Query(queryValidation) query: ListProductsQuery): Promise<ProductPage> {
    return this.store.listProducts({
      limit: query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit),
      after: query.after === undefined ? DEFAULT_AFTER : Number(query.after),
    });
  }

  @Get(':id')
  async get(@Param(strictValidation) params: IdParams): Promise<Product> {
    const id = Number(params.id);
    const product = await this.store.getProduct(id);
    if (!product) throw errors.productNotFound(id);
    return product;
  }
}
