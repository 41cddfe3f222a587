/**
 * What the Redis store costs: the same steady load on a server with `--store memory` and then on
 * one with `--store redis://…` (ratios of server CPU and RSS, redis-server's CPU, Redis memory
 * per live record), and whole session lifetimes on a fresh server and an empty Redis (scripts
 * and commands per lifetime, redis-server CPU per script, memory per tombstone).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { openFleet } from '../fleet';
import { sum } from '../generators';
import { cpuPercent, sampleProc, type ProcSample } from '../procstat';
import { delta, type RedisSnapshot, type RedisStats } from '../redis-stats';
import { startServer } from '../server-process';
import { finish, steady } from '../steady';
import type { LifetimeCost, Plan, StoreComparison } from '../types';

export interface RedisUnderTest {
  url: string;
  pid: number;
  stats: RedisStats;
}

export async function storeComparison(sessions: number, plan: Plan, log: (s: string) => void, redis: RedisUnderTest): Promise<StoreComparison> {
  const memory = (await finish(await steady('seqstream', sessions, 1000, plan, log, { extraArgs: ['--store', 'memory'] }))).result;
  await redis.stats.flush();
  const empty = await redis.stats.snapshot();
  const m: { a?: ProcSample; b?: ProcSample; full?: Promise<RedisSnapshot> } = {};
  const run = await steady('seqstream', sessions, 1000, plan, log, {
    extraArgs: ['--store', redis.url],
    onMeasure: (phase) => {
      if (phase === 'start') m.a = sampleProc(redis.pid);
      else {
        m.b = sampleProc(redis.pid);
        m.full = redis.stats.snapshot();
      }
    },
  });
  await finish(run);
  const withRecords = await m.full!;
  const r = run.result;
  const result: StoreComparison = {
    sessions,
    memory,
    redis: r,
    cpuRatio: r.cpuPercent / memory.cpuPercent,
    rssRatio: r.rssMiB / memory.rssMiB,
    redisCpuPercentSteady: cpuPercent(m.a!, m.b!),
    bytesPerStreamingRecord: (withRecords.usedMemoryBytes - empty.usedMemoryBytes) / sessions,
  };
  log(
    `store N=${sessions}: redis ÷ memory CPU ${result.cpuRatio.toFixed(2)}× (${r.cpuPercent.toFixed(1)} / ${memory.cpuPercent.toFixed(1)} %), RSS ${result.rssRatio.toFixed(2)}× (${r.rssMiB.toFixed(0)} / ${memory.rssMiB.toFixed(0)} MiB); redis-server ${result.redisCpuPercentSteady.toFixed(1)} % while streaming, ${result.bytesPerStreamingRecord.toFixed(0)} B per live record`,
  );
  return result;
}

/**
 * The lifetimes run's send interval: the seed's one second. A shorter one would end lifetimes
 * sooner but, at 10,000 sessions, ask more numbers per second than one process sends, and
 * measure an overloaded server instead of the store.
 */
const LIFETIME_INTERVAL_MS = 1000;

/**
 * `sessions` lifetimes on a fresh server (one number a second): HELLO, streaming, every connection
 * cut at once once all have opened, RESUME, END, ACK. Redis's counters over exactly that, on an
 * empty store, divided by the sessions completed.
 */
export async function lifetimeCost(sessions: number, plan: Plan, log: (s: string) => void, redis: RedisUnderTest): Promise<LifetimeCost> {
  const server = await startServer('seqstream', LIFETIME_INTERVAL_MS, ['--store', redis.url]);
  const rampMs = (1000 * sessions) / plan.rampPerSec;
  // Still streaming when the last one has opened and the cut comes: two seconds of numbers to spare.
  const length = Math.ceil((rampMs + 2000) / LIFETIME_INTERVAL_MS);
  try {
    await redis.stats.flush();
    const before = await redis.stats.snapshot();
    const fleet = await openFleet({ host: '127.0.0.1', port: server.port, sessions, intervalMs: LIFETIME_INTERVAL_MS, length }, plan);
    try {
      if (fleet.errors.length) throw new Error(fleet.errors.join('; '));
      await Promise.all(fleet.gens.map((g) => g.send({ type: 'measure' })));
      await Promise.all(fleet.gens.map((g) => g.send({ type: 'storm' })));
      const deadline = Date.now() + 60_000 + length * LIFETIME_INTERVAL_MS;
      let reports = await fleet.reports();
      while (sum(reports, 'completed') < sessions && Date.now() < deadline) {
        await sleep(200);
        reports = await fleet.reports();
      }
      // The END's ACK reaches the server a moment after the generator counted it: the last
      // writes (complete) land within a few ms; wait until Redis's counters stop moving.
      let after = await redis.stats.snapshot();
      for (let k = 0; k < 50; k++) {
        await sleep(100);
        const next = await redis.stats.snapshot();
        if (delta(after, next).scripts === 0) break;
        after = next;
      }
      const completed = sum(reports, 'completed');
      const d = delta(before, after);
      const result: LifetimeCost = {
        sessions,
        completed,
        redis: d,
        scriptsPerLifetime: d.scripts / completed,
        commandsPerLifetime: d.commands / completed,
        redisCpuUsPerScript: (1e6 * d.cpuSec) / d.scripts,
        bytesPerTombstone: d.usedMemoryBytes / completed,
        loss: sum(reports, 'gaps'),
        dup: sum(reports, 'dups'),
        rejects: sum(reports, 'rejects'),
      };
      const top = Object.entries(d.byCommand)
        .sort((x, y) => y[1] - x[1])
        .map(([c, n]) => `${c} ${(n / completed).toFixed(1)}`)
        .join(', ');
      log(
        `lifetimes: ${completed}/${sessions} completed (one cut and RESUME each), ${result.scriptsPerLifetime.toFixed(2)} scripts and ${result.commandsPerLifetime.toFixed(1)} Redis commands per lifetime (${top}); redis-server ${result.redisCpuUsPerScript.toFixed(1)} µs CPU per script (${(d.scriptExecUsec / d.scripts).toFixed(1)} µs executing it), ${result.bytesPerTombstone.toFixed(0)} B per tombstone; loss ${result.loss} dup ${result.dup} rejects ${result.rejects}`,
      );
      return result;
    } finally {
      await fleet.close();
    }
  } finally {
    await server.stop();
  }
}
