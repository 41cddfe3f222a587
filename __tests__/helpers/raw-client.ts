/** A protocol client written by hand for tests that must misbehave on purpose. */
import net from 'node:net';
import { decode, encode, type Message } from '../../transport/protocol/codec';
import { MessageType } from '../../transport/protocol/constants';
import { FrameDecoder } from '../../transport/protocol/framer';
import { waitFor } from './net';

export class RawClient {
  readonly socket: net.Socket;
  readonly messages: Message[] = [];
  /** The same messages as received, body bytes (type byte first), for size checks. */
  readonly bodies: Buffer[] = [];
  closed = false;
  private readonly decoder = new FrameDecoder();
  private heartbeat: NodeJS.Timeout | null = null;

  private constructor(port: number) {
    this.socket = net.connect({ host: '127.0.0.1', port });
    this.socket.on('data', (chunk) => {
      for (const body of this.decoder.push(chunk)) {
        this.bodies.push(body);
        this.messages.push(decode(body));
      }
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

  /** Version 1 unless told: the oldest one, which every server of ours keeps speaking. */
  hello(length: number, version = 1): void {
    this.send({ type: MessageType.HELLO, version, length });
  }

  /** Version 1 without an instance id, version 2 with one. */
  resume(sessionId: Buffer, nextIndex: number, instanceId?: Buffer): void {
    this.send(
      instanceId
        ? { type: MessageType.RESUME, version: 2, sessionId, nextIndex, instanceId }
        : { type: MessageType.RESUME, version: 1, sessionId, nextIndex },
    );
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
