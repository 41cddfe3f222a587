/**
 * The session model's paths replayed against TWO server nodes sharing a real redis-server, over
 * real sockets, each node behind its own relay proxy. Every RESUME of a path lands on the other
 * node than the one holding the session, so each resume is a cross-node claim. The events
 * session.model-server.test.ts cannot cause on one server are caused here for real:
 *
 *   ALL_SENT                  wait for END on the current connection
 *   ACK                       the client sends ACK; the holder completes the session
 *   DISCONNECTED (current)    the holder's proxy cuts the connection
 *   RESUME (k or length)      a new connection to the OTHER node sends RESUME k; the holder hears
 *                             the claim and lets go (its actor ends handedOver)
 *   after heartbeatTimeout,   the holder's proxy freezes until the holder suspends the session
 *   LINK_SILENT
 *   after reconnectWindow     nobody comes back: the holder expires the session (or, after a
 *                             drain, the store does by its own deadline, with no node holding it)
 *   TAKEN_OVER                the holder's link is frozen and a RESUME claims the session on the
 *                             other node: the model's state is then the OLD holder's, `handedOver`;
 *                             its frozen connection hears SESSION_TAKEN_OVER when it thaws
 *   DRAIN                     the holder drains (SeqServer.drain): the session is suspended in the
 *                             store, its client told SHUTTING_DOWN
 *
 * The state compared after every step is the state of the session on the node that holds it, or
 * how it ended there. After a DRAIN no node holds it: the store's state is compared (suspended;
 * expired once its deadline passes). A TAKEN_OVER of a session drained from its node has no old
 * actor left to end: there `handedOver` means the store names the claiming node as its owner and
 * the drained node holds nothing.
 *
 * A drain closes its node, so every path with a DRAIN gets nodes of its own (a third one is
 * started when a path needs another node after both drained); the others share one pair.
 * The model's stale DISCONNECTED is a self-loop its path generation never takes (no path has it).
 */
import { RelayProxy } from '../proxy/proxy';
import { startRedis, type RedisServer } from '../cluster/redis-process';
import { topState } from '../machines/session.machine';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { openStore } from '../transport/server/store/open-store';
import type { SessionRecord, SessionStore, StoredState } from '../transport/server/store/session-store';
import { startServer, waitFor, waitForAsync } from './helpers/net';
import { RawClient } from './helpers/raw-client';
import { input, makeModel, type AnyEvent, type Snap } from './helpers/session-model';

const LENGTH = input.length;
// As in session.model-server.test.ts: still sending when the next step comes a few ms later,
// END within half a second.
const TIMING = { intervalMs: 40, heartbeatIntervalMs: 40, heartbeatTimeoutMs: 400, reconnectWindowMs: 700 };

interface Node {
  server: SeqServer;
  /** This node's own handle on the shared Redis (its own connections, as another process's). */
  store: SessionStore;
  /** How sessions ended on this node: complete, expired, handedOver. */
  ended: Map<string, string>;
  drained: boolean;
}

interface Step {
  event: AnyEvent;
  state: Snap;
}

let redis: RedisServer | undefined;
const allNodes: Node[] = [];

async function startNode(): Promise<Node> {
  redis ??= await startRedis();
  const store = await openStore(redis.url);
  const server = await startServer({ ...TIMING, maxSessions: 200, store });
  const node: Node = { server, store, ended: new Map(), drained: false };
  const on = (how: string) => (id: string) => node.ended.set(id, how);
  server.on('complete', on('complete')).on('expired', on('expired')).on('takeover', on('handedOver'));
  allNodes.push(node);
  return node;
}

// Concurrent tests may start before a beforeAll has finished: the shared pair is made on first use.
let sharedPair: Promise<Node[]> | undefined;
const pair = () => (sharedPair ??= (async () => [await startNode(), await startNode()])());

afterAll(async () => {
  for (const n of allNodes) if (!n.drained) await n.server.close();
  for (const n of allNodes) await n.store.close();
  await redis?.stop();
});

function modelState(s: Snap): string {
  return s.matches('streaming') ? `streaming.${(s.value as { streaming: { progress: string } }).streaming.progress}` : String(s.value);
}

