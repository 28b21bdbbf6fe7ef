import { describeContractMatrix } from '@stackbench/test-support/matrix';

describeContractMatrix('node-http');
