/** Messages between the bench runner and its load generator processes. */
export interface GenConfig {
  host: string;
  port: number;
  connections: number;
  /** Numbers per session; long enough that no session ends during a measurement. */
  length: number;
  /** The server's send interval: the schedule lateness is measured against. */
  intervalMs: number;
  heartbeatIntervalMs: number;
  /** New connections per second while opening. */
  rampPerSec: number;
  /** Source address of every connection (127.0.0.x): one source reaches one port ~28,000 times (the ephemeral port range). */
  localAddress?: string;
  /**
   * Reconnect as the real client does when the server side closes a connection: RESUME after
   * the client's backoff (base doubling per failed attempt, equal jitter) capped at this. Absent:
   * a closed connection stays closed (the steady and storm workloads' clients).
   */
  reconnectCapMs?: number;
  /** How long the ramp may take before it reports a shortfall (default: a minute, or 4× what rampPerSec needs). */
  rampDeadlineMs?: number;
}

/**
 * What a generator's ramp reached. It never fails for a shortfall: it backs off while the server
 * refuses or is slow to answer, and at the deadline says how far it got and why.
 */
export interface OpenOutcome {
  target: number;
  /** Sessions with a WELCOME at the end of the ramp. */
  welcomed: number;
  /** New sessions per second actually reached (welcomed ÷ time to the last first WELCOME). */
  rampPerSec: number;
  /** The lowest rate the back-off went down to (the asked rate when it never backed off). */
  minRatePerSec: number;
  /** Connection attempts that ended before their WELCOME (refused, reset, rejected) and were retried. */
  retried: number;
  /** Welcomed sessions whose connection closed during the ramp, RESUMEd as the real client would. */
  resumedDuringRamp: number;
  /**
   * REJECT HEARTBEAT_TIMEOUT received during the ramp: each one the server sent to a welcomed
   * session, which it then suspended (counted in resumedDuringRamp too, with every other close).
   */
  heartbeatTimeouts: number;
  /** Why `welcomed` < `target` (empty when every session started). */
  shortfall: string;
}

export type GenCommand =
  | { type: 'open'; config: GenConfig }
  | { type: 'measure' }
  | { type: 'storm' }
  /** A server is about to die (epoch ms, comparable across processes): connections it closes from now count as cut at that instant. */
  | { type: 'expect-cut'; atEpochMs: number }
  | { type: 'report' }
  | { type: 'close' };

export interface HistogramJSON {
  buckets: [number, number][];
  total: number;
  max: number;
}

export interface GenReport {
  connections: number;
  connected: number;
  counts: Record<'received' | 'gaps' | 'dups' | 'badValues' | 'rejects' | 'expired' | 'errors' | 'completed' | 'welcomes' | 'checksumOk' | 'cut', number>;
  lateness: HistogramJSON;
  resume: HistogramJSON;
  pendingResumes: number;
}

export type GenReply = { type: 'opened'; outcome?: OpenOutcome } | { type: 'ok' } | { type: 'report'; report: GenReport } | { type: 'error'; message: string };

/** What the runner needs from any generator (ours, Socket.IO's). */
export interface Generator {
  /** Our generator says how far its ramp got; Socket.IO's throws on a shortfall. */
  open(): Promise<void | OpenOutcome>;
  measure(): void;
  storm(): void;
  expectCut?(atEpochMs: number): void;
  report(): GenReport;
  close(): void;
}

/** Child-process side: obey the parent's commands, answer each with one reply. */
export function serveGenerator(create: (cfg: GenConfig) => Generator): void {
  if (!process.send) throw new Error('a generator runs as a forked child process');
  let gen: Generator | null = null;
  const reply = (r: GenReply, then: () => void = () => {}) => process.send!(r, undefined, undefined, then);
  process.on('message', async (cmd: GenCommand) => {
    try {
      switch (cmd.type) {
        case 'open':
          gen = create(cmd.config);
          return reply({ type: 'opened', outcome: (await gen.open()) ?? undefined });
        case 'measure':
          gen!.measure();
          return reply({ type: 'ok' });
        case 'storm':
          gen!.storm();
          return reply({ type: 'ok' });
        case 'expect-cut':
          gen!.expectCut?.(cmd.atEpochMs);
          return reply({ type: 'ok' });
        case 'report':
          return reply({ type: 'report', report: gen!.report() });
        case 'close':
          gen?.close();
          return reply({ type: 'ok' }, () => process.exit(0));
      }
    } catch (err) {
      reply({ type: 'error', message: (err as Error).message });
    }
  });
}
