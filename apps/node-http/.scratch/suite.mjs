import { runContractSuite } from '@stackbench/contract/suite';
const r = await runContractSuite(process.argv[2], { onResult: (x) => console.log(x.ok ? 'ok  ' : 'FAIL', x.name, x.error ?? '', Math.round(x.ms)+'ms') });
console.log(r.passed, 'passed,', r.failed, 'failed');
