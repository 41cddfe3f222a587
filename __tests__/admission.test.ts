/**
 * One source must not lock everyone out: per-address limits on sessions held, new sessions per
 * second and connections still in their handshake, each a clear REJECT on that connection only;
 * repeated warnings from one address are one line per period, not one per connection.
 */
import net from 'node:net';
import { Admission, NO_SOURCE_LIMITS, sourceKey, type AdmissionLimits } from '../transport/server/admission';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { MessageType, PROTOCOL_VERSION, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';
import type { SeqServer } from '../transport/server/server';
import { startClient, startServer, waitFor } from './helpers/net';
import { capturingLogger } from './helpers/log';

const LIMITS: AdmissionLimits = { ...NO_SOURCE_LIMITS, reservedFiles: 0 };

describe('Admission (the bookkeeping)', () => {
  it('a token bucket per source: a burst, then the rate; other sources are untouched', () => {
    let t = 0;
    const a = new Admission({ ...LIMITS, newSessionsPerSecond: 10, newSessionBurst: 3 }, undefined, () => t);
    expect([1, 2, 3].map(() => a.admitSession('a'))).toEqual([null, null, null]);
    expect(a.admitSession('a')).toMatchObject({ code: RejectCode.RATE_LIMITED, kind: 'new-session-rate' });
    expect(a.admitSession('b')).toBeNull();
    t += 100; // one token back at 10/s
    expect(a.admitSession('a')).toBeNull();
    expect(a.admitSession('a')).not.toBeNull();
  });

  it('sessions held per source are released when they end', () => {
    const a = new Admission({ ...LIMITS, sessionsPerSource: 2 });
    expect(a.admitSession('a')).toBeNull();
    expect(a.admitSession('a')).toBeNull();
    expect(a.admitSession('a')).toMatchObject({ code: RejectCode.RATE_LIMITED, kind: 'sessions-per-source' });
    a.sessionEnded('a');
    expect(a.admitSession('a')).toBeNull();
  });

  it('pending handshakes: per source (RATE_LIMITED) and in all (SERVER_FULL)', () => {
    const a = new Admission({ ...LIMITS, pendingHandshakes: 3, pendingHandshakesPerSource: 2 });
    expect(a.admitConnection('a')).toBeNull();
    expect(a.admitConnection('a')).toBeNull();
    expect(a.admitConnection('a')).toMatchObject({ code: RejectCode.RATE_LIMITED, kind: 'pending-per-source' });
    expect(a.admitConnection('b')).toBeNull();
    expect(a.admitConnection('c')).toMatchObject({ code: RejectCode.SERVER_FULL, kind: 'pending-handshakes' });
    a.handshakeEnded('a');
    expect(a.admitConnection('c')).toBeNull();
  });

  it('no file budget left: SERVER_FULL before any other limit', () => {
    const a = new Admission(LIMITS, () => 0);
    expect(a.admitConnection('a')).toMatchObject({ code: RejectCode.SERVER_FULL, kind: 'open-files' });
  });

  it('memory follows what is held: nothing is kept for a source once it is quiet', () => {
    let t = 0;
    const a = new Admission({ ...LIMITS, sessionsPerSource: 5, newSessionsPerSecond: 100, newSessionBurst: 5, pendingHandshakesPerSource: 5 }, undefined, () => t);
    for (let i = 0; i < 1000; i++) {
      const src = `10.0.${i >> 8}.${i & 255}`;
      a.admitConnection(src);
      a.handshakeEnded(src);
      a.admitSession(src);
      a.sessionEnded(src);
    }
    t += 1000;
    a.sweep();
    expect(a.trackedSources).toBe(0);
  });

  it('sources: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
    expect(sourceKey('127.0.0.1')).toBe('127.0.0.1');
    expect(sourceKey('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey(undefined)).toBe('unknown');
  });
});

/** A raw connection from a chosen loopback address: Linux routes all of 127/8 to us. */
function connectFrom(localAddress: string, port: number): Promise<{ socket: net.Socket; messages: Message[]; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port, localAddress });
    const decoder = new FrameDecoder();
    const messages: Message[] = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (c) => {
      for (const b of decoder.push(c)) messages.push(decode(b));
    });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => {});
      resolve({ socket, messages, closed });
    });
  });
}

