import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { errors, type Order, type Store } from '@stackbench/contract';
import { IdParams, PlaceOrderBody } from './dto.js';
import { STORE } from './store.module.js';
import { JsonObjectPipe, strictValidation } from './validation.js';

@Controller('orders')
export class OrdersController {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @Post()
  @HttpCode(201)
  async place(@Body(JsonObjectPipe, strictValidation) body: PlaceOrderBody): Promise<Order> {
    const { productId, quantity } = body;
    const result = await this.store.placeOrder({ productId, quantity });
    if (result.status === 'product_not_found') throw errors.productNotFound(productId);
    if (result.status === 'insufficient_stock') throw errors.insufficientStock(productId, result.available);
    return result.order;
  }

  @Get(':id')
  async get(@Param(strictValidation) params: IdParams): Promise<Order> {
    const id = Number(params.id);
    const order = await this.store.getOrder(id);
    if (!order) throw errors.orderNotFound(id);
    return order;
  }
}
