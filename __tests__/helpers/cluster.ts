/**
 * The multi-process set-up of the high-availability tests, all real processes: a redis-server,
 * N nodes (`node dist/bin/server.js`, each with /ready), and HAProxy in front of them; plus
 * clients whose every number is checked by the soak's verifier against the seed in the Redis
 * record (see `trackClient`), and a record of which node welcomed each client and why it lost
 * each connection.
 */
import http from 'node:http';
import type { Seed } from '../../core/sequence';
import { freePort } from '../../core/ports';
import { startHaproxy, type HaproxyProcess } from '../../cluster/haproxy-process';
import { nodeProcess, type NodeProcess } from '../../cluster/node-process';
import { startRedis, type RedisServer } from '../../cluster/redis-process';
import { runClient, type ClientResult } from '../../transport/client/client';
import { RedisSessionStore } from '../../transport/server/store/redis-store';
import { verifyRun, type Verdict } from '../../soak/verify';

/** Short production-shaped timings: 50 numbers a second, a dead link noticed in 0.4 s. */
// The window is generous: under chaos every ~150 ms plus a SIGKILL every 2.5 s, a loaded CI
// machine once kept 10 of 533 clients from getting a WELCOME for 5 s (they then heard
// SESSION_EXPIRED: the protocol working as specified, the test asking too much).
export const TIMINGS = { intervalMs: 20, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400, reconnectWindowMs: 15_000 } as const;

const NODE_ARGS = [
  '--interval', `${TIMINGS.intervalMs}ms`,
  '--heartbeat-interval', `${TIMINGS.heartbeatIntervalMs}ms`,
  '--heartbeat-timeout', `${TIMINGS.heartbeatTimeoutMs}ms`,
  '--reconnect-window', `${TIMINGS.reconnectWindowMs}ms`,
  '--handshake-timeout', '2s',
  '--drain-timeout', '3s',
  // Every test client comes through HAProxy from 127.0.0.1: per-source limits would throttle the test.
  '--max-sessions-per-source', '0',
  '--new-session-rate', '0',
  '--max-pending-per-source', '0',
  '--max-message-rate', '0',
];

