/**
 * The shared session store: Redis (standalone; `redis://` or `rediss://`), with every operation
 * one Lua script on Redis's clock (see redis-scripts.ts for the key layout), takeover notices on
 * a per-owner pub/sub channel, and tombstones kept by the keys' own TTL.
 *
 * Redis unreachable: operations fail at once (no offline queue) or after `commandTimeoutMs`,
 * never wait unbounded; the client reconnects on its own. The store says so once per outage
 * ('unavailable', with the error) and again when it is back ('available'); retrying and logging
 * are the caller's.
 *
 * Just over ~250 lines: one class, the contract's operations plus the life of its two
 * connections (the subscriber for notices, outage events, close), which all of them share.
 */
import { EventEmitter } from 'node:events';
import Redis, { type RedisOptions } from 'ioredis';
import {
  DEFAULT_TOMBSTONE_MS,
  type ClaimResult,
  type SessionIdentity,
  type SessionRecord,
  type SessionStore,
  type StoredState,
  type TakeoverListener,
  type WriteResult,
} from './session-store';
import { BURY, CLAIM, COUNTS, CREATE, INSPECT, SUSPEND } from './redis-scripts';
import { parseRedisUrl, type RedisTarget } from './redis-url';

export interface RedisStoreOptions {
  /** Keys and channels start with `{prefix}:`, so several deployments (or tests) share a server. */
  prefix?: string;
  tombstoneMs?: number;
  /** A command with no reply by then rejects (the connection is then likely gone). */
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Cap of the reconnect backoff (50 ms, 100 ms, … up to this). */
  maxReconnectDelayMs?: number;
}

export const DEFAULT_REDIS_PREFIX = 'seqstream';

const STATES: readonly StoredState[] = ['streaming', 'suspended', 'expired', 'complete'];

type Script = (...keysThenArgs: (string | number)[]) => Promise<unknown>;

export class RedisSessionStore extends EventEmitter implements SessionStore {
  readonly shared = true;
  readonly description: string;
  private readonly target: RedisTarget;
  private readonly client: Redis;
  private subscriber?: Redis;
  private subscriberReady?: Promise<Redis>;
  private readonly takeoverListeners = new Map<string, Set<TakeoverListener>>();
  private readonly prefix: string;
  private readonly tombstoneMs: number;
  private readonly connectTimeoutMs: number;
  private readonly zKeys: readonly string[];
  private state: 'connecting' | 'up' | 'down' | 'closed' = 'connecting';

  constructor(url: string, opts: RedisStoreOptions = {}) {
    super();
    this.target = parseRedisUrl(url);
    this.description = this.target.safe;
    const prefix = opts.prefix ?? DEFAULT_REDIS_PREFIX;
    // Braces would change the Cluster hash tag, blanks make keys hard to read in redis-cli.
    if (!/^[\w.:-]+$/.test(prefix)) throw new Error(`store key prefix "${prefix}" must be letters, digits, _ . : or - only`);
    this.prefix = `{${prefix}}:`;
    this.tombstoneMs = opts.tombstoneMs ?? DEFAULT_TOMBSTONE_MS;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 2000;
    this.zKeys = STATES.map((s) => `${this.prefix}z:${s}`);
    const maxDelay = opts.maxReconnectDelayMs ?? 1000;
    const options: RedisOptions = {
      host: this.target.host,
      port: this.target.port,
      db: this.target.db,
      username: this.target.username,
      password: this.target.password,
      tls: this.target.tls ? { servername: this.target.host } : undefined,
      connectionName: 'seqstream',
      // Fail fast and let the caller retry: a queue of lifecycle writes waiting for a Redis that
      // may not come back would grow without bound and answer clients far too late.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: opts.commandTimeoutMs ?? 1000,
      connectTimeout: this.connectTimeoutMs,
      retryStrategy: (times) => Math.min(50 * times, maxDelay),
      // ioredis waits this long for a socket that already closed (a refused connect) to close
      // again before destroying it, holding the process open for it: keep it short.
      disconnectTimeout: 200,
    };
    this.client = new Redis(options);
    const scripts = { seqCreate: CREATE, seqClaim: CLAIM, seqSuspend: SUSPEND, seqBury: BURY, seqCounts: COUNTS };
    for (const [name, lua] of Object.entries(scripts)) this.client.defineCommand(name, { lua, numberOfKeys: name === 'seqCounts' ? 4 : 5 });
    this.client.defineCommand('seqInspect', { lua: INSPECT, numberOfKeys: 1, readOnly: true });
    this.client.on('ready', () => this.up());
    this.client.on('error', (e: Error) => this.down(e));
    // 'close' follows the 'error' that caused it, if any: report the cause, not the symptom.
    this.client.on('close', () => this.down(this.lastError ?? new Error(`connection to ${this.description} closed`)));
  }

