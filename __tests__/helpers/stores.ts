/**
 * The session stores the multi-node tests run against: each entry opens `n` handles on ONE
 * shared store, as n server processes would (a second Redis connection each, or the same
 * in-process memory store, which serves several servers of one process).
 */
import { InMemorySessionStore } from '../../transport/server/store/memory-store';
import type { SessionStore } from '../../transport/server/store/session-store';

export type OpenShared = (n: number) => Promise<SessionStore[]>;

export function storeKinds(): [string, OpenShared][] {
  return [
    [
      'memory',
      async (n) => {
        const store = new InMemorySessionStore();
        // Shared by the servers of this one process; each closes its handle, the store lives on.
        return Array.from({ length: n }, () => Object.assign(Object.create(store) as SessionStore, { shared: true, close: async () => {} }));
      },
    ],
  ];
}
