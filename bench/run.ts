#!/usr/bin/env node
/**
 * `npm run bench`: the benchmark suite. Starts each server under test as its own process, drives
 * it with forked load generators, measures the server with the OS's numbers (/proc) and the
 * clients' view (lateness histograms), and writes results.json, results.md and chart.svg.
 * This file only sequences the workloads (bench/workloads/) and writes what they return; one
 * measurement is bench/steady.ts, the processes are bench/server-process.ts and bench/generators.ts.
 *
 *   npm run bench                 full suite (several minutes)
 *   npm run bench -- --quick      about a minute, small sizes
 *   npm run bench -- --smoke      seconds, tiny sizes: the harness test in `npm test`
 *   --out DIR                     where to write (default bench/results, or bench/results/quick)
 */
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart } from './chart';
import { parseBenchArgs, USAGE } from './plans';
import { renderMarkdown } from './report';
import type { Plan, Results } from './types';
import { inspectorCost } from './workloads/inspector';
import { seedWorkload } from './workloads/seed';
import { socketIoWorkload } from './workloads/socketio';
import { scaleout } from './workloads/scaleout';
import { storm } from './workloads/storm';
import { throughputCeiling } from './workloads/throughput';

export async function runBench(plan: Plan, outDir: string, log: (s: string) => void = console.log): Promise<Results> {
  const results: Results = {
    date: new Date().toISOString(),
    mode: plan.mode,
    machine: {
      cores: os.cpus().length,
      cpuModel: os.cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      platform: `${os.type()} ${os.release()}`,
      fdLimit: await fdLimit(),
    },
    seed: [],
    throughput: [],
    ceilings: { seqstream: 0, bare: 0, ratio: 0 },
    storm: null,
    storms: [],
    stormRatio: null,
    inspector: [],
    scaleout: null,
    notes: [],
  };

  const only = plan.only;
  log(`== 1. seed workload at 1 number/s per session (${plan.mode})`);
  results.seed.push(...(await seedWorkload(only && !only.includes('seed') ? [] : plan.seedSizes, plan, log)));
  results.seed.push(...(await socketIoWorkload(only && !only.includes('socketio') ? [] : plan.socketIoSizes, plan, log)));
  if (only && !only.includes('throughput')) plan = { ...plan, throughputIntervals: [] };

  // Skipped, the throughput section still prints its header and a zero ceiling, as it always has.
  const { throughput, ceilings } = await throughputCeiling(plan, log);
  results.throughput = throughput;
  results.ceilings = ceilings;

  if (!only || only.includes('storm')) {
    const { storms, ratio } = await storm(plan, log);
    results.storms = storms;
    results.storm = storms.find((s) => s.server === 'seqstream') ?? null;
    results.stormRatio = ratio;
  }

  if (!only || only.includes('inspector')) {
    log('== 4. the live inspector: on (with a page connected) against off, same N');
    for (const n of plan.inspectorSizes) results.inspector.push(await inspectorCost(n, plan, log, results.seed));
  }

  if (!only || only.includes('scaleout')) results.scaleout = await scaleout(plan, log);

  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'results.md'), renderMarkdown(results));
  writeFileSync(path.join(outDir, 'chart.svg'), renderChart(results));
  log(`wrote ${path.relative(process.cwd(), outDir)}/results.{json,md} and chart.svg`);
  return results;
}

function fdLimit(): Promise<string> {
  return new Promise((resolve) => {
    const sh = spawn('sh', ['-c', 'ulimit -n'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    sh.stdout.on('data', (b) => (out += b));
    sh.on('close', () => resolve(out.trim() || 'unknown'));
  });
}

if (require.main === module) {
  const args = parseBenchArgs(process.argv.slice(2));
  if (args === 'help') {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const { plan, out } = args;
  runBench(plan, out).then(
    () => process.exit(0),
    (err) => {
      console.error(`bench failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}

