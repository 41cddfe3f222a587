/**
 * Honest restarts: a client can tell that the server it reaches is not the process that gave it
 * its session (the instance id, protocol version 2), and says so; version-1 clients see what
 * they always saw.
 */
import { randomBytes } from 'node:crypto';
import type { SeqServer } from '../transport/server/server';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { encodeFrame } from '../transport/protocol/framer';
import { RawClient } from './helpers/raw-client';
import { nextEvent, startClient, startServer, waitFor } from './helpers/net';

const servers: SeqServer[] = [];
const clients: RawClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) await s.close();
});

async function server(over: Parameters<typeof startServer>[0] = {}): Promise<SeqServer> {
  const s = await startServer(over);
  servers.push(s);
  return s;
}

async function raw(port: number): Promise<RawClient> {
  const c = await RawClient.connect(port);
  clients.push(c);
  return c;
}

async function rejection(c: RawClient) {
  const r = await c.next(MessageType.REJECT);
  return { code: RejectCode[r.code], reason: r.reason };
}

describe('the instance id', () => {
  it('is 8 random bytes per server process, sent in the WELCOME of a version-2 HELLO (53-byte body)', async () => {
    const a = await server();
    const b = await server();
    expect(a.instanceId).toMatch(/^[0-9a-f]{16}$/);
    expect(b.instanceId).not.toBe(a.instanceId);
    const c = await raw(a.port);
    c.hello(10, 2);
    const w = await c.next(MessageType.WELCOME);
    expect(c.bodies[0]).toHaveLength(53);
    expect(w.instanceId?.toString('hex')).toBe(a.instanceId);
  });

  it('a version-1 HELLO still gets the 45-byte WELCOME, without it', async () => {
    const a = await server();
    const c = await raw(a.port);
    c.hello(10, 1);
    const w = await c.next(MessageType.WELCOME);
    expect(c.bodies[0]).toHaveLength(45);
    expect(w.instanceId).toBeUndefined();
  });
});

describe('a server replaced by a new process on the same port', () => {
  it('the client ends with "the server restarted and did not keep session <id8>"', async () => {
    const a = await server({ intervalMs: 5 });
    const port = a.port;
    let received = 0;
    const client = startClient(port, 5000, { maxReconnects: 50, onNumber: (i) => (received = i + 1) });
    const [id] = await nextEvent<[string]>(a, 'session');
    await waitFor(() => received >= 5, 'a few numbers');
    await a.close();
    servers.splice(servers.indexOf(a), 1);
    const b = await server({ port });
    const result = await client.result;
    expect(result).toMatchObject({ ok: false, sessionId: id });
    expect(result.failure).toBe(`the server restarted and did not keep session ${id.slice(0, 8)}`);
    expect(b.sessionCount).toBe(0);
  });

  it('a version-1 client resuming there still gets UNKNOWN_SESSION, as before', async () => {
    const a = await server();
    const c = await raw(a.port);
    c.hello(1000, 1);
    const w = await c.next(MessageType.WELCOME);
    const port = a.port;
    await a.close();
    servers.splice(servers.indexOf(a), 1);
    await server({ port });
    const d = await raw(port);
    d.resume(w.sessionId, 0);
    expect(await rejection(d)).toEqual({ code: 'UNKNOWN_SESSION', reason: `session ${w.sessionId.toString('hex').slice(0, 8)} is unknown to this server` });
  });

  it('a version-2 RESUME with the old instance id: SERVER_RESTARTED; with this server\'s own id: UNKNOWN_SESSION', async () => {
    const b = await server();
    const id = randomBytes(16);
    const c = await raw(b.port);
    c.resume(id, 0, randomBytes(8));
    expect(await rejection(c)).toEqual({ code: 'SERVER_RESTARTED', reason: `the server restarted and did not keep session ${id.toString('hex').slice(0, 8)}` });
    const d = await raw(b.port);
    d.resume(id, 0, Buffer.from(b.instanceId, 'hex'));
    expect((await rejection(d)).code).toBe('UNKNOWN_SESSION');
  });

  it('a version-2 RESUME of a live session resumes it, and its WELCOME carries the instance id', async () => {
    const a = await server();
    const c = await raw(a.port);
    c.hello(1000, 2);
    const w = await c.next(MessageType.WELCOME);
    const suspended = nextEvent(a, 'suspended');
    c.close();
    await suspended;
    const d = await raw(a.port);
    d.resume(w.sessionId, 3, w.instanceId);
    const w2 = await d.next(MessageType.WELCOME);
    expect(d.bodies[0]).toHaveLength(53);
    expect(w2).toMatchObject({ startIndex: 3, instanceId: w.instanceId });
  });
});

describe('versions', () => {
  it('a RESUME of an unknown version and size is refused as UNSUPPORTED_VERSION, naming the versions spoken', async () => {
    const a = await server();
    const c = await raw(a.port);
    const body = Buffer.alloc(40);
    body[0] = MessageType.RESUME;
    body[1] = 3;
    c.raw(encodeFrame(body));
    expect(await rejection(c)).toEqual({ code: 'UNSUPPORTED_VERSION', reason: '1,2: protocol version 3 is not supported' });
  });

  it('a HELLO of version 0 too', async () => {
    const a = await server();
    const c = await raw(a.port);
    c.hello(10, 0);
    expect((await rejection(c)).code).toBe('UNSUPPORTED_VERSION');
  });
});
