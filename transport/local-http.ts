/**
 * The rule for the HTTP servers that only this machine should drive (the proxy's control API,
 * the inspector page): on a loopback listener, a request must name a loopback host and come
 * from no foreign page. Another web site open in the user's browser can then neither send
 * faults nor read sessions, not even by DNS rebinding a name of its own to 127.0.0.1.
 */
import type http from 'node:http';

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
