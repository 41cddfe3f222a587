/**
 * Issue 12's targets, judged from one results.json: each with its figure and met / missed, or
 * "not measured" when the run holds no figure for it (a workload skipped, a size not run, an
 * older results.json). The report (bench/report.ts) and the comparison of two runs
 * (bench/compare.ts) both print these; the bounds live here only.
 */
import type { Results, SeedResult, ServerKind, StormResult } from './types';

export const TARGET = {
  cpuVsBare: 1.1,
  rssVsBare: 1.5,
  /** The size the issue names besides the top one. */
  midSize: 10_000,
  rampPerSec: 3000,
  /**
   * Share of the bare floor's ramp rate at the same size (of rampPerSec when bare did not run)
   * that seqstream's must reach. The generators set the pace as much as the server: on these two
   * cores they open 19,500 sessions at about 2,350/s against either server, asked for 3,000/s and
   * never backing off; what the target asks is that the server keep up with what the floor does.
   */
  rampRateShare: 0.9,
  stormVsBare: 1.5,
  stormP99Ms: 3000,
  socketIoSize: 5000,
  cpuVsSocketIo: 0.5,
  rssVsSocketIo: 0.35,
  ceilingVsBare: 0.9,
} as const;

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetRow {
  /** Stable key, for pairing two runs' rows. */
  id: string;
  target: string;
  figure: string;
  verdict: Verdict;
}

const x2 = (v: number) => `${v.toFixed(2)}×`;
const judge = (ok: boolean): Verdict => (ok ? 'met' : 'missed');
const none = (id: string, target: string, why: string): TargetRow => ({ id, target, figure: why, verdict: 'not measured' });

const row = (r: Results, server: ServerKind, n: number): SeedResult | undefined => r.seed.find((s) => s.server === server && s.sessions === n);

/** The largest size seqstream was asked for in this run. */
export function topSize(r: Results): number | null {
  const ns = r.seed.filter((s) => s.server === 'seqstream').map((s) => s.sessions);
  return ns.length ? Math.max(...ns) : null;
}

/** seqstream ÷ other at n on one figure, judged against a bound; a size not run or not reached is said. */
function ratioAt(r: Results, id: string, target: string, n: number | null, other: ServerKind, pick: (s: SeedResult) => number, bound: number): TargetRow {
  if (n === null) return none(id, target, 'seqstream not run');
  const s = row(r, 'seqstream', n);
  const o = row(r, other, n);
  if (!s || !o) return none(id, target, `${!s ? 'seqstream' : other} not run at ${n}`);
  // A size seqstream did not reach is a miss (the issue's first complaint); the peer's shortfall leaves no ratio.
  if (s.shortfall) return { id, target, figure: `seqstream reached ${s.reached ?? '?'}/${n}`, verdict: 'missed' };
  if (o.shortfall) return none(id, target, `${other} reached ${o.reached ?? '?'}/${n}`);
  const v = pick(s) / pick(o);
  if (!Number.isFinite(v)) return none(id, target, `no ${other} figure`);
  return { id, target, figure: `${x2(v)} (${pick(s).toFixed(1)} / ${pick(o).toFixed(1)})`, verdict: judge(v <= bound) };
}

function rampTarget(r: Results, top: number | null): TargetRow {
  const id = 'ramp';
  const target = `ramp of the top size at ${TARGET.rampPerSec.toLocaleString('en')}/s: 0 heartbeat timeouts, 0 suspensions`;
  if (top === null) return none(id, target, 'seqstream not run');
  const s = row(r, 'seqstream', top)!;
  if (!s.ramp) return none(id, target, 'ramp counts not recorded in this run');
  const k = s.ramp;
  const rate = s.rampPerSec ?? NaN;
  const bare = row(r, 'bare', top);
  const floor = bare && !bare.shortfall && bare.rampPerSec ? bare.rampPerSec : null;
  const backedOff = k.minRatePerSec < k.askedPerSec;
  const figure = `${top}: ${s.reached ?? '?'} started at ${Number.isFinite(rate) ? rate.toFixed(0) : '?'}/s (asked ${k.askedPerSec}${backedOff ? `, backed off to ${k.minRatePerSec.toFixed(0)}` : ', never backed off'}; bare ${floor ? `${floor.toFixed(0)}/s` : 'not run'}), ${k.heartbeatTimeouts} heartbeat timeouts, ${k.suspensions} suspensions`;
  const ok =
    !s.shortfall && !backedOff && k.askedPerSec >= TARGET.rampPerSec && rate >= TARGET.rampRateShare * (floor ?? TARGET.rampPerSec) && k.heartbeatTimeouts === 0 && k.suspensions === 0;
  return { id, target, figure, verdict: judge(ok) };
}

