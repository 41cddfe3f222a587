/// <reference lib="dom" />
/**
 * The live inspector in a real browser, driven by playwright-core. The browser comes from the npm
 * registry (`@sparticuz/chromium`, a Chromium headless shell inside the package), so `npm ci &&
 * npm test` needs nothing installed by hand; `CHROMIUM_PATH` points at another build instead.
 * A server with the inspector, three clients through the proxy, one of them cut: the page must
 * show that session go streaming → suspended (with a running countdown) → streaming → complete,
 * and the counts by state must follow. A screenshot is saved in test-artifacts/ (not committed).
 *
 * No browser is a failure, not a skip: CI must not pass without having run this.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { sessionMachine } from '../machines/session.machine';
import { InspectorHub } from '../inspector/hub';
import { InspectorServer } from '../inspector/http';
import { RelayProxy } from '../proxy/proxy';
import { ProxyControl } from '../proxy/control';
import type { SeqServer } from '../transport/server/server';
import { startRedis } from '../cluster/redis-process';
import { MessageType } from '../transport/protocol/constants';
import { openStore } from '../transport/server/store/open-store';
import { startClient, startServer, waitFor } from './helpers/net';
import { RawClient } from './helpers/raw-client';

const ARTIFACTS = path.join(__dirname, '..', 'test-artifacts');
// The flags the machine notes give for Chromium on this closed network. Not the package's own
// `chromium.args`: they are for Lambda, and their --single-process hangs Playwright at the second
// page (seen here); the package's binary is a headless shell, which needs nothing more.
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * The browser to drive: CHROMIUM_PATH when set, else the package's Chromium. Nothing else is
 * looked at (no system chromium), and every way of not having one throws.
 */
async function browserPath(): Promise<string> {
  const override = process.env.CHROMIUM_PATH;
  if (override) {
    if (!existsSync(override)) throw new Error(`CHROMIUM_PATH=${override}: no such file`);
    return override;
  }
  return unpackedChromium();
}

/**
 * The package ships Chromium brotli-compressed and unpacks it into os.tmpdir(), reusing any
 * `chromium` already there — which may be another version's, or another run's half-written one.
 * So it unpacks, in a child process whose TMPDIR is a fresh folder of ours (jest gives a test a
 * copy of process.env, which os.tmpdir() never reads), and that folder is renamed into place
 * per version once complete: later runs reuse it (~200 MB, ~1.5 s to unpack), concurrent runs
 * cannot see a partial one.
 */
