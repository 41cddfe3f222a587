/**
 * A hand-scripted server for client tests: each accepted connection is handed to a script
 * with its first message, so a test can break the protocol on purpose, or speak an older one.
 */
import net from 'node:net';
import { MessageType } from '../../transport/protocol/constants';
import { decode, encode, encodeNumber, type Message } from '../../transport/protocol/codec';
import { FrameDecoder } from '../../transport/protocol/framer';
import { sequenceChecksum, valueAt, type Seed } from '../../core/sequence';

export const SEED: Seed = { hi: 0x01234567, lo: 0x89abcdef };
export const ID = Buffer.alloc(16, 0xab);
export const LENGTH = 6;
/** The scripted server's instance id, in the WELCOMEs that answer a version-2 request. */
export const INSTANCE = Buffer.alloc(8, 0x1d);

/** One accepted connection as the script sees it. */
export interface Conn {
  n: number;
  first: Message;
  messages: Message[];
  send(msg: Message | Buffer): void;
  welcome(startIndex: number, over?: Partial<Extract<Message, { type: MessageType.WELCOME }>>): void;
  numbers(from: number, to: number): void;
  end(checksum?: number): void;
  socket: net.Socket;
}

export class ScriptedServer {
  readonly conns: Conn[] = [];
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(script: (c: Conn) => void, heartbeats = { intervalMs: 20, timeoutMs: 2000 }) {
    this.server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => {});
      const decoder = new FrameDecoder();
      let conn: Conn | null = null;
      const messages: Message[] = [];
      socket.on('data', (chunk) => {
        for (const body of decoder.push(chunk)) {
          const msg = decode(body);
          messages.push(msg);
          if (conn) continue;
          conn = {
            n: this.conns.length + 1,
            first: msg,
            messages,
            socket,
            send: (m) => socket.write(Buffer.isBuffer(m) ? m : encode(m)),
            welcome: (startIndex, over = {}) =>
              conn!.send({
                type: MessageType.WELCOME,
                sessionId: ID,
                seedHi: SEED.hi,
                seedLo: SEED.lo,
                length: LENGTH,
                startIndex,
                intervalMs: 5,
                heartbeatIntervalMs: heartbeats.intervalMs,
                heartbeatTimeoutMs: heartbeats.timeoutMs,
                // A WELCOME has the size of the request's version, as a real server's does.
                ...('version' in msg && msg.version >= 2 ? { instanceId: INSTANCE } : {}),
                ...over,
              }),
            numbers: (from, to) => {
              for (let i = from; i < to; i++) conn!.send(encodeNumber(i, valueAt(SEED, i)));
            },
            end: (checksum = sequenceChecksum(SEED, LENGTH)) => conn!.send({ type: MessageType.END, length: LENGTH, checksum }),
          };
          this.conns.push(conn);
          script(conn);
        }
      });
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}

