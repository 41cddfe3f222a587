/**
 * One live session on this server: its identity, its current connection, its pacer entry and
 * the effects the session machine asks for, in one object found once per event (by the session
 * id) instead of three maps (store, streams, registry) looked up for the same id.
 *
 * The per-number hot path (`sendNext`) lives here too, as a plain function the pacer calls with
 * the runtime: no lookup, no store and no allocation per number beyond the frame itself. The
 * store is written only at lifecycle edges (suspend, expire, complete), fenced by the epoch the
 * machine holds; a write refused as stale means another node took the session over.
 *
 * Passivation: while a session streams and the pacer visits it (at least once per heartbeat
 * timeout, checking the silence itself), nothing can happen to it that the machine alone would
 * see, so its actor is not kept in memory: an actor and its XState system cost about 5 KB,
 * more than the socket. The runtime keeps the machine's context (plain data), and the next
 * event from outside restores the actor from it and hands it the event: the machine still
 * decides every transition. An inspected server keeps every actor resident (see settle).
 */
import { valueAt, sequenceChecksum, type Seed } from '../../core/sequence';
import { shortId, type Logger } from '../../core/logger';
import type { RepeatedLog } from '../../core/repeated-log';
import type { BurstLog } from '../../core/burst-log';
import {
  sessionMachine,
  topState,
  type CloseReason,
  type SessionContext,
  type SessionEvent,
  type SessionInput,
  type SessionMachine,
  type SessionStateName,
} from '../../machines/session.machine';
import { MessageType, RejectCode } from '../protocol/constants';
import { encodeNumber } from '../protocol/codec';
import type { Admission } from './admission';
import type { Pacer, PacerEntry } from './pacer';
import type { ServerConnection } from './server-connection';
import type { SessionIdentity } from './store/session-store';
import type { StoreLink } from './store/store-link';
import type { SessionActor, SessionRegistry, SessionSnapshot } from './session-registry';

/** What every runtime of one server shares (one object per server, not per session). */
export interface SessionServices {
  readonly intervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly pacer: Pacer<SessionRuntime>;
  readonly log: Logger;
  /** Peer-caused warnings, aggregated per source and period. */
  readonly noisy: RepeatedLog;
  /** Per-session lifecycle lines, summarised during bursts. */
  readonly lifecycle: BurstLog;
  readonly store: StoreLink;
  readonly admission: Admission;
  /** Counted on the hot path, read by /metrics. */
  readonly counters: { numbersSent: number };
  /**
   * Each number sent gets a debug line: asked of the logger once, at start (the level is set by
   * the config and never changes while running), not once per number (winston's check walks its
   * transports every time).
   */
  readonly logNumbers: boolean;
  /** The live runtimes by session id: the one place a session is looked up. */
  readonly live: Map<string, SessionRuntime>;
  /** Where actors are started, restored and retired. */
  readonly actors: SessionRegistry;
  /** Whether a streaming, paced session's actor may leave memory (see the file's head). */
  readonly passivate: boolean;
  /** The open connection with this id (the machine names connections by id). */
  connection(id: number): ServerConnection | undefined;
  /** The server's events ('session', 'resumed', 'suspended', 'expired', 'complete', 'takeover'). */
  emit(event: string, ...args: unknown[]): boolean;
}

/** While paced, the heartbeat timer is a backstop this many timeouts long (see the delays). */
const LIVENESS_BACKSTOP = 5;

/** The one state a session is passive in: streaming numbers the pacer sends (liveness is always alive while streaming). */
const PASSIVE_VALUE = { streaming: { progress: 'sending', liveness: 'alive' } } as const;

const CLOSE_CODES: Record<Exclude<CloseReason, 'complete'>, [RejectCode, string]> = {
  'heartbeat-timeout': [RejectCode.HEARTBEAT_TIMEOUT, 'no heartbeat within the timeout; resume on a new connection'],
  'taken-over': [RejectCode.SESSION_TAKEN_OVER, 'another connection resumed this session'],
  draining: [RejectCode.SHUTTING_DOWN, 'server is restarting; resume the session (another node may take it)'],
};

