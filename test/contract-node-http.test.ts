import { describeContractMatrix } from './support/matrix.js';

describeContractMatrix('node-http');
