/**
 * Model-based tests of the session lifecycle. xstate/graph walks the machine and yields its
 * shortest and simple paths; each path is then executed against a real actor whose delayed
 * transitions run on a SimulatedClock: an `xstate.after.*` step becomes advancing the clock
 * by that delay, any other step is sent as an event. (`createTestModel` refuses machines with
 * `after` transitions, so the TestModel is constructed directly.)
 */
import { createActor, SimulatedClock } from 'xstate';
import { sessionMachine, type CloseReason, type SessionEvent } from '../machines/session.machine';
import { AFTER, input, makeModel, serialize, STALE_CONNECTION, type AnyEvent, type Snap } from './helpers/session-model';

interface Recorded {
  actions: string[];
  closes: CloseReason[];
}

/** A real actor with recording actions on a simulated clock. */
function realActor() {
  const rec: Recorded = { actions: [], closes: [] };
  const note = (name: string) => () => void rec.actions.push(name);
  const machine = sessionMachine.provide({
    actions: {
      startStreaming: note('startStreaming'),
      stopStreaming: note('stopStreaming'),
      sendEnd: note('sendEnd'),
      suspend: note('suspend'),
      expire: note('expire'),
      finish: note('finish'),
      release: note('release'),
      closeConnection: (_, params) => {
        rec.actions.push('closeConnection');
        rec.closes.push(params.reason);
      },
    },
  });
  const clock = new SimulatedClock();
  const actor = createActor(machine, { input, clock });
  actor.start();
  return { actor, clock, rec };
}

/**
 * Connection ids in the model are relative (the current one, the next one, a stale one): a
 * recorded path replays them against the actor's own current id.
 */
function relative(e: AnyEvent, now: Snap): SessionEvent {
  const current = now.context.connectionId;
  if (e.type === 'DISCONNECTED') return { type: 'DISCONNECTED', connectionId: (e as { connectionId: number }).connectionId === STALE_CONNECTION ? STALE_CONNECTION : current };
  if (e.type === 'RESUME') return { type: 'RESUME', connectionId: current + 1, nextIndex: (e as { nextIndex: number }).nextIndex, epoch: now.context.epoch + 1 };
  return e as SessionEvent;
}

/** Runs one path on a real actor, checking the state after every step and the side effects. */
function execute(steps: { event: AnyEvent; state: Snap }[]): void {
  const { actor, clock, rec } = realActor();
  for (const step of steps) {
    const before = rec.actions.length;
    const delay = AFTER.get(step.event.type);
    if (delay !== undefined) clock.increment(delay);
    else actor.send(relative(step.event, actor.getSnapshot()));
    const snap = actor.getSnapshot();
    expect(serialize(snap)).toBe(serialize(step.state));
    const did = rec.actions.slice(before);
    // Side effects that must accompany each kind of step.
    if (snap.matches('suspended') && did.length) expect(did).toContain('suspend');
    if (snap.matches('expired')) expect(rec.actions.filter((a) => a === 'expire')).toHaveLength(1);
    if (snap.matches('complete')) {
      expect(rec.actions.filter((a) => a === 'finish')).toHaveLength(1);
      expect(rec.closes.at(-1)).toBe('complete');
    }
    if (snap.matches({ streaming: { progress: 'ending' } }) && did.includes('startStreaming')) expect(did).toContain('sendEnd');
    if (step.event.type === 'LINK_SILENT' && snap.matches('suspended') && did.length) expect(rec.closes.at(-1)).toBe('heartbeat-timeout');
    if (step.event.type === 'TAKEN_OVER' && snap.matches('handedOver')) expect(rec.actions.filter((a) => a === 'release')).toHaveLength(1);
    if (step.event.type === 'DRAIN' && snap.matches('suspended') && did.length) expect(rec.closes.at(-1)).toBe('draining');
    if (step.event.type === 'RESUME' && did.includes('stopStreaming')) expect(rec.closes.at(-1)).toBe('taken-over');
    if (snap.status === 'done') expect(['complete', 'expired', 'handedOver']).toContain(snap.value);
  }
  // Every start of streaming is matched by a stop unless the session is streaming now.
  const starts = rec.actions.filter((a) => a === 'startStreaming').length;
  const stops = rec.actions.filter((a) => a === 'stopStreaming').length;
  expect(starts - stops).toBe(actor.getSnapshot().matches('streaming') ? 1 : 0);
  actor.stop();
}

