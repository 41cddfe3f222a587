/**
 * A node's operations endpoint (issue 11, "Operations") over real HTTP, fed by a real server
 * and real clients: /metrics counts what happened, /ready follows the server's `ready`, and the
 * store wrapper times every lifecycle operation without changing what the store answers.
 */
import { spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RelayProxy } from '../proxy/proxy';
import { ServerMetrics } from '../transport/server/metrics';
import { notReadyReason, OpsHttpServer } from '../transport/server/ops-http';
import { instrumentStore } from '../transport/server/store/instrumented-store';
import { InMemorySessionStore } from '../transport/server/store/memory-store';
import type { SessionIdentity } from '../transport/server/store/session-store';
import type { SeqServer } from '../transport/server/server';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { RawClient } from './helpers/raw-client';
import { freePort, nextEvent, startClient, startServer, waitFor } from './helpers/net';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Node {
  server: SeqServer;
  metrics: ServerMetrics;
  base: string;
}

async function node(over: Parameters<typeof startServer>[0] = {}): Promise<Node> {
  const server = await startServer(over);
  cleanup.push(() => server.close());
  const metrics = new ServerMetrics();
  metrics.observe(server);
  cleanup.push(() => metrics.close());
  const ops = new OpsHttpServer({ metrics: () => metrics.text(), notReady: () => notReadyReason(server) });
  const port = await ops.listen('127.0.0.1', 0);
  cleanup.push(() => ops.close());
  return { server, metrics, base: `http://127.0.0.1:${port}` };
}

/** The value of one series (`name` or `name{label="v"}`, labels as the exposition writes them). */
function sample(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    if (line.slice(0, cut) === series) return Number(line.slice(cut + 1));
  }
  throw new Error(`no series ${series} in:\n${text}`);
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

describe('/metrics', () => {
  it('counts a session: created, streaming while it streams, numbers sent = its length, complete after', async () => {
    // Slack in the liveness timings: on a loaded machine FAST's 100 ms timeout may cut the link,
    // and this test counts one uninterrupted session (the resume test below counts a cut).
    const calm = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 3000 };
    const { server, metrics, base } = await node(calm);
    let received = 0;
    const c = startClient(server.port, 300, { ...calm, onNumber: () => received++ });
    await waitFor(() => received >= 5, 'a few numbers');
    const during = await scrape(base);
    expect(sample(during, 'seqstream_sessions{state="streaming"}')).toBe(1);
    expect(sample(during, 'seqstream_sessions{state="suspended"}')).toBe(0);
    expect(sample(during, 'seqstream_connections')).toBe(1);
    expect(sample(during, 'seqstream_sessions_created_total')).toBe(1);
    const r = await c.result;
    expect(r.ok).toBe(true);
    await waitFor(() => server.sessionCount === 0, 'the session to be discarded');

    const res = await fetch(`${base}/metrics`);
    expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
    const after = await res.text();
    expect(sample(after, 'seqstream_numbers_sent_total')).toBe(300);
    expect(sample(after, 'seqstream_sessions_ended_total{outcome="complete"}')).toBe(1);
    expect(sample(after, 'seqstream_sessions_ended_total{outcome="expired"}')).toBe(0);
    expect(sample(after, 'seqstream_sessions{state="streaming"}')).toBe(0);
    expect(sample(after, 'seqstream_resumes_total{origin="local"}')).toBe(0);
    expect(sample(after, 'seqstream_ready')).toBe(1);
    // The event loop was sampled while the session streamed: a lag, in seconds, not NaN.
    const p99 = sample(after, 'seqstream_event_loop_lag_seconds{stat="p99"}');
    expect(p99).toBeGreaterThan(0);
    expect(p99).toBeLessThan(5);
    // The default process metrics are on the same registry.
    expect(sample(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after).toMatch(/^seqstream_store_operation_seconds_count\{op="claim"\} 0$/m);
    expect(after).toMatch(/^seqstream_store_errors_total\{op="claim"\} 0$/m);
  });

  it('counts a resume after a cut, as local', async () => {
    const { server, base } = await node();
    const proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
    const proxyPort = await proxy.listen();
    cleanup.push(() => proxy.close());
    let received = 0;
    const c = startClient(proxyPort, 100, { onNumber: () => received++ });
    await waitFor(() => received >= 20, '20 numbers before the cut');
    const resumed = nextEvent(server, 'resumed');
    expect(proxy.cutAll()).toBe(1);
    await resumed;
    expect((await c.result).ok).toBe(true);
    const text = await scrape(base);
    expect(sample(text, 'seqstream_resumes_total{origin="local"}')).toBe(1);
    expect(sample(text, 'seqstream_resumes_total{origin="cross_node"}')).toBe(0);
    expect(sample(text, 'seqstream_sessions_created_total')).toBe(1);
    // Numbers in flight at the cut are sent again after the resume: at least the length.
    expect(sample(text, 'seqstream_numbers_sent_total')).toBeGreaterThanOrEqual(100);
  });

  it('counts REJECTs by code name, every code present from the start', async () => {
    const { server, base } = await node();
    const before = await scrape(base);
    for (const code of ['UNKNOWN_SESSION', 'SERVER_FULL', 'SESSION_TAKEN_OVER', 'SERVER_RESTARTED']) {
      expect(sample(before, `seqstream_rejects_total{code="${code}"}`)).toBe(0);
    }
    const c = await RawClient.connect(server.port);
    cleanup.push(() => c.close());
    c.resume(randomBytes(16), 0);
    const r = await c.next(MessageType.REJECT);
    expect(r.code).toBe(RejectCode.UNKNOWN_SESSION);
    const bad = await RawClient.connect(server.port);
    cleanup.push(() => bad.close());
    bad.send({ type: MessageType.HEARTBEAT, nonce: 1 });
    expect((await bad.next(MessageType.REJECT)).code).toBe(RejectCode.UNEXPECTED_MESSAGE);
    const after = await scrape(base);
    expect(sample(after, 'seqstream_rejects_total{code="UNKNOWN_SESSION"}')).toBe(1);
    expect(sample(after, 'seqstream_rejects_total{code="UNEXPECTED_MESSAGE"}')).toBe(1);
    expect(sample(after, 'seqstream_rejects_total{code="SERVER_FULL"}')).toBe(0);
  });

  it('each server has its own registry: two in one process do not mix', async () => {
    const a = await node();
    const b = await node();
    expect((await startClient(a.server.port, 10).result).ok).toBe(true);
    expect(sample(await scrape(a.base), 'seqstream_sessions_created_total')).toBe(1);
    expect(sample(await scrape(b.base), 'seqstream_sessions_created_total')).toBe(0);
  });
});

