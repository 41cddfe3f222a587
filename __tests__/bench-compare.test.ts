/** `npm run bench:compare -- A B` (bench/compare.ts): two hand-made runs side by side, and its errors. */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compareMain } from '../bench/compare';
import { goodRun, seedRow } from './helpers/bench-results';

/** Run A meets every target; run B misses CPU at 10k, has no Socket.IO run and fell short at the top size. */
function twoRuns(): { dir: string; a: string; b: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'seqstream-compare-'));
  const a = goodRun();
  const b = goodRun({ date: '2026-12-02T11:30:00.000Z' });
  b.seed = b.seed
    .filter((s) => s.server !== 'socketio')
    .map((s) => (s.server === 'seqstream' && s.sessions === 10000 ? seedRow('seqstream', 10000, 26, 8) : s))
    .map((s) => (s.server === 'seqstream' && s.sessions === 19500 ? { ...s, reached: 9552, shortfall: '9552/9750 sessions started' } : s));
  mkdirSync(path.join(dir, 'a'));
  writeFileSync(path.join(dir, 'a', 'results.json'), JSON.stringify(a));
  writeFileSync(path.join(dir, 'b.json'), JSON.stringify(b));
  return { dir, a: 'a', b: 'b.json' };
}

function run(argv: string[], cwd?: string) {
  let out = '';
  let err = '';
  const code = compareMain(argv, (s) => (out += s), (s) => (err += s), cwd);
  return { code, out, err };
}

it('prints each target with both runs\' figures and verdicts, and the seed rows of both', () => {
  const { dir, a, b } = twoRuns();
  const { code, out, err } = run([a, b], dir);
  expect([code, err]).toEqual([0, '']);
  expect(out).toContain('- A: a, run 2026-12-01 10:00 (full)\n- B: b.json, run 2026-12-02 11:30 (full)');
  expect(out).toContain('| target | A | A verdict | B | B verdict |');
  const line = (start: string) => out.split('\n').find((l) => l.startsWith(start));
  expect(line('| server CPU ≤ 1.1× bare at 10000 |')).toBe('| server CPU ≤ 1.1× bare at 10000 | 1.05× (21.0 / 20.0) | **met** | 1.30× (26.0 / 20.0) | **missed** |');
  expect(line('| RSS/session ≤ 0.35× Socket.IO at 5000 |')).toBe('| RSS/session ≤ 0.35× Socket.IO at 5000 | 0.25× (10.0 / 40.0) | **met** | socketio not run at 5000 | not measured |');
  expect(line('| ramp of the top size')).toMatch(/\| \*\*met\*\* \| 19500: 9552 started at .* \| \*\*missed\*\* \|$/);
  // Every target has its row.
  expect(out.split('## Seed workload')[0].match(/^\| (?!target|---)/gm)).toHaveLength(10);
  expect(line('| seqstream | 10000 |')).toBe('| seqstream | 10000 | 21.0 | 26.0 | 8.00 | 8.00 | 5.00 | 5.00 |');
  expect(line('| seqstream | 19500 |')).toBe('| seqstream | 19500 | 43.0 | 43.0 (short: 9552) | 7.00 | 7.00 (short: 9552) | 5.00 | 5.00 (short: 9552) |');
  expect(line('| socketio | 5000 |')).toBe('| socketio | 5000 | 30.0 | – | 40.00 | – | 5.00 | – |');
});

it('names a missing or unreadable file and fails, and says how to call it', () => {
  const { dir } = twoRuns();
  writeFileSync(path.join(dir, 'broken.json'), '{"seed": [');
  writeFileSync(path.join(dir, 'other.json'), '{"hello": 1}');
  const missing = run(['a', 'nope'], dir);
  expect([missing.code, missing.out]).toEqual([1, '']);
  expect(missing.err).toBe(`bench:compare: cannot read ${path.join(dir, 'nope')}: ENOENT: no such file or directory, stat '${path.join(dir, 'nope')}'\n`);
  expect(run(['broken.json', 'a'], dir)).toMatchObject({ code: 1, err: expect.stringMatching(/^bench:compare: cannot read .*broken\.json: .*JSON/) });
  expect(run(['a', 'other.json'], dir)).toMatchObject({ code: 1, err: expect.stringMatching(/other\.json: not a benchmark results\.json/) });
  expect(run(['a'], dir)).toMatchObject({ code: 1, err: expect.stringMatching(/expected two results .* got 1[^]*Usage: npm run bench:compare -- A B/) });
  expect(run(['--help'])).toMatchObject({ code: 0, out: expect.stringMatching(/^Usage: npm run bench:compare -- A B/), err: '' });
});

it('exits 1 from the command line on a missing file (the compiled script)', async () => {
  const script = path.join(__dirname, '..', 'dist', 'bench', 'compare.js');
  const code = await new Promise<number | null>((resolve) => execFile(process.execPath, [script, '/nonexistent/a', '/nonexistent/b'], (err) => resolve(err ? (err.code as number) : 0)));
  expect(code).toBe(1);
});
