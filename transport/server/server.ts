/**
 * The seqstream server: listens, accepts (within the admission limits), hands each connection's
 * messages to dispatch.ts, drains and closes. What a session does lives in session-runtime.ts;
 * HELLO and RESUME in handshake.ts; the store behind store/; the settings in server-options.ts.
 *
 * About 320 lines, above the house's ~250, for a reason: besides accept, listen, drain and close
 * it holds the public getters the tests, inspector, soak, metrics and bench read, the takeover
 * notices, and the door's admission glue (the pre-TLS hook, the open-file reserve, the refusal
 * log), all of which read the same server-wide connection state; cutting them out would pass
 * that state around.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { DEFAULTS } from '../../core/config';
import { listenOn } from '../../core/ports';
import { silentLogger, shortId, type Logger } from '../../core/logger';
import { RepeatedLog } from '../../core/repeated-log';
import { BurstLog } from '../../core/burst-log';
import { Admission, sourceKey, openFileCount, openFileLimit, type AdmissionLimits, type Refusal } from './admission';
import { INSTANCE_ID_BYTES, RejectCode } from '../protocol/constants';
import { Pacer } from './pacer';
import { bindSessionMachine, pacingFailed, sendNext, type SessionRuntime, type SessionServices } from './session-runtime';
import { Handshake } from './handshake';
import { Disconnects } from './disconnects';
import { Dispatch, sessionMeta } from './dispatch';
import { ServerConnection, type ConnectionHandlers, type ConnectionLimits } from './server-connection';
import { createListener, type Listener } from './listener';
import { InMemorySessionStore } from './store/memory-store';
import type { SessionStore } from './store/session-store';
import { StoreLink } from './store/store-link';
import { SessionRegistry, type SessionSnapshot } from './session-registry';
import type { SessionStateName } from '../../machines/session.machine';
import { DEFAULT_ADMISSION, type ServerOptions } from './server-options';

// SeqServer's callers (bin/server, the tests' helper) import its options from beside it.
export { DEFAULT_ADMISSION, type ServerOptions } from './server-options';

/** How often refilled rate buckets are dropped. */
const ADMISSION_SWEEP_MS = 10_000;

export class SeqServer extends EventEmitter {
  /**
   * Random per process (hex): sent in every version-2 WELCOME and echoed in RESUME, so a session
   * issued by another instance (before a restart) is told apart from one merely unknown.
   */
  readonly instanceId = randomBytes(INSTANCE_ID_BYTES).toString('hex');
  readonly store: SessionStore;
  /** Every store call goes through it: outages logged once, lifecycle writes retried. */
  readonly storeLink: StoreLink;
  readonly registry: SessionRegistry;
  private readonly log: Logger;
  private readonly listener: Listener;
  private readonly server: net.Server;
  private readonly connections = new Map<number, ServerConnection>();
  /** The live sessions by id: the one place a session is looked up. */
  private readonly sessions = new Map<string, SessionRuntime>();
  private readonly pacer: Pacer<SessionRuntime>;
  /** Closes told to their sessions a slice at a time (a storm of them must not starve accept). */
  private readonly disconnects = new Disconnects((err) => this.log.error(`a session's disconnect failed: ${(err as Error).message}`));
  private nextConnectionId = 1;
  private peakQueued = 0;
  private closed = false;
  private draining = false;
  private listening = false;
  private unsubscribeTakeovers: (() => Promise<void>) | null = null;
  private readonly admission: Admission;
  /** Admitted connections that have not finished their handshake yet. */
  private readonly pending = new Set<ServerConnection>();
  /** Peer-caused warnings, aggregated per source and period. */
  private readonly noisy: RepeatedLog;
  private readonly lifecycle: BurstLog;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly services: SessionServices;
  /** Written on the hot path (one increment per number), read by /metrics. */
  private readonly counters = { numbersSent: 0 };
  private readonly handshake: Handshake;
  private readonly dispatch: Dispatch;
  /** Open files the server may use for connections; Infinity when the limit is unknown. */
  private fileCapacityValue = Infinity;
  private atFileLimit = false;
  /** The same for every connection: built once, not per accept. */
  private readonly connectionLimits: ConnectionLimits;
  /** What every connection reports back: one object for all of them, not closures per accept. */
  private readonly connectionHandlers: ConnectionHandlers = {
    onMessage: (c, m) => this.dispatch.message(c, m),
    onClose: (c) => this.onConnectionClose(c),
    onProtocolError: (c, err) => this.dispatch.protocolError(c, err),
    onSlowConsumer: (c, queued) => {
      this.noisy.note('warn', 'slow consumer', c.source, `client ${c.remote} is not reading (${queued} bytes queued): closing its connection`, sessionMeta(c));
    },
    onFlood: (c) => {
      this.noisy.note('warn', 'message flood', c.source, `client ${c.remote} sent more than its message budget: closing its connection`, sessionMeta(c));
    },
    onHandshakeTimeout: (c) => {
      this.noisy.note('warn', 'handshake timeout', c.source, `no HELLO or RESUME from ${c.remote} within ${this.opts.handshakeTimeoutMs} ms`);
      c.reject(RejectCode.HANDSHAKE_TIMEOUT, `send HELLO or RESUME within ${this.opts.handshakeTimeoutMs} ms`);
    },
    onReject: (_c, code) => this.emit('rejected', code),
    onHandshakeEnd: (c) => {
      if (this.pending.delete(c)) this.admission.handshakeEnded(c.source);
    },
  };
  private readonly admissionLimits: AdmissionLimits;

