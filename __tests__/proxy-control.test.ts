/**
 * The proxy's HTTP control API over real HTTP: JSON in and out, the same fault model as the
 * keys and signals, 4xx with a message for every bad request, and the relay unharmed by them.
 */
import http from 'node:http';
import { RelayPair } from './helpers/relay-pair';
import { waitFor } from './helpers/net';
import { MAX_CONTROL_BODY, ProxyControl } from '../proxy/control';
import { HOST_CASES, ORIGIN_CASES } from './helpers/local-hosts';

let pair: RelayPair;
let control: ProxyControl;
let port: number;

beforeEach(async () => {
  pair = await RelayPair.start();
  control = new ProxyControl(pair.proxy);
  port = await control.listen('127.0.0.1', 0);
});
afterEach(async () => {
  await control.close();
  await pair.close();
});

interface Reply {
  status: number;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

function call(method: string, path: string, body?: string | Buffer, headers?: Record<string, string>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    // A forged Host goes out exactly as given, even empty (setHost: false keeps Node's own out).
    const setHost = !(headers && 'host' in headers);
    const req = http.request({ host: '127.0.0.1', port, method, path, setHost, headers: headers ?? (body !== undefined ? { 'content-type': 'application/json' } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let parsed: unknown = text;
        if ((res.headers['content-type'] ?? '').startsWith('application/json')) parsed = JSON.parse(text);
        resolve({ status: res.statusCode!, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('lists connections with their stats, and one by id', async () => {
  const e = await pair.open();
  e.client.write('hello');
  await waitFor(() => e.atServer().length === 5, 'the bytes');
  const list = await call('GET', '/connections');
  expect(list.status).toBe(200);
  expect(list.body).toHaveLength(1);
  expect(list.body[0]).toMatchObject({ id: e.connId, bytesUp: 5, bytesDown: 0, frozen: false });
  const one = await call('GET', `/connections/${e.connId}`);
  expect(one.body.id).toBe(e.connId);
});

test('adds, lists and removes faults; they act on the relay', async () => {
  const e = await pair.open();
  const added = await call('POST', '/faults', JSON.stringify({ kind: 'freeze', direction: 'up', durationMs: 60_000 }));
  expect(added.status).toBe(201);
  expect(added.body).toMatchObject({ kind: 'freeze', direction: 'up', target: 'all', durationMs: 60_000 });
  expect(pair.proxy.connection(e.connId)!.frozen).toBe(true);
  const listed = await call('GET', '/faults');
  expect(listed.body.map((f: { id: number }) => f.id)).toEqual([added.body.id]);
  e.client.write('held');
  const removed = await call('DELETE', `/faults/${added.body.id}`);
  expect(removed.status).toBe(200);
  await waitFor(() => e.atServer().toString() === 'held', 'the bytes after the fault is removed');
  expect((await call('GET', '/faults')).body).toEqual([]);
});

test('DELETE /connections/:id cuts that connection; DELETE /faults lifts all', async () => {
  const e = await pair.open();
  await call('POST', '/faults', JSON.stringify({ kind: 'latency', latencyMs: 10 }));
  await call('POST', '/faults', JSON.stringify({ kind: 'slicer', sliceBytes: 2 }));
  expect((await call('DELETE', '/faults')).body).toEqual({ removed: 2 });
  const cut = await call('DELETE', `/connections/${e.connId}`);
  expect(cut.status).toBe(200);
  await waitFor(() => e.clientEvents.includes('close'), 'the cut');
  const stats = await call('GET', '/stats');
  expect(stats.body).toMatchObject({ connections: 0, accepted: 1, injected: { latency: 1, slicer: 1, cut: 1 }, activeFaults: 0 });
});

test('every bad request gets a 4xx with a message, and the relay keeps running', async () => {
  const e = await pair.open();
  const cases: [string, string, string | undefined, number, RegExp][] = [
    ['POST', '/faults', JSON.stringify({ kind: 'explode' }), 400, /unknown fault kind/],
    ['POST', '/faults', JSON.stringify({ kind: 'freeze', durationMs: -1 }), 400, /durationMs must be in/],
    ['POST', '/faults', '{not json', 400, /not valid JSON/],
    ['POST', '/faults', JSON.stringify({ kind: 'freeze', target: 4242 }), 404, /no connection #4242/],
    ['DELETE', '/faults/77', undefined, 404, /no active fault #77/],
    ['DELETE', '/faults/abc', undefined, 400, /fault id must be a whole number/],
    ['GET', '/connections/999', undefined, 404, /no connection #999/],
    ['GET', '/nowhere', undefined, 404, /no route/],
    ['PUT', '/faults', '{}', 405, /PUT is not allowed/],
    ['POST', '/faults', Buffer.alloc(MAX_CONTROL_BODY + 1, 0x20).toString(), 413, /request body over/],
  ];
  for (const [method, path, body, status, message] of cases) {
    const r = await call(method, path, body);
    expect({ method, path, status: r.status }).toEqual({ method, path, status });
    expect(r.body.error).toMatch(message);
  }
  expect(pair.proxy.faults()).toEqual([]);
  e.client.write('alive');
  await waitFor(() => e.atServer().toString() === 'alive', 'the relay after the bad requests');
});

test('GET / lists the routes', async () => {
  const r = await call('GET', '/');
  expect(r.status).toBe(200);
  expect(r.body).toMatch(/POST   \/faults/);
});

describe('only this machine drives the proxy (found in review)', () => {
  const freeze = JSON.stringify({ kind: 'refuse', existing: 'cut' });

  test('a POST that is not JSON (what any web page may send without asking) is refused with 415', async () => {
    const r = await call('POST', '/faults', freeze, { 'content-type': 'text/plain' });
    expect(r.status).toBe(415);
    expect(r.body.error).toMatch(/application\/json/);
    expect(pair.proxy.faults()).toEqual([]);
  });

  test('a request from a foreign page (Origin) or for a foreign name (Host: DNS rebinding) gets 403', async () => {
    const fromPage = await call('POST', '/faults', freeze, { 'content-type': 'application/json', origin: 'http://evil.example' });
    expect(fromPage.status).toBe(403);
    const rebound = await call('GET', '/connections', undefined, { host: 'evil.example:49157' });
    expect(rebound.status).toBe(403);
    expect(pair.proxy.faults()).toEqual([]);
    const local = await call('GET', '/stats', undefined, { host: `localhost:${port}`, origin: `http://localhost:${port}` });
    expect(local.status).toBe(200);
  });

  // The guard used to accept any Host starting with "127.", so a page of 127.0.0.1.attacker.example,
  // rebound to this machine, could add faults and read connections. helpers/local-hosts.ts says
  // why each value is accepted or refused.
  const latency = JSON.stringify({ kind: 'latency', latencyMs: 1 });

  test.each(HOST_CASES)('POST /faults with Host "$value" → ok: $ok ($why)', async ({ value, ok }) => {
    const r = await call('POST', '/faults', latency, { 'content-type': 'application/json', host: value });
    expect(r.status).toBe(ok ? 201 : 403);
    expect(pair.proxy.faults()).toHaveLength(ok ? 1 : 0);
    const read = await call('GET', '/connections', undefined, { host: value });
    expect(read.status).toBe(ok ? 200 : 403);
    if (!ok) expect(read.body.error).toMatch(/is not this machine/);
  });

  test.each(ORIGIN_CASES)('POST /faults from Origin "$value" → ok: $ok ($why)', async ({ value, ok }) => {
    const r = await call('POST', '/faults', latency, { 'content-type': 'application/json', host: `127.0.0.1:${port}`, origin: value });
    expect(r.status).toBe(ok ? 201 : 403);
    expect(pair.proxy.faults()).toHaveLength(ok ? 1 : 0);
  });

  test('an oversized chunked body gets its 413 before the connection closes', async () => {
    const r = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/faults', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(MAX_CONTROL_BODY, 0x20));
      req.end(Buffer.alloc(4096, 0x20));
    });
    expect(r).toBe(413);
  });

  test('a request target that is not a URL path is a 400, not a crash', async () => {
    const r = await call('GET', 'http://[x/');
    expect(r.status).toBe(400);
    expect((await call('GET', '/stats')).status).toBe(200);
  });
});

describe('a bad fault body is a 400 naming what is wrong, never a 500 (issue 8, item 7)', () => {
  // Field names inherited from Object.prototype used to pass a `key in obj` check and then throw
  // a raw TypeError (500). Each body here must be refused with a 400 whose message names the
  // field, add no fault, pollute no prototype, and leave the relay carrying connections.
  const inherited = ['toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__', 'prototype'];
  const cases: [body: string, message: RegExp][] = [
    ...inherited.map((name): [string, RegExp] => [`{"kind":"freeze",${JSON.stringify(name)}:{"polluted":true}}`, new RegExp(`"${name}"`)]),
    ...inherited.map((name): [string, RegExp] => [`{"kind":"latency",${JSON.stringify(name)}:5}`, new RegExp(`"${name}"`)]),
    ...inherited.map((name): [string, RegExp] => [`{"kind":${JSON.stringify(name)}}`, /kind .*"/]),
    ['{"constructor":{"prototype":{"polluted":true}},"kind":"freeze"}', /"constructor"/],
    ['{"__proto__":{"kind":"freeze","polluted":true}}', /kind is missing/],
    ['{}', /kind is missing/],
    ['{"kind":null}', /kind/],
    ['{"kind":7}', /kind/],
    ['{"kind":["freeze"]}', /kind/],
    ['{"kind":"explode"}', /unknown fault kind "explode"/],
    ['{"kind":"freeze","latency":200}', /unknown field "latency"/],
    ['{"kind":"latency","latencyMs":"200"}', /latencyMs must be a whole number/],
    ['{"kind":"latency","latencyMs":1.5}', /latencyMs must be a whole number/],
    ['{"kind":"latency","latencyMs":600001}', /latencyMs must be in 0\.\.600000/],
    ['{"kind":"latency","jitterMs":-1}', /jitterMs must be in/],
    ['{"kind":"bandwidth","bytesPerSec":0}', /bytesPerSec must be in/],
    ['{"kind":"freeze","durationMs":1e400}', /durationMs must be a whole number, got Infinity/],
    ['{"kind":"freeze","durationMs":0}', /durationMs must be in/],
    ['{"kind":"freeze","latencyMs":10}', /latencyMs does not apply to freeze/],
    ['{"kind":"cut","durationMs":1000}', /durationMs/],
    ['{"kind":"freeze","target":"x"}', /target must be/],
    ['{"kind":"freeze","target":0}', /target must be/],
    ['{"kind":"freeze","target":1.5}', /target must be/],
    ['{"kind":"freeze","direction":"sideways"}', /direction must be/],
    ['{"kind":"freeze","existing":"cut"}', /"existing" applies to refuse only/],
    ['{"kind":"refuse","existing":"maybe"}', /existing must be/],
    ['[]', /a fault is a JSON object/],
    ['[{"kind":"freeze"}]', /a fault is a JSON object/],
    ['null', /a fault is a JSON object/],
    ['5', /a fault is a JSON object/],
    ['"freeze"', /a fault is a JSON object/],
    ['true', /a fault is a JSON object/],
  ];

  test.each(cases)('%s', async (body, message) => {
    const r = await call('POST', '/faults', body);
    expect({ status: r.status, error: r.body.error }).toEqual({ status: 400, error: expect.stringMatching(message) });
    expect(pair.proxy.faults()).toEqual([]);
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The relay still takes a new connection and carries bytes both ways.
    const e = await pair.open();
    e.client.write('up');
    e.server.write('down');
    await waitFor(() => e.atServer().toString() === 'up' && e.atClient().toString() === 'down', 'the relay after the bad body');
  });

  test('only the body\'s own fields count: a polluted Object.prototype cannot stand in for one', async () => {
    // Were some other library to pollute the prototype, a body without "kind" must still be
    // refused rather than read as whatever "kind" the prototype now carries.
    const proto = Object.prototype as Record<string, unknown>;
    proto.kind = 'cut';
    try {
      const r = await call('POST', '/faults', '{}');
      expect({ status: r.status, error: r.body.error }).toEqual({ status: 400, error: expect.stringMatching(/kind is missing/) });
    } finally {
      delete proto.kind;
    }
    expect(pair.proxy.stats().injected).toEqual({});
  });
});
