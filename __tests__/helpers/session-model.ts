/**
 * The session machine as a test model (xstate/graph), shared by the machine-level model test and
 * the one that replays the same paths against a real server. `createTestModel` refuses machines
 * with `after` transitions, so the TestModel is constructed directly.
 */
import type { SnapshotFrom } from 'xstate';
import { TestModel } from 'xstate/graph';
import { sessionMachine, type SessionEvent, type SessionInput } from '../../machines/session.machine';

export type Snap = SnapshotFrom<typeof sessionMachine>;
export type AnyEvent = SessionEvent | { type: string };

/** The model's stand-in for "a connection that was taken over closes late". */
export const STALE_CONNECTION = 999;

export const input: SessionInput = { id: 'abc', length: 10, nextIndex: 0, connectionId: 1, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30000 };

/** The delayed events of the machine and their delays, read from the definition itself. */
function delayedEvents(): Map<string, number> {
  const delays: Record<string, number> = { heartbeatTimeout: input.heartbeatTimeoutMs, reconnectWindow: input.reconnectWindowMs };
  const out = new Map<string, number>();
  const walk = (node: { after?: { eventType: string; delay: unknown }[]; states?: Record<string, unknown> }) => {
    for (const t of node.after ?? []) out.set(t.eventType, delays[String(t.delay)]);
    for (const child of Object.values(node.states ?? {})) walk(child as typeof node);
  };
  walk(sessionMachine.root as never);
  return out;
}
export const AFTER = delayedEvents();

/** Events offered in every state: the model decides which ones do something. */
export function eventsFor(state: Snap): AnyEvent[] {
  return [
    { type: 'ALL_SENT' },
    { type: 'ACK' },
    { type: 'DISCONNECTED', connectionId: state.context.connectionId },
    { type: 'DISCONNECTED', connectionId: STALE_CONNECTION }, // stale: an older connection closing late
    { type: 'RESUME', connectionId: state.context.connectionId + 1, nextIndex: 4, epoch: state.context.epoch + 1 },
    { type: 'RESUME', connectionId: state.context.connectionId + 1, nextIndex: input.length, epoch: state.context.epoch + 1 },
    { type: 'LINK_SILENT' },
    { type: 'LINK_ALIVE', checkInMs: input.heartbeatTimeoutMs },
    { type: 'TAKEN_OVER' },
    { type: 'DRAIN' },
    ...[...AFTER.keys()].map((type) => ({ type })),
  ];
}

export const serialize = (s: Snap) => JSON.stringify([s.value, s.context.nextIndex >= s.context.length]);

export function makeModel() {
  return new TestModel(sessionMachine as never, {
    input,
    events: eventsFor as never,
    serializeState: ((s: Snap) => serialize(s)) as never,
    serializeEvent: ((e: AnyEvent) => JSON.stringify({ ...e, connectionId: 'connectionId' in e && e.connectionId === STALE_CONNECTION ? 'stale' : undefined })) as never,
    stateMatcher: ((s: Snap, key: string) => s.matches(key as never)) as never,
  });
}