  constructor(private readonly opts: ServerOptions) {
    super();
    this.log = opts.logger ?? silentLogger();
    this.store = opts.store ?? new InMemorySessionStore();
    this.storeLink = new StoreLink(this.store, this.log);
    this.registry = new SessionRegistry(bindSessionMachine(this.sessions), opts.actors);
    this.pacer = new Pacer<SessionRuntime>(opts.intervalMs, sendNext, undefined, pacingFailed);
    this.noisy = new RepeatedLog(this.log, opts.logRepeatPeriodMs ?? DEFAULTS.logRepeatPeriod);
    this.lifecycle = new BurstLog(this.log, opts.logBurstPerSecond ?? DEFAULTS.logBurst);
    this.admissionLimits = { ...DEFAULT_ADMISSION, ...opts.admission };
    this.admission = new Admission(this.admissionLimits, () => this.fileCapacityValue - this.connections.size - this.listener.pending);
    this.connectionLimits = {
      handshakeTimeoutMs: opts.handshakeTimeoutMs,
      maxQueuedBytes: opts.maxWriteBuffer,
      maxMessagesPerSecond: opts.maxMessagesPerSecond ?? DEFAULTS.maxMessageRate,
    };
    this.services = {
      intervalMs: opts.intervalMs,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
      pacer: this.pacer,
      log: this.log,
      noisy: this.noisy,
      lifecycle: this.lifecycle,
      store: this.storeLink,
      admission: this.admission,
      live: this.sessions,
      actors: this.registry,
      // The pacer's silence check stands in for the heartbeat timer only when numbers come at
      // least once per timeout; an inspector must see every actor (session-runtime.ts).
      passivate: (opts.passivate ?? true) && opts.intervalMs < opts.heartbeatTimeoutMs && !this.registry.inspected,
      counters: this.counters,
      logNumbers: this.log.isDebugEnabled(),
      connection: (id) => this.connections.get(id),
      emit: (event, ...args) => this.emit(event, ...args),
    };
    this.handshake = new Handshake(opts, this.instanceId, this.services, (conn, r) => this.refuse(conn, r));
    // Numbers going out at least once per heartbeat interval double as heartbeat acks.
    this.dispatch = new Dispatch(this.handshake, this.sessions, this.log, this.noisy, opts.intervalMs <= opts.heartbeatIntervalMs);
    const preTlsSource = new WeakMap<net.Socket, string>();
    this.listener = createListener(
      {
        tls: opts.tls,
        handshakeTimeoutMs: opts.handshakeTimeoutMs,
        warn: (kind, source, message) => this.noisy.note('warn', kind, source, message),
        // Before TLS the same limits hold (pending handshakes, the open-file reserve); a refused
        // TLS peer can only be closed, having no channel yet to read a REJECT on.
        admit: (raw) => {
          const source = sourceKey(raw.remoteAddress);
          const r = this.admission.admitConnection(source);
          if (r) this.noisy.note('warn', `refused (${r.kind})`, source, `refused ${raw.remoteAddress}:${raw.remotePort} before TLS: ${r.reason}`);
          else preTlsSource.set(raw, source); // a closed socket forgets its address
          return r === null;
        },
        released: (raw) => this.admission.handshakeEnded(preTlsSource.get(raw) ?? sourceKey(raw.remoteAddress)),
      },
      (socket) => this.accept(socket),
    );
    this.server = this.listener.server;
    // A listen error is listen()'s rejection; later ones go to whoever listens for them, or the
    // log — never an unhandled 'error' that would end the process (EADDRINUSE did, with a trace).
    this.server.on('error', (err) => {
      if (!this.listening) return;
      if (this.listenerCount('error') > 0) this.emit('error', err);
      else this.log.error(`listener error: ${err.message}`);
    });
  }

