import { describeContractMatrix } from './support/matrix.js';

describeContractMatrix('fastify');
