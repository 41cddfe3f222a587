/**
 * No peer can make the server buffer what it sends: every write to a connection goes through one
 * place that enforces the outbound limit, and a connection whose queue is full is not read from
 * (backpressure), so a client that floods HEARTBEATs and never reads gets nowhere.
 */
import net from 'node:net';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { MAX_REASON_BYTES, MessageType, PROTOCOL_VERSION, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';
import type { SeqServer } from '../transport/server/server';
import { startClient, startServer, waitFor } from './helpers/net';

const LIMIT = 16 * 1024;
/** The one frame allowed past the limit: the REJECT that tells the peer why it is cut. */
const LARGEST_REJECT = 4 + 2 + MAX_REASON_BYTES;
/** Stop flooding after this much, or once TCP pushes back this far: the server stopped reading. */
const FLOOD_CAP = 64 * 1024 * 1024;
const PUSHED_BACK = 4 * 1024 * 1024;

let server: SeqServer;
afterEach(async () => {
  await server?.close();
});

/**
 * A client that says HELLO, never reads a byte and sends HEARTBEATs as fast as TCP takes them.
 * Resolves with how much it managed to send, when the server closed it or TCP pushed back hard.
 */
function flood(port: number, length: number, timeoutMs: number): Promise<{ sent: number; closedByServer: boolean }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const hb = Buffer.concat(Array.from({ length: 4096 }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));
    let sent = 0;
    let done = false;
    const finish = (closedByServer: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ sent, closedByServer });
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    const pump = () => {
      while (!done && sent < FLOOD_CAP) {
        if (socket.writableLength > PUSHED_BACK) return finish(false);
        sent += hb.length;
        if (!socket.write(hb)) return socket.once('drain', pump);
      }
      if (!done) finish(false);
    };
    socket.on('connect', () => {
      socket.pause(); // never read: whatever the server sends piles up on its side
      socket.write(encode({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length }));
      pump();
    });
    socket.on('error', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('end', () => finish(true));
  });
}

async function floodBeside(honestLength: (k: number) => number, floodLength: number, over: Parameters<typeof startServer>[0]) {
  // No message budget here: this is about what the server queues, so the flood must get through.
  server = await startServer({ maxWriteBuffer: LIMIT, maxMessagesPerSecond: 0, ...over });
  const honest = Array.from({ length: 20 }, (_, k) => startClient(server.port, honestLength(k), { heartbeatTimeoutMs: 3000 }));
  const flooded = await flood(server.port, floodLength, 10_000);
  const results = await Promise.all(honest.map((c) => c.result));
  return { flooded, results };
}

describe('a client that floods HEARTBEATs and never reads', () => {
  it('after END: the server queues at most the limit plus one frame, and 20 honest clients finish', async () => {
    const { flooded, results } = await floodBeside((k) => 40 + k, 1, { intervalMs: 5, heartbeatTimeoutMs: 2000, reconnectWindowMs: 3000 });
    expect(server.peakQueuedBytes).toBeLessThanOrEqual(LIMIT + LARGEST_REJECT);
    // Backpressure, not a bigger buffer: the server stopped reading long before the cap.
    expect(flooded.sent).toBeLessThan(FLOOD_CAP);
    for (const r of results) {
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
    }
  });

  it('mid-stream with an interval longer than the heartbeat interval: same bound, honest clients unaffected', async () => {
    // At one number a second the old per-number check came far too late: 9 MB queued against 64 KiB.
    const { flooded, results } = await floodBeside((k) => 2 + (k % 2), 1000, {
      intervalMs: 1000,
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 2000,
      reconnectWindowMs: 3000,
    });
    expect(server.peakQueuedBytes).toBeLessThanOrEqual(LIMIT + LARGEST_REJECT);
    expect(flooded.sent).toBeLessThan(FLOOD_CAP);
    for (const r of results) {
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
    }
  });
});

describe('backpressure keeps an honest slow reader', () => {
  it('a client that reads late is paused, not cut, and its session completes', async () => {
    server = await startServer({ maxWriteBuffer: LIMIT, intervalMs: 1, heartbeatTimeoutMs: 2000 });
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    const chunks: Buffer[] = [];
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.pause();
    socket.write(encode({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length: 50 }));
    // A burst of heartbeats while not reading: the answers are few and small, well under the limit.
    for (let i = 0; i < 100; i++) socket.write(encode({ type: MessageType.HEARTBEAT, nonce: i }));
    await waitFor(() => server.sessionCount === 1, 'the session to start');
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.resume();
    await waitFor(() => Buffer.concat(chunks).includes(Buffer.from([0, 0, 0, 9, MessageType.END])), 'END', 5000);
    socket.destroy();
    expect(server.peakQueuedBytes).toBeLessThanOrEqual(LIMIT + LARGEST_REJECT);
  });
});

describe('a client that floods messages while reading everything', () => {
  it('is cut with RATE_LIMITED once past its message budget; 20 honest clients finish', async () => {
    server = await startServer({ maxMessagesPerSecond: 100, intervalMs: 5, heartbeatTimeoutMs: 3000 });
    const honest = Array.from({ length: 20 }, (_, k) => startClient(server.port, 30 + k, { heartbeatTimeoutMs: 3000 }));
    const socket = net.connect({ host: '127.0.0.1', port: server.port });
    const received: Buffer[] = [];
    socket.on('data', (c: Buffer) => received.push(c)); // reads everything: not a slow consumer
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', () => {});
    await new Promise<void>((r) => socket.once('connect', () => r()));
    // After END every HEARTBEAT is answered, so the answers count what the server handled.
    socket.write(encode({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length: 1 }));
    await waitFor(() => decodeAll(Buffer.concat(received)).some((m) => m.type === MessageType.END), 'END');
    const hb = Buffer.concat(Array.from({ length: 1000 }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));
    socket.write(hb);
    await closed;
    const answers = decodeAll(Buffer.concat(received));
    const reject = answers.find((m) => m.type === MessageType.REJECT);
    expect(reject).toMatchObject({ code: RejectCode.RATE_LIMITED });
    // The budget is a burst of twice the rate: the server stopped reading the flood right there.
    const acks = answers.filter((m) => m.type === MessageType.HEARTBEAT_ACK).length;
    expect(acks).toBeGreaterThan(100);
    expect(acks).toBeLessThanOrEqual(200);
    for (const r of await Promise.all(honest.map((c) => c.result))) expect(r.ok).toBe(true);
  });
});

describe('a connection being closed is not a sink', () => {
  it('a flood cut by its message budget is not read on for the grace period (at most 64 KiB more)', async () => {
    server = await startServer({ maxMessagesPerSecond: 100, heartbeatTimeoutMs: 3000 });
    const flooded = await flood(server.port, 1, 10_000);
    expect(flooded.closedByServer).toBe(true);
    // What the kernel's buffers took before the server stopped reading, not the whole flood
    // (before: all 64 MB in 0.6 s, read and thrown away until the socket was destroyed).
    expect(flooded.sent).toBeLessThan(PUSHED_BACK + 8 * 1024 * 1024);
  });
});

function decodeAll(bytes: Buffer): Message[] {
  const d = new FrameDecoder();
  return d.push(bytes).map((b) => decode(b));
}