/** The session's state on a node as the model names it, or how it ended there. */
function stateOn(node: Node, id: string): string {
  const snap = node.server.snapshotOf(id);
  if (!snap) return node.ended.get(id) ?? 'gone';
  return snap.matches('streaming') ? `streaming.${(snap.value as { streaming: { progress: string } }).streaming.progress}` : topState(snap.value);
}

/** The store's state of a session: its record's state, or its tombstone's. */
async function storedState(node: Node, id: string): Promise<StoredState | 'gone'> {
  const r = await node.store.inspect(id);
  if (r === undefined) return 'gone';
  return typeof r === 'string' ? r : r.state;
}

async function replay(steps: Step[]): Promise<void> {
  const drains = steps.some((s) => s.event.type === 'DRAIN');
  const cluster = drains ? [await startNode(), await startNode()] : [...(await pair())];
  const proxies = new Map<Node, RelayProxy>();
  const opened: RawClient[] = [];
  const proxyOf = async (node: Node) => {
    let p = proxies.get(node);
    if (!p) {
      p = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: node.server.port });
      proxies.set(node, p);
      await p.listen();
    }
    return p;
  };
  const connect = async (node: Node) => {
    const c = await RawClient.connect((await proxyOf(node)).port);
    c.startHeartbeats(TIMING.heartbeatIntervalMs);
    opened.push(c);
    return c;
  };
  /** A node other than `holder` that still serves: a fresh one if every other one drained. */
  const otherThan = async (holder: Node) => {
    const found = cluster.find((n) => n !== holder && !n.drained);
    if (found) return found;
    const fresh = await startNode();
    cluster.push(fresh);
    return fresh;
  };
  try {
    let holder = cluster[0];
    let current = await connect(holder);
    current.hello(LENGTH);
    const welcome = await current.next(MessageType.WELCOME);
    const id = welcome.sessionId.toString('hex');
    const isSuspended = () => stateOn(holder, id) === 'suspended';
    /** A RESUME on the other node: it claims the session; a live holder hears it and lets go. */
    const resumeElsewhere = async (nextIndex: number, n: number) => {
      const old = holder;
      const target = await otherThan(old);
      const c = await connect(target);
      c.resume(welcome.sessionId, nextIndex);
      const w = await c.next(MessageType.WELCOME, `WELCOME on resume (step ${n})`);
      expect(w.startIndex).toBe(nextIndex);
      if (!old.drained) await waitFor(() => old.ended.get(id) === 'handedOver', `node ${old.server.instanceId.slice(0, 8)} to hand the session over (step ${n})`);
      return { old, target, c };
    };
    for (const [n, step] of steps.entries()) {
      const e = step.event as { type: string; nextIndex?: number };
      let real: string;
      if (e.type === 'xstate.init') {
        // The HELLO above: the session exists and streams on the first node.
        real = stateOn(holder, id);
      } else if (e.type === 'ALL_SENT') {
        await current.next(MessageType.END, `END (step ${n})`);
        real = stateOn(holder, id);
      } else if (e.type === 'ACK') {
        current.send({ type: MessageType.ACK, verdict: 0 });
        await waitFor(() => holder.ended.get(id) === 'complete', 'the session to complete');
        real = stateOn(holder, id);
      } else if (e.type === 'DISCONNECTED') {
        (await proxyOf(holder)).cutAll();
        await waitFor(isSuspended, 'the holder to suspend the session after the cut');
        real = stateOn(holder, id);
      } else if (e.type === 'RESUME') {
        const previous = current;
        const { target, c } = await resumeElsewhere(e.nextIndex!, n);
        // A connection the old holder still had is closed by it (taken over), or was cut before.
        if (!previous.closed) await previous.waitClosed();
        holder = target;
        current = c;
        real = stateOn(holder, id);
      } else if (e.type.includes('heartbeatTimeout') || e.type === 'LINK_SILENT') {
        const proxy = await proxyOf(holder);
        proxy.freeze();
        await waitFor(isSuspended, 'the heartbeat timeout to suspend the session', 1500);
        proxy.unfreeze();
        // The holder's REJECT waited in the frozen proxy: the connection ends with it.
        const reject = await current.next(MessageType.REJECT, 'REJECT after the heartbeat timeout');
        expect(reject.code).toBe(RejectCode.HEARTBEAT_TIMEOUT);
        await current.waitClosed();
        real = stateOn(holder, id);
      } else if (e.type.includes('reconnectWindow')) {
        if (holder.drained) {
          // No node holds it: the store's own deadline ends it.
          await waitForAsync(async () => (await storedState(holder, id)) === 'expired', 'the store to expire the drained session', 5000);
          real = await storedState(holder, id);
        } else {
          await waitFor(() => holder.ended.get(id) === 'expired', 'the reconnect window to expire the session', 5000);
          real = stateOn(holder, id);
        }
      } else if (e.type === 'TAKEN_OVER') {
        const previous = current;
        const oldProxy = holder.drained ? undefined : await proxyOf(holder);
        oldProxy?.freeze();
        const { old, target, c } = await resumeElsewhere(LENGTH, n);
        if (old.drained) {
          const record = (await target.store.inspect(id)) as SessionRecord;
          const released = record?.owner === target.server.instanceId && old.server.snapshotOf(id) === undefined;
          real = released ? 'handedOver' : `still ${JSON.stringify(record)}`;
        } else {
          real = stateOn(old, id);
        }
        oldProxy?.unfreeze();
        if (!previous.closed) {
          // It was streaming on the frozen link: the old node's REJECT waited in the proxy.
          const reject = await previous.next(MessageType.REJECT, 'REJECT on the thawed connection');
          expect(reject.code).toBe(RejectCode.SESSION_TAKEN_OVER);
        }
        holder = target;
        current = c;
      } else if (e.type === 'DRAIN') {
        const previous = current;
        await holder.server.drain(2000);
        holder.drained = true;
        if (!previous.closed) {
          const reject = await previous.next(MessageType.REJECT, 'REJECT on drain');
          expect(reject.code).toBe(RejectCode.SHUTTING_DOWN);
        }
        real = await storedState(holder, id);
      } else {
        throw new Error(`no real-world cause for ${e.type}`);
      }
      expect(`step ${n} ${e.type}: ${real}`).toBe(`step ${n} ${e.type}: ${modelState(step.state)}`);
    }
    // A session the path left resumable finishes cleanly, resumed on the other node again.
    const left = await storedState(holder, id);
    if (left === 'streaming' || left === 'suspended') {
      for (const p of proxies.values()) p.unfreeze();
      const { target, c } = await resumeElsewhere(LENGTH, steps.length);
      await c.next(MessageType.END);
      c.send({ type: MessageType.ACK, verdict: 0 });
      await waitFor(() => target.ended.get(id) === 'complete', 'the leftover session to complete');
    }
    // Every node lets go. The one that held the session before the last claim hears of it by
    // the claim's notice (Redis pub/sub) or its own refused write, which under load can come
    // after a session resumed at its last index has already completed elsewhere.
    await waitFor(() => cluster.every((node) => node.server.snapshotOf(id) === undefined), 'every node to let go of the session', 3000);
    // The final write lands after the 'complete' event (the store is written asynchronously).
    await waitForAsync(async () => ['complete', 'expired'].includes(await storedState(holder, id)), 'the store to hold the end of the session');
  } finally {
    for (const c of opened) c.close();
    for (const p of proxies.values()) await p.close();
    if (drains) for (const node of cluster) if (!node.drained) await node.server.close();
  }
}

const model = makeModel();
const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
const simple = model.getSimplePaths({ allowDuplicatePaths: true });

describe('session model paths against two nodes sharing Redis, every resume on the other node', () => {
  it('covers every final state and the events only a cluster causes', () => {
    const reached = new Set(shortest.map((p) => modelState(p.state as Snap)));
    for (const s of ['complete', 'expired', 'handedOver', 'streaming.ending', 'suspended']) expect(reached).toContain(s);
    const events = new Set(simple.flatMap((p) => p.steps.map((s) => s.event.type)));
    for (const t of ['RESUME', 'TAKEN_OVER', 'DRAIN']) expect(events).toContain(t);
  });

  // Each path is its own session and proxies, so they run side by side.
  it.concurrent.each(shortest.map((p) => [p.description, p] as const))('shortest: %s', (_d, p) => replay(p.steps as Step[]), 20_000);
  it.concurrent.each(simple.map((p) => [p.description, p] as const))('simple: %s', (_d, p) => replay(p.steps as Step[]), 20_000);
});
