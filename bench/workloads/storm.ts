/**
 * The reconnect storm: every session of a steady seqstream run drops its connection at once and
 * RESUMEs; measured is the time from the drop to the next number, and that nothing was lost,
 * repeated or expired on the way.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { merge, sum, summarize } from '../generators';
import type { GenReport } from '../ipc';
import { finish, steady } from '../steady';
import type { Plan, StormResult } from '../types';

export async function storm(plan: Plan, log: (s: string) => void): Promise<StormResult> {
  log(`== 3. reconnect storm of ${plan.stormSessions}`);
  return stormOf(plan.stormSessions, plan, log);
}

export interface StormHooks {
  /** More server flags (the scale-out's storm runs with `--store redis://…`). */
  extraArgs?: string[];
  /** Right before the cut, and once every session has its next number (or the wait gave up). */
  onPhase?: (phase: 'cut' | 'settled') => void;
}

/** A storm of `sessions` on a fresh seqstream server. */
export async function stormOf(sessions: number, plan: Plan, log: (s: string) => void, hooks: StormHooks = {}): Promise<StormResult> {
  const run = await steady('seqstream', sessions, 1000, plan, log, { extraArgs: hooks.extraArgs });
  try {
    await Promise.all(run.gens.map((g) => g.send({ type: 'measure' })));
    hooks.onPhase?.('cut');
    await Promise.all(run.gens.map((g) => g.send({ type: 'storm' })));
    const deadline = Date.now() + 60_000;
    let reports: GenReport[] = [];
    for (;;) {
      reports = await Promise.all(run.gens.map((g) => g.report()));
      if (reports.every((r) => r.pendingResumes === 0) || Date.now() > deadline) break;
      await sleep(100);
    }
    hooks.onPhase?.('settled');
    await sleep(1500); // one more interval: numbers after the first resumed one are checked too
    reports = await Promise.all(run.gens.map((g) => g.report()));
    const resume = merge(reports, 'resume');
    const result: StormResult = {
      sessions,
      resume: summarize(resume),
      resumed: resume.total,
      loss: sum(reports, 'gaps'),
      dup: sum(reports, 'dups'),
      expired: sum(reports, 'expired'),
      rejects: sum(reports, 'rejects'),
    };
    const s = result;
    log(`storm: ${s.resumed}/${s.sessions} resumed, time to next number p50 ${s.resume.p50Ms.toFixed(0)} p99 ${s.resume.p99Ms.toFixed(0)} max ${s.resume.maxMs.toFixed(0)} ms, loss ${s.loss}, dup ${s.dup}, expired ${s.expired}`);
    return result;
  } finally {
    await finish(run);
  }
}
