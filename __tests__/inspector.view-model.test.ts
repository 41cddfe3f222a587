/**
 * The inspector's reduction of XState inspection events to rows and histories: pure functions,
 * driven by real session actors (simulated clock) and by hand-made events for the edge cases.
 */
import { createMachine, SimulatedClock, type InspectionEvent } from 'xstate';
import { sessionMachine } from '../machines/session.machine';
import { SessionRegistry } from '../transport/server/session-registry';
import { applyInspection, countsByState, createViewModel, statePath, takeChanges, type InspectionLike, type SessionRow } from '../inspector/view-model';

// The page's own row arithmetic (a browser script that also exports for Node).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const pageRows = require('../inspector/assets/rows.js') as {
  indexOf(row: SessionRow, t: number, intervalMs: number): number;
  windowLeft(row: SessionRow, t: number): number | null;
};
const extrapolatedIndex = (row: SessionRow, now: number, intervalMs: number) => pageRows.indexOf(row, now, intervalMs);
import { chartOf } from '../inspector/statechart';
import { InspectorHub } from '../inspector/hub';

const input = (id: string, connectionId = 1) => ({ id, length: 100, nextIndex: 0, connectionId, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30_000 });

function driven() {
  const clock = new SimulatedClock();
  const vm = createViewModel();
  let nextIndex: number | undefined;
  const registry = new SessionRegistry(sessionMachine, {
    clock,
    inspect: (ev: InspectionEvent) => applyInspection(vm, ev as unknown as InspectionLike, { now: clock.now(), nextIndex }),
  });
  return { clock, vm, registry, setIndex: (i: number) => (nextIndex = i) };
}

describe('reduction of real session actors', () => {
  test('streaming → suspended → streaming → complete, with the countdown deadline and the history in order', () => {
    const { clock, vm, registry, setIndex } = driven();
    const id = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
    registry.start(input(id));
    const [row] = [...vm.rows.values()];
    expect(row).toMatchObject({ shortId: 'a1b2c3d4', state: 'streaming', length: 100, connected: true, deadline: null, reconnects: 0 });
    // The full id is a resume credential: it appears nowhere in the view model.
    expect(JSON.stringify([...vm.rows.values(), ...vm.histories.values()])).not.toContain(id);

    clock.increment(1000);
    setIndex(17);
    registry.send(id, { type: 'DISCONNECTED', connectionId: 1 });
    expect(row).toMatchObject({ state: 'suspended', index: 17, connected: false, deadline: 1000 + 30_000 });

    clock.increment(5000);
    setIndex(17);
    registry.send(id, { type: 'RESUME', connectionId: 2, nextIndex: 17, epoch: 2 });
    expect(row).toMatchObject({ state: 'streaming', index: 17, indexAt: 6000, deadline: null, reconnects: 1 });

    registry.send(id, { type: 'ALL_SENT' });
    registry.send(id, { type: 'ACK' });
    expect(row).toMatchObject({ state: 'complete', index: 100 });
    const states = vm.histories.get(row.key)!.filter((h) => h.kind === 'state').map((h) => h.text);
    expect(states).toEqual([
      'created → streaming.progress.sending,streaming.liveness.alive',
      'streaming.progress.sending,streaming.liveness.alive → suspended',
      'suspended → streaming.progress.sending,streaming.liveness.alive',
      'streaming.progress.sending,streaming.liveness.alive → streaming.progress.ending,streaming.liveness.alive',
      'streaming.progress.ending,streaming.liveness.alive → complete',
    ]);
    const events = vm.histories.get(row.key)!.filter((h) => h.kind === 'event').map((h) => h.text);
    expect(events).toEqual(['DISCONNECTED (connection 1)', 'RESUME at index 17 (connection 2)', 'ALL_SENT', 'ACK']);
    expect(countsByState(vm)).toEqual({ streaming: 0, suspended: 0, expired: 0, complete: 1, handedOver: 0 });
  });

  test('a suspended session that runs out of window is expired', () => {
    const { clock, vm, registry } = driven();
    registry.start(input('ffff0000ffff0000ffff0000ffff0000'));
    registry.send('ffff0000ffff0000ffff0000ffff0000', { type: 'DISCONNECTED', connectionId: 1 });
    clock.increment(30_000);
    const [row] = [...vm.rows.values()];
    expect(row.state).toBe('expired');
    expect(vm.histories.get(row.key)!.some((h) => h.text === 'after reconnectWindow')).toBe(true);
  });

  test('heartbeat timer re-arms are counted, not recorded, and change no row', () => {
    const { clock, vm, registry } = driven();
    registry.start(input('1111222233334444aaaabbbbccccdddd'));
    takeChanges(vm);
    // The real server answers each check with LINK_ALIVE while it hears the client; answer the
    // same here, so the session stays alive across timeouts.
    const alive = sessionMachine.provide({ actions: { checkLiveness: ({ self }) => self.send({ type: 'LINK_ALIVE', checkInMs: 6000 }) } });
    const reg2 = new SessionRegistry(alive, { clock, inspect: (ev) => applyInspection(vm, ev as unknown as InspectionLike, { now: clock.now() }) });
    reg2.start(input('9999888877776666aaaabbbbccccdddd', 2));
    takeChanges(vm);
    const before = vm.histories.get([...vm.rows.keys()][1])!.length;
    for (let k = 0; k < 5; k++) clock.increment(6000);
    const row = [...vm.rows.values()][1];
    expect(row.state).toBe('streaming');
    expect(row.livenessChecks).toBe(5);
    expect(vm.histories.get(row.key)!.length).toBe(before);
    expect(takeChanges(vm).rows.map((r) => r.key)).not.toContain(row.key);
    registry.stopAll();
    reg2.stopAll();
  });
});