describe('/ready and the routes', () => {
  it('200 "ready" while the server is ready, 503 with the reason when not, 503 once it closes', async () => {
    const { server, base } = await node();
    let res = await fetch(`${base}/ready`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ready\n');
    // The server's own getter, flipped on this instance only (the lead's drain and store outage set it for real).
    Object.defineProperty(server, 'ready', { get: () => false, configurable: true });
    res = await fetch(`${base}/ready`);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res.text()).toBe('not ready: draining: not taking new sessions or resumes\n');
    expect(sample(await scrape(base), 'seqstream_ready')).toBe(0);
    delete (server as unknown as Record<string, unknown>).ready;
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    await server.close();
    res = await fetch(`${base}/ready`);
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(/^not ready: draining/);
  });

  it('names an unreachable store as the reason', () => {
    const store = Object.assign(new EventEmitter(), { available: false, description: 'redis://10.0.0.5:6379/0' });
    expect(notReadyReason({ ready: false, store })).toBe('session store redis://10.0.0.5:6379/0 unreachable');
    expect(notReadyReason({ ready: true, store })).toBeNull();
  });

  it('GET and HEAD only; other paths are 404', async () => {
    const { base } = await node();
    const head = await fetch(`${base}/metrics`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0);
    expect(await head.text()).toBe('');
    const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${base}/`)).status).toBe(404);
    expect((await fetch(`${base}/metrics/x`)).status).toBe(404);
    expect((await fetch(`${base}/metrics?name[]=x`)).status).toBe(200);
  });
});

/** A store with a Redis store's extras: events, an `available` getter behind a true private field. */
class EventfulStore extends InMemorySessionStore {
  readonly #events = new EventEmitter();
  #available = true;
  get available(): boolean {
    return this.#available;
  }
  on(event: 'unavailable' | 'available', fn: () => void): this {
    this.#events.on(event, fn);
    return this;
  }
  setAvailable(up: boolean): void {
    this.#available = up;
    this.#events.emit(up ? 'available' : 'unavailable');
  }
}

function identity(n: number): SessionIdentity {
  return { id: n.toString(16).padStart(32, '0'), seedHi: n, seedLo: 7 * n, length: 100 + n, createdAt: 1_000 };
}

describe('instrumentStore', () => {
  /** The same script of every timed operation (successes, lost writes, refusals) on a store. */
  async function script(s: InMemorySessionStore) {
    return [
      await s.create(identity(1), 'a', 5000),
      await s.create(identity(2), 'a', 5000),
      await s.claim(identity(1).id, 'b', 3, 5000),
      await s.claim('f'.repeat(32), 'b', 0, 5000),
      await s.suspend(identity(1).id, 1, 3, 1000), // stale epoch: lost
      await s.suspend(identity(1).id, 2, 4, 1000),
      await s.complete(identity(2).id, 1),
      await s.complete(identity(2).id, 1), // already buried: lost
      await s.expire(identity(1).id, 2),
      await s.claim(identity(1).id, 'c', 0, 5000), // expired tombstone
      await s.claim(identity(2).id, 'c', 0, 5000), // complete tombstone
      await s.inspect(identity(1).id),
      await s.counts(),
    ];
  }

  /** Observations per operation, from the histogram's count series. */
  async function observations(metrics: ServerMetrics): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const v of (await metrics.storeLatency.get()).values) {
      if (v.metricName === 'seqstream_store_operation_seconds_count') out[String(v.labels.op)] = v.value;
    }
    return out;
  }

  it('answers exactly as the memory store, with one observation per operation', async () => {
    const clock = () => 50_000;
    const plain = await script(new InMemorySessionStore({ now: clock }));
    const metrics = new ServerMetrics();
    cleanup.push(() => metrics.close());
    const wrapped = instrumentStore(new InMemorySessionStore({ now: clock }), metrics);
    expect(await script(wrapped)).toEqual(plain);
    expect(await observations(metrics)).toEqual({ create: 2, claim: 4, suspend: 2, complete: 2, expire: 1 });
    const text = await metrics.text();
    expect(sample(text.body, 'seqstream_store_errors_total{op="claim"}')).toBe(0);
  });

  it('passes the same errors through, counted, and everything else untouched', async () => {
    const metrics = new ServerMetrics();
    cleanup.push(() => metrics.close());
    const store = new EventfulStore();
    const boom = new Error('connection reset');
    store.claim = () => Promise.reject(boom);
    const sync = new Error('not connected');
    store.suspend = () => {
      throw sync;
    };
    const s = instrumentStore(store, metrics);
    await expect(s.claim('x', 'a', 0, 1)).rejects.toBe(boom);
    expect(() => s.suspend('x', 1, 0, 1)).toThrow(sync);
    const text = (await metrics.text()).body;
    expect(sample(text, 'seqstream_store_errors_total{op="claim"}')).toBe(1);
    expect(sample(text, 'seqstream_store_errors_total{op="suspend"}')).toBe(1);
    expect(await observations(metrics)).toMatchObject({ claim: 1, suspend: 1, create: 0 });

    expect(s.shared).toBe(false);
    expect(s.description).toBe('memory');
    expect(s).toBeInstanceOf(EventfulStore);
    // A Redis store's events and getter, through the wrapper; `on` chains on the wrapper.
    const seen: string[] = [];
    expect(s.on('unavailable', () => seen.push('down')).on('available', () => seen.push('up'))).toBe(s);
    store.setAvailable(false);
    expect(s.available).toBe(false);
    store.setAvailable(true);
    expect(seen).toEqual(['down', 'up']);
    // Takeover notices reach a listener subscribed through the wrapper.
    const plain = instrumentStore(new InMemorySessionStore(), metrics);
    const told: string[] = [];
    const off = await plain.onTakeover('a', (id, owner) => told.push(`${id}:${owner}`));
    await plain.create(identity(3), 'a', 5000);
    const c = await plain.claim(identity(3).id, 'b', 0, 5000);
    if (c.kind === 'claimed') await plain.announceTakeover(identity(3).id, c.previousOwner, 'b', c.record.epoch);
    await waitFor(() => told.length === 1, 'the takeover notice');
    expect(told).toEqual([`${identity(3).id}:b`]);
    await off();
    await plain.close();
  });
});

describe('server --metrics-port', () => {
  it('serves /metrics and /ready with the server, and stops with it on SIGTERM', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const file = path.join(__dirname, '..', 'dist', 'bin', 'server.js');
    const child = spawn(process.execPath, [file, String(port), '--metrics-port', String(metricsPort), '--log-file', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    cleanup.push(() => {
      child.kill('SIGKILL');
    });
    await waitFor(() => out.includes(`metrics on http://127.0.0.1:${metricsPort}/metrics, readiness on http://127.0.0.1:${metricsPort}/ready`), `the metrics URL in the log; so far:\n${out}`, 10_000);
    expect((await fetch(`http://127.0.0.1:${metricsPort}/ready`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).toMatch(/^seqstream_sessions\{state="streaming"\} 0$/m);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    await expect(fetch(`http://127.0.0.1:${metricsPort}/ready`)).rejects.toThrow();
  });
});