async function unpackedChromium(): Promise<string> {
  const entry = require.resolve('@sparticuz/chromium');
  const pkgDir = path.join(path.dirname(entry), '..', '..');
  const version = (JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  const home = path.join(os.tmpdir(), `seqstream-chromium-${version}`);
  const binary = path.join(home, 'chromium');
  if (existsSync(binary)) return binary;
  const staging = mkdtempSync(`${home}.partial-`);
  try {
    const unpack = 'require(process.argv[1]).executablePath().then((p) => process.stdout.write(p))';
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', unpack, entry], { env: { ...process.env, TMPDIR: staging } });
    if (stdout !== path.join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${JSON.stringify(stdout)}, not into ${staging}`);
    renameSync(staging, home);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    // Another run got there first with a complete copy: use it.
    if (!existsSync(binary)) throw err;
  }
  return binary;
}

let browser: Browser;
let page: Page;
let server: SeqServer;
let proxy: RelayProxy;
let hub: InspectorHub;
let inspector: InspectorServer;
let url: string;
let control: ProxyControl;
let controlUrl: string;

beforeAll(async () => {
  const executablePath = await browserPath();
  hub = new InspectorHub({ intervalMs: 20, flushMs: 100, probeIndex: (id) => server?.nextIndexOf(id) });
  server = await startServer({ intervalMs: 20, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300, reconnectWindowMs: 5000, actors: { inspect: hub.inspect } });
  proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  await proxy.listen();
  control = new ProxyControl(proxy);
  controlUrl = `http://127.0.0.1:${await control.listen('127.0.0.1', 0)}/`;
  inspector = new InspectorServer(hub, sessionMachine);
  url = `http://127.0.0.1:${await inspector.listen('127.0.0.1', 0)}/`;
  browser = await chromium.launch({ executablePath, headless: true, args: ARGS });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await inspector?.close();
  await control?.close();
  hub?.close();
  await proxy?.close();
  await server?.close();
});

const countOf = (state: string) => page.locator(`#counts li[data-state="${state}"] .n`);
const rowOf = (shortId: string) => page.locator('#sessions tbody tr', { has: page.locator('td.id', { hasText: shortId }) });

test('a cut session goes streaming → suspended → streaming → complete on the page, counts follow, the countdown runs', async () => {
  await page.goto(url);
  await page.locator('#status[data-status="live"]').waitFor({ timeout: 10_000 });
  // The chart is drawn from the machine: every top-level state has a box with a count.
  for (const s of ['streaming', 'suspended', 'expired', 'complete']) await page.locator(`#chart g.state[data-state="${s}"]`).waitFor();

  // Client A alone first, so the proxy's only connection is A's.
  let idA = '';
  const a = startClient(proxy.port, 150, {
    heartbeatIntervalMs: 50,
    heartbeatTimeoutMs: 300,
    // A waits 1–2 s before reconnecting: long enough to watch its countdown.
    baseBackoffMs: 2000,
    maxBackoffMs: 2000,
    onResume: (_i, ctx) => (idA = ctx.sessionId ?? ''),
  });
  await waitFor(() => idA !== '' && proxy.connections().length === 1, 'client A to start');
  const connA = proxy.connections()[0].id;
  const others = [startClient(proxy.port, 100), startClient(proxy.port, 100)];
  const shortA = idA.slice(0, 8);

  await rowOf(shortA).locator('.state-badge', { hasText: 'streaming' }).waitFor({ timeout: 5000 });
  await page.waitForFunction(() => document.querySelector('#counts li[data-state="streaming"] .n')?.textContent === '3', undefined, { timeout: 5000 });

  proxy.addFault({ kind: 'cut', target: connA });
  await rowOf(shortA).locator('.state-badge', { hasText: 'suspended' }).waitFor({ timeout: 5000 });
  expect(await countOf('suspended').textContent()).toBe('1');
  const countdown = rowOf(shortA).locator('td.countdown');
  const first = parseFloat((await countdown.textContent()) ?? '');
  expect(first).toBeGreaterThan(3);
  expect(first).toBeLessThanOrEqual(5);
  await page.waitForFunction(
    ({ id, before }) => {
      const tr = Array.from(document.querySelectorAll('#sessions tbody tr')).find((r) => r.querySelector('td.id')?.textContent === id);
      const v = parseFloat(tr?.querySelector('td.countdown')?.textContent ?? '');
      return Number.isFinite(v) && v < before;
    },
    { id: shortA, before: first },
    { timeout: 3000 },
  );
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'inspector-suspended.png'), fullPage: true });

  await rowOf(shortA).locator('.state-badge', { hasText: 'streaming' }).waitFor({ timeout: 5000 });
  expect(await rowOf(shortA).locator('td.reconnects').textContent()).toBe('1');

  const results = await Promise.all([a.result, ...others.map((c) => c.result)]);
  expect(results.every((r) => r.ok)).toBe(true);
  await page.waitForFunction(() => document.querySelector('#counts li[data-state="complete"] .n')?.textContent === '3', undefined, { timeout: 5000 });
  expect(await countOf('streaming').textContent()).toBe('0');
  expect(await countOf('suspended').textContent()).toBe('0');
  expect(await page.locator('#chart [data-count="complete"]').textContent()).toBe('3');

  // The session's own history, in the order it happened.
  await rowOf(shortA).click();
  await page.locator('#detail:not([hidden]) #history li').first().waitFor();
  const path_ = await page.locator('#history li.state .text').allTextContents();
  const order = ['created → streaming', '→ suspended', 'suspended → streaming', '→ complete'];
  let at = -1;
  for (const step of order) {
    const found = path_.findIndex((s, i) => i > at && s.includes(step));
    expect({ step, found: found >= 0 }).toEqual({ step, found: true });
    at = found;
  }
  expect(await page.locator('#history li.event .text').allTextContents()).toEqual(expect.arrayContaining([expect.stringMatching(/DISCONNECTED/), expect.stringMatching(/RESUME at index \d+/)]));
  await page.screenshot({ path: path.join(ARTIFACTS, 'inspector-complete.png'), fullPage: true });

  // Filtering by state narrows the table.
  await page.fill('#filter', 'complete');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length === 3);
  await page.fill('#filter', 'suspended');
  await page.waitForFunction(() => document.querySelectorAll('#sessions tbody tr').length === 0);
}, 45_000);

test('the page loads nothing from outside the server (it must work offline)', async () => {
  const external: string[] = [];
  const p = await browser.newPage();
  p.on('request', (r) => {
    if (!r.url().startsWith(url)) external.push(r.url());
  });
  await p.goto(url);
  await p.locator('#status[data-status="live"]').waitFor({ timeout: 10_000 });
  await p.close();
  expect(external).toEqual([]);
});

test("the proxy's page shows its connections and active faults", async () => {
  const c = startClient(proxy.port, 100);
  await waitFor(() => proxy.connections().length === 1, 'a connection through the proxy');
  const fault = proxy.addFault({ kind: 'latency', latencyMs: 5, direction: 'down', durationMs: 10_000 });
  const p = await browser.newPage();
  await p.goto(controlUrl + 'ui');
  await p.locator('#faults tbody tr', { hasText: 'latency' }).waitFor({ timeout: 5000 });
  expect(await p.locator('#faults tbody tr td').nth(4).textContent()).toBe('latencyMs 5, jitterMs 0');
  await p.locator('#connections tbody tr', { hasText: 'latency×1' }).waitFor({ timeout: 5000 });
  proxy.removeFault(fault.id);
  await p.locator('#faults tbody tr').first().waitFor({ state: 'detached', timeout: 5000 });
  await p.close();
  expect((await c.result).ok).toBe(true);
}, 20_000);

