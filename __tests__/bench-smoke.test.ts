/**
 * Keeps the benchmark harness from rotting: a tiny run of every workload (seqstream, the bare
 * floor, Socket.IO, the scale-out with real redis-server and HAProxy) must complete and write
 * well-formed results. No timing is asserted; the machines are shared and noisy, and
 * performance lives in bench/, not in tests.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Results } from '../bench/types';

it('npm run bench -- --smoke runs every workload and writes results.json, results.md and chart.svg', async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), 'seqstream-bench-'));
  const script = path.join(__dirname, '..', 'dist', 'bench', 'run.js');
  await new Promise<void>((resolve, reject) =>
    execFile(process.execPath, [script, '--smoke', '--out', out], { timeout: 150_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stdout}\n${stderr}`)) : resolve(),
    ),
  );
  const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8')) as Results;
  expect(results.mode).toBe('smoke');
  expect(results.machine.cores).toBeGreaterThan(0);
  expect(new Set(results.seed.map((s) => s.server))).toEqual(new Set(['seqstream', 'bare', 'socketio']));
  for (const s of results.seed) {
    // Correctness, not speed: every number arrived, in order, with the right value.
    expect(s.lateness.samples).toBeGreaterThan(0);
    expect([s.loss, s.dup, s.badValues, s.rejects]).toEqual([0, 0, 0, 0]);
    // Every size reached (a shortfall would be reported here with its reason, not thrown).
    expect([s.reached, s.shortfall]).toEqual([s.sessions, '']);
  }
  expect(results.throughput.length).toBeGreaterThanOrEqual(2);
  // The ceiling's rule sits above the generators' noise: a tiny load is within it for both.
  expect([results.ceilings.bare, results.ceilings.seqstream].map((c) => c > 0)).toEqual([true, true]);
  expect(results.storm).not.toBeNull();
  expect(results.storm!.resumed).toBe(results.storm!.sessions);
  expect([results.storm!.loss, results.storm!.dup, results.storm!.expired]).toEqual([0, 0, 0]);
  // The storm on all three servers in the same run, each with every session back and nothing lost.
  expect(results.storms!.map((s) => s.server)).toEqual(['seqstream', 'bare', 'socketio']);
  for (const s of results.storms!) expect([s.resumed, s.loss, s.dup, s.expired]).toEqual([s.sessions, 0, 0, 0]);
  expect(results.stormRatio!.p99).toBeGreaterThan(0);
  // The scale-out family with real redis-server, HAProxy and nodes: every session accounted for.
  const x = results.scaleout!;
  expect(x.store!.redis.connectedAtEnd).toBe(x.store!.sessions);
  expect(x.lifetimes!.completed).toBe(x.lifetimes!.sessions);
  expect(x.lifetimes!.scriptsPerLifetime).toBeGreaterThan(0);
  expect([x.storm!.resumed, x.storm!.loss, x.storm!.dup, x.storm!.expired]).toEqual([x.storm!.sessions, 0, 0, 0]);
  expect(x.failover!.cut).toBeGreaterThan(0);
  expect([x.failover!.resumed, x.failover!.loss, x.failover!.dup, x.failover!.connectedAtEnd]).toEqual([x.failover!.cut, 0, 0, x.failover!.sessions]);
  expect([x.workers!.reached, x.workers!.loss, x.workers!.workers.length]).toEqual([x.workers!.target, 0, 2]);
  expect(readFileSync(path.join(out, 'results.md'), 'utf8')).toMatch(/## 1\. Seed workload[^]*## 5\. Scale-out/);
  expect(readFileSync(path.join(out, 'chart.svg'), 'utf8')).toMatch(/^<svg[^>]+xmlns="http:\/\/www.w3.org\/2000\/svg"/);
}, 180_000);