/** HELLO, then whatever comes first: the session's WELCOME (we drop it at once) or a REJECT. */
async function helloThenDrop(from: string, port: number): Promise<Message> {
  const c = await connectFrom(from, port);
  c.socket.write(encode({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length: 100 }));
  await waitFor(() => c.messages.length > 0, 'an answer to HELLO');
  c.socket.destroy();
  return c.messages[0];
}

let server: SeqServer;
afterEach(async () => {
  await server?.close();
});

describe('one address cannot lock everyone out (over real sockets)', () => {
  it('HELLO-then-drop in a loop: limited after its burst and its session cap; another address still gets in', async () => {
    server = await startServer({
      maxSessions: 500,
      reconnectWindowMs: 30_000,
      admission: { sessionsPerSource: 60, newSessionsPerSecond: 20, newSessionBurst: 40 },
    });
    const started = performance.now();
    let welcomed = 0;
    let limitedAfterMs: number | null = null;
    const codes = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const m = await helloThenDrop('127.0.0.1', server.port);
      if (m.type === MessageType.WELCOME) welcomed++;
      else if (m.type === MessageType.REJECT) {
        codes.add(RejectCode[m.code]);
        limitedAfterMs ??= performance.now() - started;
      }
    }
    // The burst, plus what the rate refilled while the loop ran, and never past the cap.
    expect(welcomed).toBeGreaterThanOrEqual(40);
    expect(welcomed).toBeLessThanOrEqual(60);
    expect([...codes]).toEqual(['RATE_LIMITED']);
    expect(limitedAfterMs).not.toBeNull();
    // The whole server is far from full: a newcomer elsewhere is served at once.
    const other = await helloThenDrop('127.0.0.2', server.port);
    expect(other.type).toBe(MessageType.WELCOME);
    console.log(`one address limited after ${welcomed} sessions, ${limitedAfterMs!.toFixed(0)} ms into a HELLO-then-drop loop`);
  });

  it('connections that never finish the handshake: capped per address, the rest of the world unaffected', async () => {
    server = await startServer({ handshakeTimeoutMs: 10_000, admission: { pendingHandshakesPerSource: 5, pendingHandshakes: 100 } });
    const idle = await Promise.all(Array.from({ length: 5 }, () => connectFrom('127.0.0.3', server.port)));
    const sixth = await connectFrom('127.0.0.3', server.port);
    await sixth.closed;
    expect(sixth.messages).toEqual([expect.objectContaining({ type: MessageType.REJECT, code: RejectCode.RATE_LIMITED })]);
    // Another address, and a real client, still get sessions.
    const honest = startClient(server.port, 20);
    expect((await honest.result).ok).toBe(true);
    // One idle connection ends: that address may connect again.
    idle[0].socket.destroy();
    await waitFor(() => server.connectionCount === 4, 'the server to see the close');
    const again = await connectFrom('127.0.0.3', server.port);
    again.socket.write(encode({ type: MessageType.HELLO, version: PROTOCOL_VERSION, length: 1 }));
    await waitFor(() => again.messages.length > 0, 'an answer');
    expect(again.messages[0].type).toBe(MessageType.WELCOME);
    for (const c of [...idle, again]) c.socket.destroy();
  });
});

describe('repeated warnings are aggregated', () => {
  it('300 bad connections from one address: one line, then one count per period', async () => {
    const { logger, lines } = capturingLogger();
    server = await startServer({ logger, logRepeatPeriodMs: 300 });
    for (let i = 0; i < 300; i++) {
      const c = await connectFrom('127.0.0.4', server.port);
      c.socket.write('GET / HTTP/1.1\r\n\r\n');
      await c.closed;
    }
    await waitFor(() => lines.some((l) => /more protocol error from 127\.0\.0\.4/.test(l)), 'the period summary', 3000);
    const about = lines.filter((l) => l.includes('127.0.0.4'));
    const counted = about
      .map((l) => /^(\d+) more protocol error/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .reduce((n, m) => n + Number(m[1]), 0);
    const full = about.filter((l) => l.startsWith('protocol error from'));
    // Every bad connection is accounted for: logged in full once per period, or counted.
    expect(full.length + counted).toBe(300);
    expect(about.length).toBeLessThan(30);
  });
});
