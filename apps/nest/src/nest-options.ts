import type { NestApplicationOptions } from '@nestjs/common';
import type { AppConfig } from '@stackbench/contract';

/** Options shared by both platforms. */
export function nestOptions(config: AppConfig): NestApplicationOptions {
  return {
    logger: config.logger ? ['log', 'warn', 'error'] : false,
    // Body parsing is set up per platform: JSON only, at most MAX_BODY_BYTES.
    bodyParser: false,
    // Startup errors go to the caller instead of exiting the process.
    abortOnError: false,
  };
}
