/**
 * The chaos soak: a real server, the fault proxy with a seeded chaos schedule, and many real
 * clients through it. Every client's numbers are checked independently of the client's own
 * verifier: against the seed the *server* drew for that session (read from its store when the
 * session starts), index by index, plus both checksums. Used by the chaos test in `npm test`
 * (short) and by `npm run soak` (long).
 *
 * Near 275 lines: runSoak is one run (server, proxy, chaos, the lanes of clients, the check
 * against the server's seed, the overall bound) whose closures share the run's counters; the
 * types above it and formatReport below are its input and its output.
 */
import { performance } from 'node:perf_hooks';
import type { Seed } from '../core/sequence';
import { silentLogger, type Logger } from '../core/logger';
import { ChaosSchedule } from '../proxy/chaos';
import { seededRandom } from '../core/seeded-random';
import type { FaultKind } from '../proxy/faults';
import { runClient, type ClientResult } from '../transport/client/client';
import { RelayProxy } from '../proxy/proxy';
import { NO_SOURCE_LIMITS } from '../transport/server/admission';
import { SeqServer } from '../transport/server/server';
import { verifyRun } from './verify';

export interface SoakOptions {
  /** Clients running at once. */
  clients: number;
  /** Keep starting new clients as others finish until this long has passed; 0: one wave. */
  durationMs: number;
  /** Each client asks for a length drawn in this range (inclusive). */
  minLength: number;
  maxLength: number;
  intervalMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  reconnectWindowMs: number;
  kinds: readonly FaultKind[];
  seed: number;
  chaosGapMs: number;
  /** Longest a chaos fault lasts; keep it under window − heartbeat timeout, or sessions expire. */
  chaosMaxDurationMs: number;
  /** Bound on the whole run, after which it is reported as stuck. */
  timeoutMs: number;
  logger?: Logger;
  /** Progress, every second or so. */
  onProgress?: (p: SoakProgress) => void;
}

export interface SoakProgress {
  elapsedMs: number;
  started: number;
  finished: number;
  running: number;
  reconnects: number;
  faults: Partial<Record<FaultKind, number>>;
}

export interface ClientProblem {
  client: number;
  sessionId: string | null;
  problem: string;
}

export interface SoakReport {
  seed: number;
  clientsStarted: number;
  clientsFinished: number;
  /** Clients whose verdict was success and whose numbers passed the independent check. */
  clientsVerified: number;
  numbersReceived: number;
  lost: number;
  duplicated: number;
  wrongValues: number;
  reconnects: number;
  faultsInjected: Partial<Record<FaultKind, number>>;
  /** Longest time from a client noticing a lost link to its session resuming. */
  maxResumeLatencyMs: number;
  sessionsLeftOnServer: number;
  problems: ClientProblem[];
  durationMs: number;
  timedOut: boolean;
}

export const SOAK_TEST_DEFAULTS: Omit<SoakOptions, 'seed'> = {
  clients: 120,
  durationMs: 0,
  minLength: 60,
  maxLength: 160,
  intervalMs: 5,
  heartbeatIntervalMs: 40,
  heartbeatTimeoutMs: 200,
  reconnectWindowMs: 3000,
  kinds: ['cut', 'reset', 'freeze', 'latency', 'slicer'],
  chaosGapMs: 120,
  chaosMaxDurationMs: 600,
  timeoutMs: 45_000,
};

interface Tracked {
  n: number;
  values: Map<number, number>;
  calls: number;
  lostAt: number | null;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const started = performance.now();
  const log = opts.logger ?? silentLogger();
  const server = new SeqServer({
    host: '127.0.0.1',
    port: 0,
    intervalMs: opts.intervalMs,
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    reconnectWindowMs: opts.reconnectWindowMs,
    handshakeTimeoutMs: Math.max(1000, opts.heartbeatTimeoutMs),
    // Not a capacity test: a session whose ACK a fault swallowed stays until its window ends
    // (spec §3), and a long soak starts new clients meanwhile, so leave plenty of room.
    maxSessions: 1_000_000,
    // All soak clients share one address: per-source limits would throttle the test itself.
    admission: NO_SOURCE_LIMITS,
    maxWriteBuffer: 1 << 20,
  });
  await server.listen();
  // The server's own seed per session: the independent reference for every client's numbers.
  const seeds = new Map<string, Seed>();
  server.on('session', (id: string) => {
    const seed = server.seedOf(id);
    if (seed) seeds.set(id, seed);
  });
  const proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  proxy.on('error', (err: Error) => log.warn(`proxy: ${err.message}`));
  const port = await proxy.listen();
  const chaos = new ChaosSchedule(proxy, { kinds: opts.kinds, seed: opts.seed, meanGapMs: opts.chaosGapMs, maxDurationMs: opts.chaosMaxDurationMs }, (s, err) => {
    if (!err) log.debug(`chaos: ${JSON.stringify(s)}`);
  });
  chaos.start();
  // Lengths come from the soak's seed too, so a replay asks for the same sequences.
  const lengthRandom = seededRandom(opts.seed ^ 0x5eed);

