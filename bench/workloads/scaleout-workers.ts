/**
 * One machine, `server --workers 2 --store redis://…`: as many sessions as two processes' open
 * files allow (~2 × 19,500 here) at one number a second. Measured per worker from /proc (the
 * workers are the primary's children): CPU, its share of the two, open files, RSS; and from the
 * clients: lateness and loss. The generators get a source address each, since one address
 * reaches one port only ~28,000 times (the ephemeral port range); each holds < 20,000 sockets.
 * A shortfall is reported with its reason, not failed.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { openFleet } from '../fleet';
import { merge, sum, summarize } from '../generators';
import { childrenOf, cpuPercent, openFiles, sampleProc, type ProcSample } from '../procstat';
import { startServer } from '../server-process';
import type { Plan, WorkersResult } from '../types';
import type { RedisUnderTest } from './scaleout-store';

const WORKERS = 2;

function openFileLimit(): string {
  try {
    return /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function portRange(): string {
  try {
    return readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().replace(/\s+/, '–');
  } catch {
    return 'unknown';
  }
}

export async function workersLoad(sessions: number, plan: Plan, log: (s: string) => void, redis: RedisUnderTest): Promise<WorkersResult> {
  await redis.stats.flush();
  const server = await startServer('seqstream', 1000, ['--store', redis.url, '--workers', String(WORKERS)]);
  try {
    const primary = server.child.pid!;
    const deadline = Date.now() + 15_000;
    let pids = childrenOf(primary);
    while (pids.length < WORKERS) {
      if (Date.now() > deadline) throw new Error(`only ${pids.length} of ${WORKERS} workers started`);
      await sleep(50);
      pids = childrenOf(primary);
    }
    await sleep(500); // every worker has called listen: the primary hands connections round robin
    const fleet = await openFleet({ host: '127.0.0.1', port: server.port, sessions, intervalMs: 1000, localAddress: (k) => `127.0.0.${11 + k}` }, plan);
    try {
      await sleep(plan.warmupMs);
      await Promise.all(fleet.gens.map((g) => g.send({ type: 'measure' })));
      const a = new Map<number, ProcSample>(pids.map((p) => [p, sampleProc(p)]));
      const pa = sampleProc(primary);
      await sleep(plan.measureMs);
      const b = new Map<number, ProcSample>(pids.map((p) => [p, sampleProc(p)]));
      const pb = sampleProc(primary);
      const reports = await fleet.reports();
      const cpu = pids.map((p) => cpuPercent(a.get(p)!, b.get(p)!));
      const total = cpu.reduce((x, y) => x + y, 0);
      const connected = reports.reduce((x, r) => x + r.connected, 0);
      const lateness = summarize(merge(reports, 'lateness'));
      const shortfall =
        connected >= sessions
          ? ''
          : `${fleet.errors.join('; ') || 'sessions dropped during the run'} (open-file limit ${openFileLimit()} per process, ephemeral ports ${portRange()} per source address)`;
      const result: WorkersResult = {
        target: sessions,
        reached: connected,
        shortfall,
        generators: fleet.gens.length,
        workers: pids.map((pid, k) => ({ pid, cpuPercent: cpu[k], share: total ? cpu[k] / total : 0, openFiles: openFiles(pid), rssMiB: b.get(pid)!.rssBytes / 2 ** 20 })),
        primaryCpuPercent: cpuPercent(pa, pb),
        lateness,
        numbersPerSec: sum(reports, 'received') / ((b.get(pids[0])!.at - a.get(pids[0])!.at) / 1000),
        loss: sum(reports, 'gaps'),
        dup: sum(reports, 'dups'),
        badValues: sum(reports, 'badValues'),
        rejects: sum(reports, 'rejects'),
        connectedAtEnd: connected,
      };
      const w = result.workers.map((x) => `pid ${x.pid}: ${x.cpuPercent.toFixed(1)} % (${(100 * x.share).toFixed(0)} %), ${x.openFiles} files, ${x.rssMiB.toFixed(0)} MiB`).join('; ');
      log(
        `--workers ${WORKERS}: ${connected}/${sessions} sessions over ${result.generators} generators, ${result.numbersPerSec.toFixed(0)} numbers/s, lateness p50 ${lateness.p50Ms.toFixed(1)} p99 ${lateness.p99Ms.toFixed(1)} ms, loss ${result.loss} dup ${result.dup}; ${w}; primary ${result.primaryCpuPercent.toFixed(1)} %${shortfall ? `; SHORT: ${shortfall}` : ''}`,
      );
      return result;
    } finally {
      await fleet.close();
    }
  } finally {
    await server.stop();
  }
}
