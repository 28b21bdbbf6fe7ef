import { describeContractMatrix } from '@stackbench/test-support/matrix';

describeContractMatrix('fastify');
