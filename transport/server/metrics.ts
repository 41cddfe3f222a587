/**
 * One server node's Prometheus metrics (issue 11, "Operations"): what an operator of a cluster
 * needs to see per node — sessions by state, numbers sent, resumes (local or from another
 * node), takeovers, rejects by code, the session store's latency and errors, event-loop lag,
 * open connections — plus prom-client's default process metrics.
 *
 * A registry per server, never prom-client's global one: tests run several servers in one
 * process, and each must report only its own. Everything is fed from the server's events and
 * getters (nothing here is on the per-number hot path) or read when scraped.
 */
import type { EventEmitter } from 'node:events';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionStateName } from '../../machines/session.machine';
import { RejectCode } from '../protocol/constants';

/** The store operations timed by `instrumentStore`: its lifecycle edges. */
export const STORE_OPS = ['create', 'claim', 'suspend', 'complete', 'expire'] as const;
export type StoreOp = (typeof STORE_OPS)[number];

/** The states a live session can be in on this node (the final ones leave at once). */
const LIVE_STATES: readonly SessionStateName[] = ['streaming', 'suspended'];

/** Resolution of the event-loop delay sampler, ms (Node's default). */
const LOOP_RESOLUTION_MS = 10;

/**
 * What the metrics read from a server: SeqServer satisfies it. Its events: 'session'(id),
 * 'resumed'(id, nextIndex, crossNode?), 'takeover'(id), 'complete'(id), 'expired'(id),
 * 'rejected'(code).
 */
export interface ObservedServer extends EventEmitter {
  /** The top-level state of every session live on the server. */
  sessionStates(): Iterable<SessionStateName>;
  readonly connectionCount: number;
  /** Numbers written to clients since start (a number sent again after a resume counts again). */
  readonly numbersSent: number;
  /** Taking new sessions and resumes: false while draining or while the store is unreachable. */
  readonly ready: boolean;
}

export class ServerMetrics {
  readonly registry = new Registry();
  /** Read by `instrumentStore`. */
  readonly storeLatency: Histogram<'op'>;
  readonly storeErrors: Counter<'op'>;
  private readonly sessionsCreated: Counter;
  private readonly sessionsEnded: Counter<'outcome'>;
  private readonly resumes: Counter<'origin'>;
  private readonly takeovers: Counter;
  private readonly rejects: Counter<'code'>;
  private readonly loop: IntervalHistogram;
  private server: ObservedServer | null = null;
  private unsubscribe: () => void = () => {};

