import { describeContractMatrix } from '@stackbench/test-support/matrix';

describeContractMatrix('nest-express');
