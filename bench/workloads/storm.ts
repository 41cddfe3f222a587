/**
 * The reconnect storm: every session of a steady run drops its connection at once and comes
 * back; measured is the time from the drop to the next number, and that nothing was lost,
 * repeated or expired on the way. Run against all three servers in one run, so seqstream's
 * figure has the bare floor's (same framing, a RESUME continues from the client's index) and
 * Socket.IO's (its own reconnect and connection state recovery) beside it; and for each, where
 * the time went: the kernel's accept queue, the server's CPU and event-loop delay.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { resumeOutcome } from '../generators';
import type { GenReport } from '../ipc';
import { watchListener } from '../listen-probe';
import { sampleProc } from '../procstat';
import { finish, steady } from '../steady';
import type { Plan, ServerKind, StormResult } from '../types';

/** The order they run in: seqstream first, as it always ran. */
const SERVERS: ServerKind[] = ['seqstream', 'bare', 'socketio'];

export interface StormSet {
  storms: StormResult[];
  /** Seqstream ÷ bare, time to next number (null if either did not run). */
  ratio: { p50: number; p99: number } | null;
}

export async function storm(plan: Plan, log: (s: string) => void): Promise<StormSet> {
  log(`== 3. reconnect storm of ${plan.stormSessions}: ${SERVERS.join(', ')}`);
  const storms: StormResult[] = [];
  for (const server of SERVERS) {
    try {
      storms.push(await stormOf(plan.stormSessions, plan, log, { server }));
    } catch (err) {
      // One server's failure is reported; the others still run.
      log(`storm (${server}) did not run: ${(err as Error).message}`);
    }
  }
  const s = storms.find((x) => x.server === 'seqstream');
  const b = storms.find((x) => x.server === 'bare');
  const ratio = s && b ? { p50: s.resume.p50Ms / b.resume.p50Ms, p99: s.resume.p99Ms / b.resume.p99Ms } : null;
  if (ratio) log(`storm: seqstream ÷ bare, time to next number: p50 ${ratio.p50.toFixed(2)}×, p99 ${ratio.p99.toFixed(2)}×`);
  return { storms, ratio };
}

export interface StormHooks {
  /** Which server (default seqstream). */
  server?: ServerKind;
  /** More server flags (the scale-out's storm runs with `--store redis://…`). */
  extraArgs?: string[];
  /** Right before the cut, and once every session has its next number (or the wait gave up). */
  onPhase?: (phase: 'cut' | 'settled') => void;
}

/** A storm of `sessions` on a fresh server. */
export async function stormOf(sessions: number, plan: Plan, log: (s: string) => void, hooks: StormHooks = {}): Promise<StormResult> {
  const server = hooks.server ?? 'seqstream';
  const run = await steady(server, sessions, 1000, plan, log, { extraArgs: hooks.extraArgs });
  try {
    await Promise.all(run.gens.map((g) => g.send({ type: 'measure' })));
    const pid = run.server.child.pid!;
    const stopWatch = await watchListener(run.server.port);
    await run.server.stretch(); // the server's loop-delay stretch starts here
    hooks.onPhase?.('cut');
    const a = sampleProc(pid);
    await Promise.all(run.gens.map((g) => g.send({ type: 'storm' })));
    const deadline = Date.now() + 60_000;
    let reports: GenReport[] = [];
    for (;;) {
      reports = await Promise.all(run.gens.map((g) => g.report()));
      if (reports.every((r) => r.pendingResumes === 0) || Date.now() > deadline) break;
      await sleep(100);
    }
    const b = sampleProc(pid);
    const own = await run.server.stretch();
    const kernel = await stopWatch();
    hooks.onPhase?.('settled');
    await sleep(1500); // one more interval: numbers after the first resumed one are checked too
    reports = await Promise.all(run.gens.map((g) => g.report()));
    const result: StormResult = {
      server,
      sessions,
      ...resumeOutcome(reports),
      where: {
        settleMs: b.at - a.at,
        serverCpuSec: b.cpuSec - a.cpuSec,
        serverLoopP50Ms: own?.loopDelayMs.p50 ?? null,
        serverLoopP99Ms: own?.loopDelayMs.p99 ?? null,
        serverLoopMaxMs: own?.loopDelayMs.max ?? null,
        gcTotalMs: own ? Object.values(own.gc).reduce((t, g) => t + g.totalMs, 0) : null,
        ...kernel,
      },
    };
    const s = result;
    const w = s.where!;
    const n = (x: number | null, d = 0) => (x === null ? '?' : x.toFixed(d));
    log(
      `storm (${server}): ${s.resumed}/${s.sessions} resumed, time to next number p50 ${s.resume.p50Ms.toFixed(0)} p99 ${s.resume.p99Ms.toFixed(0)} max ${s.resume.maxMs.toFixed(0)} ms, loss ${s.loss}, dup ${s.dup}, expired ${s.expired}, rejects ${s.rejects}`,
    );
    log(
      `  where: settled in ${w.settleMs.toFixed(0)} ms, server CPU ${w.serverCpuSec.toFixed(2)} s, loop delay p50 ${n(w.serverLoopP50Ms, 1)} p99 ${n(w.serverLoopP99Ms, 1)} max ${n(w.serverLoopMaxMs, 1)} ms, GC ${n(w.gcTotalMs)} ms; listen overflows ${n(w.listenOverflows)} (machine-wide), accept queue max ${n(w.recvQMax)}/${n(w.backlog)} over ${w.recvQSamples} samples`,
    );
    return result;
  } finally {
    await finish(run);
  }
}
