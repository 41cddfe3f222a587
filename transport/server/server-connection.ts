/**
 * One client socket on the server: framing, decoding, the handshake deadline, and closing with
 * a reason. It knows nothing about sessions beyond the id it is attached to; what a message means
 * is decided by the server's handlers.
 *
 * Near 280 lines: one socket's whole life (reading, the handshake deadline, the message budget,
 * backpressure and the frames it keeps back, the close grace), all of it the same socket's state;
 * the framing itself is the protocol's FrameDecoder.
 */
import type { Socket } from 'node:net';
import { sourceKey } from './admission';
import { RejectCode, MessageType } from '../protocol/constants';
import { decode, encode, ProtocolError, type Message } from '../protocol/codec';
import { FrameDecoder, FrameError } from '../protocol/framer';

export interface ConnectionHandlers {
  onMessage(conn: ServerConnection, msg: Message): void;
  onClose(conn: ServerConnection): void;
  onProtocolError(conn: ServerConnection, err: Error): void;
  onHandshakeTimeout(conn: ServerConnection): void;
  /** The handshake is over: done (HELLO/RESUME accepted) or the connection closed before it. Once. */
  onHandshakeEnd(conn: ServerConnection): void;
  /** The peer let `queued` bytes pile up: the connection is being cut (REJECT SLOW_CONSUMER). */
  onSlowConsumer(conn: ServerConnection, queued: number): void;
  /** The peer sent more messages than its budget: the connection is being cut (REJECT RATE_LIMITED). */
  onFlood(conn: ServerConnection): void;
  /** A REJECT with this code is being sent (once per connection): counted by code for /metrics. */
  onReject(conn: ServerConnection, code: RejectCode): void;
}

export interface ConnectionLimits {
  handshakeTimeoutMs: number;
  /** Most bytes queued for the peer; a write that would pass it cuts the connection instead. */
  maxQueuedBytes: number;
  /**
   * Messages per second a peer may send, after a burst of twice as many (0: no limit). An honest
   * client sends one HEARTBEAT per heartbeat interval; a peer flooding small frames would
   * otherwise cost the event loop what every other connection is owed.
   */
  maxMessagesPerSecond: number;
}

/** Where a socket keeps its connection, for the shared listeners below. */
const kConnection = Symbol('seqstream.connection');
type OwnedSocket = Socket & { [kConnection]: ServerConnection };

function socketOnData(this: OwnedSocket, chunk: Buffer): void {
  this[kConnection].onData(chunk);
}
function socketOnEnd(this: OwnedSocket): void {
  this[kConnection].onEnd();
}
function socketOnDrain(this: OwnedSocket): void {
  this[kConnection].onDrain();
}
function socketOnClose(this: OwnedSocket): void {
  this[kConnection].onSocketClose();
}
function socketOnError(): void {
  /* 'close' follows and does the cleanup; a reset peer is routine, not a crash. */
}

/** How long a rejected peer gets to read our REJECT before the socket is destroyed anyway (the listener's refusals too). */
export const CLOSE_GRACE_MS = 1000;
/**
 * While closing, input is read only to see the peer's FIN, and thrown away; past this much a
 * peer that keeps sending (a flood just cut) is not read any more until the grace period ends.
 */
const CLOSE_DISCARD_BYTES = 64 * 1024;

