/**
 * TLS over real sockets, with a PKI made by openssl for this run: whole and resumed sessions
 * (through the fault proxy), certificates the client must refuse, client certificates, and peers
 * that never finish a handshake while an honest session streams beside them.
 *
 * Near 370 lines, on purpose: every TLS case shares one PKI made by openssl once per run (the
 * slow part); splitting the file would make it once per file.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, defineProgram, parseArgs } from '../core/config';
import { sequenceChecksum } from '../core/sequence';
import { RelayProxy } from '../proxy/proxy';
import type { SeqServer } from '../transport/server/server';
import { clientTls, serverTls, type ClientTls, type ServerTls } from '../transport/tls-files';
import { nextEvent, startClient, startServer, waitFor } from './helpers/net';
import { makePki, type Pki } from './helpers/tls-pki';
import { capturingLogger } from './helpers/log';

let pki: Pki;
let serverSide: ServerTls;
let trusting: ClientTls;

beforeAll(() => {
  pki = makePki();
  serverSide = { cert: pki.read('serverCert'), key: pki.read('serverKey') };
  trusting = { ca: pki.read('ca') };
});
afterAll(() => pki?.remove());

/** A TCP relay that keeps every byte it forwards: what someone on the path would see. */
async function startTap(upstreamPort: number): Promise<{ port: number; seen: () => Buffer; close: () => Promise<void> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const tap = net.createServer((a) => {
    const b = net.connect({ host: '127.0.0.1', port: upstreamPort });
    for (const [from, to] of [[a, b], [b, a]] as const) {
      sockets.add(from);
      from.on('data', (d: Buffer) => {
        chunks.push(d);
        to.write(d);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => to.destroy());
    }
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', () => r()));
  return {
    port: (tap.address() as net.AddressInfo).port,
    seen: () => Buffer.concat(chunks),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => tap.close(() => r()));
    },
  };
}

/** Every index exactly once, in order. */
function expectExactOrder(received: number[], length: number): void {
  expect(received.length).toBe(length);
  for (let i = 0; i < length; i++) if (received[i] !== i) throw new Error(`position ${i} holds index ${received[i]}`);
}

describe('sessions over TLS', () => {
  let server: SeqServer;
  let proxy: RelayProxy | null = null;
  afterEach(async () => {
    await proxy?.close();
    proxy = null;
    await server?.close();
  });

  it('a whole session: numbers and checksum verified, and the session id never crosses the wire in cleartext', async () => {
    server = await startServer({ tls: serverSide });
    const tap = await startTap(server.port);
    try {
      const received: number[] = [];
      const c = startClient(tap.port, 150, { tls: trusting, onNumber: (i) => received.push(i) });
      const r = await c.result;
      expect(r.failure).toBeNull();
      expect(r.ok).toBe(true);
      expectExactOrder(received, 150);
      expect(r.serverChecksum).toBe(sequenceChecksum(c.verifier.seed!, 150));
      expect(tap.seen().indexOf(Buffer.from(r.sessionId!, 'hex'))).toBe(-1);
    } finally {
      await tap.close();
    }
  });

  it('(the tap would see it: a cleartext session shows its id on the wire)', async () => {
    server = await startServer();
    const tap = await startTap(server.port);
    try {
      const r = await startClient(tap.port, 20).result;
      expect(r.ok).toBe(true);
      expect(tap.seen().indexOf(Buffer.from(r.sessionId!, 'hex'))).toBeGreaterThan(0);
    } finally {
      await tap.close();
    }
  });

  it('a session cut in the middle by the fault proxy resumes at the exact next index over a new TLS connection; records sliced to 7 bytes still decode', async () => {
    server = await startServer({ tls: serverSide });
    proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
    const port = await proxy.listen();
    // The proxy's faults act on TLS bytes as on any others: slice every record the server sends.
    proxy.addFault({ kind: 'slicer', sliceBytes: 7, sliceDelayMs: 0, direction: 'down' });
    const received: number[] = [];
    const losses: number[] = [];
    const c = startClient(port, 120, { tls: trusting, onNumber: (i) => received.push(i), onLoss: (_r, next) => losses.push(next) });
    await waitFor(() => received.length >= 40, '40 numbers before the cut');
    const resumed = nextEvent<[string, number]>(server, 'resumed');
    expect(proxy.cutAll()).toBe(1);
    const [, resumedAt] = await resumed;
    const r = await c.result;
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.reconnects).toBe(1);
    expect(losses).toHaveLength(1);
    expect(resumedAt).toBe(losses[0]);
    expect(resumedAt).toBeGreaterThanOrEqual(40);
    expectExactOrder(received, 120);
    expect(r.serverChecksum).toBe(sequenceChecksum(c.verifier.seed!, 120));
    // Both TLS connections went through the proxy, and it did slice.
    expect(proxy.stats().accepted).toBe(2);
    expect(proxy.stats().injected.slicer).toBe(1);
  });
});

