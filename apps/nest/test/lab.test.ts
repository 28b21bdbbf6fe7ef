import { describeLabApp } from '@stackbench/lab/testing/app-suite';

/** The lab routes on both platform adapters. */
describeLabApp('nest-express');
describeLabApp('nest-fastify');
