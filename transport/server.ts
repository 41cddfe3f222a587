/**
 * The seqstream server: accepts connections, runs the handshake, and wires each session's
 * XState actor (lifecycle, timeouts) to the pacer (numbers) and its current connection.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { valueAt, sequenceChecksum, type Seed } from '../core/sequence';
import { silentLogger, shortId, type Logger } from '../core/logger';
import { sessionMachine, topState, type CloseReason, type SessionContext } from '../machines/session.machine';
import { MAX_LENGTH, MessageType, PROTOCOL_VERSION, RejectCode } from './constants';
import { encodeNumber, type Message } from './codec';
import { Pacer, type PacerEntry } from './pacer';
import { ServerConnection } from './server-connection';
import { createListener, type Listener } from './listener';
import type { ServerTls } from './tls-files';
import { InMemorySessionStore, type SessionRecord, type SessionStore } from './session-store';
import { SessionRegistry, type RegistryOptions } from './session-registry';

export interface ServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  intervalMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  reconnectWindowMs: number;
  handshakeTimeoutMs: number;
  maxSessions: number;
  maxWriteBuffer: number;
  /** Serve TLS with this certificate (same framing inside); absent: cleartext TCP. */
  tls?: ServerTls | null;
  logger?: Logger;
  store?: SessionStore;
  /** Clock and inspection for the session actors (tests, the inspector). */
  actors?: RegistryOptions;
}

/** A session's live wiring: what the pacer needs per number, nothing else. */
interface Stream {
  readonly record: SessionRecord;
  readonly seed: Seed;
  conn: ServerConnection | null;
  entry: PacerEntry<Stream> | null;
  checksum: number | null;
  /** performance.now() of the last frame from the client; the heartbeat timeout reads it. */
  heardAt: number;
}

/** While paced, the heartbeat timer is a backstop this many timeouts long (see the delays). */
const LIVENESS_BACKSTOP = 5;

const CLOSE_CODES: Record<Exclude<CloseReason, 'complete'>, [RejectCode, string]> = {
  'heartbeat-timeout': [RejectCode.HEARTBEAT_TIMEOUT, 'no heartbeat within the timeout; resume on a new connection'],
  'taken-over': [RejectCode.SESSION_TAKEN_OVER, 'another connection resumed this session'],
};

export class SeqServer extends EventEmitter {
  readonly store: SessionStore;
  readonly registry: SessionRegistry;
  private readonly log: Logger;
  private readonly listener: Listener;
  private readonly server: net.Server;
  private readonly connections = new Map<number, ServerConnection>();
  private readonly streams = new Map<string, Stream>();
  private readonly pacer: Pacer<Stream>;
  private nextConnectionId = 1;
  private closed = false;

