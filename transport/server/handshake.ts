/**
 * The handshake: a connection's first message, HELLO (a new session) or RESUME (an existing one
 * on a new connection), checked (version, limits, the session's existence and index) and
 * answered with WELCOME or a REJECT.
 *
 * Both ask the session store first, asynchronously: HELLO creates the record, RESUME claims it
 * (fenced: the claim makes this node the owner at a new epoch, and tells the previous owner if
 * that was another node). A resumed session whose actor is not on this node — another node's,
 * or one from before this node restarted — gets a new actor built from the record and the
 * RESUME: a RESUME always leads to streaming, so no timer of the old actor needs restoring.
 * While the store cannot be reached, both are refused with UNAVAILABLE, which is resumable.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { shortId } from '../../core/logger';
import { INSTANCE_ID_VERSION, MAX_LENGTH, MessageType, RejectCode } from '../protocol/constants';
import type { Hello, Resume } from '../protocol/codec';
import type { Refusal } from './admission';
import type { ServerConnection } from './server-connection';
import type { ClaimResult, SessionIdentity, SessionRecord } from './store/session-store';
import { SessionRuntime, type SessionServices } from './session-runtime';

/** The server's settings a handshake reads or announces in WELCOME. */
export interface HandshakeSettings {
  readonly maxSessions: number;
  readonly intervalMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly reconnectWindowMs: number;
}

/**
 * How long the store keeps a streaming session of this node without hearing from it: time to
 * send what is left, twice over (a loaded pacer runs late) — the store adds that per number
 * left, as only it knows the length at a claim — then END's wait and the reconnect window,
 * plus a minute. It only matters when the node dies while streaming: then a client may still
 * resume that long. A live node writes again (suspend, complete) before it runs out.
 */
export function lease(s: HandshakeSettings): [baseMs: number, perNumberMs: number] {
  return [s.heartbeatTimeoutMs + s.reconnectWindowMs + 60_000, 2 * s.intervalMs];
}

export class Handshake {
  constructor(
    private readonly settings: HandshakeSettings,
    /**
     * This process's instance id (hex): its node id as the store's owner, sent in version-2
     * WELCOMEs and compared with a RESUME's.
     */
    private readonly nodeId: string,
    private readonly services: SessionServices,
    /** Over an admission limit: the server's REJECT and log line (shared with accept). */
    private readonly refuse: (conn: ServerConnection, r: Refusal) => void,
  ) {}

  /** A new session: checked against the limits, stored, then WELCOMEd and its actor started. */
  async hello(conn: ServerConnection, { version, length: requested }: Hello): Promise<void> {
    // The codec has already refused (UNSUPPORTED_VERSION) any version we do not speak: adopt it.
    conn.version = version;
    if (requested > MAX_LENGTH) {
      return conn.reject(RejectCode.BAD_REQUEST, `length ${requested} is out of range: ask for 1..${MAX_LENGTH}, or 0 to let the server choose`);
    }
    if (this.services.live.size >= this.settings.maxSessions) {
      return this.refuse(conn, { kind: 'max-sessions', code: RejectCode.SERVER_FULL, reason: `server is full (${this.settings.maxSessions} sessions); try again later` });
    }
    const refused = this.services.admission.admitSession(conn.source);
    if (refused) return this.refuse(conn, refused);
    const length = requested === 0 ? randomInt(1, MAX_LENGTH + 1) : requested;
    const seedBytes = randomBytes(8);
    const identity: SessionIdentity = {
      id: randomBytes(16).toString('hex'),
      seedHi: seedBytes.readUInt32BE(0),
      seedLo: seedBytes.readUInt32BE(4),
      length,
      createdAt: Date.now(),
    };
    let record: SessionRecord;
    try {
      record = await this.services.store.once((s) => s.create(identity, this.nodeId, ...lease(this.settings)));
    } catch (err) {
      this.services.admission.sessionEnded(conn.source);
      return this.unavailable(conn, err);
    }
    const id = record.id;
    const session = this.adopt(conn, record, 0);
    this.services.lifecycle.line('new', `new session of ${length} numbers for ${conn.remote}`, { session: shortId(id) });
    session.start({
      id,
      length,
      nextIndex: 0,
      connectionId: conn.id,
      heartbeatTimeoutMs: this.settings.heartbeatTimeoutMs,
      reconnectWindowMs: this.settings.reconnectWindowMs,
      epoch: record.epoch,
    });
    this.services.emit('session', id);
    this.closedMeanwhile(conn, session);
  }

