/**
 * The session stores the multi-node tests run against. Each kind opens `n` handles on ONE
 * shared store, as n server processes would: the same in-process memory store (which serves
 * several servers of one process), or n connections to one real redis-server, each test under
 * its own key prefix.
 */
import { randomBytes } from 'node:crypto';
import { startRedis, type RedisServer } from '../../cluster/redis-process';
import { InMemorySessionStore } from '../../transport/server/store/memory-store';
import { openStore } from '../../transport/server/store/open-store';
import type { SessionStore } from '../../transport/server/store/session-store';

export interface StoreKind {
  readonly name: string;
  open(n: number): Promise<SessionStore[]>;
  /** Stops what the kind started (call in afterAll). */
  teardown(): Promise<void>;
}

export function storeKinds(): [string, StoreKind][] {
  let redis: Promise<RedisServer> | null = null;
  const kinds: StoreKind[] = [
    {
      name: 'memory',
      async open(n) {
        const store = new InMemorySessionStore();
        // Shared by the servers of this one process; each closes its handle, the store lives on.
        return Array.from({ length: n }, () => Object.assign(Object.create(store) as SessionStore, { shared: true, close: async () => {} }));
      },
      async teardown() {},
    },
    {
      name: 'redis',
      async open(n) {
        redis ??= startRedis();
        const { url } = await redis;
        const prefix = `t${randomBytes(4).toString('hex')}`;
        return Promise.all(Array.from({ length: n }, () => openStore(url, { prefix })));
      },
      async teardown() {
        if (redis) await (await redis).stop();
      },
    },
  ];
  return kinds.map((k) => [k.name, k]);
}