  async listen(): Promise<number> {
    // A deep accept queue: a reconnect storm brings thousands of SYNs at once, and a dropped
    // SYN costs the client a 1 s retransmit.
    // Before accepting: a claim by another node must reach us from the first session on.
    this.unsubscribeTakeovers = await this.store.onTakeover(this.instanceId, (id, owner, epoch) => this.takenOver(id, owner, epoch));
    const port = await listenOn(this.server, { port: this.opts.port, host: this.opts.host, backlog: 4096 });
    this.listening = true;
    this.planFiles();
    this.sweepTimer = setInterval(() => this.admission.sweep(), ADMISSION_SWEEP_MS);
    this.sweepTimer.unref();
    return port;
  }

  /**
   * Reads the open-file limit once and keeps a reserve below it: past that, new connections get
   * REJECT SERVER_FULL (written on the socket we just accepted, which the reserve leaves room
   * for) instead of being closed silently by the kernel's EMFILE.
   */
  private planFiles(): void {
    const limit = this.opts.openFileLimit === undefined ? openFileLimit() : this.opts.openFileLimit;
    const open = openFileCount();
    if (limit === null || open === null) {
      this.log.warn('cannot read the open-file limit: no reserve is kept; the process may drop connections silently at its limit');
      return;
    }
    const reserved = this.admissionLimits.reservedFiles;
    this.fileCapacityValue = Math.max(0, limit - open - reserved);
    if (this.fileCapacityValue < this.opts.maxSessions) {
      this.log.warn(`open files: limit ${limit}, ${open} in use, ${reserved} reserved: room for ${this.fileCapacityValue} connections, fewer than --max-sessions ${this.opts.maxSessions}`);
    }
  }

  /** Connections admitted that have not finished their handshake (TLS, then HELLO/RESUME). */
  get pendingHandshakes(): number {
    return this.admission.pendingHandshakes;
  }

