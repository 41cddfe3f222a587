/**
 * A session's resumable state as a small plain record, behind an interface, so a shared store
 * (Redis, for several server processes) can replace the in-memory map without touching the
 * machine or the connection code.
 */
import type { SessionStateName } from '../../machines/session.machine';

export interface SessionRecord {
  /** 32 lowercase hex digits (128 random bits). */
  readonly id: string;
  readonly seedHi: number;
  readonly seedLo: number;
  readonly length: number;
  /** Next index to send. Written per number by the pacer; the only hot field. */
  nextIndex: number;
  state: SessionStateName;
  /** Epoch ms at which a suspended session expires; null while connected. */
  deadline: number | null;
  reconnects: number;
  readonly createdAt: number;
}

export interface SessionStore {
  get(id: string): SessionRecord | undefined;
  put(record: SessionRecord): void;
  delete(id: string): void;
  readonly size: number;
  /** Remembers an expired id so that a late resume hears "expired" and not "unknown". */
  markExpired(id: string, now: number): void;
  wasExpired(id: string, now: number): boolean;
  records(): IterableIterator<SessionRecord>;
}

/**
 * In-memory store. Expired ids are kept for `expiredMemoryMs` and at most `maxExpired` of them
 * (oldest dropped first), pruned on insert: no timer, and no growth a client could drive.
 */
export class InMemorySessionStore implements SessionStore {
  private readonly map = new Map<string, SessionRecord>();
  /** Insertion-ordered, so the oldest entries are first and pruning stops at the first live one. */
  private readonly expired = new Map<string, number>();

  constructor(
    private readonly expiredMemoryMs = 10 * 60_000,
    private readonly maxExpired = 100_000,
  ) {}

  get(id: string): SessionRecord | undefined {
    return this.map.get(id);
  }

  put(record: SessionRecord): void {
    this.map.set(record.id, record);
  }

  delete(id: string): void {
    this.map.delete(id);
  }

  get size(): number {
    return this.map.size;
  }

  get expiredCount(): number {
    return this.expired.size;
  }

  markExpired(id: string, now: number): void {
    this.expired.delete(id);
    this.expired.set(id, now + this.expiredMemoryMs);
    for (const [old, until] of this.expired) {
      if (until > now && this.expired.size <= this.maxExpired) break;
      this.expired.delete(old);
    }
  }

  wasExpired(id: string, now: number): boolean {
    const until = this.expired.get(id);
    return until !== undefined && until > now;
  }

  records(): IterableIterator<SessionRecord> {
    return this.map.values();
  }
}
