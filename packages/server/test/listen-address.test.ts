/**
 * Where `stackbench serve` makes an app listen: loopback unless --host says otherwise (with a warning), whatever
 * HOST or STACKBENCH_HOST the shell exports. Through the real CLI and the compiled app.
 */
import { createTestDatabase, type TestDatabase } from '@stackbench/test-support/db';
import { exited, runCli, startCli } from '@stackbench/test-support/cli';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('stackbench serve', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('serve_host');
  });
  afterAll(() => db?.drop());

  async function serve(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
    const run = await startCli(['serve', '--app', 'node-http', '--port', '0', ...args], { DATABASE_URL: db.url, ...env }, /verify it: .*\n/);
    run.child.kill('SIGINT');
    expect(await exited(run.child)).toBe(0);
    return run.output();
  }

  it('listens on 127.0.0.1 by default, even with HOST and STACKBENCH_HOST exported as 0.0.0.0', async () => {
    const out = await serve([], { HOST: '0.0.0.0', STACKBENCH_HOST: '0.0.0.0' });
    expect(out).toMatch(/\[node-http\] listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(out).not.toContain('warning');
  });

  it('listens elsewhere only with --host, and warns', async () => {
    const out = await serve(['--host', '0.0.0.0']);
    expect(out).toContain('warning: --host 0.0.0.0 is not a loopback address: the app is reachable from other machines');
    expect(out).toMatch(/\[node-http\] listening on http:\/\/0\.0\.0\.0:\d+/);
    // The suggested check goes through loopback, which verify accepts.
    expect(out).toMatch(/verify it: {2}npx stackbench verify --url http:\/\/127\.0\.0\.1:\d+/);
  });

  it('refuses a --host that is not an address, with one line', async () => {
    const result = await runCli(['serve', '--app', 'node-http', '--host', 'my laptop'], { DATABASE_URL: db.url });
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe('stackbench serve: --host must be an IP address or localhost, got "my laptop"');
  });
});
