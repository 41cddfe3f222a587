/**
 * Faults through the real relay proxy over real TCP: cuts inside and beyond the reconnect
 * window, a frozen link only heartbeats can detect, and many clients under random cuts.
 */
import { sequenceChecksum } from '../core/sequence';
import { RelayProxy } from '../proxy/proxy';
import type { SeqServer } from '../transport/server/server';
import { nextEvent, startClient, startServer, waitFor, storedSessions } from './helpers/net';

const ports = new WeakMap<RelayProxy, number>();

async function startProxy(server: SeqServer, listenPort = 0): Promise<RelayProxy> {
  const proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  ports.set(proxy, await proxy.listen());
  return proxy;
}

function proxyPort(proxy: RelayProxy): number {
  return ports.get(proxy)!;
}

/** Every index exactly once, in order. */
function expectExactOrder(received: number[], length: number): void {
  expect(received.length).toBe(length);
  for (let i = 0; i < length; i++) if (received[i] !== i) throw new Error(`position ${i} holds index ${received[i]}`);
}

describe('resume through the proxy', () => {
  let server: SeqServer;
  let proxy: RelayProxy;
  afterEach(async () => {
    await proxy?.close();
    await server?.close();
  });

  it('a cut inside the window resumes at the exact next index', async () => {
    server = await startServer();
    proxy = await startProxy(server);
    const received: number[] = [];
    const losses: number[] = [];
    const c = startClient(proxyPort(proxy), 120, {
      onNumber: (i) => received.push(i),
      onLoss: (_reason, next) => losses.push(next),
    });
    await waitFor(() => received.length >= 30, '30 numbers before the cut');
    const resumed = nextEvent<[string, number]>(server, 'resumed');
    expect(proxy.cutAll()).toBe(1);
    const [, resumedAt] = await resumed;
    const r = await c.result;
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.reconnects).toBe(1);
    expect(losses).toHaveLength(1);
    // The server resumed exactly where the client said it was.
    expect(resumedAt).toBe(losses[0]);
    expectExactOrder(received, 120);
    expect(r.serverChecksum).toBe(sequenceChecksum(c.verifier.seed!, 120));
    await waitFor(() => server.sessionCount === 0, 'the session to be discarded');
  });

  it('a frozen link is detected by heartbeats on both sides, and the session resumes after thaw', async () => {
    server = await startServer();
    proxy = await startProxy(server);
    const received: number[] = [];
    const lossReasons: string[] = [];
    const c = startClient(proxyPort(proxy), 100, {
      onNumber: (i) => received.push(i),
      onLoss: (reason) => lossReasons.push(reason),
    });
    await waitFor(() => received.length >= 10, '10 numbers before the freeze');
    const suspended = nextEvent(server, 'suspended', 5000);
    proxy.freeze();
    await suspended; // the server noticed the silence through its heartbeat timeout
    await waitFor(() => lossReasons.some((r) => /heartbeat/.test(r)), 'the client to notice the silence');
    proxy.unfreeze();
    const r = await c.result;
    expect(r.ok).toBe(true);
    expect(r.reconnects).toBeGreaterThanOrEqual(1);
    expectExactOrder(received, 100);
  });

  it('a cut longer than the window ends with a clear "expired" rejection', async () => {
    server = await startServer({ reconnectWindowMs: 150 });
    proxy = await startProxy(server);
    const port = proxyPort(proxy);
    const received: number[] = [];
    const c = startClient(port, 500, { onNumber: (i) => received.push(i) });
    await waitFor(() => received.length >= 5, 'some numbers before the outage');
    const expired = nextEvent(server, 'expired', 5000);
    await proxy.close(); // like stopping the seed's proxy: everyone is cut, nobody can connect
    await expired;
    proxy = await startProxy(server, port);
    const r = await c.result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/SESSION_EXPIRED/);
    expect(r.failure).toMatch(/expired/);
    expect(server.sessionCount).toBe(0);
  });

  it('a proxy restarted inside the window lets the client resume (the seed\'s scenario)', async () => {
    server = await startServer({ reconnectWindowMs: 5000 });
    proxy = await startProxy(server);
    const port = proxyPort(proxy);
    const received: number[] = [];
    const c = startClient(port, 80, { onNumber: (i) => received.push(i) });
    await waitFor(() => received.length >= 10, 'some numbers before the outage');
    const suspended = nextEvent(server, 'suspended');
    await proxy.close();
    await suspended;
    proxy = await startProxy(server, port);
    const r = await c.result;
    expect(r.ok).toBe(true);
    expectExactOrder(received, 80);
  });

  it('60 concurrent clients under random cuts all get their exact sequences', async () => {
    server = await startServer({ reconnectWindowMs: 3000 });
    proxy = await startProxy(server);
    const n = 60;
    const received: number[][] = Array.from({ length: n }, () => []);
    const clients = received.map((list, k) => startClient(proxyPort(proxy), 60 + k, { onNumber: (i) => list.push(i) }));
    // A deterministic "random" schedule of cuts: cut everyone whenever the total count passes a mark.
    let cuts = 0;
    const total = () => received.reduce((a, l) => a + l.length, 0);
    for (const mark of [300, 1200, 2500]) {
      await waitFor(() => total() >= mark, `${mark} numbers in total`, 10_000);
      proxy.cutAll();
      cuts++;
    }
    const results = await Promise.all(clients.map((c) => c.result));
    results.forEach((r, k) => {
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expectExactOrder(received[k], 60 + k);
      expect(r.serverChecksum).toBe(sequenceChecksum(clients[k].verifier.seed!, 60 + k));
    });
    expect(cuts).toBe(3);
    expect(results.reduce((a, r) => a + r.reconnects, 0)).toBeGreaterThan(0);
    await waitFor(() => server.sessionCount === 0 && storedSessions(server) === 0, 'no session state left', 5000);
  });
});