describe('the client refuses a server it cannot trust, once and for good', () => {
  let server: SeqServer;
  afterEach(async () => server?.close());

  it.each([
    ['a certificate from another CA', () => ({ ca: pki.read('rogueCa') }), /not trusted: .*(UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)/],
    ['the system CAs only (no --tls-ca)', () => ({}), /not trusted: .*UNABLE_TO_VERIFY_LEAF_SIGNATURE/],
    ['a name the certificate does not carry', () => ({ ca: pki.read('ca'), servername: 'wrong.example' }), /not trusted: .*wrong\.example.*ERR_TLS_CERT_ALTNAME_INVALID/],
    ['an address the certificate does not carry', () => ({ ca: pki.read('ca'), servername: '127.0.0.2' }), /not trusted: .*127\.0\.0\.2.*ERR_TLS_CERT_ALTNAME_INVALID/],
  ])('%s: a final failure naming the flags to check, without a retry and without a session', async (_what, tlsFor, pattern) => {
    const { logger, lines } = capturingLogger(true);
    server = await startServer({ tls: serverSide, logger });
    const sessions: string[] = [];
    server.on('session', (id: string) => sessions.push(id));
    const states: string[] = [];
    // maxReconnects 0 means "retry forever": only a final failure ends this client.
    const r = await startClient(server.port, 10, { tls: tlsFor(), onState: (s) => states.push(s) }).result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(pattern);
    expect(r.failure).toMatch(/check --tls-ca \/ --tls-servername/);
    expect(states.filter((s) => s === 'reconnecting')).toHaveLength(0);
    expect(sessions).toHaveLength(0);
    // The server saw one abandoned handshake and said so in one short line.
    await waitFor(() => lines.some((l) => /TLS handshake failed/.test(l)), 'the server to log the abandoned handshake');
    const tlsLines = lines.filter((l) => /TLS/.test(l));
    expect(tlsLines).toHaveLength(1);
    expect(tlsLines[0]).toMatch(/from 127\.0\.0\.1:\d+: the peer closed the connection/);
  });

  it('the hostname "localhost" is verified against the certificate and accepted', async () => {
    server = await startServer({ tls: serverSide });
    const r = await startClient(server.port, 10, { host: 'localhost', tls: trusting }).result;
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
  });
});

describe('TLS on one side only: a clear answer, not a hang or a retry loop', () => {
  let server: SeqServer;
  afterEach(async () => server?.close());

  it('a cleartext client at the TLS port is told to use --tls', async () => {
    server = await startServer({ tls: serverSide });
    const states: string[] = [];
    const r = await startClient(server.port, 10, { onState: (s) => states.push(s) }).result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/PROTOCOL_ERROR.*speaks TLS only: connect with --tls/);
    expect(states).not.toContain('reconnecting');
  });

  it('a TLS client at a cleartext server says the server does not speak TLS', async () => {
    server = await startServer();
    const states: string[] = [];
    const r = await startClient(server.port, 10, { tls: trusting, onState: (s) => states.push(s) }).result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/does not speak TLS .*drop --tls, or start the server with --tls-cert/);
    expect(states).not.toContain('reconnecting');
  });
});

describe('client certificates (server --tls-ca)', () => {
  let server: SeqServer;
  beforeEach(async () => {
    server = await startServer({ tls: { ...serverSide, ca: pki.read('ca') } });
  });
  afterEach(async () => server?.close());

  it('a client without a certificate is refused, for good, with the reason', async () => {
    const states: string[] = [];
    const r = await startClient(server.port, 10, { tls: trusting, onState: (s) => states.push(s) }).result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/rejected by the server \(BAD_REQUEST\): client certificate refused: it presented no certificate; present one signed by this server's CA \(--tls-cert, --tls-key\)/);
    expect(states).not.toContain('reconnecting');
    expect(server.sessionCount).toBe(0);
  });

  it('a client with a certificate from another CA is refused', async () => {
    const r = await startClient(server.port, 10, { tls: { ...trusting, cert: pki.read('rogueClientCert'), key: pki.read('rogueClientKey') } }).result;
    expect(r.ok).toBe(false);
    expect(r.failure).toMatch(/client certificate refused: its certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/);
    expect(server.sessionCount).toBe(0);
  });

  it('a client with a certificate from the CA gets its whole session', async () => {
    const c = startClient(server.port, 60, { tls: { ...trusting, cert: pki.read('clientCert'), key: pki.read('clientKey') } });
    const r = await c.result;
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.serverChecksum).toBe(sequenceChecksum(c.verifier.seed!, 60));
  });
});

