import { sequenceChecksum, valueAt } from '../core/sequence';
import { MessageType } from '../transport/constants';
import { startClient, startServer } from './helpers/net';
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
      expect(server.store.size).toBe(0);
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
