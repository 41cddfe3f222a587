/** A protocol client written by hand for tests that must misbehave on purpose. */
import net from 'node:net';
import { decode, encode, type Message } from '../../transport/codec';
import { MessageType, PROTOCOL_VERSION } from '../../transport/constants';
import { FrameDecoder } from '../../transport/framer';
import { waitFor } from './net';

export class RawClient {
  readonly socket: net.Socket;
  readonly messages: Message[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (chunk) => {
      for (const body of this.decoder.push(chunk)) this.messages.push(decode(body));
    });
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
      this.stopHeartbeats();
    });
  }

  /** Behaves like a live client: a HEARTBEAT every `everyMs` until closed. */
  startHeartbeats(everyMs: number): void {
    let nonce = 0;
    this.heartbeat = setInterval(() => this.send({ type: MessageType.HEARTBEAT, nonce: ++nonce }), everyMs);
  }

  stopHeartbeats(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
  }

  static async connect(port: number): Promise<RawClient> {
    const c = new RawClient(port);
    await new Promise<void>((resolve, reject) => {
      c.socket.once('connect', () => resolve());
      c.socket.once('error', reject);
    });
    return c;
  }

  send(msg: Message): void {
    this.socket.write(encode(msg));
  }

  raw(bytes: Buffer | string): void {
    this.socket.write(bytes);
  }

  hello(length: number): void {
    this.send({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length });
  }

  resume(sessionId: Buffer, nextIndex: number): void {
    this.send({ type: MessageType.RESUME, version: PROTOCOL_VERSION, sessionId, nextIndex });
  }

  async next<T extends MessageType>(type: T, what = MessageType[type], timeoutMs = 5000): Promise<Extract<Message, { type: T }>> {
    await waitFor(() => this.messages.some((m) => m.type === type), `a ${what}`, timeoutMs);
    return this.messages.find((m) => m.type === type) as Extract<Message, { type: T }>;
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.closed, 'the server to close the connection', timeoutMs);
  }

  close(): void {
    this.stopHeartbeats();
    this.socket.destroy();
  }
}
