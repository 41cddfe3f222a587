/**
 * Two server nodes sharing one session store: a session started on A continues on B at the
 * exact next index; a half-open A hears SESSION_TAKEN_OVER when it thaws; A's timers never touch
 * what B holds. Run against every shared store the tests can start (see storeKinds()).
 */
import { sequenceChecksum, valueAt } from '../core/sequence';
import { RelayProxy } from '../proxy/proxy';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import type { Message } from '../transport/protocol/codec';
import type { SeqServer } from '../transport/server/server';
import type { SessionStore } from '../transport/server/store/session-store';
import { FAST, startServer, waitFor, waitForAsync } from './helpers/net';
import { RawClient } from './helpers/raw-client';
import { storeKinds } from './helpers/stores';

const LENGTH = 40;

/** The NUMBER frames a client holds, as [index, value]. */
const numbers = (c: RawClient) =>
  c.messages.filter((m): m is Extract<Message, { type: MessageType.NUMBER }> => m.type === MessageType.NUMBER).map((m) => [m.index, m.value] as const);

describe.each(storeKinds())('two nodes sharing a %s store', (_kind, kind) => {
  afterAll(() => kind.teardown());
  let stores: SessionStore[] = [];
  let servers: SeqServer[] = [];
  const clients: RawClient[] = [];
  let proxy: RelayProxy | null = null;

  async function nodes(opts: { deafA?: boolean; gateA?: Promise<void> } = {}): Promise<[SeqServer, SeqServer]> {
    const [sb, sa0] = await kind.open(2);
    // A deaf A never hears takeover notices: only its own next (fenced) write can tell it.
    let sa = opts.deafA ? Object.assign(Object.create(sa0) as SessionStore, { onTakeover: async () => async () => {} }) : sa0;
    // A gated A's claims wait for the test: a slow store, or a RESUME delivered late.
    const gate = opts.gateA;
    if (gate) {
      const base = sa;
      sa = Object.assign(Object.create(base) as SessionStore, { claim: async (...args: Parameters<SessionStore['claim']>) => (await gate, base.claim(...args)) });
    }
    // Close what the servers used: a wrapper keeps, as its own, the subscriber it opened.
    stores = [sa, sb];
    // A longer window than FAST: the test checks A's window timer stays harmless after B claims.
    // A longer heartbeat timeout too: a frozen link must outlast B's claim on a loaded machine.
    const slack = { reconnectWindowMs: 600, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 500 };
    const a = await startServer({ store: sa, ...slack });
    const b = await startServer({ store: sb, ...slack });
    servers = [a, b];
    return [a, b];
  }

  async function client(port: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.startHeartbeats(FAST.heartbeatIntervalMs);
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await proxy?.close();
    proxy = null;
    for (const s of servers) await s.close();
    for (const s of stores) await s.close();
  });

  it('a session started on A, cut, resumes on B at the exact next index; A lets go and its window timer is harmless', async () => {
    const [a, b] = await nodes();
    const c1 = await client(a.port);
    c1.hello(LENGTH, 2);
    const welcome = await c1.next(MessageType.WELCOME);
    const id = welcome.sessionId.toString('hex');
    await waitFor(() => numbers(c1).length >= 10, 'ten numbers from A');
    c1.close();
    await waitFor(() => a.snapshotOf(id)?.matches('suspended') === true, 'A to suspend the session');
    const got = numbers(c1);
    const c2 = await client(b.port);
    c2.resume(welcome.sessionId, got.length, welcome.instanceId);
    const w2 = await c2.next(MessageType.WELCOME);
    expect(w2.startIndex).toBe(got.length);
    expect(w2.instanceId?.toString('hex')).toBe(b.instanceId);
    const end = await c2.next(MessageType.END);
    const all = [...got, ...numbers(c2)];
    expect(all.map(([i]) => i)).toEqual([...Array(LENGTH).keys()]);
    const seed = { hi: welcome.seedHi, lo: welcome.seedLo };
    for (const [i, v] of all) expect(v).toBe(valueAt(seed, i));
    expect(end.checksum).toBe(sequenceChecksum(seed, LENGTH));
    // A heard of B's claim and let go: no actor, so no window timer left to expire anything.
    await waitFor(() => a.snapshotOf(id) === undefined, "A's actor to stop");
    const expired: string[] = [];
    a.on('expired', (sid: string) => expired.push(sid));
    c2.send({ type: MessageType.ACK, verdict: 0 });
    await waitFor(() => b.snapshotOf(id) === undefined, 'B to complete the session');
    // Written after the 'complete' event: wait for the store, not just the actor.
    await waitForAsync(async () => (await stores[1].inspect(id)) === 'complete', 'the store to hold the completion');
    // Past A's reconnect window (600 ms from its suspension): A expired nothing.
    const t0 = Date.now();
    await waitFor(() => Date.now() - t0 > 700, "A's reconnect window to pass", 2000);
    expect(expired).toEqual([]);
    expect(await stores[0].inspect(id)).toBe('complete');
  });

  it('a half-open A gets SESSION_TAKEN_OVER when it thaws, and the sequence on B stays exact', async () => {
    const [a, b] = await nodes();
    proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: a.port });
    const c1 = await client(await proxy.listen());
    c1.stopHeartbeats(); // a frozen link carries none anyway; A must not time out before B claims
    c1.hello(LENGTH, 2);
    const welcome = await c1.next(MessageType.WELCOME);
    const id = welcome.sessionId.toString('hex');
    await waitFor(() => numbers(c1).length >= 5, 'five numbers through the proxy');
    proxy.freeze();
    const got = numbers(c1).length;
    const c2 = await client(b.port);
    c2.resume(welcome.sessionId, got, welcome.instanceId);
    await c2.next(MessageType.WELCOME);
    await waitFor(() => a.snapshotOf(id) === undefined, "A to let go on B's claim");
    proxy.unfreeze();
    const reject = await c1.next(MessageType.REJECT, 'REJECT on the thawed connection');
    expect(reject.code).toBe(RejectCode.SESSION_TAKEN_OVER);
    await c2.next(MessageType.END);
    const seed = { hi: welcome.seedHi, lo: welcome.seedLo };
    const tail = numbers(c2);
    expect(tail.map(([i]) => i)).toEqual([...Array(LENGTH - got).keys()].map((k) => k + got));
    for (const [i, v] of tail) expect(v).toBe(valueAt(seed, i));
  });

  it('without the notice, A learns from its own fenced write: its suspend is refused and it lets go, leaving B streaming', async () => {
    const [a, b] = await nodes({ deafA: true });
    proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: a.port });
    const c1 = await client(await proxy.listen());
    c1.hello(LENGTH * 10, 2);
    const welcome = await c1.next(MessageType.WELCOME);
    const id = welcome.sessionId.toString('hex');
    await waitFor(() => numbers(c1).length >= 3, 'three numbers through the proxy');
    proxy.freeze();
    const c2 = await client(b.port);
    c2.resume(welcome.sessionId, numbers(c1).length, welcome.instanceId);
    await c2.next(MessageType.WELCOME);
    expect(a.snapshotOf(id)?.matches('streaming')).toBe(true); // deaf: still thinks it streams
    // A's heartbeat timeout suspends it; that write names A's old epoch and is refused.
    await waitFor(() => a.snapshotOf(id) === undefined, 'A to let go after its refused write', 3000);
    expect(await stores[1].inspect(id)).toMatchObject({ state: 'streaming', owner: b.instanceId });
    expect(b.snapshotOf(id)?.matches('streaming')).toBe(true);
  });

  it.each(['on the node streaming it', 'on another node'])(
    "a RESUME whose connection is gone before the store answers (an abandoned attempt delivered late) takes nothing from the live stream: %s",
    async (where) => {
      let open!: () => void;
      const [a, b] = await nodes({ gateA: new Promise<void>((r) => (open = r)) });
      // The live stream: on A itself (HELLO needs no claim), or on B.
      const holder = where === 'on the node streaming it' ? a : b;
      const live = await client(holder.port);
      live.hello(LENGTH, 2);
      const welcome = await live.next(MessageType.WELCOME);
      await waitFor(() => numbers(live).length >= 3, 'the live stream to start');
      const late = await client(a.port);
      late.resume(welcome.sessionId, 0, welcome.instanceId);
      await waitFor(() => a.connectionCount >= (holder === a ? 2 : 1), 'A to read the late RESUME');
      late.close();
      await waitFor(() => a.connectionCount === (holder === a ? 1 : 0), 'A to see that connection close');
      open();
      const end = await live.next(MessageType.END, 'END on the live stream', 10_000);
      expect(end.checksum).toBe(sequenceChecksum({ hi: welcome.seedHi, lo: welcome.seedLo }, LENGTH));
      expect(numbers(live).map(([i]) => i)).toEqual([...Array(LENGTH).keys()]);
      expect(live.messages.filter((m) => m.type === MessageType.REJECT)).toEqual([]);
    },
  );

  it('a RESUME of a session another node completed hears UNKNOWN_SESSION, and of one expired on the store SESSION_EXPIRED', async () => {
    const [a, b] = await nodes();
    const c1 = await client(a.port);
    c1.hello(3, 2);
    const w = await c1.next(MessageType.WELCOME);
    await c1.next(MessageType.END);
    c1.send({ type: MessageType.ACK, verdict: 0 });
    await waitFor(() => a.sessionCount === 0, 'A to complete it');
    const c2 = await client(b.port);
    c2.resume(w.sessionId, 3, w.instanceId);
    expect((await c2.next(MessageType.REJECT)).code).toBe(RejectCode.UNKNOWN_SESSION);

    const c3 = await client(a.port);
    c3.hello(LENGTH, 2);
    const w3 = await c3.next(MessageType.WELCOME);
    c3.close();
    // A's window is 600 ms; the store's deadline is the same: past it, B must say expired.
    await waitFor(() => a.sessionCount === 0, "A's window to run out", 3000);
    const c4 = await client(b.port);
    c4.resume(w3.sessionId, 0, w3.instanceId);
    expect((await c4.next(MessageType.REJECT)).code).toBe(RejectCode.SESSION_EXPIRED);
  });
});