describe('session machine, model-based', () => {
  const model = makeModel();

  // Duplicates kept: the path to "suspended" is a prefix of the one to "expired", and both count.
  const shortest = model.getShortestPaths({ allowDuplicatePaths: true });
  const simple = model.getSimplePaths({ allowDuplicatePaths: true });

  it('reaches every lifecycle state', () => {
    const reached = new Set(shortest.map((p) => JSON.stringify((p.state as unknown as { value: unknown }).value)));
    for (const s of ['"suspended"', '"expired"', '"complete"', '"handedOver"']) expect(reached).toContain(s);
    expect([...reached].some((v) => v.includes('ending'))).toBe(true);
    expect(shortest.length).toBeGreaterThanOrEqual(5);
    expect(simple.length).toBeGreaterThan(shortest.length);
  });

  it.each(shortest.map((p) => [p.description, p] as const))('shortest path: %s', (_d, path) => execute(path.steps as never));
  it.each(simple.map((p) => [p.description, p] as const))('simple path: %s', (_d, path) => execute(path.steps as never));
});

describe('session machine, timing on a simulated clock', () => {
  it('the heartbeat timer re-arms while the client is heard, and suspends exactly a timeout after the last heartbeat', () => {
    const clock = new SimulatedClock();
    let lastHeard = 0;
    // The transport's side of the check, as the server answers it (the exact time left).
    const machine = sessionMachine.provide({
      actions: {
        checkLiveness: ({ context, self }) => {
          const silence = clock.now() - lastHeard;
          self.send(silence >= context.heartbeatTimeoutMs ? { type: 'LINK_SILENT' } : { type: 'LINK_ALIVE', checkInMs: context.heartbeatTimeoutMs - silence });
        },
      },
    });
    const actor = createActor(machine, { input, clock }).start();
    clock.increment(5000);
    lastHeard = clock.now(); // heard at 5000
    clock.increment(1000); // 6000: timer fires, heard 1 s ago: re-arm for 5 s
    expect(actor.getSnapshot().matches('streaming')).toBe(true);
    clock.increment(4999); // 10999: still inside
    expect(actor.getSnapshot().matches('streaming')).toBe(true);
    clock.increment(1); // 11000 = last heartbeat + timeout
    expect(actor.getSnapshot().matches('suspended')).toBe(true);
  });

  it('the reconnect window: one millisecond short of it the session resumes, at it the session expires', () => {
    for (const [wait, expected] of [
      [input.reconnectWindowMs - 1, 'streaming'],
      [input.reconnectWindowMs, 'expired'],
    ] as const) {
      const { actor, clock } = realActor();
      actor.send({ type: 'DISCONNECTED', connectionId: 1 });
      clock.increment(wait);
      actor.send({ type: 'RESUME', connectionId: 2, nextIndex: 3, epoch: 2 });
      expect(actor.getSnapshot().matches(expected)).toBe(true);
    }
  });

  it('after END was sent, a dropped connection can still resume and get END again', () => {
    const { actor, rec } = realActor();
    actor.send({ type: 'ALL_SENT' });
    expect(rec.actions.filter((a) => a === 'sendEnd')).toHaveLength(1);
    actor.send({ type: 'DISCONNECTED', connectionId: 1 });
    actor.send({ type: 'RESUME', connectionId: 2, nextIndex: input.length, epoch: 2 });
    expect(actor.getSnapshot().matches({ streaming: { progress: 'ending' } })).toBe(true);
    expect(rec.actions.filter((a) => a === 'sendEnd')).toHaveLength(2);
    actor.send({ type: 'ACK' });
    expect(actor.getSnapshot().value).toBe('complete');
  });

  it('a stale DISCONNECTED from a connection that was taken over is ignored', () => {
    const { actor, rec } = realActor();
    actor.send({ type: 'RESUME', connectionId: 2, nextIndex: 0, epoch: 2 });
    expect(rec.closes).toEqual(['taken-over']);
    actor.send({ type: 'DISCONNECTED', connectionId: 1 });
    expect(actor.getSnapshot().matches('streaming')).toBe(true);
    expect(actor.getSnapshot().context.connectionId).toBe(2);
  });
});
