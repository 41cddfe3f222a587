/**
 * Passivation: a streaming session's actor leaves memory while the pacer watches the session,
 * and comes back from its context for the next lifecycle event, with the machine still deciding
 * every transition: cuts resume exactly, a silent link is still caught on time (by the pacer
 * while numbers flow, by the restored actor's own timer once they stop), and an inspected
 * server keeps every actor resident.
 */
import { sequenceChecksum } from '../core/sequence';
import { RelayProxy } from '../proxy/proxy';
import { MessageType } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { FAST, nextEvent, startClient, startServer, waitFor } from './helpers/net';
import { RawClient } from './helpers/raw-client';

let server: SeqServer;
let proxy: RelayProxy;
let proxyPort: number;

async function start(over: Parameters<typeof startServer>[0] = {}): Promise<void> {
  server = await startServer(over);
  proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  proxyPort = await proxy.listen();
}

/** A heartbeating client's new session, through the proxy, once its actor has been retired. */
async function passiveSession(length: number): Promise<{ c: RawClient; id: string }> {
  const c = await RawClient.connect(proxyPort);
  c.startHeartbeats(FAST.heartbeatIntervalMs);
  c.hello(length);
  const id = (await c.next(MessageType.WELCOME)).sessionId.toString('hex');
  await c.next(MessageType.NUMBER);
  await waitFor(() => server.registry.size === 0 && server.snapshotOf(id)?.matches('streaming') === true, 'the session passive while it streams');
  return { c, id };
}

afterEach(async () => {
  await proxy?.close();
  await server?.close();
});

describe('passivation', () => {
  it('streaming sessions keep no actor; a cut brings it back, and every session resumes exactly and completes', async () => {
    await start();
    const N = 20;
    const LENGTH = 300;
    const ids = new Set<string>();
    server.on('session', (id: string) => ids.add(id));
    const received = Array.from({ length: N }, () => [] as number[]);
    const clients = received.map((r) => startClient(proxyPort, LENGTH, { onNumber: (i) => r.push(i) }));
    await waitFor(() => received.every((r) => r.length >= 20), 'every session streaming');
    // Every session is live and streaming, and none holds an actor.
    expect(server.sessionCount).toBe(N);
    expect(server.registry.size).toBe(0);
    for (const id of ids) expect(server.snapshotOf(id)?.matches({ streaming: { progress: 'sending' } })).toBe(true);

    const suspended = new Set<string>();
    server.on('suspended', (id: string) => suspended.add(id));
    proxy.cutAll();
    await waitFor(() => suspended.size === N, 'every session suspended by the cut');
    const results = await Promise.all(clients.map((c) => c.result));
    for (const [k, r] of results.entries()) {
      expect(r.ok).toBe(true);
      expect(r.reconnects).toBeGreaterThanOrEqual(1);
      expect(received[k]).toEqual(Array.from({ length: LENGTH }, (_, i) => i));
      expect(r.serverChecksum).toBe(sequenceChecksum(clients[k].verifier.seed!, LENGTH));
    }
    await waitFor(() => server.sessionCount === 0 && server.registry.size === 0, 'every session complete, no actor left');
  });

  it('a passive session whose link goes silent is suspended within the heartbeat timeout', async () => {
    await start();
    const { c, id } = await passiveSession(60_000);
    // Heard from all along: the freeze below is what silences it.
    await new Promise((r) => setTimeout(r, 3 * FAST.heartbeatTimeoutMs));
    expect(server.snapshotOf(id)?.matches('streaming')).toBe(true);
    const suspended = nextEvent<[string]>(server, 'suspended');
    const frozeAt = performance.now();
    proxy.freeze();
    await suspended;
    // The pacer's check, about one timeout: before the machine's backstop of 5 timeouts.
    expect(performance.now() - frozeAt).toBeLessThan(5 * FAST.heartbeatTimeoutMs);
    expect(server.snapshotOf(id)?.matches('suspended')).toBe(true);
    proxy.unfreeze();
    c.close();
  });

  it("after the last number, the restored actor's own timer catches a silent link", async () => {
    await start();
    const { c, id } = await passiveSession(100);
    await c.next(MessageType.END);
    // No more numbers: the actor is back, waiting for the ACK with its heartbeat timer armed.
    expect(server.registry.get(id)).toBeDefined();
    expect(server.snapshotOf(id)?.matches({ streaming: { progress: 'ending' } })).toBe(true);
    const suspended = nextEvent<[string]>(server, 'suspended');
    const frozeAt = performance.now();
    proxy.freeze();
    await suspended;
    // The exact timer (a timeout after the last heartbeat), before the backstop of 5 timeouts.
    expect(performance.now() - frozeAt).toBeLessThan(5 * FAST.heartbeatTimeoutMs);
    proxy.unfreeze();
    c.close();
  });

  it('an inspected server keeps every actor resident, so the inspector sees each one throughout', async () => {
    await start({ actors: { inspect: () => {} } });
    const received = Array.from({ length: 5 }, () => [] as number[]);
    const clients = received.map((r) => startClient(proxyPort, 200, { onNumber: (i) => r.push(i) }));
    await waitFor(() => received.every((r) => r.length >= 20), 'every session streaming');
    expect(server.registry.size).toBe(5);
    for (const r of await Promise.all(clients.map((c) => c.result))) expect(r.ok).toBe(true);
  });

  it('numbers slower than the heartbeat timeout leave the machine its timer: the actor stays resident', async () => {
    await start({ intervalMs: 150 });
    const c = await RawClient.connect(proxyPort);
    c.startHeartbeats(FAST.heartbeatIntervalMs);
    c.hello(1000);
    const welcome = await c.next(MessageType.WELCOME);
    await c.next(MessageType.NUMBER);
    expect(server.registry.get(welcome.sessionId.toString('hex'))).toBeDefined();
    c.close();
  });
});
