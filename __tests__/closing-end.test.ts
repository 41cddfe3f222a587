/**
 * A connection the server is closing does not judge the rest of the stream: a flood cut by its
 * message budget leaves half a frame in the decoder (input is thrown away from then on), and the
 * peer's FIN must not add a made-up "protocol error" to the "message flood" line (found in review).
 */
import net from 'node:net';
import { encode } from '../transport/protocol/codec';
import { MessageType } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { startServer, waitFor } from './helpers/net';
import { capturingLogger } from './helpers/log';

let server: SeqServer;
afterEach(async () => server?.close());

it('a flooder cut by its budget, then closing its side, is logged as a flood only', async () => {
  const { logger, lines } = capturingLogger();
  server = await startServer({ logger, maxMessagesPerSecond: 10, intervalMs: 5 });
  const s = net.connect({ host: '127.0.0.1', port: server.port });
  s.on('error', () => {});
  s.resume();
  await new Promise<void>((r) => s.once('connect', () => r()));
  const closed = new Promise<void>((r) => s.once('close', () => r()));
  // HELLO and 11,000 whole heartbeats (99 KB: more than one 64 KiB read, so a read ends inside a
  // frame), then FIN. The cut comes at message 21; the peer never sent a truncated frame.
  const hb = Buffer.concat(Array.from({ length: 11_000 }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));
  s.end(Buffer.concat([encode({ type: MessageType.HELLO, version: 2, length: 1 }), hb]));
  await closed;
  await waitFor(() => lines.some((l) => /message budget/.test(l)), 'the flood line');
  await waitFor(() => server.connectionCount === 0, 'the server to close it');
  expect(lines.filter((l) => /protocol error/.test(l))).toEqual([]);
});
