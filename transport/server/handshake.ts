/**
 * The handshake: a connection's first message, HELLO (a new session) or RESUME (an existing one
 * on a new connection), checked (version, limits, the session's existence and index) and
 * answered with WELCOME or a REJECT. Its questions (how many sessions, was this one expired, is
 * it live here) are the ones that turn asynchronous once the store is remote: they are all here.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { shortId } from '../../core/logger';
import { topState } from '../../machines/session.machine';
import { INSTANCE_ID_VERSION, MAX_LENGTH, MessageType, RejectCode } from '../protocol/constants';
import type { Hello, Resume } from '../protocol/codec';
import type { Refusal } from './admission';
import type { ServerConnection } from './server-connection';
import type { SessionRecord } from './session-store';
import type { SessionRegistry } from './session-registry';
import { SessionRuntime, type SessionServices } from './session-runtime';

/** The server's settings a handshake reads or announces in WELCOME. */
export interface HandshakeSettings {
  readonly maxSessions: number;
  readonly intervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectWindowMs: number;
}

export class Handshake {
  constructor(
    private readonly settings: HandshakeSettings,
    /** This process's instance id (hex): sent in version-2 WELCOMEs, compared with a RESUME's. */
    private readonly instanceId: string,
    private readonly services: SessionServices,
    private readonly registry: SessionRegistry,
    /** Over an admission limit: the server's REJECT and log line (shared with accept). */
    private readonly refuse: (conn: ServerConnection, r: Refusal) => void,
  ) {}

  /** A new session: checked against the limits, then WELCOMEd and its actor started. */
  hello(conn: ServerConnection, { version, length: requested }: Hello): void {
    // The codec has already refused (UNSUPPORTED_VERSION) any version we do not speak: adopt it.
    conn.version = version;
    if (requested > MAX_LENGTH) {
      return conn.reject(RejectCode.BAD_REQUEST, `length ${requested} is out of range: ask for 1..${MAX_LENGTH}, or 0 to let the server choose`);
    }
    if (this.services.store.size >= this.settings.maxSessions) {
      return this.refuse(conn, { kind: 'max-sessions', code: RejectCode.SERVER_FULL, reason: `server is full (${this.settings.maxSessions} sessions); try again later` });
    }
    const refused = this.services.admission.admitSession(conn.source);
    if (refused) return this.refuse(conn, refused);
    const length = requested === 0 ? randomInt(1, MAX_LENGTH + 1) : requested;
    const idBytes = randomBytes(16);
    const seedBytes = randomBytes(8);
    const id = idBytes.toString('hex');
    const record: SessionRecord = {
      id,
      seedHi: seedBytes.readUInt32BE(0),
      seedLo: seedBytes.readUInt32BE(4),
      length,
      nextIndex: 0,
      state: 'streaming',
      deadline: null,
      reconnects: 0,
      createdAt: Date.now(),
    };
    this.services.store.put(record);
    const session = new SessionRuntime(record, conn.source, this.services);
    this.services.live.set(id, session);
    conn.handshakeDone(id);
    this.welcome(conn, record, 0);
    this.services.log.info(`new session of ${length} numbers for ${conn.remote}`, { session: shortId(id) });
    session.actor = this.registry.start({
      id,
      length,
      nextIndex: 0,
      connectionId: conn.id,
      heartbeatTimeoutMs: this.settings.heartbeatTimeoutMs,
      reconnectWindowMs: this.settings.reconnectWindowMs,
    });
    this.services.emit('session', id);
  }

  /** An existing session continued on this connection at the client's next index. */
  resume(conn: ServerConnection, { version, sessionId: idBytes, nextIndex, instanceId }: Resume): void {
    conn.version = version;
    const id = idBytes.toString('hex');
    const session = this.services.live.get(id);
    // An actor that failed has left the registry; its session cannot be resumed.
    if (!session || session.actor.getSnapshot().status !== 'active') {
      if (this.services.store.wasExpired(id, Date.now())) {
        this.services.noisy.note('info', 'resume refused (expired)', conn.source, `resume refused: session expired (from ${conn.remote})`, { session: shortId(id) });
        return conn.reject(RejectCode.SESSION_EXPIRED, `session ${shortId(id)} expired: the reconnect window of ${this.settings.reconnectWindowMs} ms ran out`);
      }
      // Issued by another instance, which is gone (we are on its port) and did not hand it over.
      if (instanceId && instanceId.toString('hex') !== this.instanceId) {
        this.services.noisy.note('info', 'resume refused (server restarted)', conn.source, `resume refused: session from instance ${instanceId.toString('hex')}, this is ${this.instanceId} (from ${conn.remote})`, { session: shortId(id) });
        return conn.reject(RejectCode.SERVER_RESTARTED, `the server restarted and did not keep session ${shortId(id)}`);
      }
      this.services.noisy.note('info', 'resume refused (unknown)', conn.source, `resume refused: unknown session (from ${conn.remote})`, { session: shortId(id) });
      return conn.reject(RejectCode.UNKNOWN_SESSION, `session ${shortId(id)} is unknown to this server`);
    }
    const record = session.record;
    if (nextIndex > record.length) {
      return conn.reject(RejectCode.BAD_REQUEST, `next index ${nextIndex} is beyond the session's length ${record.length}`);
    }
    conn.handshakeDone(id);
    this.welcome(conn, record, nextIndex);
    this.services.log.info(`resumed at index ${nextIndex} from ${conn.remote} (was ${topState(session.actor.getSnapshot().value)})`, { session: shortId(id) });
    session.actor.send({ type: 'RESUME', connectionId: conn.id, nextIndex });
    this.services.emit('resumed', id, nextIndex);
  }

  private welcome(conn: ServerConnection, record: SessionRecord, startIndex: number): void {
    conn.send({
      type: MessageType.WELCOME,
      sessionId: Buffer.from(record.id, 'hex'),
      seedHi: record.seedHi,
      seedLo: record.seedLo,
      length: record.length,
      startIndex,
      intervalMs: this.settings.intervalMs,
      heartbeatIntervalMs: this.settings.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.settings.heartbeatTimeoutMs,
      // The answer has the size of the request's version: a version-1 client reads 45 bytes.
      ...(conn.version >= INSTANCE_ID_VERSION ? { instanceId: Buffer.from(this.instanceId, 'hex') } : {}),
    });
  }}