  constructor() {
    const registers = [this.registry];
    // `this` inside collect() is the metric; the server is read through the closure.
    const metrics = this;
    new Gauge({
      name: 'seqstream_sessions',
      help: 'Sessions held by this node, by the state of their actor',
      labelNames: ['state'],
      registers,
      collect() {
        const counts = metrics.sessionsByState();
        for (const state of LIVE_STATES) this.set({ state }, counts.get(state) ?? 0);
      },
    });
    this.sessionsCreated = new Counter({ name: 'seqstream_sessions_created_total', help: 'Sessions created on this node (HELLO accepted)', registers });
    this.sessionsEnded = new Counter({ name: 'seqstream_sessions_ended_total', help: 'Sessions that ended on this node, by outcome', labelNames: ['outcome'], registers });
    let sentSoFar = 0;
    new Counter({
      name: 'seqstream_numbers_sent_total',
      help: 'Numbers written to clients by this node (one sent again after a resume counts again)',
      registers,
      collect() {
        // The server counts on its hot path; a counter only goes up, so add what is new.
        const now = metrics.server?.numbersSent ?? sentSoFar;
        if (now > sentSoFar) this.inc(now - sentSoFar);
        sentSoFar = now;
      },
    });
    this.resumes = new Counter({ name: 'seqstream_resumes_total', help: 'RESUMEs accepted by this node: origin local (the session was held here) or cross_node (claimed from another node)', labelNames: ['origin'], registers });
    this.takeovers = new Counter({ name: 'seqstream_takeovers_total', help: 'Sessions this node lost to a RESUME on another node', registers });
    this.rejects = new Counter({ name: 'seqstream_rejects_total', help: 'REJECTs sent by this node, by code', labelNames: ['code'], registers });
    this.storeLatency = new Histogram({
      name: 'seqstream_store_operation_seconds',
      help: 'Latency of session-store operations, by operation',
      labelNames: ['op'],
      // From an in-process map (microseconds) to a struggling Redis (seconds).
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.storeErrors = new Counter({ name: 'seqstream_store_errors_total', help: 'Session-store operations that failed (threw or rejected), by operation', labelNames: ['op'], registers });
    this.loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.loop.enable();
    new Gauge({
      name: 'seqstream_event_loop_lag_seconds',
      help: 'Event-loop delay since the previous scrape: its median (stat p50), 99th percentile (p99) and max',
      labelNames: ['stat'],
      registers,
      collect() {
        const h = metrics.loop;
        // No sample yet (a scrape right after start): report 0 rather than NaN.
        const seconds = (ns: number) => (h.count > 0 && Number.isFinite(ns) ? ns / 1e9 : 0);
        this.set({ stat: 'p50' }, seconds(h.percentile(50)));
        this.set({ stat: 'p99' }, seconds(h.percentile(99)));
        this.set({ stat: 'max' }, seconds(h.max));
        h.reset();
      },
    });
    new Gauge({
      name: 'seqstream_connections',
      help: 'Client connections open on this node (in handshake or streaming)',
      registers,
      collect() {
        this.set(metrics.server?.connectionCount ?? 0);
      },
    });
    new Gauge({
      name: 'seqstream_ready',
      help: '1 while this node takes new sessions and resumes (what /ready answers), else 0',
      registers,
      collect() {
        this.set(metrics.server?.ready ? 1 : 0);
      },
    });
    // Every label value present from the start at 0, so rate() and alerts see the first event.
    for (const code of Object.values(RejectCode)) if (typeof code === 'string') this.rejects.inc({ code }, 0);
    for (const origin of ['local', 'cross_node']) this.resumes.inc({ origin }, 0);
    for (const outcome of ['complete', 'expired']) this.sessionsEnded.inc({ outcome }, 0);
    for (const op of STORE_OPS) {
      this.storeLatency.zero({ op });
      this.storeErrors.inc({ op }, 0);
    }
    collectDefaultMetrics({ register: this.registry });
  }

  /** Feeds the metrics from this server's events and getters (one server per instance). */
  observe(server: ObservedServer): void {
    this.unsubscribe();
    this.server = server;
    // Each handler types its own arguments (the events' signatures above).
    const on: Record<string, (...args: any[]) => void> = {
      session: () => this.sessionsCreated.inc(),
      resumed: (_id: string, _next: number, crossNode?: boolean) => this.resumes.inc({ origin: crossNode ? 'cross_node' : 'local' }),
      takeover: () => this.takeovers.inc(),
      complete: () => this.sessionsEnded.inc({ outcome: 'complete' }),
      expired: () => this.sessionsEnded.inc({ outcome: 'expired' }),
      rejected: (code: RejectCode) => this.rejects.inc({ code: RejectCode[code] ?? String(code) }),
    };
    for (const [event, fn] of Object.entries(on)) server.on(event, fn);
    this.unsubscribe = () => {
      for (const [event, fn] of Object.entries(on)) server.off(event, fn);
    };
  }

  /** The text exposition format, and its content type. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stops listening to the server and the event-loop sampler. */
  close(): void {
    this.unsubscribe();
    this.unsubscribe = () => {};
    this.loop.disable();
  }

  private sessionsByState(): Map<SessionStateName, number> {
    const counts = new Map<SessionStateName, number>();
    if (!this.server) return counts;
    for (const state of this.server.sessionStates()) counts.set(state, (counts.get(state) ?? 0) + 1);
    return counts;
  }
}
