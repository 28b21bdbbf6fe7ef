import { describeLabApp } from '@stackbench/lab/testing/app-suite';

describeLabApp('node-http');
