/**
 * The local inspector's web server: the page and its assets (all served from here, so it works
 * on a closed network), the statechart read from the machine, and a Server-Sent Events stream of
 * batched changes.
 *
 *   GET /                 the page        GET /app.js, /rows.js, /app.css   its assets
 *   GET /chart            the statechart (nodes and transitions) of the session machine
 *   GET /events           SSE: one full batch, then a batch of changes per flush; with a shared
 *                         store also `event: cluster` (the whole cluster's counts), every second
 *   GET /sessions/:key    one session's row and event history
 *   GET /summary          counts by state, the cluster's last read, events reduced, pages connected
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import type { AnyStateMachine } from 'xstate';
import { chartOf } from './statechart';
import type { InspectorHub } from './hub';
import { ClusterCountsPoller, type ClusterView, type ReadClusterCounts } from './cluster-counts';
import { countsByState } from './view-model';
import { assetPath, checkLocalRequest } from '../core/local-http';
import { listenOn } from '../core/ports';

/** Pages that may follow the stream at once; each costs a full batch when it connects. */
export const MAX_PAGES = 16;

const ASSETS: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/rows.js': 'rows.js',
  '/app.css': 'app.css',
};
const TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export interface InspectorServerOptions {
  title?: string;
  /** The shared store's counts by state (null: not shared), read while a page is open. */
  clusterCounts?: ReadClusterCounts;
  clusterPollMs?: number;
}

export class InspectorServer {
  private readonly server: http.Server;
  private readonly files = new Map<string, { type: string; body: Buffer }>();
  private readonly chartJson: string;
  private readonly streams = new Set<http.ServerResponse>();
  private keepAlive: NodeJS.Timeout | null = null;
  private readonly title: string;
  private readonly cluster: ClusterCountsPoller | null;

  constructor(
    private readonly hub: InspectorHub,
    machine: AnyStateMachine,
    opts: InspectorServerOptions = {},
  ) {
    this.title = opts.title ?? 'seqstream inspector';
    this.cluster = opts.clusterCounts ? new ClusterCountsPoller(opts.clusterCounts, (v) => this.publishCluster(v), opts.clusterPollMs) : null;
    for (const file of new Set(Object.values(ASSETS))) {
      this.files.set(file, { type: TYPES[file.split('.').pop()!], body: readFileSync(assetPath('inspector/assets', file)) });
    }
    this.chartJson = JSON.stringify({ title: this.title, chart: chartOf(machine) });
    this.server = http.createServer((req, res) => {
      try {
        this.route(req, res);
      } catch (err) {
        // A malformed request (bad URL, bad escape) is the client's problem, never a crash.
        if (!res.headersSent) this.send(res, 400, 'application/json', JSON.stringify({ error: (err as Error).message }));
        else res.destroy();
      }
    });
    this.server.on('clientError', (_e, socket: net.Socket) => socket.destroy());
  }

  private boundHost = '127.0.0.1';

  async listen(host: string, port: number): Promise<number> {
    this.boundHost = host;
    const bound = await listenOn(this.server, { host, port });
    // A comment line now and then keeps idle proxies and browsers from dropping the stream.
    this.keepAlive = setInterval(() => {
      for (const s of this.streams) s.write(': keep-alive\n\n');
    }, 15_000);
    this.keepAlive.unref();
    return bound;
  }

  get pages(): number {
    return this.streams.size;
  }

  /** True while the store's cluster counts are being read (a page is open). */
  get clusterPolling(): boolean {
    return this.cluster?.running ?? false;
  }

  close(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    this.cluster?.stop();
    for (const s of this.streams) s.end();
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private send(res: http.ServerResponse, status: number, type: string, body: string | Buffer): void {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(body);
  }

  private route(req: http.IncomingMessage, res: http.ServerResponse): void {
    const refused = checkLocalRequest(req, this.boundHost);
    if (refused) return this.send(res, 403, 'application/json', JSON.stringify({ error: refused }));
    const url = new URL(req.url ?? '/', 'http://inspector');
    if (req.method !== 'GET') return this.send(res, 405, 'application/json', JSON.stringify({ error: 'the inspector is read-only: GET only' }));
    const asset = ASSETS[url.pathname];
    if (asset) {
      const f = this.files.get(asset)!;
      return this.send(res, 200, f.type, f.body);
    }
    if (url.pathname === '/favicon.ico') {
      res.writeHead(204);
      res.end();
      return;
    }
    if (url.pathname === '/chart') return this.send(res, 200, 'application/json', this.chartJson);
    if (url.pathname === '/summary') {
      return this.send(res, 200, 'application/json', JSON.stringify({ counts: countsByState(this.hub.vm), cluster: this.cluster?.last ?? null, events: this.hub.events, pages: this.streams.size }));
    }
    if (url.pathname === '/events') return this.stream(req, res);
    const m = /^\/sessions\/(.+)$/.exec(url.pathname);
    if (m) {
      const found = this.hub.history(decodeURIComponent(m[1]));
      if (!found) return this.send(res, 404, 'application/json', JSON.stringify({ error: `no session ${m[1]} in view` }));
      return this.send(res, 200, 'application/json', JSON.stringify(found));
    }
    this.send(res, 404, 'application/json', JSON.stringify({ error: `no route ${url.pathname}` }));
  }

  private stream(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (this.streams.size >= MAX_PAGES) {
      return this.send(res, 503, 'application/json', JSON.stringify({ error: `${MAX_PAGES} pages are following already; close one` }));
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    this.streams.add(res);
    // A page that does not keep up is not fed more while its socket is full; once it drains,
    // it gets every row again (changes it missed are in there), so nothing queues without bound.
    let behind = false;
    const unsubscribe = this.hub.subscribe((batch) => {
      if (res.writableNeedDrain) {
        behind = true;
        return;
      }
      res.write(`data: ${JSON.stringify(behind ? this.hub.full() : batch)}\n\n`);
      behind = false;
    });
    res.on('drain', () => {
      if (!behind) return;
      behind = false;
      res.write(`data: ${JSON.stringify(this.hub.full())}\n\n`);
    });
    if (this.cluster?.last) res.write(clusterEvent(this.cluster.last));
    this.cluster?.start();
    req.on('close', () => {
      unsubscribe();
      this.streams.delete(res);
      if (this.streams.size === 0) this.cluster?.stop();
    });
  }

  /** One small event per read to every page; a page that is behind gets the next one. */
  private publishCluster(view: ClusterView): void {
    const text = clusterEvent(view);
    for (const s of this.streams) if (!s.writableNeedDrain) s.write(text);
  }
}

function clusterEvent(view: ClusterView): string {
  return `event: cluster\ndata: ${JSON.stringify(view)}\n\n`;
}
