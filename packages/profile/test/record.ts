import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
// Types only: declares the databaseServerUrl the run's global setup provides.
import type {} from '@stackbench/test-support/global-setup';

export const fixtureFile = fileURLToPath(new URL('./fixtures/profiled-server.mjs', import.meta.url));

export interface RecordedProfile {
  /** The .cpuprofile text node wrote. */
  text: string;
  /** process.hrtime in the child (µs) when its script began and just before it exited. */
  childStartUs: number;
  childEndUs: number;
  /** HTTP status -> responses the child sent. */
  statuses: Map<number, number>;
}

/**
 * Runs the fixture server under `node --cpu-prof` against the test run's PostgreSQL, sends it real requests on
 * loopback, shuts it down and returns the profile node wrote on exit.
 */
export async function recordServerProfile(): Promise<RecordedProfile> {
  const dir = await mkdtemp(join(tmpdir(), 'stackbench-profile-'));
  try {
    const child = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=250', fixtureFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its queries read no table, so any database of the server does.
      env: { ...process.env, DATABASE_URL: inject('databaseServerUrl') },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const messages: Array<Record<string, number>> = [];
    const lines = createInterface({ input: child.stdout });
    const port = await new Promise<number>((resolve, reject) => {
      lines.on('line', (line) => {
        const message = JSON.parse(line) as Record<string, number>;
        messages.push(message);
        if (message.port) resolve(message.port);
      });
      void exited.then((code) => reject(new Error(`fixture exited (${code}) before listening: ${stderr}`)));
    });

    const base = `http://127.0.0.1:${port}`;
    const statuses = new Map<number, number>();
    const send = async (path: string, body?: unknown) => {
      const res = await fetch(base + path, {
        method: body === undefined ? 'GET' : 'POST',
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      await res.arrayBuffer();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    };
    const requests: Array<() => Promise<void>> = [];
    for (let i = 0; i < 400; i++) requests.push(() => send(`/products?count=${20 + (i % 60)}`));
    for (let i = 0; i < 200; i++) requests.push(() => send('/orders', { productId: 1 + (i % 50), quantity: 1 }));
    for (let i = 0; i < 20; i++) requests.push(() => send('/orders', { productId: 0 }));
    // Four at a time: the server is busy, yet waits on the network now and then (idle frames).
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < requests.length) await requests[next++]!();
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 100)); // some idle time before the end
    await send('/shutdown', {});

    const code = await exited;
    if (code !== 0) throw new Error(`fixture exited with ${code}: ${stderr}`);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    if (files.length !== 1) throw new Error(`expected one .cpuprofile in ${dir}, found ${files.join(', ') || 'none'}`);
    const start = messages.find((m) => m.startUs !== undefined);
    const end = messages.find((m) => m.endUs !== undefined);
    if (!start || !end) throw new Error(`fixture did not report its clock: ${JSON.stringify(messages)}`);
    return { text: await readFile(join(dir, files[0]!), 'utf8'), childStartUs: start.startUs!, childEndUs: end.endUs!, statuses };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