export class SessionRuntime {
  readonly seed: Seed;
  conn: ServerConnection | null = null;
  /** Every way out that stops pacing clears it: the heartbeat delay reads it (exact or backstop). */
  entry: PacerEntry<SessionRuntime> | null = null;
  /** The session's actor while resident; null while passive (the machine's context is kept instead). */
  private resident: SessionActor | null = null;
  /** While passive: the context the actor is restored with. */
  private dormant: SessionContext | null = null;
  /** Nested sends in progress: the actor is only retired once the outermost has settled. */
  private sending = 0;
  /** Restored, and its heartbeat timer not armed again yet (XState restores no `after` timer). */
  private unarmed = false;
  /** performance.now() of the last frame from the client; the heartbeat timeout reads it. */
  heardAt = performance.now();
  /** Next index to send: the only hot field, never written to the store per number. */
  nextIndex: number;
  private checksum: number | null = null;

  constructor(
    readonly record: SessionIdentity,
    /** The address that created it: its per-source session count is released when it ends. */
    readonly source: string,
    readonly services: SessionServices,
  ) {
    this.seed = { hi: record.seedHi, lo: record.seedLo };
    this.nextIndex = 0;
  }

  /** Starts the session's actor (HELLO, or a RESUME on a node that does not hold it). */
  start(input: SessionInput): void {
    this.resident = this.services.actors.start(input);
    this.settle();
  }

  /**
   * Every event from outside the machine comes here: a passive session's actor is restored
   * first, and retired again once the machine has settled, if the session is still passive.
   */
  send(event: SessionEvent): void {
    // An ended session (a close told late, after it completed or was handed over) hears nothing.
    if (!this.active) return;
    const actor = this.resident ?? this.wake();
    this.sending++;
    try {
      actor.send(event);
    } finally {
      this.sending--;
    }
    if (this.sending === 0) this.settle();
  }

  /** Not ended: passive, or its actor running. */
  get active(): boolean {
    return this.dormant !== null || this.resident?.getSnapshot().status === 'active';
  }

  /** The machine's snapshot, resident or not (tests, /metrics and ACK read it). */
  snapshot(): SessionSnapshot | undefined {
    if (this.dormant) return this.services.actors.machine.resolveState({ value: PASSIVE_VALUE, context: this.dormant });
    return this.resident?.getSnapshot();
  }

  /** The top-level state, without building a snapshot for a passive session. */
  topState(): SessionStateName | undefined {
    if (this.dormant) return 'streaming';
    return this.resident ? topState(this.resident.getSnapshot().value) : undefined;
  }

  /**
   * After the machine settles: a session streaming numbers the pacer sends needs nothing only
   * the machine would see, so its actor is retired (the pacer checks the silence every interval
   * and sends LINK_SILENT itself; every other way out of streaming is an event from outside).
   * Not while an inspector watches (it would see a new actor each time), nor when numbers are
   * slower than the heartbeat timeout (then the machine's timer is the liveness check).
   */
  private settle(): void {
    const actor = this.resident;
    if (!actor) return;
    const snap = actor.getSnapshot();
    if (snap.status !== 'active') return;
    if (this.services.passivate && this.entry?.active === true && snap.matches(PASSIVE_VALUE)) {
      this.dormant = snap.context;
      this.resident = null;
      this.unarmed = false;
      this.services.actors.retire(actor);
    } else if (this.unarmed) {
      // Restored and still streaming, but no longer passive: XState restores no `after` timer
      // (statelyai/xstate#5331), so the heartbeat timer is armed again the way it re-arms
      // itself, by asking whether the client was heard. Leaving streaming needs no such timer.
      this.unarmed = false;
      if (snap.matches('streaming')) this.checkLiveness(snap.context);
    }
  }