export interface Cluster {
  redis: RedisServer;
  nodes: NodeProcess[];
  /** Every line each node printed, over all its starts. */
  lines: string[][];
  haproxy: HaproxyProcess;
  /** A store handle of the test's own on the same Redis: the seed reference, and counts. */
  store: RedisSessionStore;
  /** GET /ready on node i: its status code. */
  ready(i: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startCluster(opts: { nodes?: number; appendonly?: boolean } = {}): Promise<Cluster> {
  const redis = await startRedis({ appendonly: opts.appendonly });
  const nodes: NodeProcess[] = [];
  const lines: string[][] = [];
  for (let i = 0; i < (opts.nodes ?? 3); i++) {
    const out: string[] = [];
    lines.push(out);
    nodes.push(nodeProcess({ name: `node${i + 1}`, port: await freePort(), metricsPort: await freePort(), store: redis.url, args: NODE_ARGS, onLine: (l) => out.push(l) }));
  }
  await Promise.all(nodes.map((n) => n.start()));
  const haproxy = await startHaproxy({ backends: nodes.map((n) => ({ name: n.name, port: n.port, readyPort: n.metricsPort })), checkMs: 100 });
  const store = new RedisSessionStore(redis.url, { commandTimeoutMs: 500 });
  await store.waitUntilAvailable();
  return {
    redis,
    nodes,
    lines,
    haproxy,
    store,
    ready: (i) => readyStatus(nodes[i].metricsPort),
    async stop() {
      await store.close();
      await haproxy.stop();
      await Promise.all(nodes.map((n) => n.kill()));
      await redis.stop();
    },
  };
}

function readyStatus(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ready', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** Every tracked client not finished yet: a failed test stops them (they reconnect forever). */
const running = new Set<() => void>();

export function stopAllClients(): void {
  for (const stop of running) stop();
  running.clear();
}

/** One thing that happened to a client, in order. */
export type ClientEvent =
  | { kind: 'welcome'; instance: string; at: number }
  | { kind: 'loss'; reason: string; at: number }
  | { kind: 'end'; at: number };

export interface TrackedClient {
  n: number;
  values: Map<number, number>;
  calls: number;
  sessionId: string | null;
  /** The seed in the Redis record, read as soon as the session id is known (see below). */
  seed: Seed | undefined;
  /** Resolves when the seed is read (or could not be). */
  seedRead: Promise<void>;
  seedProblem: string | null;
  /** The client's own seed from its first WELCOME, cross-checked against Redis's. */
  welcomeSeed: Seed | null;
  events: ClientEvent[];
  result: Promise<ClientResult>;
  stop(): void;
  /** The last node that welcomed it (instance id), or null. */
  readonly instance: string | null;
  /** Welcomed and not lost since, or finished. */
  readonly attached: boolean;
  /** Something happened to it: it has left its first handshake. */
  readonly welcomed: boolean;
  readonly finished: boolean;
}

/**
 * A real client (the product's runClient, reconnecting forever) through `port`.
 *
 * The seed reference comes from Redis, not from the client: as soon as the client knows its
 * session id, the test's own RedisSessionStore reads the record (`inspect(id)` → seedHi/seedLo),
 * i.e. what the node that took the HELLO stored before its WELCOME. Every number, whichever node
 * sent it after however many kills, is then checked against that. The first WELCOME's seed (the
 * client's view) is only cross-checked against it. It must be read while the record is live:
 * a completed session is a tombstone without its seed, and sessions last seconds, reads take
 * milliseconds (retried while Redis is away).
 */
export function trackClient(n: number, port: number, length: number, store: RedisSessionStore): TrackedClient {
  let resolveSeed!: () => void;
  const t: TrackedClient = {
    n,
    values: new Map(),
    calls: 0,
    sessionId: null,
    seed: undefined,
    seedRead: new Promise<void>((r) => (resolveSeed = r)),
    seedProblem: null,
    welcomeSeed: null,
    events: [],
    result: undefined as unknown as Promise<ClientResult>,
    stop: () => {},
    get instance() {
      for (let i = t.events.length - 1; i >= 0; i--) {
        const e = t.events[i];
        if (e.kind === 'welcome') return e.instance;
      }
      return null;
    },
    get attached() {
      const last = t.events[t.events.length - 1];
      return last !== undefined && last.kind !== 'loss';
    },
    get welcomed() {
      return t.events.length > 0;
    },
    get finished() {
      return t.events.some((e) => e.kind === 'end');
    },
  };
  const readSeed = async (id: string) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      try {
        const r = await store.inspect(id);
        if (r && typeof r === 'object') t.seed = { hi: r.seedHi, lo: r.seedLo };
        else t.seedProblem = `the store holds ${r ?? 'nothing'} for the session, not its record`;
        break;
      } catch (err) {
        if (Date.now() > deadline) {
          t.seedProblem = `cannot read the record: ${(err as Error).message}`;
          break;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    resolveSeed();
  };
  const c = runClient({
    host: '127.0.0.1',
    port,
    length,
    baseBackoffMs: 10,
    maxBackoffMs: 200,
    maxReconnects: 0,
    heartbeatIntervalMs: TIMINGS.heartbeatIntervalMs,
    heartbeatTimeoutMs: TIMINGS.heartbeatTimeoutMs,
    connectTimeoutMs: 2000,
    onNumber: (i, verifier, value) => {
      t.calls++;
      t.values.set(i, value);
      if (t.welcomeSeed === null && verifier.seed) t.welcomeSeed = { ...verifier.seed };
    },
    onLoss: (reason) => t.events.push({ kind: 'loss', reason, at: Date.now() }),
    onState: (state, ctx) => {
      if (state === 'online.receiving') {
        t.events.push({ kind: 'welcome', instance: ctx.instanceId ?? '', at: Date.now() });
        if (t.sessionId === null && ctx.sessionId) {
          t.sessionId = ctx.sessionId;
          void readSeed(ctx.sessionId);
        }
      } else if (state === 'done') t.events.push({ kind: 'end', at: Date.now() }); // END verified ('verifying' is transient, never reported)
    },
  });
  running.add(c.stop);
  t.result = c.result.then(async (res) => {
    running.delete(c.stop);
    if (t.sessionId === null) resolveSeed();
    await t.seedRead;
    return res;
  });
  t.stop = c.stop;
  return t;
}

/** The soak's verdict on a finished client, with the Redis seed, cross-checked with its WELCOME. */
export function verdict(t: TrackedClient, res: ClientResult): Verdict {
  const v = verifyRun(t, res, t.seed);
  if (v.problem) return v;
  if (t.seedProblem) return { ...v, problem: t.seedProblem };
  if (!t.welcomeSeed || t.welcomeSeed.hi !== t.seed!.hi || t.welcomeSeed.lo !== t.seed!.lo) {
    return { ...v, problem: `first WELCOME's seed ${JSON.stringify(t.welcomeSeed)} differs from the record's ${JSON.stringify(t.seed)}` };
  }
  return v;
}

/** Totals over finished clients, and the first few problems as lines for a failure message. */
export interface Tally {
  clients: number;
  verified: number;
  numbers: number;
  lost: number;
  duplicated: number;
  wrong: number;
  reconnects: number;
  problems: string[];
}

export function tally(runs: readonly (readonly [TrackedClient, ClientResult])[]): Tally {
  const out: Tally = { clients: runs.length, verified: 0, numbers: 0, lost: 0, duplicated: 0, wrong: 0, reconnects: 0, problems: [] };
  for (const [t, res] of runs) {
    const v = verdict(t, res);
    out.numbers += v.received;
    out.lost += v.lost;
    out.duplicated += v.duplicated;
    out.wrong += v.wrong;
    out.reconnects += res.reconnects;
    if (v.problem) out.problems.push(`client ${t.n} (${t.sessionId?.slice(0, 8) ?? 'no session'}): ${v.problem}; events ${JSON.stringify(t.events.slice(-6))}`);
    else out.verified++;
  }
  return out;
}

/** The promise, or a rejection naming `what` after the bound (running `onTimeout` first). */
export async function within<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void = () => {}): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
  });
  try {
    return await Promise.race([p, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `lanes` clients at once through `port`, each lane starting a new client when its last one
 * finishes, until `keepGoing()` says stop; lengths drawn in [minLength, maxLength].
 */
export function runLanes(o: { lanes: number; port: number; store: RedisSessionStore; minLength: number; maxLength: number; keepGoing: () => boolean; random?: () => number }) {
  const random = o.random ?? Math.random;
  const clients: TrackedClient[] = [];
  const runs: [TrackedClient, ClientResult][] = [];
  const lane = async () => {
    do {
      const t = trackClient(clients.length, o.port, o.minLength + Math.floor(random() * (o.maxLength - o.minLength + 1)), o.store);
      clients.push(t);
      runs.push([t, await t.result]);
    } while (o.keepGoing());
  };
  const done = Promise.all(Array.from({ length: o.lanes }, lane)).then(() => runs);
  return {
    clients,
    runs,
    done,
    /** Clients not finished yet. */
    running: () => clients.filter((c) => !c.finished),
    stopAll: () => clients.forEach((c) => c.stop()),
  };
}
