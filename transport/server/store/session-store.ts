/**
 * The session-store contract: where a session's resumable state lives between lifecycle edges,
 * shared by every server process that may serve it (Redis), or only by this one (memory).
 *
 * Asynchronous and **fenced**. Every successful `claim` makes the claimer the session's owner
 * and bumps its epoch; every later write names the epoch it was given and fails with 'lost'
 * when another claim has happened since. So a node that was frozen, cut off or slow can never
 * overwrite, expire or complete a session another node has taken over: its next write tells it
 * it lost the session, and the new owner also announces its claim to it (`announceTakeover`).
 *
 * The store owns time. A suspended session's deadline is an absolute time on the store's clock
 * (Redis: its TIME), so expiry does not depend on any server being alive; a session whose owner
 * died while streaming holds a lease that runs out on its own. After either, the record stays
 * as a tombstone for a while, so a late RESUME hears "expired" rather than "unknown".
 *
 * The store is touched only at lifecycle edges (create, claim, suspend, complete, expire): never
 * per number. `nextIndex` in a record is as of the last edge, for reports only — a RESUME carries
 * the client's own next index, and every value is a pure function of (seed, index).
 */

/** Fixed when the session is created (HELLO). */
export interface SessionIdentity {
  /** 32 lowercase hex digits (128 random bits). */
  readonly id: string;
  readonly seedHi: number;
  readonly seedLo: number;
  readonly length: number;
  /** Epoch ms. */
  readonly createdAt: number;
}

/** A session as the store holds it while it can still be resumed. */
export interface SessionRecord extends SessionIdentity {
  readonly state: 'streaming' | 'suspended';
  /** The node id of the server that holds (or last held) it. */
  readonly owner: string;
  /** Bumped by every claim; a write with an older epoch is refused. */
  readonly epoch: number;
  /** The next index as of the last lifecycle edge (not kept up to date per number). */
  readonly nextIndex: number;
  /**
   * Epoch ms on the store's clock after which a claim gets 'expired': for a suspended session
   * the end of its reconnect window; for a streaming one its lease (see `leaseMs`).
   */
  readonly deadline: number;
  readonly reconnects: number;
}

export type StoredState = 'streaming' | 'suspended' | 'expired' | 'complete';

export type ClaimResult =
  | {
      readonly kind: 'claimed';
      /** The record as it is now: owned by the claimer, at its new epoch, streaming. */
      readonly record: SessionRecord;
      /** Who held it before this claim, and in which state (the claimer itself, when local). */
      readonly previousOwner: string;
      readonly previousState: 'streaming' | 'suspended';
    }
  /** Never existed, or its tombstone is gone too. */
  | { readonly kind: 'unknown' }
  /** Its reconnect window (or lease) ran out. */
  | { readonly kind: 'expired' }
  /** The client acknowledged END: nothing left to resume. */
  | { readonly kind: 'complete' }
  /**
   * The RESUME's next index is past the session's end: refused without a claim, so a bad
   * RESUME cannot take a healthy stream away from its owner.
   */
  | { readonly kind: 'beyond-end'; readonly length: number };

/** A fenced write: done, or refused because the session is no longer this epoch's. */
export type WriteResult = 'ok' | 'lost';

/** The new owner's claim, told to the previous owner (which may be frozen, or gone). */
export type TakeoverListener = (sessionId: string, newOwner: string, epoch: number) => void;

export interface SessionStore {
  /** True when several processes can share it (and `--workers`/several nodes make sense). */
  readonly shared: boolean;
  /** A short description for logs and /metrics ("memory", "redis://host:port/0"). */
  readonly description: string;

  /**
   * A new session, owned by `owner` at epoch 1, streaming from index 0, with a lease (how long
   * it could at most stream before an edge writes again) of `leaseMs` plus `perNumberMs` for
   * each number still to send: a store that knows the length computes it, so a claimer need
   * not know the length before it claims.
   */
  create(identity: SessionIdentity, owner: string, leaseMs: number, perNumberMs?: number): Promise<SessionRecord>;

  /**
   * Take the session (a RESUME): owner := `owner`, epoch + 1, state streaming, nextIndex and
   * a new lease. Refused as 'expired' once its deadline has passed, as 'beyond-end' when
   * nextIndex > length, and as 'complete' or 'unknown' as they say; those leave the store
   * unchanged (an expired record becomes its tombstone). Two concurrent claims both succeed
   * in some order, each with its own epoch: the later one owns the session. A claim tells
   * nobody: the claimer decides whether to announce it (below).
   */
  claim(id: string, owner: string, nextIndex: number, leaseMs: number, perNumberMs?: number): Promise<ClaimResult>;

  /** The connection went: suspended at `nextIndex`, deadline = store now + `windowMs`. */
  suspend(id: string, epoch: number, nextIndex: number, windowMs: number): Promise<WriteResult>;

  /** The client acknowledged END: a 'complete' tombstone. */
  complete(id: string, epoch: number): Promise<WriteResult>;

  /** The owner's reconnect window ran out first: an 'expired' tombstone. */
  expire(id: string, epoch: number): Promise<WriteResult>;

  /** The record, or its tombstone state, or undefined: for reports and tests, not decisions. */
  inspect(id: string): Promise<SessionRecord | StoredState | undefined>;

  /** Sessions by state across every node sharing the store (tombstones included). */
  counts(): Promise<Record<StoredState, number>>;

  /**
   * Tells `previousOwner` (its `onTakeover` listeners) that `newOwner` claimed the session at
   * `epoch`; nothing when they are the same. Apart from claim because only the claimer knows
   * whether the claim is worth acting on: a RESUME whose connection died while the store
   * answered (a client's abandoned attempt, delivered late) must not stop a healthy stream —
   * its holder then carries on until its next write is refused as stale.
   */
  announceTakeover(id: string, previousOwner: string, newOwner: string, epoch: number): Promise<void>;

  /** Announced claims that took a session from `owner` are told to `listener`; returns an unsubscribe. */
  onTakeover(owner: string, listener: TakeoverListener): Promise<() => Promise<void>>;

  /** Drops connections and timers; the data stays (memory: goes with the process). */
  close(): Promise<void>;
}

/** How long tombstones ("expired", "complete") are kept by default. */
export const DEFAULT_TOMBSTONE_MS = 10 * 60_000;
