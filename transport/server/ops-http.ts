/**
 * A node's operations endpoint (`--metrics-port`): what Prometheus scrapes and what a load
 * balancer's health check asks.
 *
 *   GET /metrics   Prometheus text format (prom-client's content type)
 *   GET /ready     200 "ready", or 503 with the reason as plain text (draining, store unreachable)
 *
 * GET and HEAD only; anything else is 404 (path) or 405 (method).
 *
 * No Host check, unlike the inspector and the proxy's control API (core/local-http.ts): those
 * are for this machine only, whereas Prometheus and HAProxy reach a node from other hosts, by
 * whatever address or DNS name the operator gave them — no fixed set of names to accept — and
 * HAProxy's default `option httpchk` (HTTP/1.0) sends no Host header at all. What is served is
 * read-only aggregate counts, with no session id and nothing to control, so a web page that
 * DNS-rebinds a name to a node could at worst read those counts. The bind address
 * (`--metrics-host`, loopback by default) is what decides who can reach it.
 */
import http from 'node:http';
import type net from 'node:net';
import { listenOn } from '../../core/ports';

export interface OpsSources {
  /** The metrics in the text exposition format. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Null when ready, else why not (one line, shown to the load balancer's operator). */
  notReady(): string | null;
}

const TEXT = 'text/plain; charset=utf-8';

export class OpsHttpServer {
  private readonly server: http.Server;
  private address: { host: string; port: number } | null = null;

  constructor(private readonly sources: OpsSources) {
    this.server = http.createServer((req, res) => {
      this.route(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(req, res, 500, TEXT, `cannot collect the metrics: ${(err as Error).message}\n`);
        else res.destroy();
      });
    });
    this.server.on('clientError', (_e, socket: net.Socket) => socket.destroy());
  }

  async listen(host: string, port: number): Promise<number> {
    const bound = await listenOn(this.server, { host, port });
    this.address = { host, port: bound };
    return bound;
  }

  /** Where to scrape, for the log. */
  get url(): string {
    if (!this.address) throw new Error('not listening');
    const { host, port } = this.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private async route(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // Only the path matters; a query string (some scrapers add one) is ignored.
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/ready') return send(req, res, 404, TEXT, `no route ${path}: GET /metrics or /ready\n`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(req, res, 405, TEXT, 'GET or HEAD only\n');
    }
    if (path === '/ready') {
      const why = this.sources.notReady();
      return why === null ? send(req, res, 200, TEXT, 'ready\n') : send(req, res, 503, TEXT, `not ready: ${why}\n`);
    }
    const { contentType, body } = await this.sources.metrics();
    send(req, res, 200, contentType, body);
  }
}

function send(req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(req.method === 'HEAD' ? undefined : body);
}

/**
 * /ready's answer for a server: null while `ready`, else why not. The server says only whether;
 * the reason is read from its store (a shared store's `available` getter) or is the other case
 * that makes a node unready: it is draining (SIGTERM) or closed.
 */
export function notReadyReason(server: { readonly ready: boolean; readonly store: unknown }): string | null {
  if (server.ready) return null;
  const store = server.store as { available?: unknown; description?: unknown } | null;
  if (store && store.available === false) return `session store ${typeof store.description === 'string' ? `${store.description} ` : ''}unreachable`;
  return 'draining: not taking new sessions or resumes';
}
