#!/usr/bin/env node
/**
 * `npm run bench`: the benchmark suite. Starts each server under test as its own process, drives
 * it with forked load generators, measures the server with the OS's numbers (/proc) and the
 * clients' view (lateness histograms), and writes results.json, results.md and chart.svg.
 *
 *   npm run bench                 full suite (several minutes)
 *   npm run bench -- --quick      about a minute, small sizes
 *   npm run bench -- --smoke      seconds, tiny sizes: the harness test in `npm test`
 *   --out DIR                     where to write (default bench/results, or bench/results/quick)
 */
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { GcStretch } from './gc-watch';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Histogram } from './histogram';
import type { GenCommand, GenConfig, GenReply, GenReport } from './ipc';
import { cpuPercent, sampleProc } from './procstat';
import { renderChart } from './chart';
import { renderMarkdown } from './report';
import { freePort } from '../core/free-port';
import type { ServerKind, Plan, LatencySummary, SeedResult, ThroughputStep, StormResult, InspectorResult, Results } from './types';

const PLANS: Record<Plan['mode'], Plan> = {
  full: {
    mode: 'full',
    seedSizes: [1000, 5000, 10000, 19500],
    socketIoSizes: [1000, 5000],
    inspectorSizes: [10000],
    throughputSessions: 1000,
    throughputIntervals: [100, 50, 20, 10, 5, 2],
    stormSessions: 10000,
    warmupMs: 4000,
    measureMs: 15000,
    rampPerSec: 3000,
    perGenerator: 10000,
  },
  quick: {
    mode: 'quick',
    seedSizes: [200, 1000],
    socketIoSizes: [200],
    inspectorSizes: [1000],
    throughputSessions: 200,
    throughputIntervals: [50, 10, 2],
    stormSessions: 1000,
    warmupMs: 1500,
    measureMs: 4000,
    rampPerSec: 3000,
    perGenerator: 10000,
  },
  smoke: {
    mode: 'smoke',
    seedSizes: [20],
    socketIoSizes: [20],
    inspectorSizes: [20],
    throughputSessions: 20,
    throughputIntervals: [20],
    stormSessions: 20,
    warmupMs: 300,
    measureMs: 1200,
    rampPerSec: 1000,
    perGenerator: 10000,
  },
};

const root = path.join(__dirname, '..');
const distBench = __dirname;

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

interface RunningServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
  /** Ends the server's current gc-watch stretch and returns it (null if it did not answer). */
  stretch(): Promise<GcStretch | null>;
}

async function startServer(kind: ServerKind, intervalMs: number, extraArgs: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const script =
    kind === 'seqstream' ? path.join(root, 'bin', 'server.js') : path.join(distBench, kind === 'bare' ? 'bare-server.js' : 'socketio-server.js');
  const args =
    kind === 'seqstream'
      ? [
          String(port),
          '--interval',
          String(intervalMs),
          '--max-sessions',
          '20000',
          // The load generators are thousands of clients on one address: per-source limits off.
          '--max-sessions-per-source', '0', '--new-session-rate', '0', '--max-pending-handshakes', '0', '--max-pending-per-source', '0',
          '--log-file',
          path.join(os.tmpdir(), `seqstream-bench-${process.pid}.log`),
          // BENCH_SEQSTREAM_ARGS="--log-level warn": extra server flags, for experiments.
          ...(process.env.BENCH_SEQSTREAM_ARGS ?? '').split(' ').filter(Boolean),
          ...extraArgs,
        ]
      : [String(port), String(intervalMs)];
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const watchFile = path.join(os.tmpdir(), `seqstream-bench-gc-${process.pid}-${port}.json`);
  rmSync(watchFile, { force: true });
  const child = spawn(process.execPath, [...nodeArgs, '--require', path.join(distBench, 'gc-watch.js'), script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GC_WATCH_OUT: watchFile },
  });
  let stretches = 0;
  let out = '';
  const collect = (b: Buffer) => (out += b.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // Ready when the port accepts a connection: a server at --log-level warn prints nothing.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} server exited (${child.exitCode}): ${out}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} server did not start: ${out}`);
    }
    await sleep(50);
  }
  child.stdout!.off('data', collect);
  child.stderr!.off('data', collect);
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    child,
    port,
    stretch: async () => {
      const seq = ++stretches;
      child.kill('SIGUSR2');
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        if (existsSync(watchFile)) {
          try {
            const st = JSON.parse(readFileSync(watchFile, 'utf8')) as GcStretch;
            if (st.seq === seq) return st;
          } catch {
            // caught mid-write: read again
          }
        }
        await sleep(20);
      }
      return null;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        // SIGTERM first: a clean exit is what lets --cpu-prof write its profile.
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

