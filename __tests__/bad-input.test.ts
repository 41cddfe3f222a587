/**
 * Every bad input gets a clear error and affects only its own connection: healthy sessions
 * streaming beside it finish with their exact sequences, and the server keeps running.
 */
import { randomBytes } from 'node:crypto';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { nextEvent, startClient, startServer, waitFor } from './helpers/net';
import { RawClient } from './helpers/raw-client';

let server: SeqServer;
let healthy: ReturnType<typeof startClient>[];

// Generous liveness for the healthy sessions: 200 hostile connections at once can stall a shared
// 2-core machine for longer than FAST's 100 ms, and this file tests isolation, not heartbeats.
const TOLERANT = { heartbeatTimeoutMs: 2000, reconnectWindowMs: 3000 };
const startHealthy = () => [
  startClient(server.port, 80, { heartbeatTimeoutMs: TOLERANT.heartbeatTimeoutMs }),
  startClient(server.port, 90, { heartbeatTimeoutMs: TOLERANT.heartbeatTimeoutMs }),
];

/** For cases that need other server settings: the first server's healthy clients are stopped,
 *  not abandoned (a client left behind would reconnect forever and keep jest from exiting). */
async function restartServer(over: Parameters<typeof startServer>[0]): Promise<void> {
  for (const c of healthy) c.stop();
  await server.close();
  server = await startServer(over);
  healthy = startHealthy();
}

beforeEach(async () => {
  server = await startServer(TOLERANT);
  healthy = startHealthy();
  await waitFor(() => healthy.every((c) => c.verifier.nextIndex > 0), 'healthy sessions to stream');
});

afterEach(async () => {
  // The point of every case: the healthy sessions never noticed.
  try {
    const results = await Promise.all(healthy.map((c) => c.result));
    for (const r of results) {
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.reconnects).toBe(0);
      expect(r.violations).toEqual([]);
    }
  } finally {
    for (const c of healthy) c.stop();
    await server.close();
  }
});

async function rejected(c: RawClient, code: RejectCode): Promise<string> {
  const r = await c.next(MessageType.REJECT);
  expect(RejectCode[r.code]).toBe(RejectCode[code]);
  expect(r.reason.length).toBeGreaterThan(5);
  await c.waitClosed();
  return r.reason;
}

