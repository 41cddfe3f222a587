/**
 * One live session on this server: its record, its current connection, its pacer entry and the
 * effects the session machine asks for, in one object found once per event (by the session id)
 * instead of three maps (store, streams, registry) looked up for the same id.
 *
 * The per-number hot path (`sendNext`) lives here too, as a plain function the pacer calls with
 * the runtime: no lookup and no allocation per number beyond the frame itself.
 */
import { valueAt, sequenceChecksum, type Seed } from '../../core/sequence';
import { shortId, type Logger } from '../../core/logger';
import type { RepeatedLog } from '../../core/repeated-log';
import { sessionMachine, type CloseReason, type SessionContext, type SessionMachine } from '../../machines/session.machine';
import { MessageType, RejectCode } from '../protocol/constants';
import { encodeNumber } from '../protocol/codec';
import type { Admission } from './admission';
import type { Pacer, PacerEntry } from './pacer';
import type { ServerConnection } from './server-connection';
import type { SessionRecord, SessionStore } from './session-store';
import type { SessionActor } from './session-registry';

/** What every runtime of one server shares (one object per server, not per session). */
export interface SessionServices {
  readonly intervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly pacer: Pacer<SessionRuntime>;
  readonly log: Logger;
  /** Peer-caused warnings, aggregated per source and period. */
  readonly noisy: RepeatedLog;
  readonly store: SessionStore;
  readonly admission: Admission;
  /** The live runtimes by session id: the one place a session is looked up. */
  readonly live: Map<string, SessionRuntime>;
  /** The open connection with this id (the machine names connections by id). */
  connection(id: number): ServerConnection | undefined;
  /** The server's events ('session', 'resumed', 'suspended', 'expired', 'complete'). */
  emit(event: string, ...args: unknown[]): boolean;
}

/** While paced, the heartbeat timer is a backstop this many timeouts long (see the delays). */
const LIVENESS_BACKSTOP = 5;

const CLOSE_CODES: Record<Exclude<CloseReason, 'complete'>, [RejectCode, string]> = {
  'heartbeat-timeout': [RejectCode.HEARTBEAT_TIMEOUT, 'no heartbeat within the timeout; resume on a new connection'],
  'taken-over': [RejectCode.SESSION_TAKEN_OVER, 'another connection resumed this session'],
};

export class SessionRuntime {
  readonly seed: Seed;
  conn: ServerConnection | null = null;
  /** Every way out that stops pacing clears it: the heartbeat delay reads it (exact or backstop). */
  entry: PacerEntry<SessionRuntime> | null = null;
  /** Set right after the actor starts (its first entry action runs before `start` returns). */
  actor!: SessionActor;
  /** performance.now() of the last frame from the client; the heartbeat timeout reads it. */
  heardAt = performance.now();
  private checksum: number | null = null;

  constructor(
    readonly record: SessionRecord,
    /** The address that created it: its per-source session count is released when it ends. */
    readonly source: string,
    readonly services: SessionServices,
  ) {
    this.seed = { hi: record.seedHi, lo: record.seedLo };
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
    const r = this.record;
    r.nextIndex = context.nextIndex;
    r.state = 'streaming';
    r.deadline = null;
    r.reconnects = context.reconnects;
    this.heardAt = performance.now();
    this.conn = conn && !conn.closed ? conn : null;
    if (this.conn && context.nextIndex < context.length) this.entry = this.services.pacer.add(this);
  }

  stopStreaming(): void {
    if (this.entry) this.services.pacer.remove(this.entry);
    this.entry = null;
  }

  sendEnd(): void {
    if (!this.conn) return;
    this.checksum ??= sequenceChecksum(this.seed, this.record.length);
    this.conn.send({ type: MessageType.END, length: this.record.length, checksum: this.checksum });
    this.services.log.info('sent END', { session: shortId(this.record.id), checksum: this.checksum });
  }

