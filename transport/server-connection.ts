/**
 * One client socket on the server: framing, decoding, the handshake deadline, and closing with
 * a reason. It knows nothing about sessions beyond the id it is attached to; what a message means
 * is decided by the server's handlers.
 */
import type { Socket } from 'node:net';
import { RejectCode, MessageType } from './constants';
import { decode, encode, ProtocolError, type Message } from './codec';
import { FrameDecoder, FrameError } from './framer';

export interface ConnectionHandlers {
  onMessage(conn: ServerConnection, msg: Message): void;
  onClose(conn: ServerConnection): void;
  onProtocolError(conn: ServerConnection, err: Error): void;
  onHandshakeTimeout(conn: ServerConnection): void;
}

/** How long a rejected peer gets to read our REJECT before the socket is destroyed anyway. */
const CLOSE_GRACE_MS = 1000;

export class ServerConnection {
  private readonly decoder = new FrameDecoder();
  private handshakeTimer: NodeJS.Timeout | null;
  private closing = false;
  private graceTimer: NodeJS.Timeout | null = null;
  /** Session this connection streams (set after a successful HELLO or RESUME). */
  sessionId: string | null = null;
  /** Protocol version of this peer's HELLO or RESUME: every answer follows it (the WELCOME's size). */
  version = 1;
  readonly remote: string;

  constructor(
    readonly id: number,
    readonly socket: Socket,
    handshakeTimeoutMs: number,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => {
      this.handshakeTimer = null;
      handlers.onHandshakeTimeout(this);
    }, handshakeTimeoutMs);
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', () => {
      /* 'close' follows and does the cleanup; a reset peer is routine, not a crash. */
    });
    socket.on('close', () => {
      this.clearHandshakeTimer();
      if (this.graceTimer) clearTimeout(this.graceTimer);
      this.closing = true;
      handlers.onClose(this);
    });
  }

  get closed(): boolean {
    return this.closing;
  }

  /** Bytes queued for a peer that has not read them yet. */
  get backlog(): number {
    return this.socket.writableLength;
  }

  handshakeDone(sessionId: string): void {
    this.clearHandshakeTimer();
    this.sessionId = sessionId;
  }

  write(frame: Buffer): void {
    if (!this.closing) this.socket.write(frame);
  }

  send(msg: Message): void {
    this.write(encode(msg));
  }

  /** Tells the peer why, then closes. Only this connection is affected. */
  reject(code: RejectCode, reason: string): void {
    if (this.closing) return;
    this.socket.write(encode({ type: MessageType.REJECT, code, reason }));
    this.close();
  }

  /** Flushes what is queued, then closes; a peer that never reads is destroyed after a grace period. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.clearHandshakeTimer();
    this.socket.pause();
    this.socket.end();
    this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
  }

  destroy(): void {
    this.closing = true;
    this.clearHandshakeTimer();
    this.socket.destroy();
  }

  private onData = (chunk: Buffer): void => {
    if (this.closing) return;
    let bodies: Buffer[];
    let frameError: FrameError | null = null;
    try {
      bodies = this.decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      // What came before the bad prefix is still handled, in order, as if it had its own chunk.
      frameError = err;
      bodies = err.frames;
    }
    for (const body of bodies) {
      if (this.closing) return;
      let msg: Message;
      try {
        msg = decode(body);
      } catch (err) {
        this.handlers.onProtocolError(this, err as Error);
        return;
      }
      this.handlers.onMessage(this, msg);
    }
    if (frameError && !this.closing) this.handlers.onProtocolError(this, frameError);
  };

  private onEnd = (): void => {
    try {
      this.decoder.end();
    } catch (err) {
      if (err instanceof FrameError || err instanceof ProtocolError) this.handlers.onProtocolError(this, err);
    }
  };

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
  }
}
