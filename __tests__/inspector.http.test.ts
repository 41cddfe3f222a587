/**
 * The inspector's web server without a browser: routes, its event stream, and what it does with
 * requests it should not serve. It runs inside the seqstream server, so nothing here may crash it.
 */
import http from 'node:http';
import { SimulatedClock } from 'xstate';
import { sessionMachine } from '../machines/session.machine';
import { InspectorHub } from '../inspector/hub';
import { InspectorServer, MAX_PAGES } from '../inspector/http';
import { SessionRegistry } from '../transport/server/session-registry';
import { HOST_CASES, ORIGIN_CASES } from './helpers/local-hosts';
import { waitFor } from './helpers/net';

let hub: InspectorHub;
let server: InspectorServer;
let port: number;
let index = 0;
beforeEach(async () => {
  hub = new InspectorHub({ intervalMs: 1000, flushMs: 10, probeIndex: () => index });
  server = new InspectorServer(hub, sessionMachine);
  port = await server.listen('127.0.0.1', 0);
});
afterEach(async () => {
  hub.close();
  await server.close();
});

function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      // A forged Host goes out exactly as given, even empty (setHost: false keeps Node's own out).
      .get({ host: '127.0.0.1', port, path, headers, setHost: !('host' in headers) }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      })
      .on('error', reject);
  });
}

test('serves the page, its assets and the chart; the page references nothing outside this server', async () => {
  const page = await get('/');
  expect(page.status).toBe(200);
  for (const asset of ['/app.js', '/app.css']) expect((await get(asset)).status).toBe(200);
  const everything = page.body + (await get('/app.js')).body + (await get('/app.css')).body;
  // The SVG namespace is a name, not a download; nothing else may point outside.
  expect(everything.replace(/http:\/\/www\.w3\.org\/2000\/svg/g, '')).not.toMatch(/https?:\/\/|\/\/[a-z0-9.-]+\.[a-z]{2,}\//i);
  expect(JSON.parse((await get('/chart')).body).chart.root.children).toHaveLength(5);
});

test('bad requests get 4xx and the server goes on: bad escape, unknown session, wrong method, foreign Host', async () => {
  expect((await get('/sessions/%E0%A4%A')).status).toBe(400);
  expect((await get('/sessions/x%3A999')).status).toBe(404);
  expect((await get('/nowhere')).status).toBe(404);
  expect((await get('/', { host: 'rebound.example' })).status).toBe(403);
  const post = await new Promise<number>((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/' }, (res) => resolve(res.statusCode!));
    req.end();
  });
  expect(post).toBe(405);
  expect((await get('/summary')).status).toBe(200);
});

// The page lists every session; the guard used to let a page of 127.0.0.1.attacker.example,
// rebound to this machine, read it. helpers/local-hosts.ts says why each value is decided so.
describe('only this machine reads the inspector', () => {
  test.each(HOST_CASES)('Host "$value" → ok: $ok ($why)', async ({ value, ok }) => {
    for (const path of ['/summary', '/']) {
      const r = await get(path, { host: value });
      expect({ path, status: r.status }).toEqual({ path, status: ok ? 200 : 403 });
      if (!ok) expect(JSON.parse(r.body).error).toMatch(/is not this machine/);
    }
  });

  test.each(ORIGIN_CASES)('Origin "$value" → ok: $ok ($why)', async ({ value, ok }) => {
    expect((await get('/summary', { host: `localhost:${port}`, origin: value })).status).toBe(ok ? 200 : 403);
  });
});

test('the event stream: a full batch first, then batches of changes; pages beyond the cap get 503', async () => {
  const clock = new SimulatedClock();
  // A client never heard: the check the heartbeat timer makes is answered LINK_SILENT.
  const silent = sessionMachine.provide({ actions: { checkLiveness: ({ self }) => self.send({ type: 'LINK_SILENT' }) } });
  const registry = new SessionRegistry(silent, { clock, inspect: hub.inspect });
  registry.start({ id: 'a'.repeat(32), length: 10, nextIndex: 0, connectionId: 1, heartbeatTimeoutMs: 6000, reconnectWindowMs: 30_000 });
  const batches: { full: boolean; rows: { state: string; index: number }[] }[] = [];
  const pages: http.ClientRequest[] = [];
  const first = http.get({ host: '127.0.0.1', port, path: '/events' }, (res) => {
    let buf = '';
    res.on('data', (c: Buffer) => {
      buf += c.toString();
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, at);
        buf = buf.slice(at + 2);
        if (frame.startsWith('data: ')) batches.push(JSON.parse(frame.slice(6)));
      }
    });
  });
  pages.push(first);
  const deadline = Date.now() + 3000;
  while (batches.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(batches[0].full).toBe(true);
  expect(batches[0].rows.map((r) => r.state)).toEqual(['streaming']);
  // Suspended by the heartbeat timeout: the row takes the store's index, read at that moment.
  index = 7;
  clock.increment(6000);
  while (batches.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect(batches[1]).toMatchObject({ full: false, rows: [{ state: 'suspended', index: 7 }] });

  for (let k = 1; k < MAX_PAGES; k++) pages.push(http.get({ host: '127.0.0.1', port, path: '/events' }));
  while (server.pages < MAX_PAGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  expect((await get('/events')).status).toBe(503);
  for (const p of pages) p.destroy();
  registry.stopAll();
});

test("the cluster's counts: read from the store only while a page follows, a failed read is sent as the error", async () => {
  let reads = 0;
  let fail = false;
  const counts = { streaming: 2, suspended: 1, expired: 0, complete: 5 };
  const cluster = new InspectorServer(hub, sessionMachine, {
    clusterPollMs: 20,
    clusterCounts: async () => {
      reads++;
      if (fail) throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
      return counts;
    },
  });
  const cport = await cluster.listen('127.0.0.1', 0);
  try {
    // No page: the store is not read at all (three poll periods pass without a read).
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).toBe(0);
    const events: { counts: unknown; error?: string }[] = [];
    const req = http.get({ host: '127.0.0.1', port: cport, path: '/events' }, (res) => {
      let buf = '';
      res.on('data', (c) => {
        buf += c;
        for (let at = buf.indexOf('\n\n'); at >= 0; at = buf.indexOf('\n\n')) {
          const frame = buf.slice(0, at);
          buf = buf.slice(at + 2);
          if (frame.startsWith('event: cluster\n')) events.push(JSON.parse(frame.split('\ndata: ')[1]));
        }
      });
    });
    await waitFor(() => events.length >= 1, 'a cluster event');
    expect(events[0].counts).toEqual(counts);
    fail = true;
    await waitFor(() => events.some((e) => e.error !== undefined), 'the failed read on the page');
    expect(events.find((e) => e.error)).toEqual({ at: expect.any(Number), counts: null, error: 'connect ECONNREFUSED 127.0.0.1:6379' });
    req.destroy();
    await waitFor(() => cluster.pages === 0 && !cluster.clusterPolling, 'polling to stop with the last page');
    const after = reads; // and after the last page: three periods, no read
    await new Promise((r) => setTimeout(r, 60));
    expect(reads).toBe(after);
  } finally {
    await cluster.close();
  }
});
