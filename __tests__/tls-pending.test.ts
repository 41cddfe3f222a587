/** Every TLS path returns the pending-handshake count (and the listener's pending) to zero. */
import net from 'node:net';
import tls from 'node:tls';
import type { SeqServer } from '../transport/server/server';
import { startClient, startServer, waitFor } from './helpers/net';
import { makePki, type Pki } from './helpers/tls-pki';

let pki: Pki;
let server: SeqServer;
beforeAll(() => {
  pki = makePki();
});
afterAll(() => pki?.remove());
afterEach(async () => server?.close());

const listenerPending = () => (server as any).listener.pending as number;

it('a stalled TLS handshake (tls handshakeTimeout) releases its pending count', async () => {
  server = await startServer({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey') }, handshakeTimeoutMs: 300 });
  const s = net.connect({ host: '127.0.0.1', port: server.port });
  s.on('error', () => {});
  s.once('connect', () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])));
  await waitFor(() => server.pendingHandshakes === 1, 'counted');
  await new Promise<void>((r) => s.once('close', () => r()));
  await waitFor(() => server.pendingHandshakes === 0 && listenerPending() === 0, `released (pending ${server.pendingHandshakes}, listener ${listenerPending()})`, 3000);
});

it('a refused client certificate releases its pending count', async () => {
  server = await startServer({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey'), ca: pki.read('ca') } });
  const r = await startClient(server.port, 5, { tls: { ca: pki.read('ca') } }).result;
  expect(r.ok).toBe(false);
  await waitFor(() => server.pendingHandshakes === 0 && listenerPending() === 0, `released (pending ${server.pendingHandshakes}, listener ${listenerPending()})`, 3000);
});

it('a client that does not trust the server (closes during handshake) releases its pending count', async () => {
  server = await startServer({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey') } });
  const r = await startClient(server.port, 5, { tls: { ca: pki.read('rogueCa') } }).result;
  expect(r.ok).toBe(false);
  await waitFor(() => server.pendingHandshakes === 0 && listenerPending() === 0, `released (pending ${server.pendingHandshakes}, listener ${listenerPending()})`, 3000);
});

it('a completed TLS handshake then silence: pending counts once, then released on timeout', async () => {
  server = await startServer({ tls: { cert: pki.read('serverCert'), key: pki.read('serverKey') }, handshakeTimeoutMs: 300 });
  const s = tls.connect({ host: '127.0.0.1', port: server.port, ca: pki.read('ca') });
  s.on('error', () => {});
  s.resume();
  await new Promise<void>((r) => s.once('secureConnect', () => r()));
  await waitFor(() => server.connectionCount === 1, 'handed over');
  expect(server.pendingHandshakes).toBe(1);
  await new Promise<void>((r) => s.once('close', () => r()));
  await waitFor(() => server.pendingHandshakes === 0 && listenerPending() === 0, `released (pending ${server.pendingHandshakes}, listener ${listenerPending()})`, 3000);
});
