/**
 * The scripted server of client mode: listens on a free port and hands each connection to the
 * case's script, recording every frame the client sends on it (time, body, decoded message).
 * Everything is bounded — frames and bytes per connection, connections per case, every wait —
 * so a client that floods, stalls or reconnects forever ends a case instead of hanging it.
 */
import net from 'node:net';
import { MessageType } from '../transport/protocol/constants';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { FrameDecoder } from '../transport/protocol/framer';

/** A script's expectation that the client did not meet; its message is the case's detail. */
export class ScriptFailure extends Error {
  override readonly name = 'ScriptFailure';
}

/** One frame the client sent. */
export interface Received {
  /** ms since the case started */
  at: number;
  body: Buffer;
  msg: Message;
}

export const LIMITS = {
  /** Frames one connection may send (an honest client sends a few plus a heartbeat per interval). */
  framesPerConnection: 2000,
  bytesPerConnection: 256 * 1024,
  /** Connections one case accepts before it calls the client runaway. */
  connections: 20,
};

/** The client's own beats and answers, which most waits pass over. */
export const isHeartbeat = (r: Received) => r.msg.type === MessageType.HEARTBEAT || r.msg.type === MessageType.HEARTBEAT_ACK;
/** For waits that must see every frame. */
export const skipNothing = () => false;

export class ScriptConn {
  readonly frames: Received[] = [];
  /** Frames handed to the script so far by next(). */
  private cursor = 0;
  private wake: (() => void) | null = null;
  closedAt: number | null = null;
  /** True once the script has sent this connection a WELCOME (heartbeats are answered after it). */
  welcomed = false;
  /** Answer the client's HEARTBEATs with HEARTBEAT_ACK once welcomed, as a server does (§3.5). */
  answerHeartbeats = true;
  /** ms since the case started of the last byte the script sent. */
  lastSentAt = 0;
  private bytes = 0;

  constructor(
    readonly n: number,
    readonly socket: net.Socket,
    private readonly clock: () => number,
    private readonly problem: (p: string) => void,
  ) {
    const decoder = new FrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (this.bytes > LIMITS.bytesPerConnection) return this.abort(`the client sent more than ${LIMITS.bytesPerConnection} bytes`);
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch (err) {
        return this.abort(`the client sent a malformed frame: ${(err as Error).message}`);
      }
      for (const body of bodies) {
        let msg: Message;
        try {
          msg = decode(body);
        } catch (err) {
          return this.abort(`the client sent a malformed message (${body.subarray(0, 16).toString('hex')}…): ${(err as Error).message}`);
        }
        if (this.frames.length >= LIMITS.framesPerConnection) return this.abort(`the client sent more than ${LIMITS.framesPerConnection} frames`);
        this.frames.push({ at: this.clock(), body: Buffer.from(body), msg });
        if (msg.type === MessageType.HEARTBEAT && this.welcomed && this.answerHeartbeats) {
          this.send(encode({ type: MessageType.HEARTBEAT_ACK, nonce: msg.nonce }));
        }
      }
      this.poke();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closedAt ??= this.clock();
      this.poke();
    });
  }

  get closed(): boolean {
    return this.closedAt !== null;
  }

  send(frame: Buffer): void {
    if (this.socket.destroyed) return;
    this.lastSentAt = this.clock();
    this.socket.write(frame);
  }

  /**
   * Ends the connection without a word, as a lost link does for the client: a FIN after what
   * was written (a reset could make the client's kernel drop numbers it has not read yet).
   */
  cut(): void {
    this.socket.end();
  }

  /**
   * The next frame the script has not seen yet, passing over those `skip` accepts (by default
   * HEARTBEAT/HEARTBEAT_ACK; they stay in `frames`). Fails if none comes within timeoutMs or
   * the connection closes first.
   */
  async next(timeoutMs: number, waitingFor: string, skip: (r: Received) => boolean = isHeartbeat): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const r = this.frames[this.cursor++];
        if (!skip(r)) return r;
      }
      if (this.closed) throw new ScriptFailure(`connection ${this.n}: the client closed it while the server waited for ${waitingFor}`);
      if (!(await this.until(deadline))) throw new ScriptFailure(`connection ${this.n}: no ${waitingFor} within ${timeoutMs} ms`);
    }
  }

  /** Waits until the client closes the connection; false if it is still open after timeoutMs. */
  async closedWithin(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) if (!(await this.until(deadline))) return this.closed;
    return true;
  }

  /** Holds the connection for ms (a deliberate delay of the script, e.g. a WELCOME held back), or until it closes. */
  async hold(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (!this.closed && (await this.until(deadline)));
  }

  /** Resolves true on the next frame or close, false at the deadline. */
  private until(deadline: number): Promise<boolean> {
    const left = deadline - Date.now();
    if (left <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve(false);
      }, left);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve(true);
      };
    });
  }

  private poke(): void {
    this.wake?.();
  }

  private abort(why: string): void {
    this.problem(`connection ${this.n}: ${why}`);
    this.socket.destroy();
  }
}

export class ScriptedServer {
  readonly conns: ScriptConn[] = [];
  private readonly server: net.Server;
  private readonly started = Date.now();

  constructor(onConnection: (c: ScriptConn) => void, problem: (p: string) => void) {
    this.server = net.createServer((socket) => {
      if (this.conns.length >= LIMITS.connections) {
        socket.destroy();
        return problem(`the client opened more than ${LIMITS.connections} connections`);
      }
      socket.setNoDelay(true);
      const conn = new ScriptConn(this.conns.length + 1, socket, this.clock, problem);
      this.conns.push(conn);
      onConnection(conn);
    });
  }

  readonly clock = () => Date.now() - this.started;

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
