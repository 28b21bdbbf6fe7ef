import { Module, RequestMethod, type DynamicModule, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import type { AppDeps, LabConfig } from '@stackbench/contract';
import { ContractExceptionFilter } from './contract-exception.filter.js';
import { HealthController } from './health.controller.js';
import { LabModule } from './lab.module.js';
import { OrdersController } from './orders.controller.js';
import { ProductsController } from './products.controller.js';
import { RequireJsonMiddleware } from './require-json.middleware.js';
import { StoreModule } from './store.module.js';

/** The commerce API: its controllers, the store they share, and the one exception filter; the lab's when started for one. */
@Module({})
export class ApiModule implements NestModule {
  static register(deps: AppDeps, lab: LabConfig | null = null): DynamicModule {
    return {
      module: ApiModule,
      imports: [StoreModule.forRoot(deps.store), ...(lab ? [LabModule.register(lab)] : [])],
      controllers: [HealthController, ProductsController, OrdersController],
      providers: [{ provide: APP_FILTER, useClass: ContractExceptionFilter }],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(RequireJsonMiddleware).forRoutes({ path: 'orders', method: RequestMethod.POST });
  }
}
