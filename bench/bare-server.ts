/**
 * The bare Node.js floor: the same framing and the same pacing as the real server, with no
 * XState, no logging, no session store or registry, no heartbeat timeouts, no resume window.
 * What the real server costs beyond this is the price of its design.
 *
 * State is per connection only. A RESUME is the least that answers it with the same framing:
 * accept, read the RESUME, continue numbering from the client's index. The session id carries
 * what that needs (seed and length), so no table of sessions is kept or looked up.
 *
 * Run: node dist/bench/bare-server.js <port> <intervalMs>; prints "listening on <port>".
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { valueAt, sequenceChecksum, type Seed } from '../core/sequence';
import { MessageType } from '../transport/protocol/constants';
import { encode, encodeNumber } from '../transport/protocol/codec';
import { FrameDecoder } from '../transport/protocol/framer';
import { Pacer } from '../transport/server/pacer';
import { DEFAULTS } from '../core/config';

interface BareSession {
  socket: net.Socket;
  seed: Seed;
  length: number;
  next: number;
}

/** Session id: seed hi, seed lo, length (uint32 each), then 4 random bytes. */
function idFor(seed: Seed, length: number): Buffer {
  const id = randomBytes(16);
  id.writeUInt32BE(seed.hi, 0);
  id.writeUInt32BE(seed.lo, 4);
  id.writeUInt32BE(length, 8);
  return id;
}

export function startBareServer(port: number, intervalMs: number): Promise<net.Server> {
  const pacer = new Pacer<BareSession>(intervalMs, (s) => {
    if (s.socket.destroyed) return false;
    s.socket.write(encodeNumber(s.next, valueAt(s.seed, s.next)));
    if (++s.next < s.length) return true;
    s.socket.write(encode({ type: MessageType.END, length: s.length, checksum: sequenceChecksum(s.seed, s.length) }));
    return false;
  });
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const decoder = new FrameDecoder();
    let current: BareSession | undefined;
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      let bodies: Buffer[];
      try {
        bodies = decoder.push(chunk);
      } catch {
        socket.destroy();
        return;
      }
      for (const b of bodies) {
        const type = b[0];
        if (type === MessageType.HELLO || type === MessageType.RESUME) {
          // A second HELLO or RESUME on one connection is not something the floor answers.
          if (current) return void socket.destroy();
          let s: BareSession;
          let id: Buffer;
          if (type === MessageType.RESUME) {
            id = Buffer.from(b.subarray(2, 18));
            s = { socket, seed: { hi: id.readUInt32BE(0), lo: id.readUInt32BE(4) }, length: id.readUInt32BE(8), next: b.readUInt32BE(18) };
          } else {
            const seed = randomBytes(8);
            s = { socket, seed: { hi: seed.readUInt32BE(0), lo: seed.readUInt32BE(4) }, length: b.readUInt32BE(2) || 1000, next: 0 };
            id = idFor(s.seed, s.length);
          }
          socket.write(
            encode({ type: MessageType.WELCOME, sessionId: id, seedHi: s.seed.hi, seedLo: s.seed.lo, length: s.length, startIndex: s.next, intervalMs, heartbeatIntervalMs: 0, heartbeatTimeoutMs: 0 }),
          );
          current = s;
          pacer.add(s);
        } else if (type === MessageType.HEARTBEAT) {
          // The same rule as seqstream (PROTOCOL.md §5): numbers flowing already prove liveness.
          const s = current;
          if (!(s && s.next < s.length && intervalMs <= DEFAULTS.heartbeatInterval)) socket.write(encode({ type: MessageType.HEARTBEAT_ACK, nonce: b.readUInt32BE(1) }));
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', 4096, () => resolve(server)));
}

if (require.main === module) {
  const [port = '0', interval = '1000'] = process.argv.slice(2);
  // An orderly exit on SIGTERM, so that profiles (--cpu-prof) are written.
  process.on('SIGTERM', () => process.exit(0));
  void startBareServer(Number(port), Number(interval)).then((s) => {
    process.stdout.write(`listening on ${(s.address() as net.AddressInfo).port}\n`);
  });
}
