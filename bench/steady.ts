/**
 * The measurement every workload is made of: a fresh server, N sessions opened by the
 * generators, a warm-up, then one measured stretch read from /proc, the server's gc-watch and
 * the clients' histograms.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { GeneratorProc, merge, sum, summarize } from './generators';
import { generatorConfig } from './fleet';
import { cpuPercent, sampleProc } from './procstat';
import { startServer, type RunningServer } from './server-process';
import type { Plan, RampRecord, SeedResult, ServerKind } from './types';

export interface SteadyHooks {
  extraArgs?: string[];
  /** After the server is up, before any session opens. */
  onStarted?: () => Promise<void>;
  onMeasure?: (phase: 'start' | 'end') => void;
}

export interface SteadyRun {
  result: SeedResult;
  gens: GeneratorProc[];
  server: RunningServer;
}

/**
 * Opens `sessions` sessions against a fresh server, measures a steady stretch, and returns the
 * figures with the generators and the server still running (the storm goes on with them): the
 * caller ends them with `finish`.
 */
export async function steady(kind: ServerKind, sessions: number, intervalMs: number, plan: Plan, log: (s: string) => void, hooks: SteadyHooks = {}): Promise<SteadyRun> {
  const server = await startServer(kind, intervalMs, hooks.extraArgs);
  const onMeasure = hooks.onMeasure;
  const gens: GeneratorProc[] = [];
  try {
    await hooks.onStarted?.();
    await sleep(200);
    const idle = sampleProc(server.child.pid!);
    const nGen = Math.max(1, Math.ceil(sessions / plan.perGenerator));
    const per = Math.ceil(sessions / nGen);
    for (let g = 0; g < nGen; g++) gens.push(new GeneratorProc(kind));
    const cfg = (n: number) => generatorConfig('127.0.0.1', server.port, n, intervalMs, Math.ceil(plan.rampPerSec / nGen));
    // A ramp that falls short is a result, not a crash: the run goes on with what started, marked.
    const opened = await Promise.allSettled(gens.map((g, k) => g.send({ type: 'open', config: cfg(Math.min(per, sessions - k * per)) })));
    const outcomes = opened.map((o) => (o.status === 'fulfilled' && o.value.type === 'opened' ? o.value.outcome : undefined));
    const reached = (await Promise.all(gens.map((g) => g.report()))).reduce((a, r) => a + r.connected, 0);
    const rates = outcomes.filter((o) => o !== undefined).map((o) => o!.rampPerSec);
    const rampPerSec = rates.length ? rates.reduce((a, b) => a + b, 0) : null;
    const shortfall = opened
      .map((o, k) => (o.status === 'rejected' ? (o.reason as Error).message : (outcomes[k]?.shortfall ?? '')))
      .map((why, k) => (why && nGen > 1 ? `generator ${k + 1}: ${why}` : why))
      .filter(Boolean)
      .join('; ');
    const ramp = outcomes.filter((o) => o !== undefined) as NonNullable<(typeof outcomes)[number]>[];
    const retried = ramp.reduce((a, o) => a + o.retried, 0);
    const resumed = ramp.reduce((a, o) => a + o.resumedDuringRamp, 0);
    // Only when every generator said: a partial sum would pass for a calm ramp.
    const rampRecord: RampRecord | null =
      ramp.length === nGen
        ? {
            askedPerSec: Math.ceil(plan.rampPerSec / nGen) * nGen,
            minRatePerSec: ramp.reduce((a, o) => a + o.minRatePerSec, 0),
            retried,
            suspensions: resumed,
            heartbeatTimeouts: ramp.reduce((a, o) => a + (o.heartbeatTimeouts ?? 0), 0),
          }
        : null;
    if (shortfall || retried || resumed)
      log(
        `${kind.padEnd(9)} N=${String(sessions).padStart(5)} ramp: ${reached}/${sessions} started at ${rampPerSec?.toFixed(0) ?? '?'}/s (asked ${plan.rampPerSec}/s, backed off to ${rampRecord?.minRatePerSec.toFixed(0) ?? '?'}/s), ${retried} attempt(s) retried, ${resumed} suspended and resumed (${rampRecord?.heartbeatTimeouts ?? '?'} heartbeat timeouts)${shortfall ? ` — NOT REACHED: ${shortfall}` : ''}`,
      );
    await sleep(plan.warmupMs);
    await Promise.all(gens.map((g) => g.send({ type: 'measure' })));
    await server.stretch();
    onMeasure?.('start');
    const a = sampleProc(server.child.pid!);
    await sleep(plan.measureMs);
    const b = sampleProc(server.child.pid!);
    onMeasure?.('end');
    const own = await server.stretch();
    const reports = await Promise.all(gens.map((g) => g.report()));
    const lateness = summarize(merge(reports, 'lateness'));
    const result: SeedResult = {
      server: kind,
      sessions,
      intervalMs,
      reached,
      rampPerSec,
      shortfall,
      ramp: rampRecord,
      rssPerSessionKiB: (b.rssBytes - idle.rssBytes) / Math.max(1, reached) / 1024,
      rssMiB: b.rssBytes / 2 ** 20,
      cpuPercent: cpuPercent(a, b),
      lateness,
      numbersPerSec: sum(reports, 'received') / ((b.at - a.at) / 1000),
      loss: sum(reports, 'gaps'),
      dup: sum(reports, 'dups'),
      badValues: sum(reports, 'badValues'),
      rejects: sum(reports, 'rejects'),
      connectedAtEnd: reports.reduce((a, r) => a + r.connected, 0),
      serverLoopP99Ms: own?.loopDelayMs.p99 ?? null,
      serverLoopMaxMs: own?.loopDelayMs.max ?? null,
      gcMaxPauseMs: own ? Math.max(0, ...Object.values(own.gc).map((g) => g.maxMs)) : null,
      heapUsedMiB: own?.memory ? Object.values(own.memory.spaces).reduce((a, s) => a + s.usedMiB, 0) : null,
      heapCommittedMiB: own?.memory ? Object.values(own.memory.spaces).reduce((a, s) => a + s.committedMiB, 0) : null,
    };
    log(
      `${kind.padEnd(9)} N=${String(sessions).padStart(5)} every ${intervalMs} ms: ${result.numbersPerSec.toFixed(0)} numbers/s, lateness p50 ${lateness.p50Ms.toFixed(2)} p99 ${lateness.p99Ms.toFixed(2)} max ${lateness.maxMs.toFixed(1)} ms (server loop p99 ${result.serverLoopP99Ms?.toFixed(1) ?? '?'} max ${result.serverLoopMaxMs?.toFixed(1) ?? '?'}, GC pause max ${result.gcMaxPauseMs?.toFixed(1) ?? '?'} ms), CPU ${result.cpuPercent.toFixed(1)} %, RSS ${result.rssMiB.toFixed(0)} MiB (${result.rssPerSessionKiB.toFixed(2)} KiB/session; V8 heap ${result.heapUsedMiB?.toFixed(0) ?? '?'} used of ${result.heapCommittedMiB?.toFixed(0) ?? '?'} MiB committed), loss ${result.loss} dup ${result.dup}, connected ${result.connectedAtEnd}/${sessions}`,
    );
    if (result.connectedAtEnd < sessions && !shortfall) log(`  WARNING: ${sessions - result.connectedAtEnd} session(s) dropped during the run; its figures do not describe N=${sessions}`);
    return { result, gens, server };
  } catch (err) {
    await Promise.all(gens.map((g) => g.close()));
    await server.stop();
    throw err;
  }
}

/** Closes a steady run's generators, then its server; returns the run so a caller can take its result in one expression. */
export async function finish<T extends SteadyRun>(run: T): Promise<T> {
  await Promise.all(run.gens.map((g) => g.close()));
  await run.server.stop();
  return run;
}