function stormTarget(r: Results): TargetRow {
  const id = 'storm';
  const target = `storm p99 ≤ ${TARGET.stormVsBare}× bare and ≤ ${TARGET.stormP99Ms / 1000} s, 0 lost, 0 expired`;
  const storms: StormResult[] = r.storms?.length ? r.storms : r.storm ? [{ server: 'seqstream', ...r.storm }] : [];
  const s = storms.find((x) => (x.server ?? 'seqstream') === 'seqstream');
  const b = storms.find((x) => x.server === 'bare');
  if (!s) return none(id, target, 'storm not run');
  const lost = `${s.loss} lost, ${s.expired} expired, ${s.resumed}/${s.sessions} resumed`;
  if (!b) return { id, target, figure: `p99 ${s.resume.p99Ms.toFixed(0)} ms, no bare storm; ${lost}`, verdict: 'not measured' };
  const v = s.resume.p99Ms / b.resume.p99Ms;
  const ok = v <= TARGET.stormVsBare && s.resume.p99Ms <= TARGET.stormP99Ms && s.loss === 0 && s.expired === 0 && s.resumed === s.sessions;
  return { id, target, figure: `p99 ${s.resume.p99Ms.toFixed(0)} ms = ${x2(v)} bare (${b.resume.p99Ms.toFixed(0)} ms); ${lost}`, verdict: judge(ok) };
}

function ceilingTarget(r: Results): TargetRow {
  const id = 'ceiling';
  const target = `throughput ceiling ≥ ${TARGET.ceilingVsBare * 100} % of bare`;
  const c = r.ceilings;
  if (!r.throughput.length) return none(id, target, 'throughput not run');
  const above = new Set(c.aboveRange ?? []);
  const figure = `${(100 * c.ratio).toFixed(0)} % (${c.seqstream.toFixed(0)} / ${c.bare.toFixed(0)} numbers/s)${above.size ? `; above the range tried: ${[...above].join(', ')}` : ''}`;
  if (!(c.bare > 0)) return { id, target, figure, verdict: 'not measured' };
  const ok = c.ratio >= TARGET.ceilingVsBare;
  // A ceiling above the range is a lower bound: seqstream's can only raise the ratio, bare's only lower it.
  if (above.has('bare') && ok && !above.has('seqstream')) return { id, target, figure: `${figure}: bare's ceiling is higher still`, verdict: 'not measured' };
  if (above.has('bare') && above.has('seqstream')) return { id, target, figure: `${figure}: both kept the rule at every rate offered`, verdict: 'not measured' };
  if (above.has('seqstream') && !ok) return { id, target, figure: `${figure}: seqstream's ceiling is higher still`, verdict: 'not measured' };
  return { id, target, figure, verdict: judge(ok) };
}

function correctnessTarget(r: Results): TargetRow {
  const id = 'correct';
  const target = '0 lost, 0 duplicated at every size (seqstream)';
  const rows = r.seed.filter((s) => s.server === 'seqstream');
  if (!rows.length) return none(id, target, 'seqstream not run');
  const bad = rows.filter((s) => s.loss || s.dup || s.badValues);
  const figure = bad.length ? bad.map((s) => `${s.sessions}: ${s.loss} lost, ${s.dup} dup, ${s.badValues} wrong`).join('; ') : `0 / 0 at ${rows.map((s) => s.sessions).join(', ')}`;
  return { id, target, figure, verdict: judge(!bad.length) };
}

/** Every target of issue 12 in the issue's order. */
export function targets(r: Results): TargetRow[] {
  const top = topSize(r);
  const mid = TARGET.midSize;
  const cpu = (s: SeedResult) => s.cpuPercent;
  const rss = (s: SeedResult) => s.rssPerSessionKiB;
  const io = TARGET.socketIoSize;
  return [
    ratioAt(r, 'cpu-mid', `server CPU ≤ ${TARGET.cpuVsBare}× bare at ${TARGET.midSize}`, mid, 'bare', cpu, TARGET.cpuVsBare),
    ratioAt(r, 'cpu-top', `server CPU ≤ ${TARGET.cpuVsBare}× bare at the top size${top ? ` (${top})` : ''}`, top, 'bare', cpu, TARGET.cpuVsBare),
    ratioAt(r, 'rss-mid', `RSS/session ≤ ${TARGET.rssVsBare}× bare at ${TARGET.midSize}`, mid, 'bare', rss, TARGET.rssVsBare),
    ratioAt(r, 'rss-top', `RSS/session ≤ ${TARGET.rssVsBare}× bare at the top size${top ? ` (${top})` : ''}`, top, 'bare', rss, TARGET.rssVsBare),
    rampTarget(r, top),
    stormTarget(r),
    ratioAt(r, 'cpu-io', `server CPU ≤ ${TARGET.cpuVsSocketIo}× Socket.IO at ${io}`, io, 'socketio', cpu, TARGET.cpuVsSocketIo),
    ratioAt(r, 'rss-io', `RSS/session ≤ ${TARGET.rssVsSocketIo}× Socket.IO at ${io}`, io, 'socketio', rss, TARGET.rssVsSocketIo),
    ceilingTarget(r),
    correctnessTarget(r),
  ];
}
