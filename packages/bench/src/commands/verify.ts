import { runContractSuite, send } from '@stackbench/contract/suite';
import { assertLoopbackUrl, CliError, parseFlags } from '../cli-support.js';

/** Runs the contract suite against a running server; exit 0 only when every check passes. */
export async function run(args: string[]): Promise<number> {
  const { values } = parseFlags(args, { url: { type: 'string' }, 'allow-remote': { type: 'boolean' } });
  if (!values.url) throw new CliError('usage: stackbench verify --url URL [--allow-remote]');
  const url = values['allow-remote'] ? new URL(values.url) : assertLoopbackUrl(values.url);
  try {
    await send(url.toString(), { method: 'GET', path: '/health' }, 5000);
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}`);
  }
  const report = await runContractSuite(url.toString(), {
    onResult: (r) => console.log(`${r.ok ? 'pass' : 'FAIL'}  ${r.name}${r.error ? `\n      ${r.error.split('\n').join('\n      ')}` : ''}`),
  }).catch((err: Error) => {
    throw new CliError(`cannot verify ${url}: ${err.message}`);
  });
  console.log(`${report.passed} passed, ${report.failed} failed`);
  return report.failed === 0 ? 0 : 1;
}
