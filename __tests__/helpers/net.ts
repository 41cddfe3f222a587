/** Shared helpers for tests over real sockets: servers on ephemeral ports, bounded waits. */
import { InMemorySessionStore } from '../../transport/server/store/memory-store';
import { NO_SOURCE_LIMITS } from '../../transport/server/admission';
import { SeqServer, type ServerOptions } from '../../transport/server/server';
import { runClient, type ClientOptions } from '../../transport/client/client';
export { freePort } from '../../core/ports';

/** Short timings so lifecycle tests finish in milliseconds, not the production seconds. */
export const FAST = {
  intervalMs: 5,
  heartbeatIntervalMs: 20,
  heartbeatTimeoutMs: 100,
  reconnectWindowMs: 1000,
  handshakeTimeoutMs: 300,
} as const;

export async function startServer(over: Partial<ServerOptions> = {}): Promise<SeqServer> {
  const server = new SeqServer({
    host: '127.0.0.1',
    port: 0,
    ...FAST,
    maxSessions: 1000,
    maxWriteBuffer: 65536,
    // Every test client comes from 127.0.0.1: per-source limits are tested on their own.
    admission: NO_SOURCE_LIMITS,
    ...over,
  });
  await server.listen();
  return server;
}

export function startClient(port: number, length: number, over: Partial<ClientOptions> = {}) {
  return runClient({
    host: '127.0.0.1',
    port,
    length,
    maxBackoffMs: 50,
    baseBackoffMs: 5,
    maxReconnects: 0,
    heartbeatIntervalMs: FAST.heartbeatIntervalMs,
    heartbeatTimeoutMs: FAST.heartbeatTimeoutMs,
    ...over,
  });
}


/** Polls until the predicate holds; fails with `what` after the bound. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** Resolves on the emitter's next matching event, or rejects after the bound. */
/** Polls an async predicate (a store read, say) until it holds; fails with `what` after the bound. */
export async function waitForAsync(predicate: () => Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function nextEvent<T extends unknown[]>(
  emitter: NodeJS.EventEmitter,
  name: string,
  timeoutMs = 5000,
  filter: (...args: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${name}'`));
    }, timeoutMs);
    const on = (...args: unknown[]) => {
      if (!filter(...(args as T))) return;
      clearTimeout(timer);
      emitter.off(name, on);
      resolve(args as T);
    };
    emitter.on(name, on);
  });
}

/** Session records the server's embedded store holds (tombstones of ended ones not counted). */
export function storedSessions(server: SeqServer): number {
  if (!(server.store instanceof InMemorySessionStore)) throw new Error('storedSessions reads the in-memory store only');
  return server.store.size;
}