  const report: SoakReport = {
    seed: opts.seed,
    clientsStarted: 0,
    clientsFinished: 0,
    clientsVerified: 0,
    numbersReceived: 0,
    lost: 0,
    duplicated: 0,
    wrongValues: 0,
    reconnects: 0,
    faultsInjected: {},
    maxResumeLatencyMs: 0,
    sessionsLeftOnServer: 0,
    problems: [],
    durationMs: 0,
    timedOut: false,
  };
  const stops = new Set<() => void>();

  const check = (t: Tracked, res: ClientResult) => {
    report.clientsFinished++;
    report.reconnects += res.reconnects;
    const v = verifyRun(t, res, res.sessionId ? seeds.get(res.sessionId) : undefined);
    report.lost += v.lost;
    report.wrongValues += v.wrong;
    report.duplicated += v.duplicated;
    report.numbersReceived += v.received;
    if (v.problem) report.problems.push({ client: t.n, sessionId: res.sessionId, problem: v.problem });
    else report.clientsVerified++;
  };

  const runOne = async (n: number): Promise<void> => {
    report.clientsStarted++;
    const length = opts.minLength + Math.floor(lengthRandom() * (opts.maxLength - opts.minLength + 1));
    const t: Tracked = { n, values: new Map(), calls: 0, lostAt: null };
    const c = runClient({
      host: '127.0.0.1',
      port,
      length,
      maxBackoffMs: 100,
      baseBackoffMs: 10,
      maxReconnects: 0,
      heartbeatIntervalMs: opts.heartbeatIntervalMs,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
      connectTimeoutMs: Math.max(1000, opts.heartbeatTimeoutMs * 2),
      onNumber: (i, _v, value) => {
        t.calls++;
        t.values.set(i, value);
      },
      onLoss: () => {
        t.lostAt ??= performance.now();
      },
      onResume: () => {
        if (t.lostAt !== null) report.maxResumeLatencyMs = Math.max(report.maxResumeLatencyMs, performance.now() - t.lostAt);
        t.lostAt = null;
      },
    });
    stops.add(c.stop);
    const res = await c.result;
    stops.delete(c.stop);
    check(t, res);
  };

  let next = 0;
  const lane = async (): Promise<void> => {
    do {
      await runOne(next++);
    } while (opts.durationMs > 0 && performance.now() - started < opts.durationMs && !report.timedOut);
  };
  const progress = opts.onProgress
    ? setInterval(() => {
        opts.onProgress!({
          elapsedMs: performance.now() - started,
          started: report.clientsStarted,
          finished: report.clientsFinished,
          running: report.clientsStarted - report.clientsFinished,
          reconnects: report.reconnects,
          faults: { ...chaos.counts },
        });
      }, 1000)
    : null;
  let timeout: NodeJS.Timeout | undefined;
  const bound = new Promise<void>((resolve) => {
    timeout = setTimeout(() => {
      report.timedOut = true;
      resolve();
    }, opts.timeoutMs);
  });
  try {
    await Promise.race([Promise.all(Array.from({ length: opts.clients }, lane)), bound]);
  } finally {
    clearTimeout(timeout);
    if (progress) clearInterval(progress);
    chaos.stop();
    report.faultsInjected = { ...chaos.counts };
    proxy.clearFaults();
    for (const stop of stops) stop();
  }
  // A session is discarded on its client's ACK, or, when a fault ate the ACK, once the reconnect
  // window after END runs out (spec §3): wait for that, bounded.
  const deadline = performance.now() + opts.reconnectWindowMs + opts.heartbeatTimeoutMs + 2000;
  while (server.sessionCount > 0 && performance.now() < deadline && !report.timedOut) await new Promise((r) => setTimeout(r, 10));
  report.sessionsLeftOnServer = server.sessionCount;
  await proxy.close();
  await server.close();
  report.durationMs = performance.now() - started;
  return report;
}

export function formatReport(r: SoakReport): string {
  const faults = Object.entries(r.faultsInjected).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
  return [
    `seed ${r.seed} (replay with --seed ${r.seed})`,
    `clients: ${r.clientsFinished}/${r.clientsStarted} finished, ${r.clientsVerified} verified against the server's seed`,
    `numbers: ${r.numbersReceived} received, ${r.lost} lost, ${r.duplicated} duplicated, ${r.wrongValues} wrong`,
    `faults injected: ${faults}`,
    `reconnects: ${r.reconnects}, longest loss-to-resume: ${r.maxResumeLatencyMs.toFixed(0)} ms`,
    `sessions left on the server: ${r.sessionsLeftOnServer}`,
    `duration: ${(r.durationMs / 1000).toFixed(1)} s${r.timedOut ? ' (TIMED OUT)' : ''}`,
    ...r.problems.slice(0, 20).map((p) => `  client ${p.client} (${p.sessionId?.slice(0, 8) ?? 'no session'}): ${p.problem}`),
    r.problems.length > 20 ? `  … and ${r.problems.length - 20} more` : '',
  ]
    .filter(Boolean)
    .join('\n');
}