test("two nodes sharing Redis: a session moves from node A's page to node B's, and both pages show the cluster's counts from the store", async () => {
  const redis = await startRedis();
  const stores = [await openStore(redis.url), await openStore(redis.url)];
  const nodes: { server: SeqServer; hub: InspectorHub; inspector: InspectorServer; page: Page }[] = [];
  const clients: RawClient[] = [];
  try {
    for (const store of stores) {
      let node: SeqServer | undefined;
      const hub = new InspectorHub({ intervalMs: 20, flushMs: 100, probeIndex: (id) => node?.nextIndexOf(id) });
      node = await startServer({ intervalMs: 20, heartbeatIntervalMs: 50, heartbeatTimeoutMs: 300, reconnectWindowMs: 5000, store, actors: { inspect: hub.inspect } });
      // What bin/server.ts gives the inspector: the store's counts when it is shared.
      const inspector = new InspectorServer(hub, sessionMachine, { clusterCounts: async () => (store.shared ? store.counts() : null) });
      const pageUrl = `http://127.0.0.1:${await inspector.listen('127.0.0.1', 0)}/`;
      const p = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      nodes.push({ server: node, hub, inspector, page: p });
      await p.goto(pageUrl);
      await p.locator('#status[data-status="live"]').waitFor({ timeout: 10_000 });
    }
    const [a, b] = nodes;
    const row = (p: Page, shortId: string) => p.locator('#sessions tbody tr', { has: p.locator('td.id', { hasText: shortId }) });
    /** Both pages' cluster strip reads these counts (others 0). */
    const clusterShows = async (want: Partial<Record<'streaming' | 'suspended' | 'expired' | 'complete', number>>) => {
      const expected = { streaming: 0, suspended: 0, expired: 0, complete: 0, ...want };
      for (const { page: p } of nodes) {
        await p.waitForFunction(
          (exp) => Object.entries(exp).every(([s, n]) => document.querySelector(`#cluster-counts li[data-state="${s}"] .n`)?.textContent === String(n)),
          expected,
          { timeout: 5000 },
        );
        expect(await p.locator('#cluster').isVisible()).toBe(true);
      }
    };

    // Started on A: A's page lists it; B's has no row but counts it in the cluster.
    const c1 = await RawClient.connect(a.server.port);
    clients.push(c1);
    c1.startHeartbeats(50);
    c1.hello(300, 2);
    const welcome = await c1.next(MessageType.WELCOME);
    const shortId = welcome.sessionId.toString('hex').slice(0, 8);
    await row(a.page, shortId).locator('.state-badge', { hasText: 'streaming' }).waitFor({ timeout: 5000 });
    await clusterShows({ streaming: 1 });
    expect(await row(b.page, shortId).count()).toBe(0);

    // Cut: suspended on A and in the store.
    await waitFor(() => c1.messages.filter((m) => m.type === MessageType.NUMBER).length >= 10, 'ten numbers from A');
    c1.close();
    await row(a.page, shortId).locator('.state-badge', { hasText: 'suspended' }).waitFor({ timeout: 5000 });
    await clusterShows({ suspended: 1 });
    const got = c1.messages.filter((m) => m.type === MessageType.NUMBER).length;

    // Resumed on B: B's page shows it streaming from where the client was, A's shows it handed over.
    const c2 = await RawClient.connect(b.server.port);
    clients.push(c2);
    c2.startHeartbeats(50);
    c2.resume(welcome.sessionId, got, welcome.instanceId);
    expect((await c2.next(MessageType.WELCOME)).startIndex).toBe(got);
    await row(b.page, shortId).locator('.state-badge', { hasText: 'streaming' }).waitFor({ timeout: 5000 });
    await row(a.page, shortId).locator('.state-badge', { hasText: 'handedOver' }).waitFor({ timeout: 5000 });
    await clusterShows({ streaming: 1 });
    mkdirSync(ARTIFACTS, { recursive: true });
    await a.page.screenshot({ path: path.join(ARTIFACTS, 'inspector-cluster-node-a.png'), fullPage: true });
    await b.page.screenshot({ path: path.join(ARTIFACTS, 'inspector-cluster-node-b.png'), fullPage: true });

    // Finished on B: complete on B's page and in the cluster's counts on both.
    await c2.next(MessageType.END, 'END', 10_000);
    c2.send({ type: MessageType.ACK, verdict: 0 });
    await row(b.page, shortId).locator('.state-badge', { hasText: 'complete' }).waitFor({ timeout: 5000 });
    await clusterShows({ complete: 1 });
    // The store is read only while a page is open.
    for (const n of nodes) await n.page.close();
    await waitFor(() => nodes.every((n) => n.inspector.pages === 0), 'both pages to go');
    expect(nodes.map((n) => n.inspector.clusterPolling)).toEqual([false, false]);
  } finally {
    for (const c of clients) c.close();
    for (const n of nodes) {
      await n.inspector.close();
      n.hub.close();
      await n.server.close();
    }
    for (const s of stores) await s.close();
    await redis.stop();
  }
}, 60_000);
