/**
 * The embedded store: one process, nothing to install. It keeps the same contract as the shared
 * ones (fenced epochs, deadlines on its own clock, tombstones, takeover notices) so the server
 * has one code path, and so the contract suite runs unchanged against it and against Redis.
 *
 * No timers: deadlines are checked when a session is claimed or counted, and tombstones are
 * pruned on insert (oldest first, at most `maxTombstones`), so no client can make it grow.
 */
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

interface Tombstone {
  state: 'expired' | 'complete';
  until: number;
}

export interface MemoryStoreOptions {
  tombstoneMs?: number;
  maxTombstones?: number;
  /** The store's clock (epoch ms); tests pass their own. */
  now?: () => number;
}

export class InMemorySessionStore implements SessionStore {
  readonly shared = false;
  readonly description = 'memory';
  private readonly records = new Map<string, SessionRecord>();
  /** Insertion-ordered, so the oldest are first and pruning stops at the first live one. */
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly listeners = new Map<string, Set<TakeoverListener>>();
  private readonly tombstoneMs: number;
  private readonly maxTombstones: number;
  private readonly now: () => number;

  constructor(opts: MemoryStoreOptions = {}) {
    this.tombstoneMs = opts.tombstoneMs ?? DEFAULT_TOMBSTONE_MS;
    this.maxTombstones = opts.maxTombstones ?? 100_000;
    this.now = opts.now ?? Date.now;
  }

  /** Records held (streaming or suspended, deadline not checked): a cheap synchronous count. */
  get size(): number {
    return this.records.size;
  }

  get tombstoneCount(): number {
    return this.tombstones.size;
  }

  async create(identity: SessionIdentity, owner: string, leaseMs: number, perNumberMs = 0): Promise<SessionRecord> {
    const record = recordOf(identity, 'streaming', owner, 1, 0, this.now() + leaseMs + identity.length * perNumberMs, 0);
    this.tombstones.delete(identity.id);
    this.records.set(identity.id, record);
    return record;
  }

  async claim(id: string, owner: string, nextIndex: number, leaseMs: number, perNumberMs = 0): Promise<ClaimResult> {
    const now = this.now();
    const r = this.live(id, now);
    if (!r) return { kind: this.tombstoneOf(id, now) ?? 'unknown' };
    if (nextIndex > r.length) return { kind: 'beyond-end', length: r.length };
    const record = recordOf(r, 'streaming', owner, r.epoch + 1, nextIndex, now + leaseMs + (r.length - nextIndex) * perNumberMs, r.reconnects + 1);
    this.records.set(id, record);
    return { kind: 'claimed', record, previousOwner: r.owner, previousState: r.state };
  }

  async suspend(id: string, epoch: number, nextIndex: number, windowMs: number): Promise<WriteResult> {
    const r = this.owned(id, epoch);
    if (!r) return 'lost';
    this.records.set(id, recordOf(r, 'suspended', r.owner, r.epoch, nextIndex, this.now() + windowMs, r.reconnects));
    return 'ok';
  }

  async complete(id: string, epoch: number): Promise<WriteResult> {
    return this.bury(id, epoch, 'complete');
  }

  async expire(id: string, epoch: number): Promise<WriteResult> {
    return this.bury(id, epoch, 'expired');
  }

  async inspect(id: string): Promise<SessionRecord | StoredState | undefined> {
    const now = this.now();
    return this.live(id, now) ?? this.tombstoneOf(id, now);
  }

  async counts(): Promise<Record<StoredState, number>> {
    const now = this.now();
    const c: Record<StoredState, number> = { streaming: 0, suspended: 0, expired: 0, complete: 0 };
    for (const id of [...this.records.keys()]) {
      const r = this.live(id, now);
      if (r) c[r.state]++;
    }
    for (const t of this.tombstones.values()) if (t.until > now) c[t.state]++;
    return c;
  }

  async announceTakeover(id: string, previousOwner: string, newOwner: string, epoch: number): Promise<void> {
    if (previousOwner === newOwner) return;
    for (const l of this.listeners.get(previousOwner) ?? []) queueMicrotask(() => l(id, newOwner, epoch));
  }

  async onTakeover(owner: string, listener: TakeoverListener): Promise<() => Promise<void>> {
    let set = this.listeners.get(owner);
    if (!set) this.listeners.set(owner, (set = new Set()));
    set.add(listener);
    return async () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(owner);
    };
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  /** The record if it is still resumable; one whose deadline passed becomes a tombstone. */
  private live(id: string, now: number): SessionRecord | undefined {
    const r = this.records.get(id);
    if (r && r.deadline <= now) {
      this.records.delete(id);
      this.addTombstone(id, 'expired', r.deadline + this.tombstoneMs, now);
      return undefined;
    }
    return r;
  }

  private owned(id: string, epoch: number): SessionRecord | undefined {
    const r = this.live(id, this.now());
    return r && r.epoch === epoch ? r : undefined;
  }

  private bury(id: string, epoch: number, state: Tombstone['state']): WriteResult {
    if (!this.owned(id, epoch)) return 'lost';
    this.records.delete(id);
    const now = this.now();
    this.addTombstone(id, state, now + this.tombstoneMs, now);
    return 'ok';
  }

  private tombstoneOf(id: string, now: number): Tombstone['state'] | undefined {
    const t = this.tombstones.get(id);
    return t && t.until > now ? t.state : undefined;
  }

  private addTombstone(id: string, state: Tombstone['state'], until: number, now: number): void {
    this.tombstones.delete(id);
    this.tombstones.set(id, { state, until });
    for (const [old, t] of this.tombstones) {
      if (t.until > now && this.tombstones.size <= this.maxTombstones) break;
      this.tombstones.delete(old);
    }
  }
}

/**
 * A record built field by field in one order, so every record shares one hidden class: built by
 * spreading, each got its own (V8): about 350 bytes a session in shapes alone at 10,000.
 */
function recordOf(
  who: SessionIdentity,
  state: SessionRecord['state'],
  owner: string,
  epoch: number,
  nextIndex: number,
  deadline: number,
  reconnects: number,
): SessionRecord {
  return { id: who.id, seedHi: who.seedHi, seedLo: who.seedLo, length: who.length, createdAt: who.createdAt, state, owner, epoch, nextIndex, deadline, reconnects };
}
