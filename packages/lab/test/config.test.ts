import { appMainPath, findApp, readLabConfig, readServerConfig } from '@stackbench/server';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The lab configuration as @stackbench/server reads it from the environment (readServerConfig -> AppConfig.lab), and
 * what a bad one does to an app: one line, exit 1.
 */
const lab = (env: Record<string, string>) => readLabConfig({ STACKBENCH_LAB: '1', ...env })!;

describe('readLabConfig', () => {
  it('is off unless STACKBENCH_LAB=1, whatever else is set', () => {
    for (const value of [undefined, '', '0']) {
      expect(readLabConfig({ ...(value === undefined ? {} : { STACKBENCH_LAB: value }), STACKBENCH_LAB_CACHE: 'memory' })).toBeNull();
    }
    for (const value of ['yes', 'true', '2', ' 1']) expect(() => readLabConfig({ STACKBENCH_LAB: value })).toThrow(/^STACKBENCH_LAB must be 1/);
    expect(readServerConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db' }).lab).toBeNull();
  });

  it('defaults: no upstream, no cache, a 1000 ms TTL, no Redis', () => {
    expect(lab({})).toEqual({ upstream: null, cache: 'none', cacheTtlMs: 1000, redisUrl: null });
    expect(readServerConfig({ DATABASE_URL: 'postgres://x@127.0.0.1/db', STACKBENCH_LAB: '1' }).lab).toEqual(lab({}));
  });

  it('takes a loopback upstream and refuses any other', () => {
    for (const url of ['http://127.0.0.1:4000', 'http://localhost:4000/', 'http://[::1]:4000']) expect(lab({ STACKBENCH_LAB_UPSTREAM: url }).upstream).toBe(url);
    for (const url of ['http://10.0.0.2:4000', 'http://example.com', 'https://127.0.0.1:4000', 'http://127.1:4000', 'http://127.0.0.1:4000/slow', 'http://u:p@127.0.0.1:1', 'localhost:4000']) {
      expect(() => lab({ STACKBENCH_LAB_UPSTREAM: url }), url).toThrow(/^STACKBENCH_LAB_UPSTREAM must be http:\/\/<loopback host>/);
    }
  });

  it('takes the four cache modes and a TTL from 1 ms to an hour (whole seconds in http mode, where it is max-age)', () => {
    for (const cache of ['none', 'memory', 'http'] as const) expect(lab({ STACKBENCH_LAB_CACHE: cache, STACKBENCH_LAB_CACHE_TTL_MS: '2000' })).toMatchObject({ cache, cacheTtlMs: 2000 });
    expect(() => lab({ STACKBENCH_LAB_CACHE: 'disk' })).toThrow('STACKBENCH_LAB_CACHE must be one of none, memory, redis, http, got "disk"');
    expect(lab({ STACKBENCH_LAB_CACHE_TTL_MS: '1' }).cacheTtlMs).toBe(1);
    expect(lab({ STACKBENCH_LAB_CACHE_TTL_MS: '3600000' }).cacheTtlMs).toBe(3_600_000);
    for (const ttl of ['0', '01', '3600001', '1.5', '-1', '1e3', 'abc']) {
      expect(() => lab({ STACKBENCH_LAB_CACHE_TTL_MS: ttl }), ttl).toThrow(/^STACKBENCH_LAB_CACHE_TTL_MS must be an integer from 1 to 3600000/);
    }
    expect(() => lab({ STACKBENCH_LAB_CACHE: 'http', STACKBENCH_LAB_CACHE_TTL_MS: '1500' })).toThrow(/whole seconds in http mode/);
  });

  it('needs a loopback redis:// REDIS_URL for the redis mode, and never echoes it (it may hold a password)', () => {
    expect(lab({ STACKBENCH_LAB_CACHE: 'redis', REDIS_URL: 'redis://:secret@127.0.0.1:6390/2' }).redisUrl).toBe('redis://:secret@127.0.0.1:6390/2');
    expect(lab({ STACKBENCH_LAB_CACHE: 'redis', REDIS_URL: 'redis://localhost' }).redisUrl).toBe('redis://localhost');
    expect(lab({ STACKBENCH_LAB_CACHE: 'memory', REDIS_URL: 'redis://10.0.0.1' }).redisUrl).toBeNull();
    for (const url of [undefined, '', 'redis://10.0.0.1:6379', 'rediss://127.0.0.1:6379', 'redis://127.1', 'http://127.0.0.1:6379', 'redis://:secret@example.com']) {
      let message = '';
      try {
        lab({ STACKBENCH_LAB_CACHE: 'redis', ...(url === undefined ? {} : { REDIS_URL: url }) });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, String(url)).toMatch(/^the redis cache mode needs REDIS_URL=redis:\/\//);
      expect(message).not.toContain('secret');
      expect(message).not.toContain('\n');
    }
  });
});

describe('an app started with a bad lab configuration', () => {
  it('prints one line and exits 1', async () => {
    const bad: Array<[Record<string, string>, RegExp]> = [
      [{ STACKBENCH_LAB_CACHE: 'disk' }, /^cannot start: STACKBENCH_LAB_CACHE must be one of none, memory, redis, http, got "disk"$/],
      [{ STACKBENCH_LAB_UPSTREAM: 'http://10.1.2.3:80' }, /^cannot start: STACKBENCH_LAB_UPSTREAM must be http:\/\/<loopback host>/],
      [{ STACKBENCH_LAB_CACHE: 'redis' }, /^cannot start: the redis cache mode needs REDIS_URL/],
    ];
    for (const app of ['node-http', 'fastify']) {
      for (const [env, line] of bad) {
        const child = spawn(process.execPath, [appMainPath(findApp(app))], {
          env: { PATH: process.env.PATH, DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', PORT: '0', STACKBENCH_LAB: '1', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c));
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
        expect(code, `${app} ${JSON.stringify(env)}`).toBe(1);
        expect(stdout).toBe('');
        expect(stderr.trimEnd().split('\n'), stderr).toHaveLength(1);
        expect(stderr.trimEnd()).toMatch(line);
      }
    }
  });
});
