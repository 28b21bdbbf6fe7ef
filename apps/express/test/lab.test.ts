import { describeLabApp } from '@stackbench/lab/testing/app-suite';

describeLabApp('express');
