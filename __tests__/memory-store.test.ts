/**
 * What only the embedded store has to promise beyond the contract suite (which runs against it
 * and Redis alike): its tombstones are bounded in time and in number, pruned with no timer.
 */
import { InMemorySessionStore } from '../transport/server/store/memory-store';

const identity = (id: string) => ({ id, seedHi: 1, seedLo: 2, length: 10, createdAt: 0 });

describe('InMemorySessionStore', () => {
  it('remembers completed ids for a bounded time, pruned on insert with no timer', async () => {
    let now = 0;
    const store = new InMemorySessionStore({ tombstoneMs: 1000, maxTombstones: 100, now: () => now });
    const x = await store.create(identity('x'), 'n1', 60_000);
    expect(await store.complete('x', x.epoch)).toBe('ok');
    now = 999;
    expect(await store.inspect('x')).toBe('complete');
    now = 1000;
    expect(await store.inspect('x')).toBeUndefined();
    expect((await store.claim('never', 'n1', 0, 1000)).kind).toBe('unknown');
    const y = await store.create(identity('y'), 'n1', 60_000);
    await store.complete('y', y.epoch); // pruning happens on insert
    expect(store.tombstoneCount).toBe(1);
  });

  it('never remembers more tombstones than its cap, dropping the oldest', async () => {
    const store = new InMemorySessionStore({ tombstoneMs: 60_000, maxTombstones: 3, now: () => 0 });
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      const r = await store.create(identity(id), 'n1', 60_000);
      await store.expire(id, r.epoch);
    }
    expect(store.tombstoneCount).toBe(3);
    expect(await store.inspect('a')).toBeUndefined();
    expect(await store.inspect('e')).toBe('expired');
  });
});