describe('pure helpers', () => {
  const ev = (key: string, value: unknown, eventType = 'X', ctx: Record<string, unknown> = {}): InspectionLike => ({
    type: '@xstate.snapshot',
    actorRef: { sessionId: key },
    event: { type: eventType },
    snapshot: { value, context: { id: key.padEnd(32, '0'), length: 10, nextIndex: 0, reconnects: 0, reconnectWindowMs: 1000, ...ctx } },
  });

  test('finished rows beyond the limit are dropped, oldest first, and reported as removed', () => {
    const vm = createViewModel();
    const limits = { historyPerSession: 5, keepFinished: 2 };
    for (const k of ['a', 'b', 'c']) {
      applyInspection(vm, ev(k, 'streaming'), { now: 1 }, limits);
      applyInspection(vm, ev(k, 'complete'), { now: 2 }, limits);
    }
    expect([...vm.rows.keys()]).toEqual(['b', 'c']);
    const changes = takeChanges(vm);
    expect(changes.removed).toEqual(['a']);
    expect(changes.rows.map((r) => r.key)).toEqual(['b', 'c']);
    expect(takeChanges(vm)).toEqual({ rows: [], removed: [] });
  });

  test('history is capped per session', () => {
    const vm = createViewModel();
    const limits = { historyPerSession: 3, keepFinished: 10 };
    applyInspection(vm, ev('a', 'streaming'), { now: 0 }, limits);
    for (let i = 1; i <= 10; i++) applyInspection(vm, ev('a', i % 2 ? 'suspended' : 'streaming'), { now: i }, limits);
    expect(vm.histories.get('a')).toHaveLength(3);
    expect(vm.histories.get('a')!.at(-1)!.t).toBe(10);
  });

  test('the page-side index extrapolation stops at the length and only while streaming', () => {
    const vm = createViewModel();
    applyInspection(vm, ev('a', 'streaming'), { now: 1000, nextIndex: 4 });
    const row = vm.rows.get('a')!;
    expect(extrapolatedIndex(row, 1000 + 250, 100)).toBe(6);
    expect(extrapolatedIndex(row, 1000 + 60_000, 100)).toBe(10);
    applyInspection(vm, ev('a', 'suspended'), { now: 1300, nextIndex: 7 });
    expect(extrapolatedIndex(vm.rows.get('a')!, 99_999, 100)).toBe(7);
    // The countdown: the window (1000 ms in this context) runs from the suspension at 1300.
    expect(pageRows.windowLeft(vm.rows.get('a')!, 2000)).toBe(300);
    expect(pageRows.windowLeft(vm.rows.get('a')!, 5000)).toBe(0);
  });

  test('statePath names every active region of a parallel state', () => {
    expect(statePath('suspended')).toBe('suspended');
    expect(statePath({ streaming: { progress: 'sending', liveness: 'alive' } })).toBe('streaming.progress.sending,streaming.liveness.alive');
  });
});

describe('statechart from the machine definition', () => {
  test('the session machine: its states and transitions, as the machine declares them', () => {
    const chart = chartOf(sessionMachine);
    expect(chart.root.children.map((c) => c.key)).toEqual(['streaming', 'suspended', 'expired', 'complete', 'handedOver']);
    const edges = chart.edges.map((e) => `${e.source} -${e.label}-> ${e.target}`);
    expect(edges).toEqual(
      expect.arrayContaining([
        'session.streaming -DISCONNECTED [guard]-> session.suspended',
        'session.suspended -RESUME-> session.streaming',
        'session.suspended -after reconnectWindow-> session.expired',
        'session.streaming.progress.ending -ACK-> session.complete',
        'session.streaming.liveness.alive -after heartbeatTimeout-> session.streaming.liveness.alive',
        'session.streaming.liveness.alive -LINK_SILENT-> session.suspended',
        'session.streaming -TAKEN_OVER-> session.handedOver',
        'session.suspended -TAKEN_OVER-> session.handedOver',
      ]),
    );
  });

  test('a state added to a machine appears in the chart without anyone drawing it', () => {
    const m = createMachine({ id: 'm', initial: 'a', states: { a: { on: { GO: 'b' } }, b: { after: { 500: 'c' } }, c: { type: 'final' } } });
    const chart = chartOf(m);
    expect(chart.root.children.map((c) => `${c.key}:${c.type}`)).toEqual(['a:atomic', 'b:atomic', 'c:final']);
    expect(chart.edges.map((e) => e.label)).toEqual(['GO', 'after 500']);
  });
});

describe('hub batching', () => {
  test('many transitions between flushes become one batch; a page that connects later gets every row', async () => {
    const hub = new InspectorHub({ intervalMs: 100, flushMs: 20 });
    const batches: { full: boolean; rows: number }[] = [];
    const clock = new SimulatedClock();
    const registry = new SessionRegistry(sessionMachine, { clock, inspect: hub.inspect });
    const off = hub.subscribe((b) => batches.push({ full: b.full, rows: b.rows.length }));
    for (let k = 0; k < 500; k++) registry.start(input(`s${String(k).padStart(31, '0')}`, k));
    for (let k = 0; k < 500; k++) registry.send(`s${String(k).padStart(31, '0')}`, { type: 'DISCONNECTED', connectionId: k });
    await new Promise((r) => setTimeout(r, 60));
    expect(batches[0]).toEqual({ full: true, rows: 0 });
    expect(batches.slice(1)).toEqual([{ full: false, rows: 500 }]);
    off();
    const late: number[] = [];
    hub.subscribe((b) => late.push(b.rows.length));
    expect(late).toEqual([500]);
    registry.stopAll();
    hub.close();
  });
});
