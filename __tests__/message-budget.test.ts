/**
 * The per-connection message budget is "rate per second after a burst of twice as many" (a token
 * bucket of 2*rate). Found in review: a refill that ran only once the bucket was empty credited
 * the time it sat full, so a peer that waited 2 s and then flooded got 4*rate messages at once.
 */
import { MessageType, RejectCode } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { RawClient } from './helpers/raw-client';
import { startServer, waitFor } from './helpers/net';
import { encode } from '../transport/protocol/codec';

let server: SeqServer;
afterEach(async () => server?.close());

it('after a quiet spell, one burst of more than 2*rate messages is cut (RATE_LIMITED)', async () => {
  const RATE = 10; // burst 20
  // Numbers slower than heartbeats: every HEARTBEAT is answered, so the test can count answers.
  server = await startServer({ maxMessagesPerSecond: RATE, intervalMs: 1000, heartbeatIntervalMs: 20, heartbeatTimeoutMs: 10_000 });
  const c = await RawClient.connect(server.port);
  c.hello(100);
  await c.next(MessageType.WELCOME);
  // Quiet, as an honest client between heartbeats: the bucket is full (20) and stays full.
  await new Promise((r) => setTimeout(r, 2100));
  const N = 35; // 1 (HELLO) + 35 > 20 + the ~0 refilled during the burst
  c.raw(Buffer.concat(Array.from({ length: N }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i }))));
  const acks = () => c.messages.filter((m) => m.type === MessageType.HEARTBEAT_ACK).length;
  await waitFor(() => c.messages.some((m) => m.type === MessageType.REJECT) || acks() === N, 'a REJECT or every answer');
  const reject = c.messages.find((m) => m.type === MessageType.REJECT);
  c.close();
  expect(acks()).toBeLessThanOrEqual(2 * RATE);
  expect(reject).toEqual(expect.objectContaining({ code: RejectCode.RATE_LIMITED }));
});
