import { Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { LabConfig, Store } from '@stackbench/contract';
import { acquireUpstreamClient, acquireWorkPool, createLabCache, Lab, type LabCache, type UpstreamClient, type WorkPool } from '@stackbench/lab';
import { EntitySerializerInterceptor, PAYLOAD_VARIANTS, ResponseValidationInterceptor } from './lab-payload.js';
import { LabController } from './lab.controller.js';
import { LAB, LAB_CACHE, LAB_UPSTREAM, WORK_POOL } from './lab.tokens.js';
import { STORE } from './store.module.js';

/** Closes the lab (its cache connection, pool and upstream leases) once the HTTP server has stopped. */
@Injectable()
class LabLifecycle implements OnApplicationShutdown {
  constructor(@Inject(LAB) private readonly lab: Lab) {}

  async onApplicationShutdown(): Promise<void> {
    await this.lab.close();
  }
}

/**
 * The lab routes, only in an app started for a lab. Global, so that the store provider (StoreModule) finds the cache
 * and wraps the store with it: every controller, the commerce ones included, then reads through the cache.
 */
@Module({})
export class LabModule {
  static register(config: LabConfig): DynamicModule {
    return {
      module: LabModule,
      global: true,
      controllers: [LabController],
      providers: [
        { provide: LAB_CACHE, useFactory: (): LabCache => createLabCache(config) },
        // A lease on the process's piscina pool: its threads start with the first offloaded task.
        { provide: WORK_POOL, useFactory: (): WorkPool => acquireWorkPool() },
        { provide: LAB_UPSTREAM, useFactory: (): UpstreamClient | null => (config.upstream ? acquireUpstreamClient(config.upstream) : null) },
        {
          provide: LAB,
          useFactory: (store: Store, cache: LabCache, pool: WorkPool, upstream: UpstreamClient | null) =>
            new Lab({ config, store, cache, pool, upstream, payloadVariants: PAYLOAD_VARIANTS }),
          inject: [STORE, LAB_CACHE, WORK_POOL, LAB_UPSTREAM],
        },
        LabLifecycle,
        EntitySerializerInterceptor,
        ResponseValidationInterceptor,
      ],
      exports: [LAB, LAB_CACHE],
    };
  }
}
