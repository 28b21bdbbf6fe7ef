import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

/**
 * The Docker files for users with Docker: the shares of the source articles, nothing published but on loopback,
 * compiled JS in the image. Parsed here on every machine; also checked by `docker compose config` where the Compose
 * plugin exists (this build machine has only the Docker client: that check says so and is skipped).
 */

const infra = fileURLToPath(new URL('../infra/', import.meta.url));
const compose = parse(readFileSync(join(infra, 'docker-compose.yml'), 'utf8'));
const scale = parse(readFileSync(join(infra, 'docker-compose.scale.yml'), 'utf8'));

function composeAvailable(): string | null {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'pipe', timeout: 10_000 });
    return null;
  } catch (err) {
    return `docker compose is not available here (${(err as Error).message.split('\n')[0]})`;
  }
}

describe('infra/docker-compose.yml', () => {
  it('runs the app, PostgreSQL and nginx in the articles\' shares, publishing only loopback ports', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['app', 'nginx', 'postgres', 'seed']);
    expect(compose.services.app.deploy.resources.limits).toEqual({ cpus: '1', memory: '512m' });
    expect(compose.services.postgres.deploy.resources.limits).toEqual({ cpus: '2', memory: '1g' });
    const ports = Object.values(compose.services as Record<string, { ports?: string[] }>).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^127\.0\.0\.1:/);
    expect(compose.services.app.ports).toBeUndefined();
    expect(compose.services.postgres.command).toContain('max_connections=400');
  });

  it('scales the app to three instances of 1 CPU / 1 GiB each behind the same nginx', () => {
    expect(scale.services.app.deploy.replicas).toBe(3);
    expect(scale.services.app.deploy.resources.limits).toEqual({ cpus: '1', memory: '1g' });
    const nginx = readFileSync(join(infra, 'nginx.compose.conf'), 'utf8');
    expect(nginx).toMatch(/least_conn;/);
    expect(nginx).toMatch(/keepalive \d+;/);
    expect(nginx).toMatch(/proxy_set_header Connection "";/);
  });

  it('builds an image that runs compiled JS', () => {
    const dockerfile = readFileSync(join(infra, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/exec node \\?"\$APP_MAIN\\?"/);
    expect(dockerfile).not.toMatch(/tsx|ts-node/);
  });

  const missing = composeAvailable();
  it.skipIf(missing !== null)(`is valid for docker compose${missing ? ` (skipped: ${missing})` : ''}`, () => {
    for (const files of [['docker-compose.yml'], ['docker-compose.yml', 'docker-compose.scale.yml']]) {
      execFileSync('docker', ['compose', ...files.flatMap((f) => ['-f', join(infra, f)]), 'config', '--quiet'], { stdio: 'pipe' });
    }
  });
});
