/**
 * The session model's paths replayed against a real server, over real sockets, through the
 * relay proxy. Each model event becomes what causes it in the world:
 *
 *   ALL_SENT                  wait for END on the current connection (the server streams by itself)
 *   ACK                       the client sends ACK
 *   DISCONNECTED (current)    the proxy cuts the connection
 *   RESUME (k or length)      a new connection through the proxy sends RESUME k (takes over if needed)
 *   after heartbeatTimeout,   the proxy freezes: the connection stays open and goes silent
 *   LINK_SILENT
 *   after reconnectWindow     nobody comes back: wait for the server to expire the session
 *
 * After every step the server's own session actor must be in the state the model predicts
 * (or gone, having emitted `complete` / `expired`). The stale DISCONNECTED of the model (a
 * taken-over connection closing late) has no separate cause here: every takeover below already
 * closes the old connection late, so paths containing it are left to the machine-level test.
 */
import type { SeqServer } from '../transport/server/server';
import { MessageType } from '../transport/protocol/constants';
import { RelayProxy } from '../proxy/proxy';
import { topState } from '../machines/session.machine';
import { startServer, waitFor } from './helpers/net';
import { RawClient } from './helpers/raw-client';
import { input, makeModel, STALE_CONNECTION, type AnyEvent, type Snap } from './helpers/session-model';

const LENGTH = input.length;
// Slow enough that a session is still sending when the next step comes a few ms later; short
// enough that waiting for END takes under half a second.
const TIMING = { intervalMs: 40, heartbeatIntervalMs: 40, heartbeatTimeoutMs: 400, reconnectWindowMs: 700 };

let server: SeqServer;
beforeAll(async () => {
  server = await startServer({ ...TIMING, maxSessions: 100 });
});
afterAll(() => server.close());

interface Step {
  event: AnyEvent;
  state: Snap;
}

/** The server-side state of a session as the model names it, or how it ended. */
function realState(id: string, ended: Map<string, string>): string {
  const snap = server.snapshotOf(id);
  if (!snap) return ended.get(id) ?? 'gone';
  return snap.matches('streaming') ? `streaming.${(snap.value as { streaming: { progress: string } }).streaming.progress}` : topState(snap.value);
}

function modelState(s: Snap): string {
  return s.matches('streaming') ? `streaming.${(s.value as { streaming: { progress: string } }).streaming.progress}` : String(s.value);
}

async function replay(steps: Step[]): Promise<void> {
  const proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  const opened: RawClient[] = [];
  const ended = new Map<string, string>();
  const connect = async () => {
    const c = await RawClient.connect(await portOf(proxy));
    c.startHeartbeats(TIMING.heartbeatIntervalMs);
    opened.push(c);
    return c;
  };
  try {
    let current = await connect();
    current.hello(LENGTH);
    const welcome = await current.next(MessageType.WELCOME);
    const id = welcome.sessionId.toString('hex');
    const onEnd = (how: string) => (sid: string) => sid === id && ended.set(sid, how);
    const onComplete = onEnd('complete');
    const onExpired = onEnd('expired');
    server.on('complete', onComplete).on('expired', onExpired);
    const isSuspended = () => realState(id, ended) === 'suspended';
    try {
      for (const [n, step] of steps.entries()) {
        const e = step.event as { type: string; connectionId?: number; nextIndex?: number };
        if (e.type === 'xstate.init') {
          // The HELLO above: the session exists and streams.
        } else if (e.type === 'ALL_SENT') {
          await current.next(MessageType.END, `END (step ${n})`);
        } else if (e.type === 'ACK') {
          current.send({ type: MessageType.ACK, verdict: 0 });
          await waitFor(() => ended.get(id) === 'complete', 'the session to complete');
        } else if (e.type === 'DISCONNECTED') {
          proxy.cutAll();
          await waitFor(isSuspended, 'the server to suspend the session after the cut');
        } else if (e.type === 'RESUME') {
          const previous = current;
          current = await connect();
          current.resume(welcome.sessionId, e.nextIndex === LENGTH ? LENGTH : e.nextIndex!);
          const w = await current.next(MessageType.WELCOME, `WELCOME on resume (step ${n})`);
          expect(w.startIndex).toBe(e.nextIndex);
          if (!previous.closed) await previous.waitClosed(); // taken over: the server closes the old one
        } else if (e.type.includes('heartbeatTimeout') || e.type === 'LINK_SILENT') {
          // Either way the link goes silent; the server notices by its pacer while streaming,
          // by the machine's timer otherwise.
          proxy.freeze();
          // Within about a timeout (400 ms) plus an interval: the pacer's check or the exact
          // timer, never the 2 s backstop alone.
          await waitFor(isSuspended, 'the heartbeat timeout to suspend the session', 1500);
          proxy.unfreeze();
        } else if (e.type.includes('reconnectWindow')) {
          await waitFor(() => ended.get(id) === 'expired', 'the reconnect window to expire the session', 5000);
        } else {
          throw new Error(`no real-world cause for ${e.type}`);
        }
        expect(`step ${n} ${e.type}: ${realState(id, ended)}`).toBe(`step ${n} ${e.type}: ${modelState(step.state)}`);
      }
      // A session the path left alive is still resumable and finishes cleanly.
      if (server.snapshotOf(id)) {
        proxy.unfreeze();
        const c = await connect();
        c.resume(welcome.sessionId, LENGTH);
        await c.next(MessageType.END);
        c.send({ type: MessageType.ACK, verdict: 0 });
        await waitFor(() => ended.get(id) === 'complete', 'the leftover session to complete');
      }
      expect(server.snapshotOf(id)).toBeUndefined();
    } finally {
      server.off('complete', onComplete).off('expired', onExpired);
    }
  } finally {
    for (const c of opened) c.close();
    await proxy.close();
  }
}

const ports = new WeakMap<RelayProxy, Promise<number>>();
function portOf(proxy: RelayProxy): Promise<number> {
  if (!ports.has(proxy)) ports.set(proxy, proxy.listen());
  return ports.get(proxy)!;
}

const model = makeModel();
// Replayed elsewhere: a stale DISCONNECTED has no real-world cause on one server, and TAKEN_OVER
// and DRAIN need a second node or a draining one (session.model-cluster.test.ts replays those).
const noStale = (p: { steps: readonly { event: { type: string } }[] }) =>
  !p.steps.some(
    (s) => (s.event.type === 'DISCONNECTED' && (s.event as { connectionId?: number }).connectionId === STALE_CONNECTION) || s.event.type === 'TAKEN_OVER' || s.event.type === 'DRAIN',
  );
const shortest = model.getShortestPaths({ allowDuplicatePaths: true }).filter(noStale);
const simple = model.getSimplePaths({ allowDuplicatePaths: true }).filter(noStale);

describe('session model paths against a real server through the proxy', () => {
  it('covers every lifecycle state', () => {
    const reached = new Set(shortest.map((p) => modelState(p.state as Snap)));
    for (const s of ['complete', 'expired', 'streaming.ending', 'suspended']) expect(reached).toContain(s);
  });

  // Each path is its own session and proxy, so they run side by side.
  it.concurrent.each(shortest.map((p) => [p.description, p] as const))('shortest: %s', (_d, p) => replay(p.steps as Step[]), 20_000);
  it.concurrent.each(simple.map((p) => [p.description, p] as const))('simple: %s', (_d, p) => replay(p.steps as Step[]), 20_000);
});
