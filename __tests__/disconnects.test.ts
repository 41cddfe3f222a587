/**
 * Closes are told to their sessions a slice at a time: all of them, in order, but never all in
 * the turn of the event loop that delivered them, so accept() runs in between during a storm.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { Disconnects } from '../transport/server/disconnects';
import type { SessionRuntime } from '../transport/server/session-runtime';
import type { SessionEvent } from '../machines/session.machine';

function fakeSession(told: Array<[number, SessionEvent]>, k: number): SessionRuntime {
  return { send: (e: SessionEvent) => told.push([k, e]) } as unknown as SessionRuntime;
}

describe('Disconnects', () => {
  it('tells every session of its close, in order, a slice per turn of the loop', async () => {
    const told: Array<[number, SessionEvent]> = [];
    const d = new Disconnects(() => {});
    for (let k = 0; k < 1000; k++) d.add(fakeSession(told, k), 10_000 + k);
    // Nothing in the turn that delivered the closes.
    expect(told).toHaveLength(0);
    await nextTurn();
    const first = told.length;
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(1000);
    for (let turns = 0; d.pending > 0 && turns < 100; turns++) await nextTurn();
    expect(told).toHaveLength(1000);
    told.forEach(([k, e], i) => {
      expect(k).toBe(i);
      expect(e).toEqual({ type: 'DISCONNECTED', connectionId: 10_000 + i });
    });
  });

  it('clear() forgets what is not told yet (shutdown)', async () => {
    const told: Array<[number, SessionEvent]> = [];
    const d = new Disconnects(() => {});
    for (let k = 0; k < 10; k++) d.add(fakeSession(told, k), k);
    d.clear();
    await nextTurn();
    await nextTurn();
    expect(told).toHaveLength(0);
    expect(d.pending).toBe(0);
  });

  it('a session whose DISCONNECTED throws is reported, and the closes after it are still told', async () => {
    const told: Array<[number, SessionEvent]> = [];
    const errors: unknown[] = [];
    const d = new Disconnects((err) => errors.push(err));
    d.add(fakeSession(told, 1), 1);
    d.add({ send: () => { throw new Error('boom'); } } as unknown as SessionRuntime, 2);
    d.add(fakeSession(told, 3), 3);
    for (let turns = 0; d.pending > 0 && turns < 10; turns++) await nextTurn();
    expect(told.map(([k]) => k)).toEqual([1, 3]);
    expect(errors).toEqual([new Error('boom')]);
  });
});