  /** Connections the open-file limit leaves room for (Infinity when the limit is unknown). */
  get fileCapacity(): number {
    return this.fileCapacityValue;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The machine's snapshot of a session live on this node, its actor resident or not (tests). */
  snapshotOf(id: string): SessionSnapshot | undefined {
    return this.sessions.get(id)?.snapshot();
  }

  /** The top-level state of every session live on this node (/metrics). */
  *sessionStates(): Iterable<SessionStateName> {
    for (const s of this.sessions.values()) {
      const state = s.topState();
      if (state) yield state;
    }
  }

  /** The next index of a session live on this node (for the inspector, soak and tests). */
  nextIndexOf(id: string): number | undefined {
    return this.sessions.get(id)?.nextIndex;
  }

  /** The seed of a session live on this node: the soak's independent reference. */
  seedOf(id: string): { hi: number; lo: number } | undefined {
    return this.sessions.get(id)?.seed;
  }

  /** False while draining or while the session store cannot be reached (what /ready reports). */
  get ready(): boolean {
    const store = this.store as { available?: boolean };
    return !this.closed && !this.draining && this.storeLink.reachable && store.available !== false;
  }

  /** Another node claimed a session this node holds (its notice; a stale write says the same). */
  private takenOver(id: string, owner: string, epoch: number): void {
    this.log.debug(`session claimed by node ${owner} at epoch ${epoch}`, { session: shortId(id) });
    this.sessions.get(id)?.claimedAt(epoch);
  }

  /**
   * Graceful shutdown for rolling restarts: stop accepting, suspend every session in the store
   * (its deadline starts now) and tell its client to resume — on another node, behind a load
   * balancer — then close once the store has every write, or after `timeoutMs`.
   */
  async drain(timeoutMs = 5_000): Promise<{ sessions: number; settled: boolean }> {
    if (this.closed || this.draining) return { sessions: 0, settled: true };
    this.draining = true;
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const conn of this.pending) conn.reject(RejectCode.SHUTTING_DOWN, 'server is restarting; try again');
    const sessions = this.sessions.size;
    for (const s of [...this.sessions.values()]) s.send({ type: 'DRAIN' });
    const settled = await this.storeLink.settled(timeoutMs);
    this.log.info(`drained ${sessions} session(s); store writes ${settled ? 'all landed' : `still pending after ${timeoutMs} ms: ${this.storeLink.pendingWrites}`}`);
    await this.close();
    await stopped;
    return { sessions, settled };
  }

  /** Most bytes queued for any one connection since start: never above the limit plus one frame. */
  get peakQueuedBytes(): number {
    let peak = this.peakQueued;
    for (const c of this.connections.values()) peak = Math.max(peak, c.peakQueued);
    return peak;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Numbers written to clients since start; one sent again after a resume counts again. */
  get numbersSent(): number {
    return this.counters.numbersSent;
  }

  /** Stops accepting, tells every client we are going away (they may resume elsewhere or later). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.storeLink.close();
    void this.unsubscribeTakeovers?.().catch(() => {});
    this.noisy.close();
    this.lifecycle.flush();
    this.pacer.clear();
    this.disconnects.clear();
    this.registry.stopAll();
    for (const conn of this.connections.values()) conn.reject(RejectCode.SHUTTING_DOWN, 'server is shutting down');
    for (const conn of this.connections.values()) conn.destroy();
    this.sessions.clear();
    this.listener.destroyPending();
    await done;
  }

  // ---- connections and their messages ----

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const conn = new ServerConnection(this.nextConnectionId++, socket, this.connectionLimits, this.connectionHandlers);
    // Asked before the connection is counted among the open ones: the budget is for this one.
    const refused = this.admission.admitConnection(conn.source);
    this.connections.set(conn.id, conn);
    if (refused) return this.refuse(conn, refused);
    if (this.atFileLimit) {
      this.atFileLimit = false;
      this.log.info(`below the open-file reserve again: accepting new connections (${this.connections.size} open)`);
    }
    this.pending.add(conn);
    this.log.debug(`connection ${conn.id} from ${conn.remote}`);
  }

  /** Over a limit: a clear REJECT on this connection only, and one log line per source and period. */
  private refuse(conn: ServerConnection, r: Refusal): void {
    if (r.kind === 'open-files' && !this.atFileLimit) {
      this.atFileLimit = true;
      this.log.warn(`open-file reserve reached (${this.connections.size} connections open): new connections get SERVER_FULL until some close`);
    }
    this.noisy.note('warn', `refused (${r.kind})`, conn.source, `refused ${conn.remote}: ${r.reason}`);
    conn.reject(r.code, r.reason);
  }

  private onConnectionClose(conn: ServerConnection): void {
    this.peakQueued = Math.max(this.peakQueued, conn.peakQueued);
    this.connections.delete(conn.id);
    const session = conn.sessionId ? this.sessions.get(conn.sessionId) : undefined;
    if (session) this.disconnects.add(session, conn.id);
    this.emit('connectionClosed', conn.id);
  }
}