class GeneratorProc {
  private readonly child: ChildProcess;
  private waiting: ((r: GenReply) => void) | null = null;

  constructor(kind: ServerKind) {
    this.child = fork(path.join(distBench, kind === 'socketio' ? 'socketio-loadgen.js' : 'loadgen.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: GenReply) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(r);
    });
  }

  send(cmd: GenCommand, timeoutMs = 180_000): Promise<GenReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator did not answer ${cmd.type} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        if (r.type === 'error') reject(new Error(`generator: ${r.message}`));
        else resolve(r);
      };
      this.child.send(cmd);
    });
  }

  async report(): Promise<GenReport> {
    const r = await this.send({ type: 'report' });
    if (r.type !== 'report') throw new Error('expected a report');
    return r.report;
  }

  async close(): Promise<void> {
    await this.send({ type: 'close' }, 10_000).catch(() => this.child.kill('SIGKILL'));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function summarize(h: Histogram): LatencySummary {
  return { p50Ms: h.quantile(0.5) / 1000, p99Ms: h.quantile(0.99) / 1000, maxMs: h.max / 1000, samples: h.total };
}

function merge(reports: GenReport[], key: 'lateness' | 'resume'): Histogram {
  const h = new Histogram();
  for (const r of reports) h.merge(Histogram.fromJSON(r[key]));
  return h;
}

const sum = (reports: GenReport[], k: keyof GenReport['counts']) => reports.reduce((a, r) => a + r.counts[k], 0);

/** Opens `sessions` sessions against a fresh server, measures a steady stretch, and returns everything. */
interface SteadyHooks {
  extraArgs?: string[];
  /** After the server is up, before any session opens. */
  onStarted?: () => Promise<void>;
  onMeasure?: (phase: 'start' | 'end') => void;
}

async function steady(kind: ServerKind, sessions: number, intervalMs: number, plan: Plan, log: (s: string) => void, hooks: SteadyHooks = {}) {
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
    const cfg = (n: number): GenConfig => ({
      host: '127.0.0.1',
      port: server.port,
      connections: n,
      length: 65535,
      intervalMs,
      // BENCH_HEARTBEAT_MS: the generators' heartbeat interval (give the server a matching
      // --heartbeat-interval/--heartbeat-timeout through BENCH_SEQSTREAM_ARGS).
      heartbeatIntervalMs: Number(process.env.BENCH_HEARTBEAT_MS) || 2000,
      rampPerSec: Math.ceil(plan.rampPerSec / nGen),
    });
    await Promise.all(gens.map((g, k) => g.send({ type: 'open', config: cfg(Math.min(per, sessions - k * per)) })));
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
      rssPerSessionKiB: (b.rssBytes - idle.rssBytes) / sessions / 1024,
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
    };
    log(
      `${kind.padEnd(9)} N=${String(sessions).padStart(5)} every ${intervalMs} ms: ${result.numbersPerSec.toFixed(0)} numbers/s, lateness p50 ${lateness.p50Ms.toFixed(2)} p99 ${lateness.p99Ms.toFixed(2)} max ${lateness.maxMs.toFixed(1)} ms (server loop p99 ${result.serverLoopP99Ms?.toFixed(1) ?? '?'} max ${result.serverLoopMaxMs?.toFixed(1) ?? '?'}, GC pause max ${result.gcMaxPauseMs?.toFixed(1) ?? '?'} ms), CPU ${result.cpuPercent.toFixed(1)} %, RSS ${result.rssMiB.toFixed(0)} MiB (${result.rssPerSessionKiB.toFixed(2)} KiB/session), loss ${result.loss} dup ${result.dup}, connected ${result.connectedAtEnd}/${sessions}`,
    );
    if (result.connectedAtEnd < sessions) log(`  WARNING: ${sessions - result.connectedAtEnd} session(s) dropped during the run; its figures do not describe N=${sessions}`);
    return { result, gens, server };
  } catch (err) {
    await Promise.all(gens.map((g) => g.close()));
    await server.stop();
    throw err;
  }
}