  /** True while the command connection is up and ready. */
  get available(): boolean {
    return this.state === 'up';
  }

  /** Resolves once connected; rejects (naming the URL, never its password) after `timeoutMs`. */
  waitUntilAvailable(timeoutMs = this.connectTimeoutMs): Promise<void> {
    return ready(this.client, timeoutMs, this.description, () => this.lastError);
  }

  private lastError?: Error;

  private up(): void {
    const was = this.state;
    if (was === 'closed') return;
    this.state = 'up';
    this.lastError = undefined;
    if (was === 'down') this.emit('available');
  }

  private down(err: Error): void {
    this.lastError = err;
    if (this.state === 'down' || this.state === 'closed') return;
    this.state = 'down';
    this.emit('unavailable', err);
  }

  async create(identity: SessionIdentity, owner: string, leaseMs: number, perNumberMs = 0): Promise<SessionRecord> {
    const reply = (await this.run('seqCreate', identity.id, owner, leaseMs + identity.length * perNumberMs, identity.seedHi, identity.seedLo, identity.length, identity.createdAt)) as string[];
    return toRecord(reply);
  }

  async claim(id: string, owner: string, nextIndex: number, leaseMs: number, perNumberMs = 0): Promise<ClaimResult> {
    const reply = (await this.run('seqClaim', id, owner, nextIndex, leaseMs, perNumberMs)) as string[];
    const kind = reply[0];
    if (kind === 'claimed') {
      return { kind, previousOwner: reply[1], previousState: reply[2] as 'streaming' | 'suspended', record: toRecord(reply.slice(3)) };
    }
    if (kind === 'unknown' || kind === 'expired' || kind === 'complete') return { kind };
    if (kind === 'beyond-end') return { kind, length: Number(reply[1]) };
    throw new Error(`session store ${this.description}: unexpected claim reply ${JSON.stringify(reply)}`);
  }

  async suspend(id: string, epoch: number, nextIndex: number, windowMs: number): Promise<WriteResult> {
    return (await this.run('seqSuspend', id, epoch, nextIndex, windowMs)) as WriteResult;
  }

  async complete(id: string, epoch: number): Promise<WriteResult> {
    return (await this.run('seqBury', id, epoch, 'complete')) as WriteResult;
  }

  async expire(id: string, epoch: number): Promise<WriteResult> {
    return (await this.run('seqBury', id, epoch, 'expired')) as WriteResult;
  }

  async inspect(id: string): Promise<SessionRecord | StoredState | undefined> {
    const reply = (await this.call('seqInspect', this.key(id), this.tombstoneMs)) as string[];
    if (reply.length === 0) return undefined;
    if (reply[0] === 'record') return toRecord(reply.slice(1));
    return reply[0] as StoredState;
  }

  async counts(): Promise<Record<StoredState, number>> {
    const reply = (await this.call('seqCounts', ...this.zKeys, this.tombstoneMs)) as number[];
    return { streaming: reply[0], suspended: reply[1], expired: reply[2], complete: reply[3] };
  }

  async announceTakeover(id: string, previousOwner: string, newOwner: string, epoch: number): Promise<void> {
    if (previousOwner === newOwner) return;
    await this.client.publish(this.channel(previousOwner), JSON.stringify({ id, owner: newOwner, epoch }));
  }

