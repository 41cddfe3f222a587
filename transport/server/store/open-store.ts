/**
 * `--store`: from its text to a connected store. 'memory' is the embedded default (one process,
 * nothing to install); `redis://` and `rediss://` share sessions across processes and nodes.
 */
import { InMemorySessionStore, type MemoryStoreOptions } from './memory-store';
import { RedisSessionStore, type RedisStoreOptions } from './redis-store';
import { redact } from './redis-url';
import type { SessionStore } from './session-store';

export interface OpenStoreOptions extends MemoryStoreOptions, RedisStoreOptions {
  /** How long to wait for Redis at start before giving up (it reconnects by itself after). */
  connectTimeoutMs?: number;
}

export async function openStore(spec: string, opts: OpenStoreOptions = {}): Promise<SessionStore> {
  const text = spec.trim();
  if (text === 'memory') return new InMemorySessionStore(opts);
  if (/^rediss?:\/\//i.test(text)) {
    const store = new RedisSessionStore(text, opts);
    try {
      await store.waitUntilAvailable(opts.connectTimeoutMs);
    } catch (e) {
      await store.close();
      throw e;
    }
    return store;
  }
  throw new Error(`unknown store "${redact(text)}": use memory, redis://[user:password@]host[:port][/db] or rediss://…`);
}