  /** An existing session continued on this connection at the client's next index. */
  async resume(conn: ServerConnection, { version, sessionId: idBytes, nextIndex, instanceId }: Resume): Promise<void> {
    conn.version = version;
    const id = idBytes.toString('hex');
    let claim: ClaimResult;
    try {
      claim = await this.services.store.once((s) => s.claim(id, this.nodeId, nextIndex, ...lease(this.settings)));
    } catch (err) {
      return this.unavailable(conn, err);
    }
    if (conn.closed) {
      // The client gave up on this attempt while the store answered (or it is an abandoned
      // attempt delivered late, after a newer one). Act on nothing: the session's holder, if
      // any, carries on until its next write is refused as stale, and the client's next RESUME
      // claims it anywhere. Taking it over here would end a healthy stream with a final
      // SESSION_TAKEN_OVER (seen in the kill -9 soak under chaos latency).
      return;
    }
    switch (claim.kind) {
      case 'beyond-end':
        return conn.reject(RejectCode.BAD_REQUEST, `next index ${nextIndex} is beyond the session's length ${claim.length}`);
      case 'expired':
        this.services.noisy.note('info', 'resume refused (expired)', conn.source, `resume refused: session expired (from ${conn.remote})`, { session: shortId(id) });
        return conn.reject(RejectCode.SESSION_EXPIRED, `session ${shortId(id)} expired: the reconnect window of ${this.settings.reconnectWindowMs} ms ran out`);
      case 'complete':
      case 'unknown':
        // Issued by another instance, which is gone (we are on its port) and did not hand it
        // over: only a store that dies with its process can lose a session this way.
        if (!this.services.store.store.shared && instanceId && instanceId.toString('hex') !== this.nodeId) {
          this.services.noisy.note('info', 'resume refused (server restarted)', conn.source, `resume refused: session from instance ${instanceId.toString('hex')}, this is ${this.nodeId} (from ${conn.remote})`, { session: shortId(id) });
          return conn.reject(RejectCode.SERVER_RESTARTED, `the server restarted and did not keep session ${shortId(id)}`);
        }
        this.services.noisy.note('info', 'resume refused (unknown)', conn.source, `resume refused: unknown session (from ${conn.remote})`, { session: shortId(id) });
        return conn.reject(RejectCode.UNKNOWN_SESSION, `session ${shortId(id)} is ${claim.kind === 'complete' ? 'complete' : 'unknown to this server'}`);
    }
    const { record, previousOwner } = claim;
    const crossNode = previousOwner !== this.nodeId;
    // The previous holder (another node, maybe half-open) stops at once rather than at its next
    // write. Best effort: a notice lost in a Redis blip leaves that write as the backstop.
    if (crossNode) void this.services.store.once((s) => s.announceTakeover(id, previousOwner, this.nodeId, record.epoch)).catch(() => {});
    const here = this.services.live.get(id);
    if (here?.active) {
      this.adopt(conn, record, nextIndex, here);
      this.services.lifecycle.line('resumed', `resumed at index ${nextIndex} from ${conn.remote} (was ${here.topState()})`, { session: shortId(id) });
      here.send({ type: 'RESUME', connectionId: conn.id, nextIndex, epoch: record.epoch });
    } else {
      // Not live here (another node's, or its actor already ended): a new actor from the
      // record, streaming from the client's index. Its per-source count starts here.
      if (here) this.services.live.delete(id);
      this.services.admission.sessionAdopted(conn.source);
      const session = this.adopt(conn, record, nextIndex);
      this.services.lifecycle.line('resumed', `resumed at index ${nextIndex} from ${conn.remote} (${crossNode ? `from node ${previousOwner}` : 'actor rebuilt'})`, { session: shortId(id) });
      session.start({
        id,
        length: record.length,
        nextIndex,
        connectionId: conn.id,
        heartbeatTimeoutMs: this.settings.heartbeatTimeoutMs,
        reconnectWindowMs: this.settings.reconnectWindowMs,
        epoch: record.epoch,
        reconnects: record.reconnects,
      });
    }
    // No closedMeanwhile here: a connection closed during the claim returned above.
    this.services.emit('resumed', id, nextIndex, crossNode);
  }

  /** The session is this connection's now: WELCOME, and the runtime that holds it. */
  private adopt(conn: ServerConnection, record: SessionRecord, startIndex: number, existing?: SessionRuntime): SessionRuntime {
    const session = existing ?? new SessionRuntime(record, conn.source, this.services);
    if (!existing) this.services.live.set(record.id, session);
    conn.handshakeDone(record.id);
    if (!conn.closed) this.welcome(conn, record, startIndex);
    return session;
  }

  /** A HELLO's connection closed while the store answered: its close found no session to tell. */
  private closedMeanwhile(conn: ServerConnection, session: SessionRuntime | undefined): void {
    if (conn.closed) session?.send({ type: 'DISCONNECTED', connectionId: conn.id });
  }

  private unavailable(conn: ServerConnection, err: unknown): void {
    this.services.noisy.note('warn', 'store unavailable', conn.source, `refused ${conn.remote}: session store unavailable (${(err as Error).message})`);
    conn.reject(RejectCode.UNAVAILABLE, 'the session store is unavailable; try again shortly');
  }

  private welcome(conn: ServerConnection, record: SessionIdentity, startIndex: number): void {
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
      ...(conn.version >= INSTANCE_ID_VERSION ? { instanceId: Buffer.from(this.nodeId, 'hex') } : {}),
    });
  }}
