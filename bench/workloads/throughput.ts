/**
 * The throughput ceiling: a fixed number of sessions at ever shorter intervals, per server, until
 * p99 lateness leaves its budget (a tenth of the interval) or a number is lost; the ceiling is
 * the best rate still within budget.
 */
import { finish, steady } from '../steady';
import type { Plan, Results, ThroughputStep } from '../types';

export async function throughputCeiling(plan: Plan, log: (s: string) => void): Promise<Pick<Results, 'throughput' | 'ceilings'>> {
  const throughput: ThroughputStep[] = [];
  const ceilings: Results['ceilings'] = { seqstream: 0, bare: 0, ratio: 0 };
  log(`== 2. throughput ceiling with ${plan.throughputSessions} sessions`);
  for (const kind of ['bare', 'seqstream'] as const) {
    for (const interval of plan.throughputIntervals) {
      const r = (await finish(await steady(kind, plan.throughputSessions, interval, plan, log))).result;
      const step: ThroughputStep = {
        server: kind,
        intervalMs: interval,
        numbersPerSec: r.numbersPerSec,
        p99Ms: r.lateness.p99Ms,
        cpuPercent: r.cpuPercent,
        withinBudget: r.lateness.p99Ms <= 0.1 * interval && r.loss === 0,
      };
      throughput.push(step);
      if (!step.withinBudget) break;
    }
    const ok = throughput.filter((s) => s.server === kind && s.withinBudget);
    ceilings[kind] = ok.length ? Math.max(...ok.map((s) => s.numbersPerSec)) : 0;
  }
  ceilings.ratio = ceilings.bare ? ceilings.seqstream / ceilings.bare : 0;
  log(`ceiling: seqstream ${ceilings.seqstream.toFixed(0)}/s, bare ${ceilings.bare.toFixed(0)}/s, ratio ${(100 * ceilings.ratio).toFixed(0)} %`);
  return { throughput, ceilings };
}
