/**
 * Frames kept back while reading is held (backpressure) are handled when the peer's FIN comes,
 * before the end is checked: Node emits 'end' on a paused socket whose buffer is empty, the
 * server then ends its side (allowHalfOpen false), and 'drain' never comes after end(). Found in
 * review: the client's ACK of END, kept back that way, was lost and the session suspended.
 */
import net from 'node:net';
import { encode } from '../transport/protocol/codec';
import { MessageType } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { nextEvent, startServer, waitFor } from './helpers/net';

let server: SeqServer;
afterEach(async () => server?.close());

const hbs = (n: number) => Buffer.concat(Array.from({ length: n }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));

it('an ACK that arrives behind HEARTBEATs while the server is held, followed by FIN, still completes the session', async () => {
  server = await startServer({ intervalMs: 5, heartbeatTimeoutMs: 20_000, reconnectWindowMs: 20_000, maxMessagesPerSecond: 0 });
  const sessionP = nextEvent<[string]>(server, 'session');
  const c = net.connect({ host: '127.0.0.1', port: server.port });
  c.on('error', () => {});
  await new Promise<void>((r) => c.once('connect', () => r()));
  c.pause(); // not reading: what the server answers piles up
  c.write(encode({ type: MessageType.HELLO, version: 2, length: 1 }));
  const [id] = await sessionP;
  await waitFor(() => !!server.snapshotOf(id)?.matches({ streaming: { progress: 'ending' } }), 'END sent');
  const conn = [...(server as any).connections.values()][0];
  const sock: net.Socket = conn.socket;
  // Fill the kernel's buffers one batch at a time, until the server's own queue starts to grow.
  for (let i = 0; i < 2000 && sock.writableLength === 0; i++) {
    c.write(hbs(500));
    const written = c.bytesWritten;
    await waitFor(() => sock.bytesRead >= written, 'the batch to be read');
  }
  expect(sock.writableLength).toBeGreaterThan(0);
  expect(sock.writableLength).toBeLessThan(16 * 1024);
  const outcomeP = Promise.race([
    nextEvent(server, 'complete', 8000).then(() => 'complete'),
    nextEvent(server, 'suspended', 8000).then(() => 'suspended'),
  ]);
  // One more batch that the server cannot answer in full, the ACK behind it, and FIN.
  c.end(Buffer.concat([hbs(2000), encode({ type: MessageType.ACK, verdict: 0 })]));
  await waitFor(() => conn.held === true, 'the server to hold reading');
  let drained = false;
  sock.on('drain', () => (drained = true));
  await waitFor(() => sock.readableEnded, "the server to see the peer's FIN while held");
  const p = conn.pending; // (before the fix) the ACK is among the frames kept back
  if (p) expect(p.bodies[p.bodies.length - 1][0]).toBe(MessageType.ACK);
  // Now read everything: the server's queue drains.
  c.resume();
  const outcome = await outcomeP;
  c.destroy();
  if (outcome !== 'complete') console.log(`drain after the FIN: ${drained}; pending left: ${conn.pending ? conn.pending.bodies.length - conn.pending.next : 0}`);
  expect(outcome).toBe('complete');
});