async function finish(run: { gens: GeneratorProc[]; server: RunningServer }): Promise<void> {
  await Promise.all(run.gens.map((g) => g.close()));
  await run.server.stop();
}

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
    inspector: [],
    notes: [],
  };

  const only = plan.only;
  log(`== 1. seed workload at 1 number/s per session (${plan.mode})`);
  for (const n of only && !only.includes('seed') ? [] : plan.seedSizes) {
    for (const kind of ['bare', 'seqstream'] as const) results.seed.push((await finish2(await steady(kind, n, 1000, plan, log))).result);
  }
  for (const n of only && !only.includes('socketio') ? [] : plan.socketIoSizes) {
    results.seed.push((await finish2(await steady('socketio', n, 1000, plan, log))).result);
  }
  if (only && !only.includes('throughput')) plan = { ...plan, throughputIntervals: [] };

  log(`== 2. throughput ceiling with ${plan.throughputSessions} sessions`);
  for (const kind of ['bare', 'seqstream'] as const) {
    for (const interval of plan.throughputIntervals) {
      const run = await steady(kind, plan.throughputSessions, interval, plan, log);
      await finish(run);
      const r = run.result;
      const step: ThroughputStep = {
        server: kind,
        intervalMs: interval,
        numbersPerSec: r.numbersPerSec,
        p99Ms: r.lateness.p99Ms,
        cpuPercent: r.cpuPercent,
        withinBudget: r.lateness.p99Ms <= 0.1 * interval && r.loss === 0,
      };
      results.throughput.push(step);
      if (!step.withinBudget) break;
    }
    const ok = results.throughput.filter((s) => s.server === kind && s.withinBudget);
    results.ceilings[kind] = ok.length ? Math.max(...ok.map((s) => s.numbersPerSec)) : 0;
  }
  results.ceilings.ratio = results.ceilings.bare ? results.ceilings.seqstream / results.ceilings.bare : 0;
  log(`ceiling: seqstream ${results.ceilings.seqstream.toFixed(0)}/s, bare ${results.ceilings.bare.toFixed(0)}/s, ratio ${(100 * results.ceilings.ratio).toFixed(0)} %`);

  if (!only || only.includes('storm')) results.storm = await storm(plan, log);

  if (!only || only.includes('inspector')) {
    log('== 4. the live inspector: on (with a page connected) against off, same N');
    for (const n of plan.inspectorSizes) results.inspector.push(await inspectorCost(n, plan, log, results.seed));
  }

  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  writeFileSync(path.join(outDir, 'results.md'), renderMarkdown(results));
  writeFileSync(path.join(outDir, 'chart.svg'), renderChart(results));
  log(`wrote ${path.relative(process.cwd(), outDir)}/results.{json,md} and chart.svg`);
  return results;
}