export class ServerConnection {
  private readonly decoder = new FrameDecoder();
  private handshakeTimer: NodeJS.Timeout | null;
  private closing = false;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Reading stopped because the peer is not reading what we send (TCP backpressure). */
  private held = false;
  /** Frames of the last chunk not handled yet because reading stopped in the middle of it. */
  private pending: { bodies: Buffer[]; next: number; error: FrameError | null } | null = null;
  /** Most bytes ever queued for this peer at once (the outbound limit's own witness). */
  peakQueued = 0;
  /** Session this connection streams (set after a successful HELLO or RESUME). */
  sessionId: string | null = null;
  /**
   * HELLO or RESUME read, the store's answer not yet in: nothing else may come meanwhile, and
   * what the connection does next (a protocol error's REJECT) waits for it, so the peer hears
   * in the order it wrote.
   */
  awaitingStore: Promise<void> | null = null;
  /** Messages that arrived while awaitingStore, handled in order once it settles (bounded; made when first needed). */
  deferred: Message[] | null = null;
  /** Protocol version of this peer's HELLO or RESUME: every answer follows it (the WELCOME's size). */
  version = 1;
  /** What per-source limits count this peer under (its address; an IPv6 /64). */
  readonly source: string;
  private handshaking = true;
  /** Bytes thrown away since closing began. */
  private discarded = 0;
  /** The peer's FIN came: frames kept back by backpressure are handled now ('drain' may never come). */
  private peerEnded = false;
  /** Token bucket of messages the peer may still send (see ConnectionLimits). */
  private budget: number;
  private budgetAt = performance.now();