  closeConnection(context: SessionContext, reason: CloseReason): void {
    const conn = this.services.connection(context.connectionId);
    if (this.conn === conn) this.conn = null;
    if (!conn) return;
    if (reason === 'complete') conn.close();
    else {
      this.services.noisy.note('warn', reason, conn.source, `closing connection: ${reason}`, { session: shortId(context.id), index: this.record.nextIndex });
      conn.reject(...CLOSE_CODES[reason]);
    }
  }

  suspend(context: SessionContext): void {
    this.conn = null;
    this.record.state = 'suspended';
    this.record.deadline = Date.now() + context.reconnectWindowMs;
    this.services.log.info(`suspended at index ${this.record.nextIndex}; resumable for ${context.reconnectWindowMs} ms`, { session: shortId(context.id) });
    this.services.emit('suspended', context.id);
  }

  expire(context: SessionContext): void {
    this.forget();
    this.services.store.markExpired(context.id, Date.now());
    this.services.log.info('reconnect window ran out: session expired', { session: shortId(context.id) });
    this.services.emit('expired', context.id);
  }

  finish(context: SessionContext): void {
    this.forget();
    this.services.log.info(`complete after ${context.reconnects} reconnect(s)`, { session: shortId(context.id) });
    this.services.emit('complete', context.id);
  }

  private forget(): void {
    const { services, record } = this;
    if (this.entry) services.pacer.remove(this.entry);
    services.admission.sessionEnded(this.source);
    services.live.delete(record.id);
    services.store.delete(record.id);
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
    s.actor.send({ type: 'LINK_SILENT' });
    return false;
  }
  const r = s.record;
  const index = r.nextIndex;
  if (!conn.write(encodeNumber(index, valueAt(s.seed, index)))) {
    // Cut as a slow consumer: the close suspends the session.
    s.entry = null;
    return false;
  }
  r.nextIndex = index + 1;
  const log = s.services.log;
  if (log.isDebugEnabled()) log.debug('number sent', { session: shortId(r.id), index });
  if (r.nextIndex < r.length) return true;
  s.entry = null;
  s.actor.send({ type: 'ALL_SENT' });
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
export function bindSessionMachine(services: SessionServices): SessionMachine {
  const { live } = services;
  const silence = (s: SessionRuntime | undefined) => (s ? performance.now() - s.heardAt : Infinity);
  return sessionMachine.provide({
    guards: {
      heardRecently: ({ context }) => silence(live.get(context.id)) < context.heartbeatTimeoutMs,
    },
    delays: {
      // While the pacer visits the session (at least once per timeout), it checks the silence
      // itself and sends LINK_SILENT: the timer is only a backstop then, and re-arms a few
      // times less often — at 19.5k sessions the exact timer re-armed ~4,000 times a second.
      // Otherwise it fires when the last thing heard becomes a timeout old: on time, no earlier.
      // "Paced" means a live pacer entry: one that stopped (closed connection, slow consumer, a
      // tick that threw) no longer counts, so the next arm is exact again.
      heartbeatTimeout: ({ context }) => {
        const s = live.get(context.id);
        if (s?.entry?.active && services.intervalMs < context.heartbeatTimeoutMs) return LIVENESS_BACKSTOP * context.heartbeatTimeoutMs;
        return Math.max(1, Math.ceil(context.heartbeatTimeoutMs - Math.min(silence(s), context.heartbeatTimeoutMs)));
      },
    },
    actions: {
      startStreaming: ({ context }) => live.get(context.id)?.startStreaming(context),
      stopStreaming: ({ context }) => live.get(context.id)?.stopStreaming(),
      sendEnd: ({ context }) => live.get(context.id)?.sendEnd(),
      closeConnection: ({ context }, { reason }) => live.get(context.id)?.closeConnection(context, reason),
      suspend: ({ context }) => live.get(context.id)?.suspend(context),
      expire: ({ context }) => live.get(context.id)?.expire(context),
      finish: ({ context }) => live.get(context.id)?.finish(context),
    },
  });
}
