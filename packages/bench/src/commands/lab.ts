import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { CliError } from '../cli-support.js';
import { labUsage, parseLabArgs, type LabConfig, type LabGroupRun } from '../labs/config.js';
import { runLab, type LabServices } from '../labs/run.js';
import { findProgram, startRedis, startUpstream, type Service, type UpstreamService } from '../services.js';
import { runConfigured } from './bench.js';

/**
 * Redis must be there before anything starts: a reachable loopback `REDIS_URL`, or `redis-server` on this machine.
 * Checked up front so a missing or unreachable Redis is one line and exit 1, not a failure after the database started.
 */
export async function checkLabServices(config: Pick<LabConfig, 'lab'>, env: NodeJS.ProcessEnv, find: (name: string) => string | null = findProgram): Promise<void> {
  if (!config.lab.groups.some((g) => g.plan.services.includes('redis'))) return;
  if (env.REDIS_URL) {
    await startRedis('', env); // with REDIS_URL: checks it is loopback and answers; starts nothing
    return;
  }
  if (!find('redis-server')) {
    throw new CliError('the redis cache mode needs Redis: install redis-server (Debian/Ubuntu: apt-get install redis-server) or set REDIS_URL to a loopback Redis; or leave redis out of --cache');
  }
}

/**
 * `stackbench lab <name>`: `bench`'s envelope, database, phases and report, with the lab's points instead of the
 * threshold search. Redis and the slow upstream are started when the first group needs them and stopped at the end
 * (and on Ctrl-C, by the shared shutdown handler).
 */
export async function run(args: string[]): Promise<number> {
  const config = await parseLabArgs(args);
  if (config === 'help') {
    console.log(labUsage(args[0] && !args[0].startsWith('-') ? args[0] : undefined));
    return 0;
  }
  await checkLabServices(config, process.env);
  const started: Service[] = [];
  let redis: Promise<Service> | undefined;
  let upstream: Promise<UpstreamService> | undefined;
  const dir = join(config.outDir, 'services');
  const services = async (group: LabGroupRun): Promise<LabServices> => {
    const env: Record<string, string> = {};
    let upstreamStats: LabServices['upstreamStats'] = null;
    if (group.plan.services.includes('redis')) {
      mkdirSync(dir, { recursive: true });
      redis ??= startRedis(dir).then((s) => (started.push(s), s));
      env.REDIS_URL = (await redis).url;
    }
    if (group.plan.services.includes('upstream')) {
      upstream ??= startUpstream().then((s) => (started.push(s), s));
      const u = await upstream;
      env.STACKBENCH_LAB_UPSTREAM = u.url;
      upstreamStats = (resetPeak) => u.stats(resetPeak);
    }
    return { env, upstreamStats };
  };
  try {
    return await runConfigured(config, (ctx) => runLab({ ...ctx, services }), `stackbench lab ${config.lab.definition.name}`);
  } finally {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  }
}
