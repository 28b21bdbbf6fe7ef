import { Global, Inject, Injectable, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { Store } from '@stackbench/contract';
import { cachedStore, type LabCache } from '@stackbench/lab';
import { LAB_CACHE } from './lab.tokens.js';

/** Injection token of the data layer (an interface, so it needs a token of its own). */
export const STORE = Symbol('stackbench.store');

/** Closes the store once the HTTP server has stopped (`app.close()`); `Store.close()` is idempotent. */
@Injectable()
class StoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/**
 * Provides the store built by the caller (`deps.store`) to the whole application; in an app started for a lab, wrapped
 * once with the lab's cache (LabModule provides it).
 */
@Global()
@Module({})
export class StoreModule {
  static forRoot(store: Store): DynamicModule {
    return {
      module: StoreModule,
      providers: [
        {
          provide: STORE,
          useFactory: (cache: LabCache | undefined): Store => (cache ? cachedStore(store, cache) : store),
          inject: [{ token: LAB_CACHE, optional: true }],
        },
        StoreLifecycle,
      ],
      exports: [STORE],
    };
  }
}
