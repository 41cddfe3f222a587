/**
 * The rule for the HTTP servers that only this machine should drive (the proxy's control API,
 * the inspector page): on a loopback listener, a request must name a loopback host and come
 * from no foreign page. Another web site open in the user's browser can then neither send
 * faults nor read sessions, not even by DNS rebinding a name of its own to 127.0.0.1.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import type net from 'node:net';
import path from 'node:path';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.');
}

/** Why the request is refused, or null when it may go on. */
export function checkLocalRequest(req: http.IncomingMessage, boundHost: string): string | null {
  if (!isLoopback(boundHost)) return null;
  const hostHeader = String(req.headers.host ?? '');
  const name = hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0];
  if (!isLoopback(name)) return `Host "${hostHeader}" is not this machine; use http://127.0.0.1:<port>/`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null') {
    let originHost = '';
    try {
      originHost = new URL(origin).hostname;
    } catch {
      return `Origin "${origin}" is not a URL`;
    }
    if (!isLoopback(originHost)) return `requests from pages of ${origin} are refused`;
  }
  return null;
}

/** Listens and resolves with the port (0 picks one); a listen error rejects, later ones do not. */
export function listenLocal(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * Path of a page asset (inspector/assets). The assets are not compiled, so from dist/ they are
 * found beside the sources: ../../inspector/assets from dist/<layer>/, ../inspector/assets from
 * the sources themselves.
 */
export function assetPath(file: string): string {
  for (const dir of [path.join(__dirname, '..', 'inspector', 'assets'), path.join(__dirname, '..', '..', 'inspector', 'assets')]) {
    const full = path.join(dir, file);
    if (existsSync(full)) return full;
  }
  throw new Error(`page asset missing: inspector/assets/${file}`);
}