  constructor(private readonly opts: ServerOptions) {
    super();
    this.log = opts.logger ?? silentLogger();
    this.store = opts.store ?? new InMemorySessionStore();
    this.pacer = new Pacer<Stream>(opts.intervalMs, this.sendNext, undefined, (err, s) => {
      // Only this session is affected: drop its connection, so it is suspended now and its
      // client resumes, instead of streaming nothing until a backstop timer notices.
      this.log.error(`pacing failed: ${(err as Error).message}; dropping the connection, the client may resume`, { session: shortId(s.record.id) });
      s.entry = null;
      s.conn?.destroy();
    });
    this.registry = new SessionRegistry(this.bindMachine(), opts.actors);
    this.listener = createListener({ tls: opts.tls, handshakeTimeoutMs: opts.handshakeTimeoutMs, log: this.log }, (socket) => this.accept(socket));
    this.server = this.listener.server;
    this.server.on('error', (err) => this.emit('error', err));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      // A deep accept queue: a reconnect storm brings thousands of SYNs at once, and a dropped
      // SYN costs the client a 1 s retransmit.
      this.server.listen({ port: this.opts.port, host: this.opts.host, backlog: 4096 }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** Numbers go out at least once per heartbeat interval, so they double as heartbeat acks. */
  private get numbersProveLiveness(): boolean {
    return this.opts.intervalMs <= this.opts.heartbeatIntervalMs;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get sessionCount(): number {
    return this.registry.size;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Stops accepting, tells every client we are going away (they may resume elsewhere or later). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.pacer.clear();
    this.registry.stopAll();
    for (const conn of this.connections.values()) conn.reject(RejectCode.SHUTTING_DOWN, 'server is shutting down');
    for (const conn of this.connections.values()) conn.destroy();
    this.streams.clear();
    this.listener.destroyPending();
    await done;
  }

  // ---- the session machine's actions, bound once for the whole server ----

  private bindMachine() {
    const stream = (ctx: SessionContext) => this.streams.get(ctx.id);
    const silence = (ctx: SessionContext) => {
      const s = stream(ctx);
      return s ? performance.now() - s.heardAt : Infinity;
    };
    return sessionMachine.provide({
      guards: {
        heardRecently: ({ context }) => silence(context) < context.heartbeatTimeoutMs,
      },
      delays: {
        // While the pacer visits the session (at least once per timeout), it checks the silence
        // itself and sends LINK_SILENT: the timer is only a backstop then, and re-arms a few
        // times less often — at 19.5k sessions the exact timer re-armed ~4,000 times a second.
        // Otherwise it fires when the last thing heard becomes a timeout old: on time, no earlier.
        // "Paced" means a live pacer entry: one that stopped (closed connection, slow consumer, a
        // tick that threw) no longer counts, so the next arm is exact again.
        heartbeatTimeout: ({ context }) => {
          const s = stream(context);
          if (s?.entry?.active && this.opts.intervalMs < context.heartbeatTimeoutMs) return LIVENESS_BACKSTOP * context.heartbeatTimeoutMs;
          return Math.max(1, Math.ceil(context.heartbeatTimeoutMs - Math.min(silence(context), context.heartbeatTimeoutMs)));
        },
      },
      actions: {
        startStreaming: ({ context }) => {
          const s = stream(context);
          const conn = this.connections.get(context.connectionId);
          if (!s) return;
          s.record.nextIndex = context.nextIndex;
          s.record.state = 'streaming';
          s.record.deadline = null;
          s.record.reconnects = context.reconnects;
          s.heardAt = performance.now();
          s.conn = conn && !conn.closed ? conn : null;
          if (s.conn && context.nextIndex < context.length) s.entry = this.pacer.add(s);
        },
        stopStreaming: ({ context }) => {
          const s = stream(context);
          if (!s) return;
          if (s.entry) this.pacer.remove(s.entry);
          s.entry = null;
        },
        sendEnd: ({ context }) => {
          const s = stream(context);
          if (!s?.conn) return;
          s.checksum ??= sequenceChecksum(s.seed, s.record.length);
          s.conn.send({ type: MessageType.END, length: s.record.length, checksum: s.checksum });
          this.log.info('sent END', { session: shortId(context.id), checksum: s.checksum });
        },
        closeConnection: ({ context }, { reason }) => {
          const s = stream(context);
          const conn = this.connections.get(context.connectionId);
          if (s && s.conn === conn) s.conn = null;
          if (!conn) return;
          if (reason === 'complete') conn.close();
          else {
            this.log.warn(`closing connection: ${reason}`, { session: shortId(context.id), index: s?.record.nextIndex });
            conn.reject(...CLOSE_CODES[reason]);
          }
        },
        suspend: ({ context }) => {
          const s = stream(context);
          if (!s) return;
          s.conn = null;
          s.record.state = 'suspended';
          s.record.deadline = Date.now() + context.reconnectWindowMs;
          this.log.info(`suspended at index ${s.record.nextIndex}; resumable for ${context.reconnectWindowMs} ms`, { session: shortId(context.id) });
          this.emit('suspended', context.id);
        },
        expire: ({ context }) => {
          this.forget(context.id);
          this.store.markExpired(context.id, Date.now());
          this.log.info('reconnect window ran out: session expired', { session: shortId(context.id) });
          this.emit('expired', context.id);
        },
        finish: ({ context }) => {
          this.forget(context.id);
          this.log.info(`complete after ${context.reconnects} reconnect(s)`, { session: shortId(context.id) });
          this.emit('complete', context.id);
        },
      },
    });
  }

  private forget(id: string): void {
    const s = this.streams.get(id);
    if (s?.entry) this.pacer.remove(s.entry);
    this.streams.delete(id);
    this.store.delete(id);
  }

  // ---- the hot path: one call per number ----

  private sendNext = (s: Stream): boolean => {
    const conn = s.conn;
    // Every way out that stops pacing clears s.entry: the heartbeat timer's delay reads it to
    // decide between the exact delay and the backstop.
    if (!conn || conn.closed) {
      s.entry = null;
      return false;
    }
    if (performance.now() - s.heardAt >= this.opts.heartbeatTimeoutMs) {
      // Silent for the timeout: the machine suspends the session (and stops this pacing).
      s.entry = null;
      this.registry.send(s.record.id, { type: 'LINK_SILENT' });
      return false;
    }
    if (conn.backlog > this.opts.maxWriteBuffer) {
      this.log.warn(`client is not reading (${conn.backlog} bytes queued): closing its connection`, { session: shortId(s.record.id) });
      conn.reject(RejectCode.SLOW_CONSUMER, `more than ${this.opts.maxWriteBuffer} bytes unread; resume when ready`);
      s.entry = null;
      return false;
    }
    const r = s.record;
    const index = r.nextIndex;
    conn.write(encodeNumber(index, valueAt(s.seed, index)));
    r.nextIndex = index + 1;
    if (this.log.isDebugEnabled()) this.log.debug('number sent', { session: shortId(r.id), index });
    if (r.nextIndex < r.length) return true;
    s.entry = null;
    this.registry.send(r.id, { type: 'ALL_SENT' });
    return false;
  };

  // ---- connections and their messages ----

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(this.nextConnectionId++, socket, this.opts.handshakeTimeoutMs, {
      onMessage: (c, m) => this.onMessage(c, m),
      onClose: (c) => this.onConnectionClose(c),
      onProtocolError: (c, err) => {
        this.log.warn(`protocol error from ${c.remote}: ${err.message}`, c.sessionId ? { session: shortId(c.sessionId) } : {});
        c.reject(RejectCode.PROTOCOL_ERROR, err.message);
      },
      onHandshakeTimeout: (c) => {
        this.log.warn(`no HELLO or RESUME from ${c.remote} within ${this.opts.handshakeTimeoutMs} ms`);
        c.reject(RejectCode.HANDSHAKE_TIMEOUT, `send HELLO or RESUME within ${this.opts.handshakeTimeoutMs} ms`);
      },
    });
    this.connections.set(conn.id, conn);
    this.log.debug(`connection ${conn.id} from ${conn.remote}`);
  }

  private onConnectionClose(conn: ServerConnection): void {
    this.connections.delete(conn.id);
    if (conn.sessionId) this.registry.send(conn.sessionId, { type: 'DISCONNECTED', connectionId: conn.id });
    this.emit('connectionClosed', conn.id);
  }

  private onMessage(conn: ServerConnection, msg: Message): void {
    if (conn.sessionId === null) {
      if (msg.type === MessageType.HELLO) return this.onHello(conn, msg.version, msg.length);
      if (msg.type === MessageType.RESUME) return this.onResume(conn, msg.version, msg.sessionId, msg.nextIndex);
      return this.unexpected(conn, msg, 'expected HELLO or RESUME first');
    }
    const id = conn.sessionId;
    const stream = this.streams.get(id);
    // Only the connection currently streaming keeps the session alive (not one taken over).
    if (stream && stream.conn === conn) stream.heardAt = performance.now();
    switch (msg.type) {
      case MessageType.HEARTBEAT:
        // A session streaming at least once per heartbeat interval already proves the link
        // alive with every number; an ACK on top would be a third of all writes at the default
        // settings (PROTOCOL.md §5). Otherwise (after END, slow intervals, taken over) answer.
        if (stream?.entry?.active && stream.conn === conn && this.numbersProveLiveness) return;
        conn.send({ type: MessageType.HEARTBEAT_ACK, nonce: msg.nonce });
        return;
      case MessageType.HEARTBEAT_ACK:
        return;
      case MessageType.ACK: {
        const actor = this.registry.get(id);
        if (!actor?.getSnapshot().matches({ streaming: { progress: 'ending' } })) {
          return this.unexpected(conn, msg, 'ACK before END');
        }
        if (msg.verdict !== 0) this.log.warn('client reports a checksum mismatch', { session: shortId(id) });
        actor.send({ type: 'ACK' });
        return;
      }
      default:
        return this.unexpected(conn, msg, 'the session is already established');
    }
  }

  private unexpected(conn: ServerConnection, msg: Message, why: string): void {
    const text = `unexpected ${MessageType[msg.type]}: ${why}`;
    this.log.warn(`${text} (from ${conn.remote})`, conn.sessionId ? { session: shortId(conn.sessionId) } : {});
    conn.reject(RejectCode.UNEXPECTED_MESSAGE, text);
  }

  private checkVersion(conn: ServerConnection, version: number): boolean {
    if (version === PROTOCOL_VERSION) return true;
    conn.reject(RejectCode.UNSUPPORTED_VERSION, `protocol version ${version} is not supported; this server speaks ${PROTOCOL_VERSION}`);
    return false;
  }

  private onHello(conn: ServerConnection, version: number, requested: number): void {
    if (!this.checkVersion(conn, version)) return;
    if (requested > MAX_LENGTH) {
      return conn.reject(RejectCode.BAD_REQUEST, `length ${requested} is out of range: ask for 1..${MAX_LENGTH}, or 0 to let the server choose`);
    }
    if (this.store.size >= this.opts.maxSessions) {
      this.log.warn(`server full (${this.store.size} sessions): rejecting ${conn.remote}`);
      return conn.reject(RejectCode.SERVER_FULL, `server is full (${this.opts.maxSessions} sessions); try again later`);
    }
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
    this.store.put(record);
    this.streams.set(id, { record, seed: { hi: record.seedHi, lo: record.seedLo }, conn: null, entry: null, checksum: null, heardAt: performance.now() });
    conn.handshakeDone(id);
    this.welcome(conn, record, 0);
    this.log.info(`new session of ${length} numbers for ${conn.remote}`, { session: shortId(id) });
    this.registry.start({
      id,
      length,
      nextIndex: 0,
      connectionId: conn.id,
      heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
      reconnectWindowMs: this.opts.reconnectWindowMs,
    });
    this.emit('session', id);
  }

  private onResume(conn: ServerConnection, version: number, idBytes: Buffer, nextIndex: number): void {
    if (!this.checkVersion(conn, version)) return;
    const id = idBytes.toString('hex');
    const record = this.store.get(id);
    const stream = this.streams.get(id);
    if (!record || !stream || !this.registry.get(id)) {
      if (this.store.wasExpired(id, Date.now())) {
        this.log.info(`resume refused: session expired (from ${conn.remote})`, { session: shortId(id) });
        return conn.reject(RejectCode.SESSION_EXPIRED, `session ${shortId(id)} expired: the reconnect window of ${this.opts.reconnectWindowMs} ms ran out`);
      }
      this.log.info(`resume refused: unknown session (from ${conn.remote})`, { session: shortId(id) });
      return conn.reject(RejectCode.UNKNOWN_SESSION, `session ${shortId(id)} is unknown to this server`);
    }
    if (nextIndex > record.length) {
      return conn.reject(RejectCode.BAD_REQUEST, `next index ${nextIndex} is beyond the session's length ${record.length}`);
    }
    conn.handshakeDone(id);
    this.welcome(conn, record, nextIndex);
    this.log.info(`resumed at index ${nextIndex} from ${conn.remote} (was ${topState(this.registry.get(id)!.getSnapshot().value)})`, { session: shortId(id) });
    this.registry.send(id, { type: 'RESUME', connectionId: conn.id, nextIndex });
    this.emit('resumed', id, nextIndex);
  }

  private welcome(conn: ServerConnection, record: SessionRecord, startIndex: number): void {
    conn.send({
      type: MessageType.WELCOME,
      sessionId: Buffer.from(record.id, 'hex'),
      seedHi: record.seedHi,
      seedLo: record.seedLo,
      length: record.length,
      startIndex,
      intervalMs: this.opts.intervalMs,
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.opts.heartbeatTimeoutMs,
    });
  }
}