  async onTakeover(owner: string, listener: TakeoverListener): Promise<() => Promise<void>> {
    const channel = this.channel(owner);
    let set = this.takeoverListeners.get(channel);
    if (!set) {
      set = new Set();
      this.takeoverListeners.set(channel, set);
      try {
        await (await this.subscriberConnection()).subscribe(channel);
      } catch (e) {
        this.takeoverListeners.delete(channel);
        throw this.failure(e);
      }
    }
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size > 0 || this.takeoverListeners.get(channel) !== set) return;
      this.takeoverListeners.delete(channel);
      await this.subscriber?.unsubscribe(channel).catch((e: unknown) => {
        throw this.failure(e);
      });
    };
  }

  async close(): Promise<void> {
    this.state = 'closed';
    this.takeoverListeners.clear();
    await Promise.all([this.client, this.subscriber].map((c) => c && quit(c)));
  }

  /** One connection in subscriber mode for every owner this store listens for. */
  private subscriberConnection(): Promise<Redis> {
    if (!this.subscriberReady) {
      const sub = this.client.duplicate();
      this.subscriber = sub;
      sub.on('error', () => {}); // its outages are the command connection's to report
      sub.on('message', (channel: string, message: string) => this.deliver(channel, message));
      this.subscriberReady = ready(sub, this.connectTimeoutMs, this.description, () => undefined).then(
        () => sub,
        (e) => {
          this.subscriberReady = undefined;
          this.subscriber = undefined;
          sub.disconnect();
          throw e;
        },
      );
    }
    return this.subscriberReady;
  }

  private deliver(channel: string, message: string): void {
    const set = this.takeoverListeners.get(channel);
    if (!set) return;
    let notice: { id: string; owner: string; epoch: number };
    try {
      notice = JSON.parse(message);
    } catch {
      return; // not ours: someone published on our channel by hand
    }
    for (const l of [...set]) l(notice.id, notice.owner, notice.epoch);
  }

  /** The scripts that take [session key, the four sets] and [tombstoneMs, id, ...]. */
  private run(name: string, id: string, ...args: (string | number)[]): Promise<unknown> {
    return this.call(name, this.key(id), ...this.zKeys, this.tombstoneMs, id, ...args);
  }

  private async call(name: string, ...keysThenArgs: (string | number)[]): Promise<unknown> {
    try {
      return await (this.client as unknown as Record<string, Script>)[name](...keysThenArgs);
    } catch (e) {
      throw this.failure(e);
    }
  }

  private failure(e: unknown): Error {
    const err = e instanceof Error ? e : new Error(String(e));
    return new Error(`session store ${this.description}: ${err.message}`, { cause: err });
  }

  private key(id: string): string {
    return `${this.prefix}s:${id}`;
  }

  private channel(owner: string): string {
    return `${this.prefix}owner:${owner}`;
  }
}

function toRecord(flat: readonly string[]): SessionRecord {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i]] = flat[i + 1];
  const n = (k: string) => Number(f[k]);
  return {
    id: f.id,
    seedHi: n('seedHi'),
    seedLo: n('seedLo'),
    length: n('length'),
    createdAt: n('createdAt'),
    state: f.state as SessionRecord['state'],
    owner: f.owner,
    epoch: n('epoch'),
    nextIndex: n('nextIndex'),
    deadline: n('deadline'),
    reconnects: n('reconnects'),
  };
}

/** Resolves when `conn` is ready, or rejects after `timeoutMs` naming the (password-free) URL. */
function ready(conn: Redis, timeoutMs: number, where: string, lastError: () => Error | undefined): Promise<void> {
  if (conn.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      conn.off('ready', onReady);
      const why = lastError()?.message;
      reject(new Error(`could not connect to the session store ${where} within ${timeoutMs} ms${why ? `: ${why}` : ''}`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    conn.once('ready', onReady);
  });
}

/** QUIT when connected (the server closes cleanly), else just drop the socket and stop retrying. */
async function quit(conn: Redis): Promise<void> {
  if (conn.status === 'ready') {
    try {
      await conn.quit();
      return;
    } catch {
      // fall through: the connection went in between
    }
  }
  conn.disconnect();
}