  /** Restores a passive session's actor where it was. */
  private wake(): SessionActor {
    const context = this.dormant!;
    this.dormant = null;
    this.unarmed = true;
    return (this.resident = this.services.actors.restore(context, PASSIVE_VALUE));
  }

  /** A frame from `conn`: only the connection currently streaming keeps the session alive. */
  heardFrom(conn: ServerConnection): void {
    if (this.conn === conn) this.heardAt = performance.now();
  }

  /** Numbers are going out on `conn` right now (so they can stand in for heartbeat acks). */
  pacedOn(conn: ServerConnection): boolean {
    return this.conn === conn && this.entry?.active === true;
  }

  // ---- the session machine's effects ----

  startStreaming(context: SessionContext): void {
    const conn = this.services.connection(context.connectionId);
    this.nextIndex = context.nextIndex;
    this.heardAt = performance.now();
    this.conn = conn && !conn.closed ? conn : null;
    if (this.conn && context.nextIndex < context.length) this.entry = this.services.pacer.add(this);
  }

  /** The heartbeat timer asks: answer LINK_ALIVE with when to ask again, or LINK_SILENT. */
  checkLiveness(context: SessionContext): void {
    const timeout = context.heartbeatTimeoutMs;
    const silence = performance.now() - this.heardAt;
    // Only ever called with the actor resident: as its action, or by settle after a restore.
    const actor = this.resident!;
    if (silence >= timeout) return void actor.send({ type: 'LINK_SILENT' });
    // While the pacer visits the session (at least once per timeout), it checks the silence
    // itself and sends LINK_SILENT: the timer is only a backstop then, and asks a few times
    // less often — at 19.5k sessions the exact timer re-armed ~4,000 times a second.
    // Otherwise ask again when the last thing heard becomes a timeout old: on time, no earlier.
    // "Paced" means a live pacer entry: one that stopped (closed connection, slow consumer, a
    // tick that threw) no longer counts, so the next check is exact again.
    const paced = this.entry?.active === true && this.services.intervalMs < timeout;
    actor.send({ type: 'LINK_ALIVE', checkInMs: paced ? LIVENESS_BACKSTOP * timeout : Math.ceil(timeout - silence) });
  }

  stopStreaming(): void {
    if (this.entry) this.services.pacer.remove(this.entry);
    this.entry = null;
  }

  sendEnd(): void {
    if (!this.conn) return;
    this.checksum ??= sequenceChecksum(this.seed, this.record.length);
    this.conn.send({ type: MessageType.END, length: this.record.length, checksum: this.checksum });
    this.services.lifecycle.line('sent END', 'sent END', { session: shortId(this.record.id), checksum: this.checksum });
  }

  closeConnection(context: SessionContext, reason: CloseReason): void {
    const conn = this.services.connection(context.connectionId);
    if (this.conn === conn) this.conn = null;
    if (!conn) return;
    if (reason === 'complete') conn.close();
    else {
      this.services.noisy.note('warn', reason, conn.source, `closing connection: ${reason}`, { session: shortId(context.id), index: this.nextIndex });
      conn.reject(...CLOSE_CODES[reason]);
    }
  }

  suspend(context: SessionContext): void {
    this.conn = null;
    const { id, epoch, reconnectWindowMs } = context;
    const at = this.nextIndex;
    this.services.lifecycle.line('suspended', `suspended at index ${at}; resumable for ${reconnectWindowMs} ms`, { session: shortId(id) });
    this.services.emit('suspended', id);
    // The store's deadline, not this node's timer, is what another node will go by.
    void this.services.store.write((s) => s.suspend(id, epoch, at, reconnectWindowMs)).then((r) => {
      // Refused: someone claimed the session after the epoch this write named.
      if (r === 'lost') this.claimedAt(epoch + 1);
    });
  }

  expire(context: SessionContext): void {
    this.forget();
    // 'lost' here is harmless: another node claimed it (or the store expired it first).
    void this.services.store.write((s) => s.expire(context.id, context.epoch));
    this.services.lifecycle.line('expired', 'reconnect window ran out: session expired', { session: shortId(context.id) });
    this.services.emit('expired', context.id);
  }

