import { Controller, Get, Inject } from '@nestjs/common';
import { errors, type Store } from '@stackbench/contract';
import { STORE } from './store.module.js';

@Controller('health')
export class HealthController {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @Get()
  async check(): Promise<{ status: 'ok' }> {
    try {
      await this.store.ping();
    } catch {
      throw errors.unavailable();
    }
    return { status: 'ok' };
  }
}
