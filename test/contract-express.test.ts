import { describeContractMatrix } from './support/matrix.js';

describeContractMatrix('express');