describe('peers that never finish a handshake', () => {
  let server: SeqServer;
  afterEach(async () => server?.close());

  /** Opens a TCP connection, writes `bytes` (if any); `closed` gives the ms until the server closed it. */
  function badPeer(port: number, bytes: Buffer | null, boundMs = 5000, localAddress = '127.0.0.1'): { closed: Promise<number>; socket: net.Socket } {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const started = Date.now();
    socket.on('error', () => {});
    socket.on('data', () => {});
    if (bytes) socket.once('connect', () => socket.write(bytes));
    const closed = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`the server still held a connection (first bytes ${bytes?.subarray(0, 4).toString('hex') ?? 'none'}) after ${boundMs} ms`));
      }, boundMs);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve(Date.now() - started);
      });
    });
    return { socket, closed };
  }

  it('silence, garbage, a stalled ClientHello and a reset do not disturb a healthy TLS session; each is closed in bounded time and logged once', async () => {
    const { logger, lines } = capturingLogger(true);
    const handshakeTimeoutMs = 400;
    server = await startServer({ tls: serverSide, logger, handshakeTimeoutMs, intervalMs: 5 });
    const errors: Error[] = [];
    server.on('error', (e: Error) => errors.push(e));
    const received: number[] = [];
    const healthy = startClient(server.port, 300, { tls: trusting, onNumber: (i) => received.push(i) });
    await waitFor(() => received.length >= 10, 'the healthy session to stream');

    // Each from its own address: repeated warnings from one address are aggregated (one line
    // per period), and this test wants to see each kind of failure's own line.
    const silent = badPeer(server.port, null, 5000, '127.0.0.2');
    const garbage = badPeer(server.port, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 5000, '127.0.0.3');
    // A TLS record header announcing 512 bytes, then nothing: TLS's own handshake timeout.
    const stalled = badPeer(server.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]), 5000, '127.0.0.4');
    const reset = badPeer(server.port, Buffer.from([0x16, 0x03, 0x01]), 5000, '127.0.0.5');
    reset.socket.once('connect', () => setImmediate(() => reset.socket.resetAndDestroy()));

    const [silentMs, garbageMs, stalledMs] = await Promise.all([silent.closed, garbage.closed, stalled.closed, reset.closed]);
    // Nothing is held beyond its bound (one timeout for the first byte, one for the handshake).
    expect(silentMs).toBeLessThan(handshakeTimeoutMs + 1000);
    expect(stalledMs).toBeLessThan(2 * handshakeTimeoutMs + 1000);
    expect(garbageMs).toBeLessThan(1000);

    const r = await healthy.result;
    expect(r.failure).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.reconnects).toBe(0);
    expectExactOrder(received, 300);
    expect(errors).toEqual([]);

    await waitFor(() => lines.filter((l) => /TLS handshake failed/.test(l)).length >= 4, 'one log line per bad peer');
    const tlsLines = lines.filter((l) => /TLS handshake failed/.test(l));
    expect(tlsLines).toHaveLength(4);
    for (const l of tlsLines) {
      expect(l.length).toBeLessThan(200);
      expect(l).not.toMatch(/\n/);
    }
    expect(tlsLines.filter((l) => /from 127\.0\.0\.2:\d+: nothing received within 400 ms/.test(l))).toHaveLength(1);
    expect(tlsLines.filter((l) => /ERR_TLS_HANDSHAKE_TIMEOUT/.test(l))).toHaveLength(1);
    expect(tlsLines.filter((l) => /not a TLS handshake \(first byte 0x47\)/.test(l))).toHaveLength(1);
    expect(tlsLines.filter((l) => /the peer closed the connection/.test(l))).toHaveLength(1);
  });

  it('before TLS, one address may hold only its share of pending handshakes; others still get in', async () => {
    server = await startServer({ tls: serverSide, handshakeTimeoutMs: 10_000, admission: { pendingHandshakesPerSource: 2 } });
    const held = [badPeer(server.port, null, 15_000, '127.0.0.7'), badPeer(server.port, null, 15_000, '127.0.0.7')];
    await waitFor(() => server.pendingHandshakes === 2, 'the two to be counted');
    // The third from that address is closed at once (nothing can be said before TLS), not after 10 s.
    const third = badPeer(server.port, null, 2000, '127.0.0.7');
    expect(await third.closed).toBeLessThan(1000);
    const c = startClient(server.port, 20, { tls: trusting });
    expect((await c.result).ok).toBe(true);
    for (const p of held) p.socket.destroy();
    await Promise.all(held.map((p) => p.closed));
    await waitFor(() => server.pendingHandshakes === 0, 'the pending count to return to zero');
  });

  it('a connection still in the handshake does not hold up server.close()', async () => {
    server = await startServer({ tls: serverSide, handshakeTimeoutMs: 10_000 });
    const silent = badPeer(server.port, null);
    const stalled = badPeer(server.port, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    await new Promise((r) => setTimeout(r, 50)); // both connected and read (loopback)
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(2000);
    await Promise.all([silent.closed, stalled.closed]);
  });
});

