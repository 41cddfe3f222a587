#!/usr/bin/env node
/**
 * `npm run bench:compare -- A B`: two benchmark runs side by side, as the Markdown that
 * docs/BENCHMARKS.md quotes — issue 12's targets with each run's figure and verdict, then the
 * seed workload's cost (CPU, RSS per session, p99 lateness) of both.
 */
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { cell, verdictCell } from './report';
import { targets } from './targets';
import type { Results, SeedResult } from './types';

export const COMPARE_USAGE = `Usage: npm run bench:compare -- A B

A and B are benchmark results: a results folder (holding results.json) or a results.json file.
Prints a Markdown table of issue 12's targets with each run's figure and met/missed, then the
seed workload's CPU, RSS per session and p99 lateness of both runs.
`;

/** A results folder or file → its parsed results; throws with the path and the reason. */
export function loadResults(arg: string, cwd = process.cwd()): Results {
  let file = path.resolve(cwd, arg);
  try {
    if (statSync(file).isDirectory()) file = path.join(file, 'results.json');
    const r = JSON.parse(readFileSync(file, 'utf8')) as Results;
    if (!r || !Array.isArray(r.seed) || !r.machine) throw new Error('not a benchmark results.json (no seed or machine)');
    return r;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
}

const f = (n: number | undefined, d: number) => (n !== undefined && Number.isFinite(n) ? n.toFixed(d) : '–');
const label = (r: Results) => `${r.date.slice(0, 16).replace('T', ' ')} (${r.mode})`;

/** Columns are A and B; `sources` says what each was (a folder, a file). */
export function renderComparison(a: Results, b: Results, sources: [string, string] = ['A', 'B']): string {
  const ta = targets(a);
  const tb = new Map(targets(b).map((t) => [t.id, t]));
  const out = [
    '# Two benchmark runs side by side',
    '',
    `- A: ${cell(sources[0])}, run ${label(a)}`,
    `- B: ${cell(sources[1])}, run ${label(b)}`,
    '',
    '## Targets of issue 12',
    '',
    '| target | A | A verdict | B | B verdict |',
    '|---|---|---|---|---|',
    ...ta.map((t) => {
      const u = tb.get(t.id)!;
      return `| ${cell(t.target)} | ${cell(t.figure)} | ${verdictCell(t)} | ${cell(u.figure)} | ${verdictCell(u)} |`;
    }),
    '',
    '## Seed workload: cost against N',
    '',
    '| server | sessions | CPU % A | CPU % B | RSS KiB/session A | RSS KiB/session B | p99 ms A | p99 ms B |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const key = (s: SeedResult) => `${s.server} ${s.sessions}`;
  const byA = new Map(a.seed.map((s) => [key(s), s]));
  const byB = new Map(b.seed.map((s) => [key(s), s]));
  const order = ['seqstream', 'bare', 'socketio'];
  const keys = [...new Map([...a.seed, ...b.seed].map((s) => [key(s), s])).values()].sort((x, y) => order.indexOf(x.server) - order.indexOf(y.server) || x.sessions - y.sessions);
  // A size not reached is marked: its figures describe fewer sessions than the row says.
  const v = (s: SeedResult | undefined, pick: (s: SeedResult) => number, d: number) => (s ? `${f(pick(s), d)}${s.shortfall ? ` (short: ${s.reached ?? '?'})` : ''}` : '–');
  for (const k of keys) {
    const x = byA.get(key(k));
    const y = byB.get(key(k));
    out.push(
      `| ${k.server} | ${k.sessions} | ${v(x, (s) => s.cpuPercent, 1)} | ${v(y, (s) => s.cpuPercent, 1)} | ${v(x, (s) => s.rssPerSessionKiB, 2)} | ${v(y, (s) => s.rssPerSessionKiB, 2)} | ${v(x, (s) => s.lateness.p99Ms, 2)} | ${v(y, (s) => s.lateness.p99Ms, 2)} |`,
    );
  }
  out.push('');
  return out.join('\n');
}

/** The command: 0 printed, 1 a file missing or unreadable or the wrong arguments. */
export function compareMain(argv: string[], write: (s: string) => void, error: (s: string) => void, cwd = process.cwd()): number {
  if (argv.includes('--help')) {
    write(COMPARE_USAGE);
    return 0;
  }
  if (argv.length !== 2) {
    error(`bench:compare: expected two results (folders or results.json files), got ${argv.length}\n\n${COMPARE_USAGE}`);
    return 1;
  }
  try {
    write(renderComparison(loadResults(argv[0], cwd), loadResults(argv[1], cwd), [argv[0], argv[1]]));
    return 0;
  } catch (err) {
    error(`bench:compare: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // npm runs the script from the package root: relative paths are the caller's (INIT_CWD).
  const code = compareMain(process.argv.slice(2), (s) => process.stdout.write(s), (s) => process.stderr.write(s), process.env.INIT_CWD ?? process.cwd());
  process.exit(code);
}