  constructor(
    readonly id: number,
    readonly socket: Socket,
    private readonly limits: ConnectionLimits,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.source = sourceKey(socket.remoteAddress);
    this.budget = 2 * limits.maxMessagesPerSecond;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      handlers.onHandshakeTimeout(this);
    }, limits.handshakeTimeoutMs);
    // The listeners are shared functions that find the connection on the socket (as ws does),
    // not closures per connection (with the server's handlers object, about 13 of them and
    // 600 bytes a connection).
    (socket as OwnedSocket)[kConnection] = this;
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('error', socketOnError);
    socket.on('close', socketOnClose);
  }

  /** The socket closed (either side, or an error): the connection's end. */
  onSocketClose(): void {
    this.clearHandshakeTimer();
    if (this.graceTimer) clearTimeout(this.graceTimer);
    this.closing = true;
    this.endHandshake();
    this.handlers.onClose(this);
  }

  /**
   * The peer's address and port, for log lines: built when a line needs it, not kept per
   * connection (Node keeps the peer's address once read, so it is there after the close too).
   */
  get remote(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  get closed(): boolean {
    return this.closing;
  }

  handshakeDone(sessionId: string): void {
    this.clearHandshakeTimer();
    this.sessionId = sessionId;
    this.endHandshake();
  }

  private endHandshake(): void {
    if (!this.handshaking) return;
    this.handshaking = false;
    this.handlers.onHandshakeEnd(this);
  }

  /**
   * Every frame to the peer goes through here, so the outbound limit holds for all of them
   * (numbers, END, heartbeat answers, WELCOME). A frame that would take the queue past the limit
   * is not queued: the peer is cut as a slow consumer (its session stays resumable). When the
   * socket's own buffer is full, reading stops until it drains, so a peer that sends requests
   * but does not read the answers is slowed by TCP instead of filling our memory.
   * Returns false when the frame was not sent (connection closing or just cut).
   */
  write(frame: Buffer): boolean {
    if (this.closing) return false;
    const queued = this.socket.writableLength;
    if (queued + frame.length > this.limits.maxQueuedBytes) {
      this.handlers.onSlowConsumer(this, queued);
      this.reject(RejectCode.SLOW_CONSUMER, `more than ${this.limits.maxQueuedBytes} bytes unread; resume when ready`);
      return false;
    }
    if (!this.socket.write(frame)) this.holdReading();
    this.notePeak();
    return true;
  }

  send(msg: Message): boolean {
    return this.write(encode(msg));
  }

  /** Tells the peer why, then closes. The REJECT is the one frame allowed past the limit. */
  reject(code: RejectCode, reason: string): void {
    if (this.closing) return;
    this.handlers.onReject(this, code);
    this.socket.write(encode({ type: MessageType.REJECT, code, reason }));
    this.notePeak();
    this.close();
  }

  /** Takes one message from the budget; false when the peer has spent it all. */
  private spend(): boolean {
    const rate = this.limits.maxMessagesPerSecond;
    if (rate <= 0) return true;
    // Refilled on every message, capped at the burst: time spent full earns nothing, so a quiet
    // peer gets one burst, not a burst plus everything it "saved" while it was already full.
    const t = performance.now();
    this.budget = Math.min(2 * rate, this.budget + ((t - this.budgetAt) / 1000) * rate);
    this.budgetAt = t;
    if (this.budget < 1) return false;
    this.budget -= 1;
    return true;
  }

  private notePeak(): void {
    if (this.socket.writableLength > this.peakQueued) this.peakQueued = this.socket.writableLength;
  }

  private holdReading(): void {
    if (this.held) return;
    this.held = true;
    this.socket.pause();
    this.socket.once('drain', socketOnDrain);
  }

  onDrain(): void {
    this.held = false;
    if (this.closing) return;
    this.handlePending();
    if (!this.held && !this.closing) this.socket.resume();
  }

  /** Handles the frames kept back while reading was held (at most one chunk), in order. */
  private handlePending(): void {
    const p = this.pending;
    this.pending = null;
    if (p) this.handle(p.bodies, p.next, p.error);
  }

  /** Flushes what is queued, then closes; a peer that never reads is destroyed after a grace period. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.clearHandshakeTimer();
    // Keep reading (and discarding: onData ignores a closing connection) so the peer's FIN is
    // seen and the socket is released as soon as the peer has read the REJECT, not after the
    // grace period: under a burst of refusals those lingering sockets would eat the open-file
    // reserve that exists to send them. A peer with bytes still queued for it (not reading, or
    // just cut as a slow consumer) stays paused: it will not read the REJECT soon either, and
    // reading what it floods us with for the grace period would be waste.
    if (!this.held && this.socket.writableLength === 0) this.socket.resume();
    else this.socket.pause();
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  destroy(): void {
    this.closing = true;
    this.clearHandshakeTimer();
    this.socket.destroy();
  }

  onData(chunk: Buffer): void {
    if (this.closing) {
      this.discarded += chunk.length;
      if (this.discarded > CLOSE_DISCARD_BYTES) this.socket.pause();
      return;
    }
    const { bodies, error: frameError } = this.decoder.read(chunk);
    if (this.pending) {
      // Reading was held in the middle of an earlier chunk: these frames come after its rest.
      const p = this.pending;
      p.bodies = [...p.bodies.slice(p.next), ...bodies];
      p.next = 0;
      p.error ??= frameError;
      return;
    }
    this.handle(bodies, 0, frameError);
  }

  /** Handles frames in order; stops (keeping the rest, at most one chunk) while reading is held. */
  private handle(bodies: Buffer[], from: number, frameError: FrameError | null): void {
    for (let i = from; i < bodies.length; i++) {
      if (this.closing) return;
      if (this.held && !this.peerEnded) {
        this.pending = { bodies, next: i, error: frameError };
        return;
      }
      if (!this.spend()) {
        this.handlers.onFlood(this);
        this.reject(RejectCode.RATE_LIMITED, `more than ${this.limits.maxMessagesPerSecond} messages per second on one connection; resume later`);
        return;
      }
      let msg: Message;
      try {
        msg = decode(bodies[i]);
      } catch (err) {
        this.handlers.onProtocolError(this, err as Error);
        return;
      }
      this.handlers.onMessage(this, msg);
    }
    if (this.held && !this.peerEnded && frameError) {
      this.pending = { bodies, next: bodies.length, error: frameError };
      return;
    }
    if (frameError && !this.closing) this.handlers.onProtocolError(this, frameError);
  }

  onEnd(): void {
    if (this.closing) return;
    // The peer sent everything: what was kept back (at most one chunk) is handled now, whatever
    // the backpressure (every answer still passes the outbound limit), then the end is checked.
    this.peerEnded = true;
    this.handlePending();
    if (this.closing) return;
    try {
      this.decoder.end();
    } catch (err) {
      if (err instanceof FrameError || err instanceof ProtocolError) this.handlers.onProtocolError(this, err);
    }
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
