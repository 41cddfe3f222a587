/** The outbound limit and backpressure over TLS: a non-reading TLS client flooding HEARTBEATs. */
import tls from 'node:tls';
import { encode } from '../transport/protocol/codec';
import { MAX_REASON_BYTES, MessageType } from '../transport/protocol/constants';
import type { SeqServer } from '../transport/server/server';
import { startServer } from './helpers/net';
import { makePki, type Pki } from './helpers/tls-pki';

let pki: Pki;
let server: SeqServer;
beforeAll(() => (pki = makePki()));
afterAll(() => pki?.remove());
afterEach(async () => server?.close());

const LIMIT = 16 * 1024;
const FLOOD_CAP = 64 * 1024 * 1024;
const PUSHED_BACK = 4 * 1024 * 1024;

it('TLS: a non-reading flooder after END is held by backpressure; the server queues at most limit + one frame', async () => {
  server = await startServer({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey') }, maxWriteBuffer: LIMIT, maxMessagesPerSecond: 0, heartbeatTimeoutMs: 2000 });
  const rss0 = process.memoryUsage().rss;
  const res = await new Promise<{ sent: number; closed: boolean }>((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: server.port, ca: pki.read('ca') });
    const hb = Buffer.concat(Array.from({ length: 4096 }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));
    let sent = 0;
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ sent, closed });
    };
    const timer = setTimeout(() => finish(false), 10_000);
    const pump = () => {
      while (!done && sent < FLOOD_CAP) {
        if (s.writableLength > PUSHED_BACK) return finish(false);
        sent += hb.length;
        if (!s.write(hb)) return s.once('drain', pump);
      }
      if (!done) finish(false);
    };
    s.on('secureConnect', () => {
      s.pause();
      s.write(encode({ type: MessageType.HELLO, version: 2, length: 1 }));
      pump();
    });
    s.on('error', () => finish(true));
    s.on('close', () => finish(true));
  });
  console.log(`sent ${(res.sent / 1e6).toFixed(1)} MB, closed by server ${res.closed}, peak queued ${server.peakQueuedBytes}, rss +${((process.memoryUsage().rss - rss0) / 1e6).toFixed(0)} MB`);
  expect(server.peakQueuedBytes).toBeLessThanOrEqual(LIMIT + 4 + 2 + MAX_REASON_BYTES);
  expect(res.sent).toBeLessThan(FLOOD_CAP);
});
