/**
 * The scale-out family: sessions in a real redis-server, several processes, several nodes behind
 * a real HAProxy (the programs of cluster/, as the tests and the cluster demo run them).
 *   1. the same steady load with the memory store and with Redis (ratios), and whole lifetimes
 *      (Redis scripts, commands, CPU and memory per session);
 *   2. a reconnect storm through Redis;
 *   3. one of three nodes SIGKILLed behind HAProxy;
 *   4. one machine with `--workers 2` at two processes' worth of sessions.
 * One redis-server (no persistence: the figures are the store's, not the disk's) serves all
 * four, emptied between them.
 */
import { startRedis } from '../../cluster/redis-process';
import { cpuPercent, sampleProc, type ProcSample } from '../procstat';
import { delta, RedisStats, type RedisSnapshot } from '../redis-stats';
import type { Plan, ScaleoutResult } from '../types';
import { nodeFailure } from './scaleout-failover';
import { lifetimeCost, storeComparison, type RedisUnderTest } from './scaleout-store';
import { workersLoad } from './scaleout-workers';
import { stormOf } from './storm';

export async function scaleout(plan: Plan, log: (s: string) => void): Promise<ScaleoutResult> {
  log(`== 5. scale-out: Redis store, nodes behind HAProxy, --workers (${plan.mode})`);
  const server = await startRedis();
  const stats = new RedisStats(server.url);
  try {
    const { pid, version } = await stats.server();
    const redis: RedisUnderTest = { url: server.url, pid, stats };
    const result: ScaleoutResult = { redisVersion: version, store: null, lifetimes: null, storm: null, failover: null, workers: null };
    result.store = await storeComparison(plan.scaleoutSessions, plan, log, redis);
    result.lifetimes = await lifetimeCost(plan.scaleoutSessions, plan, log, redis);

    await stats.flush();
    const at: { cut?: ProcSample; settled?: ProcSample; before?: Promise<RedisSnapshot>; after?: Promise<RedisSnapshot> } = {};
    log(`storm of ${plan.scaleoutSessions} through Redis`);
    const storm = await stormOf(plan.scaleoutSessions, plan, log, {
      extraArgs: ['--store', server.url],
      onPhase: (phase) => {
        if (phase === 'cut') {
          at.cut = sampleProc(pid);
          at.before = stats.snapshot();
        } else {
          at.settled = sampleProc(pid);
          at.after = stats.snapshot();
        }
      },
    });
    const d = delta(await at.before!, await at.after!);
    result.storm = { ...storm, redisCpuSec: at.settled!.cpuSec - at.cut!.cpuSec, redisScripts: d.scripts };
    log(`  redis-server over the storm: ${result.storm.redisCpuSec.toFixed(2)} s CPU (${cpuPercent(at.cut!, at.settled!).toFixed(0)} % of a core), ${d.scripts} scripts`);

    result.failover = await nodeFailure(plan.failoverPerNode, plan, log, redis);
    result.workers = await workersLoad(plan.workersSessions, plan, log, redis);
    return result;
  } finally {
    await stats.close();
    await server.stop();
  }
}
