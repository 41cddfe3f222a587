import { sequenceChecksum, valueAt } from '../core/sequence';
import { MessageType } from '../transport/protocol/constants';
import { startClient, startServer, storedSessions } from './helpers/net';
import { RawClient } from './helpers/raw-client';

describe('streaming over real TCP', () => {
  it('delivers a full sequence with matching checksums and leaves no session behind', async () => {
    const server = await startServer();
    try {
      const received: number[] = [];
      const c = startClient(server.port, 50, { onNumber: (i) => received.push(i) });
      const r = await c.result;
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expect(r.length).toBe(50);
      expect(received).toEqual([...Array(50).keys()]);
      const seed = c.verifier.seed!;
      expect(r.serverChecksum).toBe(sequenceChecksum(seed, 50));
      expect(valueAt(seed, 0)).toBeDefined();
      await new Promise<void>((resolve) => (server.sessionCount === 0 ? resolve() : server.once('complete', () => resolve())));
      expect(server.sessionCount).toBe(0);
      expect(storedSessions(server)).toBe(0);
    } finally {
      await server.close();
    }
  });
});

describe('heartbeat acks (PROTOCOL.md §5)', () => {
  it('are left out while numbers stream at least once per heartbeat interval, sent otherwise', async () => {
    const server = await startServer({ intervalMs: 5, heartbeatIntervalMs: 20 });
    const c = await RawClient.connect(server.port);
    try {
      c.startHeartbeats(20);
      c.hello(60);
      await c.next(MessageType.WELCOME);
      await c.next(MessageType.END);
      const types = c.messages.map((m) => m.type);
      // ~15 heartbeats went out while 60 numbers streamed: the numbers proved the link alive, so
      // no ACK came back, and yet the session was not timed out.
      expect(types.filter((t) => t === MessageType.NUMBER)).toHaveLength(60);
      expect(types.slice(0, types.indexOf(MessageType.END))).not.toContain(MessageType.HEARTBEAT_ACK);
      // After END nothing else flows, so the ACK is what keeps the client's watchdog fed.
      await c.next(MessageType.HEARTBEAT_ACK);
    } finally {
      c.close();
      await server.close();
    }
  });

  it('are sent when the send interval is longer than the heartbeat interval', async () => {
    const server = await startServer({ intervalMs: 30, heartbeatIntervalMs: 20, heartbeatTimeoutMs: 200 });
    const c = await RawClient.connect(server.port);
    try {
      c.hello(100);
      await c.next(MessageType.WELCOME);
      c.send({ type: MessageType.HEARTBEAT, nonce: 11 });
      expect((await c.next(MessageType.HEARTBEAT_ACK)).nonce).toBe(11);
    } finally {
      c.close();
      await server.close();
    }
  });
});

describe('heartbeat timeout detection (the pacer checks silence; the timer is the backstop)', () => {
  // Timeout 400 ms; a backstop-only detection would take 5 × 400 = 2000 ms.
  const opts = { intervalMs: 20, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400, reconnectWindowMs: 5000 };

  it('while numbers stream: a silent client is suspended within about one timeout', async () => {
    const server = await startServer(opts);
    const c = await RawClient.connect(server.port);
    try {
      c.hello(1000);
      await c.next(MessageType.WELCOME);
      const suspended = new Promise<number>((resolve) => server.once('suspended', () => resolve(performance.now())));
      const silentSince = performance.now(); // no heartbeat is ever sent
      const at = await suspended;
      expect(at - silentSince).toBeGreaterThanOrEqual(opts.heartbeatTimeoutMs - 5);
      expect(at - silentSince).toBeLessThan(1200);
      const reject = await c.next(MessageType.REJECT);
      expect(reject.code).toBe(11); // HEARTBEAT_TIMEOUT
    } finally {
      c.close();
      await server.close();
    }
  });

  it('after the last number (waiting for the ACK): the exact timer is back, not the backstop', async () => {
    const server = await startServer(opts);
    const c = await RawClient.connect(server.port);
    try {
      c.startHeartbeats(opts.heartbeatIntervalMs);
      // 30 numbers: 600 ms of streaming, long enough for the timer to re-arm as a backstop.
      c.hello(30);
      await c.next(MessageType.END);
      c.stopHeartbeats();
      const silentSince = performance.now();
      const at = await new Promise<number>((resolve) => server.once('suspended', () => resolve(performance.now())));
      expect(at - silentSince).toBeLessThan(1200);
    } finally {
      c.close();
      await server.close();
    }
  });
});
