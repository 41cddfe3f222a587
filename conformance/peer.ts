/**
 * A raw client for server-mode cases: it sends exactly what a case tells it (frames, or bytes
 * no honest client would send) and records every frame the server sends, in order, with its
 * arrival time. Reading is by cursor: `next()` hands out each frame once, waiting with a bound.
 *
 * It judges nothing itself except the server's own framing: a frame the server sends that
 * breaks §1 (bad length, unknown type, wrong size, an over-long REJECT) is recorded as
 * `serverError`, and every later wait fails with it.
 *
 * Just over ~250 lines: one raw client, whose sends, cursor and bounded waits all share one
 * socket and one record of frames; none of the parts has a second user.
 */
import net from 'node:net';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';

export interface Received {
  msg: Message;
  /** The body as received, type byte first (a WELCOME's size tells its version). */
  body: Buffer;
  /** performance.now() when the chunk carrying it arrived. */
  at: number;
}

/** A difference between what the spec says and what the server did: the case fails with it. */
export class Mismatch extends Error {
  override readonly name = 'Mismatch';
}

export function describeMsg(m: Message): string {
  switch (m.type) {
    case MessageType.REJECT:
      return `REJECT ${RejectCode[m.code] ?? m.code} (${JSON.stringify(m.reason)})`;
    case MessageType.NUMBER:
      return `NUMBER ${m.index}`;
    case MessageType.END:
      return `END ${m.length}`;
    case MessageType.WELCOME:
      return `WELCOME start ${m.startIndex}`;
    default:
      return MessageType[m.type] ?? `type ${(m as { type: number }).type}`;
  }
}

export class Peer {
  readonly received: Received[] = [];
  /** Index of the next frame `next()` hands out. */
  private cursor = 0;
  closed = false;
  closedAt = 0;
  /** When the last bytes were written (performance.now()). */
  lastSentAt = 0;
  /** The server broke §1 in what it sent (the text says how). */
  serverError: string | null = null;
  private readonly decoder = new FrameDecoder();
  private heartbeat: NodeJS.Timeout | null = null;
  private nonce = 0;
  /** Nonces of HEARTBEATs sent, in order. */
  readonly heartbeatsSent: number[] = [];
  /** Waits parked until the next arrival or close. */
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      try {
        this.decoder.end();
      } catch (err) {
        this.serverError ??= `the server's stream ended inside a frame: ${(err as Error).message}`;
      }
    });
    socket.on('error', () => {
      /* 'close' follows; a reset is something a case may expect. */
    });
    socket.on('close', () => {
      this.closed = true;
      this.closedAt = performance.now();
      this.stopHeartbeats();
      this.poke();
    });
  }

  static connect(host: string, port: number, timeoutMs: number): Promise<Peer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Mismatch(`could not connect to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Peer(socket));
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(new Mismatch(`could not connect to ${host}:${port}: ${err.message}`));
      });
    });
  }

  private onData(chunk: Buffer): void {
    if (this.serverError) return;
    const at = performance.now();
    let bodies: Buffer[];
    try {
      bodies = this.decoder.push(chunk);
    } catch (err) {
      this.serverError = `the server sent a bad frame: ${(err as Error).message}`;
      bodies = (err as { frames?: Buffer[] }).frames ?? [];
    }
    for (const body of bodies) {
      let msg: Message;
      try {
        msg = decode(Buffer.from(body));
      } catch (err) {
        this.serverError ??= `the server sent a malformed message: ${(err as Error).message}`;
        break;
      }
      this.received.push({ msg, body: Buffer.from(body), at });
      // §3.21: a server may ask for proof of life; a live peer answers with the same nonce.
      if (msg.type === MessageType.HEARTBEAT && this.heartbeat) this.send({ type: MessageType.HEARTBEAT_ACK, nonce: msg.nonce });
    }
    this.poke();
  }

  private poke(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }

  /** Resolves on the next arrival or close, or after `ms`. */
  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, Math.max(0, ms));
      this.waiters.push(wake);
    });
  }

  send(msg: Message): void {
    this.raw(encode(msg));
  }

  /** Bytes as given: a frame of any length or body, or part of one. */
  raw(bytes: Buffer): void {
    this.lastSentAt = performance.now();
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** A frame around any body, bypassing the codec's checks (for malformed bodies). */
  frame(body: Buffer): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    this.raw(Buffer.concat([head, body]));
  }

  hello(length: number, version = 1): void {
    this.send({ type: MessageType.HELLO, version, length });
  }

  resume(sessionId: Buffer, nextIndex: number, instanceId?: Buffer): void {
    this.send(
      instanceId
        ? { type: MessageType.RESUME, version: 2, sessionId, nextIndex, instanceId }
        : { type: MessageType.RESUME, version: 1, sessionId, nextIndex },
    );
  }

  /** Behaves like a live client: a HEARTBEAT every `everyMs`, answering the server's own. */
  startHeartbeats(everyMs: number): void {
    this.stopHeartbeats();
    this.heartbeat = setInterval(() => {
      const nonce = ++this.nonce;
      this.heartbeatsSent.push(nonce);
      this.send({ type: MessageType.HEARTBEAT, nonce });
    }, everyMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  /** Stops reading: what the server sends stays in the kernel's buffers (a slow consumer). */
  pause(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Hands the frame last returned by next() out again (a case that peeked at it). */
  back(): void {
    if (this.cursor > 0) this.cursor--;
  }

  /** Frames received and not yet handed out by next(). */
  get unread(): number {
    return this.received.length - this.cursor;
  }

  /**
   * The next frame, waiting at most `timeoutMs`. Fails if the server broke framing, or closed
   * (or timed out) first, saying what the case was waiting for.
   */
  async next(timeoutMs: number, what: string): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.cursor < this.received.length) return this.received[this.cursor++];
      if (this.serverError) throw new Mismatch(`waiting for ${what}: ${this.serverError}`);
      if (this.closed) throw new Mismatch(`waiting for ${what}: the server closed the connection`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Mismatch(`waiting for ${what}: nothing within ${timeoutMs} ms`);
      await this.changed(left);
    }
  }

  /**
   * The next frame of `type`, skipping NUMBERs and HEARTBEAT_ACKs (and HEARTBEATs) in between;
   * any other frame first is a mismatch. Returns the frame.
   */
  async nextOf<T extends MessageType>(type: T, timeoutMs: number, what = MessageType[type]): Promise<Received & { msg: Extract<Message, { type: T }> }> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const r = await this.next(Math.max(0, deadline - performance.now()), what);
      if (r.msg.type === type) return r as Received & { msg: Extract<Message, { type: T }> };
      if (r.msg.type === MessageType.NUMBER || r.msg.type === MessageType.HEARTBEAT_ACK || r.msg.type === MessageType.HEARTBEAT) continue;
      throw new Mismatch(`expected ${what}, got ${describeMsg(r.msg)}`);
    }
  }

  /** Waits until the server has closed the connection; fails after the bound. */
  async waitClosed(timeoutMs: number, what = 'the server to close the connection'): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Mismatch(`waiting for ${what}: still open after ${timeoutMs} ms`);
      await this.changed(left);
    }
  }

  /** Half-closes: the server sees end of stream and may still answer. */
  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.stopHeartbeats();
    this.socket.destroy();
  }
}