async function storm(plan: Plan, log: (s: string) => void): Promise<StormResult> {
  log(`== 3. reconnect storm of ${plan.stormSessions}`);
  const run = await steady('seqstream', plan.stormSessions, 1000, plan, log);
  try {
    await Promise.all(run.gens.map((g) => g.send({ type: 'measure' })));
    await Promise.all(run.gens.map((g) => g.send({ type: 'storm' })));
    const deadline = Date.now() + 60_000;
    let reports: GenReport[] = [];
    for (;;) {
      reports = await Promise.all(run.gens.map((g) => g.report()));
      if (reports.every((r) => r.pendingResumes === 0) || Date.now() > deadline) break;
      await sleep(100);
    }
    await sleep(1500); // one more interval: numbers after the first resumed one are checked too
    reports = await Promise.all(run.gens.map((g) => g.report()));
    const resume = merge(reports, 'resume');
    const result: StormResult = {
      sessions: plan.stormSessions,
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

/**
 * Seqstream with `--inspect` and a page's event stream connected from the start (so the page
 * sees every session created), against seqstream without it at the same N: the off figure is
 * the seed workload's when that ran in this run, else measured here.
 */
async function inspectorCost(sessions: number, plan: Plan, log: (s: string) => void, seed: SeedResult[]): Promise<InspectorResult> {
  const off = seed.find((r) => r.server === 'seqstream' && r.sessions === sessions) ?? (await finish2(await steady('seqstream', sessions, 1000, plan, log))).result;
  const inspectPort = await freePort();
  const received = { bytes: 0, batches: 0 };
  let mark = { bytes: 0, batches: 0, at: 0 };
  let window = { bytes: 0, batches: 0, ms: 0 };
  let page: http.ClientRequest | null = null;
  const connectPage = () =>
    new Promise<void>((resolve, reject) => {
      page = http.get({ host: '127.0.0.1', port: inspectPort, path: '/events' }, (res) => {
        res.on('data', (chunk: Buffer) => {
          received.bytes += chunk.length;
          received.batches += chunk.toString('latin1').split('data: ').length - 1;
        });
        resolve();
      });
      page.on('error', reject);
    });
  try {
    const run = await steady('seqstream', sessions, 1000, plan, log, {
      extraArgs: [`--inspect=${inspectPort}`],
      onStarted: connectPage,
      onMeasure: (phase) => {
        if (phase === 'start') mark = { ...received, at: Date.now() };
        else window = { bytes: received.bytes - mark.bytes, batches: received.batches - mark.batches, ms: Date.now() - mark.at };
      },
    });
    await finish(run);
    const on = run.result;
    const sseBytesPerSec = window.ms ? (window.bytes * 1000) / window.ms : 0;
    const sseBatchesPerSec = window.ms ? (window.batches * 1000) / window.ms : 0;
    log(`inspector N=${sessions}: CPU ${on.cpuPercent.toFixed(1)} % on vs ${off.cpuPercent.toFixed(1)} % off, p99 ${on.lateness.p99Ms.toFixed(2)} vs ${off.lateness.p99Ms.toFixed(2)} ms, page fed ${(sseBytesPerSec / 1024).toFixed(1)} KiB/s in ${sseBatchesPerSec.toFixed(1)} batches/s`);
    return { sessions, off, on, sseBytesPerSec, sseBatchesPerSec };
  } finally {
    (page as http.ClientRequest | null)?.destroy();
  }
}

async function finish2<T extends { gens: GeneratorProc[]; server: RunningServer }>(run: T): Promise<T> {
  await finish(run);
  return run;
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
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`Usage: npm run bench -- [--quick | --smoke] [--out DIR] [--only seed,socketio,throughput,storm,inspector] [--sizes N,N]\n\nRuns the seed workload, the throughput ceiling and the reconnect storm against seqstream,\nthe bare Node.js floor and Socket.IO with connection state recovery, and the live inspector's\ncost (on against off); writes results.json,\nresults.md and chart.svg.\n`);
    process.exit(0);
  }
  const mode: Plan['mode'] = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const outIdx = argv.indexOf('--out');
  const onlyIdx = argv.indexOf('--only');
  const sizesIdx = argv.indexOf('--sizes');
  const plan: Plan = { ...PLANS[mode] };
  if (onlyIdx >= 0) plan.only = argv[onlyIdx + 1].split(',') as Plan['only'];
  if (sizesIdx >= 0) plan.seedSizes = plan.socketIoSizes = argv[sizesIdx + 1].split(',').map(Number);
  const out = outIdx >= 0 ? path.resolve(argv[outIdx + 1]) : path.join(root, '..', 'bench', 'results', mode === 'full' ? '' : mode);
  runBench(plan, out).then(
    () => process.exit(0),
    (err) => {
      console.error(`bench failed: ${(err as Error).stack ?? err}`);
      process.exit(1);
    },
  );
}

export { PLANS };