describe('TLS settings', () => {
  it('files are read and checked at start; an error names the file', () => {
    const f = pki.files;
    expect(serverTls({ tlsCert: '', tlsKey: '', tlsCa: '' })).toBeNull();
    expect(serverTls({ tlsCert: f.serverCert, tlsKey: f.serverKey, tlsCa: f.ca })?.ca).toBeDefined();
    expect(() => serverTls({ tlsCert: f.serverCert, tlsKey: '', tlsCa: '' })).toThrow(/--tls-cert and --tls-key go together/);
    expect(() => serverTls({ tlsCert: '', tlsKey: '', tlsCa: f.ca })).toThrow(/--tls-ca .*needs TLS/);
    expect(() => serverTls({ tlsCert: '/nonexistent/cert.pem', tlsKey: f.serverKey, tlsCa: '' })).toThrow('cannot read --tls-cert /nonexistent/cert.pem: no such file');
    expect(() => serverTls({ tlsCert: f.serverKey, tlsKey: f.serverKey, tlsCa: '' })).toThrow(`--tls-cert ${f.serverKey} is not a PEM certificate`);
    expect(() => serverTls({ tlsCert: f.serverCert, tlsKey: f.clientKey, tlsCa: '' })).toThrow(`--tls-key ${f.clientKey} does not go with --tls-cert ${f.serverCert}`);
    const base = { tls: false, tlsCa: '', tlsCert: '', tlsKey: '', tlsServername: '' };
    expect(clientTls(base)).toBeNull();
    expect(clientTls({ ...base, tls: true })).toEqual({});
    expect(clientTls({ ...base, tlsCa: f.ca })?.ca).toBeDefined(); // --tls-ca implies --tls
    expect(clientTls({ ...base, tlsServername: 'localhost' })).toEqual({ servername: 'localhost' });
    expect(() => clientTls({ ...base, tlsCa: '/nonexistent/ca.pem' })).toThrow('cannot read --tls-ca /nonexistent/ca.pem');
  });

  it('the config table: --tls-cert and --tls-key both or neither, from flags or the environment', () => {
    const spec = defineProgram({ program: 'server', summary: 'test', positionals: [], settings: ['tlsCert', 'tlsKey', 'tlsCa'] });
    const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseArgs(spec, argv, env);
    expect(parse([])).toEqual({ config: { tlsCert: '', tlsKey: '', tlsCa: '' } });
    expect(parse(['--tls-cert', 'c.pem', '--tls-key', 'k.pem'])).toEqual({ config: { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: '' } });
    expect(parse(['--tls-key', 'k.pem'], { SEQSTREAM_TLS_CERT: 'c.pem' })).toEqual({ config: { tlsCert: 'c.pem', tlsKey: 'k.pem', tlsCa: '' } });
    expect(() => parse(['--tls-cert', 'c.pem'])).toThrow(ConfigError);
    expect(() => parse([], { SEQSTREAM_TLS_KEY: 'k.pem' })).toThrow(/--tls-cert and --tls-key go together: give both or neither \(got only --tls-key\)/);
  });

  const dist = path.join(__dirname, '..', 'dist', 'bin');
  function run(program: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
    if (!existsSync(path.join(dist, `${program}.js`))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    return new Promise((resolve) => {
      execFile(process.execPath, [path.join(dist, `${program}.js`), ...args, '--log-file', ''], { timeout: 10_000 }, (err, _out, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
  }

  it('the programs exit 2 with the reason: half a TLS configuration, an unreadable file', async () => {
    const half = await run('server', ['--tls-cert', pki.files.serverCert]);
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
    const missing = await run('server', ['--tls-cert', '/nonexistent/cert.pem', '--tls-key', pki.files.serverKey]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read --tls-cert \/nonexistent\/cert\.pem: no such file/);
    const client = await run('client', ['1', '--tls-ca', '/nonexistent/ca.pem']);
    expect(client.code).toBe(2);
    expect(client.stderr).toMatch(/cannot read --tls-ca \/nonexistent\/ca\.pem/);
  });
});

