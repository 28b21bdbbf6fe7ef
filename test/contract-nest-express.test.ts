import { describeContractMatrix } from './support/matrix.js';

describeContractMatrix('nest-express');