  finish(context: SessionContext): void {
    this.forget();
    void this.services.store.write((s) => s.complete(context.id, context.epoch));
    this.services.lifecycle.line('complete', `complete after ${context.reconnects} reconnect(s)`, { session: shortId(context.id) });
    this.services.emit('complete', context.id);
  }

  /** Another node holds the session now: this node lets go, leaving the store to the new owner. */
  release(context: SessionContext): void {
    this.forget();
    this.services.lifecycle.line('taken over', 'taken over by another node', { session: shortId(context.id) });
    this.services.emit('takeover', context.id);
  }

  /**
   * Another node claimed the session at `epoch` (its notice, or a write of ours refused as
   * stale): this node lets go, unless it has claimed it again itself since.
   */
  claimedAt(epoch: number): void {
    if (this.services.live.get(this.record.id) !== this) return;
    const context = this.dormant ?? this.resident?.getSnapshot().context;
    if (this.active && context && context.epoch < epoch) this.send({ type: 'TAKEN_OVER' });
  }

  private forget(): void {
    const { services, record } = this;
    if (this.entry) services.pacer.remove(this.entry);
    this.entry = null;
    services.admission.sessionEnded(this.source);
    if (services.live.get(record.id) === this) services.live.delete(record.id);
  }
}

/** The hot path: one call per number, from the pacer. */
export function sendNext(s: SessionRuntime): boolean {
  const conn = s.conn;
  if (!conn || conn.closed) {
    s.entry = null;
    return false;
  }
  if (performance.now() - s.heardAt >= s.services.heartbeatTimeoutMs) {
    // Silent for the timeout: the machine suspends the session (and stops this pacing).
    s.entry = null;
    s.send({ type: 'LINK_SILENT' });
    return false;
  }
  const index = s.nextIndex;
  if (!conn.write(encodeNumber(index, valueAt(s.seed, index)))) {
    // Cut as a slow consumer: the close suspends the session.
    s.entry = null;
    return false;
  }
  s.nextIndex = index + 1;
  s.services.counters.numbersSent++;
  if (s.services.logNumbers) s.services.log.debug('number sent', { session: shortId(s.record.id), index });
  if (s.nextIndex < s.record.length) return true;
  s.entry = null;
  s.send({ type: 'ALL_SENT' });
  return false;
}

/** A tick that threw: only this session is affected. */
export function pacingFailed(err: unknown, s: SessionRuntime): void {
  // Drop its connection, so it is suspended now and its client resumes, instead of streaming
  // nothing until a backstop timer notices.
  s.services.log.error(`pacing failed: ${(err as Error).message}; dropping the connection, the client may resume`, { session: shortId(s.record.id) });
  s.entry = null;
  s.conn?.destroy();
}

/**
 * The session machine with this server's effects, bound once for the whole server. Each action
 * finds its runtime once; a live actor always has one (created before the actor starts, removed
 * by its final state's own action, or after the actor is stopped at shutdown).
 */
export function bindSessionMachine(live: ReadonlyMap<string, SessionRuntime>): SessionMachine {
  return sessionMachine.provide({
    actions: {
      checkLiveness: ({ context }) => live.get(context.id)?.checkLiveness(context),
      startStreaming: ({ context }) => live.get(context.id)?.startStreaming(context),
      stopStreaming: ({ context }) => live.get(context.id)?.stopStreaming(),
      sendEnd: ({ context }) => live.get(context.id)?.sendEnd(),
      closeConnection: ({ context }, { reason }) => live.get(context.id)?.closeConnection(context, reason),
      suspend: ({ context }) => live.get(context.id)?.suspend(context),
      expire: ({ context }) => live.get(context.id)?.expire(context),
      finish: ({ context }) => live.get(context.id)?.finish(context),
      release: ({ context }) => live.get(context.id)?.release(context),
    },
  });
}