describe('malformed frames are protocol errors', () => {
  it('garbage bytes (an HTTP request)', async () => {
    const c = await RawClient.connect(server.port);
    c.raw('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await rejected(c, RejectCode.PROTOCOL_ERROR)).toMatch(/exceeds the maximum/);
  });

  it.each([0xffffffff, 1025])('an oversize length prefix (%d) is refused from the prefix alone', async (len) => {
    const c = await RawClient.connect(server.port);
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32BE(len);
    c.raw(prefix);
    expect(await rejected(c, RejectCode.PROTOCOL_ERROR)).toMatch(new RegExp(`${len} exceeds the maximum of 1024`));
  });

  it('a zero length', async () => {
    const c = await RawClient.connect(server.port);
    c.raw(Buffer.alloc(4));
    expect(await rejected(c, RejectCode.PROTOCOL_ERROR)).toMatch(/length 0/);
  });

  it('a truncated frame followed by end of stream', async () => {
    const c = await RawClient.connect(server.port);
    c.raw(Buffer.from([0, 0, 0, 9, MessageType.NUMBER, 0, 0]));
    c.socket.end();
    await c.waitClosed();
    await waitFor(() => server.connectionCount <= 2, 'only the healthy connections left');
  });

  it('an unknown message type', async () => {
    const c = await RawClient.connect(server.port);
    c.raw(Buffer.from([0, 0, 0, 1, 0x7f]));
    expect(await rejected(c, RejectCode.PROTOCOL_ERROR)).toMatch(/unknown message type 0x7f/);
  });

  it('a known type with the wrong body size', async () => {
    const c = await RawClient.connect(server.port);
    c.raw(Buffer.from([0, 0, 0, 3, MessageType.HELLO, 1, 0]));
    expect(await rejected(c, RejectCode.PROTOCOL_ERROR)).toMatch(/HELLO body must be 6 bytes, got 3/);
  });

  it('200 garbage connections at once', async () => {
    const bad = await Promise.all(Array.from({ length: 200 }, () => RawClient.connect(server.port)));
    for (const c of bad) c.raw(randomBytes(64));
    await Promise.all(bad.map((c) => c.waitClosed()));
    await waitFor(() => server.connectionCount <= 2, 'only the healthy connections left');
    expect(server.sessionCount).toBeLessThanOrEqual(2); // none from the garbage (healthy ones may have finished)
  });
});

describe('messages not allowed in the current state', () => {
  it.each([
    ['NUMBER', { type: MessageType.NUMBER, index: 0, value: 0 }],
    ['END', { type: MessageType.END, length: 1, checksum: 0 }],
    ['ACK', { type: MessageType.ACK, verdict: 0 }],
    ['HEARTBEAT', { type: MessageType.HEARTBEAT, nonce: 1 }],
  ] as const)('%s before the handshake', async (_name, msg) => {
    const c = await RawClient.connect(server.port);
    c.send(msg);
    expect(await rejected(c, RejectCode.UNEXPECTED_MESSAGE)).toMatch(/expected HELLO or RESUME first/);
  });

  it('a second HELLO: the connection is closed, the session is suspended, not lost', async () => {
    const c = await RawClient.connect(server.port);
    c.hello(100);
    const welcome = await c.next(MessageType.WELCOME);
    const suspended = nextEvent(server, 'suspended');
    c.hello(100);
    await rejected(c, RejectCode.UNEXPECTED_MESSAGE);
    await suspended;
    const again = await RawClient.connect(server.port);
    again.resume(welcome.sessionId, 0);
    const w2 = await again.next(MessageType.WELCOME);
    expect(w2.sessionId).toEqual(welcome.sessionId);
    again.close();
  });

  it('ACK before END', async () => {
    const c = await RawClient.connect(server.port);
    c.hello(100);
    await c.next(MessageType.WELCOME);
    c.send({ type: MessageType.ACK, verdict: 0 });
    expect(await rejected(c, RejectCode.UNEXPECTED_MESSAGE)).toMatch(/ACK before END/);
  });
});

describe('requests the server refuses', () => {
  it('an unsupported protocol version', async () => {
    const c = await RawClient.connect(server.port);
    c.send({ type: MessageType.HELLO, version: 3, length: 10 });
    expect(await rejected(c, RejectCode.UNSUPPORTED_VERSION)).toMatch(/^1,2: protocol version 3 is not supported/);
  });

  it('a length above 65535', async () => {
    const c = await RawClient.connect(server.port);
    c.hello(70000);
    expect(await rejected(c, RejectCode.BAD_REQUEST)).toMatch(/70000 is out of range/);
  });

  it('length 0 lets the server choose within 1..65535', async () => {
    const c = await RawClient.connect(server.port);
    c.hello(0);
    const w = await c.next(MessageType.WELCOME);
    expect(w.length).toBeGreaterThanOrEqual(1);
    expect(w.length).toBeLessThanOrEqual(65535);
    c.close();
  });

  it('a resume of an unknown session', async () => {
    const c = await RawClient.connect(server.port);
    c.resume(randomBytes(16), 0);
    expect(await rejected(c, RejectCode.UNKNOWN_SESSION)).toMatch(/unknown/);
  });

  it('a resume beyond the session length', async () => {
    const c = await RawClient.connect(server.port);
    c.hello(10);
    const w = await c.next(MessageType.WELCOME);
    const d = await RawClient.connect(server.port);
    d.resume(w.sessionId, 11);
    expect(await rejected(d, RejectCode.BAD_REQUEST)).toMatch(/beyond the session's length 10/);
    c.close();
  });

  it('a resume after the reconnect window ran out', async () => {
    await restartServer({ heartbeatTimeoutMs: 250, reconnectWindowMs: 300 });
    const c = await RawClient.connect(server.port);
    c.hello(100);
    const w = await c.next(MessageType.WELCOME);
    const expired = nextEvent(server, 'expired');
    c.close();
    await expired;
    const d = await RawClient.connect(server.port);
    d.resume(w.sessionId, 0);
    expect(await rejected(d, RejectCode.SESSION_EXPIRED)).toMatch(/reconnect window of 300 ms ran out/);
  });

  it('a full server', async () => {
    await restartServer({ ...TOLERANT, maxSessions: 2 });
    await waitFor(() => server.sessionCount === 2, 'two sessions');
    const c = await RawClient.connect(server.port);
    c.hello(10);
    expect(await rejected(c, RejectCode.SERVER_FULL)).toMatch(/server is full/);
  });
});

describe('clients that do not play along', () => {
  it('connects and never says hello: handshake timeout', async () => {
    const c = await RawClient.connect(server.port);
    expect(await rejected(c, RejectCode.HANDSHAKE_TIMEOUT)).toMatch(/within 300 ms/);
  });

  it('stops reading: cut as a slow consumer, its session stays resumable', async () => {
    await restartServer({ intervalMs: 1, maxWriteBuffer: 1024, reconnectWindowMs: 5000, heartbeatTimeoutMs: 5000 });
    const c = await RawClient.connect(server.port);
    // Tiny socket buffers make the backlog reach Node's queue quickly.
    c.socket.setNoDelay(true);
    c.hello(65535);
    const w = await c.next(MessageType.WELCOME);
    c.socket.pause();
    const [id] = await nextEvent<[string]>(server, 'suspended', 20_000);
    expect(id).toBe(w.sessionId.toString('hex'));
    const d = await RawClient.connect(server.port);
    d.resume(w.sessionId, 0);
    expect((await d.next(MessageType.WELCOME)).startIndex).toBe(0);
    c.close();
    d.close();
  }, 30_000);
});
