/**
 * The proxy's HTTP control API: JSON in and out, loopback by default. Every route is a thin
 * wrapper over RelayProxy's fault model; a bad request gets a 4xx with a message and changes
 * nothing, and the relay keeps running whatever arrives here.
 *
 *   GET    /                  the route list (text)
 *   GET    /ui                a page showing connections and faults
 *   GET    /stats             totals: connections, bytes each way, faults injected by kind
 *   GET    /connections       every open connection with its stats
 *   GET    /connections/:id   one connection
 *   DELETE /connections/:id   cut that connection (same as POST /faults {"kind":"cut","target":id})
 *   GET    /faults            active (lasting) faults
 *   POST   /faults            add a fault: {"kind":"latency","latencyMs":200,"durationMs":5000,...}
 *   DELETE /faults/:id        lift one fault
 *   DELETE /faults            lift them all
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { FaultError } from './faults';
import { assetPath, checkLocalRequest } from '../core/local-http';
import { listenOn } from '../core/ports';
import type { RelayProxy } from './proxy';

/** A control request body is a small JSON object; anything bigger is refused before it is read. */
export const MAX_CONTROL_BODY = 16 * 1024;

/** The page that shows connections and faults, from the inspector's assets (served, never fetched). */
let pageCache: Buffer | null = null;
function proxyPage(): Buffer {
  return (pageCache ??= readFileSync(assetPath('proxy', 'proxy.html')));
}

export const CONTROL_ROUTES = `GET    /ui                a page with the connections and active faults, refreshed every second
GET    /stats             totals: connections, bytes each way, faults injected by kind
GET    /connections       open connections with bytes each way, age, faults applied
GET    /connections/:id   one connection
DELETE /connections/:id   cut that connection
GET    /faults            active faults
POST   /faults            add a fault (JSON: kind, target, direction, durationMs, and the kind's parameters)
DELETE /faults/:id        lift one fault
DELETE /faults            lift every fault`;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2) + '\n';
  res.writeHead(status, {
    'content-type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
    'content-length': Buffer.byteLength(text),
    ...(status === 413 ? { connection: 'close' } : {}),
  });
  res.end(text);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // A form or a plain-text POST is what another web page can send without asking: requiring
    // JSON makes a browser ask first (CORS preflight), which this API never grants.
    const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') return reject(new HttpError(415, 'send the fault as JSON, with Content-Type: application/json'));
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_CONTROL_BODY) return reject(new HttpError(413, `request body over ${MAX_CONTROL_BODY} bytes`));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_CONTROL_BODY) {
        // Stop keeping it; the 413 goes out with "Connection: close" and the socket goes after it.
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, `request body over ${MAX_CONTROL_BODY} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.trim() === '' ? {} : JSON.parse(text));
      } catch {
        reject(new HttpError(400, 'the body is not valid JSON'));
      }
    });
    req.on('error', reject);
  });
}

function idFrom(text: string, what: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new HttpError(400, `${what} id must be a whole number, got "${text}"`);
  return Number(text);
}

async function route(proxy: RelayProxy, req: http.IncomingMessage, res: http.ServerResponse, boundHost: string): Promise<void> {
  const refused = checkLocalRequest(req, boundHost);
  if (refused) throw new HttpError(403, refused);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', 'http://control');
  } catch {
    throw new HttpError(400, 'the request target is not a valid URL path');
  }
  const parts = url.pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';
  const allow = (methods: string[]) => {
    if (!methods.includes(method)) throw new HttpError(405, `${method} is not allowed on ${url.pathname}; use ${methods.join(' or ')}`);
  };
  if (parts.length === 0) {
    allow(['GET']);
    return send(res, 200, `seqstream proxy control API\n\n${CONTROL_ROUTES}\n`);
  }
  if (url.pathname === '/ui') {
    allow(['GET']);
    const page = proxyPage();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': page.length });
    return void res.end(page);
  }
  const [head, id, ...rest] = parts;
  if (rest.length > 0) throw new HttpError(404, `no route ${url.pathname}`);
  switch (head) {
    case 'stats':
      if (id !== undefined) break;
      allow(['GET']);
      return send(res, 200, proxy.stats());
    case 'connections': {
      if (id === undefined) {
        allow(['GET']);
        return send(res, 200, proxy.connections());
      }
      allow(['GET', 'DELETE']);
      const connId = idFrom(id, 'connection');
      if (method === 'DELETE') {
        const fault = proxy.addFault({ kind: 'cut', target: connId });
        return send(res, 200, { cut: connId, fault });
      }
      const stats = proxy.connection(connId);
      if (!stats) throw new HttpError(404, `no connection #${connId}`);
      return send(res, 200, stats);
    }
    case 'faults': {
      if (id === undefined) {
        allow(['GET', 'POST', 'DELETE']);
        if (method === 'GET') return send(res, 200, proxy.faults());
        if (method === 'DELETE') return send(res, 200, { removed: proxy.clearFaults() });
        const fault = proxy.addFault(await readJson(req));
        return send(res, 201, fault);
      }
      allow(['DELETE']);
      return send(res, 200, { removed: proxy.removeFault(idFrom(id, 'fault')) });
    }
    default:
      break;
  }
  throw new HttpError(404, `no route ${url.pathname} (GET / lists them)`);
}

export class ProxyControl {
  private readonly server: http.Server;
  private boundHost = '127.0.0.1';

  constructor(private readonly proxy: RelayProxy) {
    this.server = http.createServer((req, res) => {
      route(this.proxy, req, res, this.boundHost).catch((err: Error) => {
        const status = err instanceof HttpError ? err.status : err instanceof FaultError ? err.status : 500;
        if (!res.headersSent) send(res, status, { error: err.message });
        else res.destroy();
      });
    });
    // A broken control client is its own problem; it must not take the relay down.
    this.server.on('clientError', (_err, socket: net.Socket) => socket.destroy());
  }

  listen(host: string, port: number): Promise<number> {
    this.boundHost = host;
    return listenOn(this.server, { host, port });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
