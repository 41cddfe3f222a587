import { InMemorySessionStore, type SessionRecord } from '../transport/server/session-store';

const record = (id: string): SessionRecord => ({
  id,
  seedHi: 1,
  seedLo: 2,
  length: 10,
  nextIndex: 0,
  state: 'streaming',
  deadline: null,
  reconnects: 0,
  createdAt: 0,
});

describe('InMemorySessionStore', () => {
  it('stores, finds and deletes plain records', () => {
    const store = new InMemorySessionStore();
    store.put(record('a'));
    store.put(record('b'));
    expect(store.size).toBe(2);
    expect(store.get('a')?.length).toBe(10);
    store.delete('a');
    expect(store.get('a')).toBeUndefined();
    expect([...store.records()].map((r) => r.id)).toEqual(['b']);
  });

  it('remembers expired ids for a bounded time', () => {
    const store = new InMemorySessionStore(1000, 100);
    store.markExpired('x', 0);
    expect(store.wasExpired('x', 999)).toBe(true);
    expect(store.wasExpired('x', 1000)).toBe(false);
    expect(store.wasExpired('never', 0)).toBe(false);
    store.markExpired('y', 5000); // pruning happens on insert, with no timer
    expect(store.expiredCount).toBe(1);
  });

  it('never remembers more expired ids than its cap, dropping the oldest', () => {
    const store = new InMemorySessionStore(60_000, 3);
    for (const id of ['a', 'b', 'c', 'd', 'e']) store.markExpired(id, 0);
    expect(store.expiredCount).toBe(3);
    expect(store.wasExpired('a', 1)).toBe(false);
    expect(store.wasExpired('e', 1)).toBe(true);
  });
});
