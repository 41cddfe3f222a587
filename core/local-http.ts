/**
 * The rule for the HTTP servers that only this machine should drive (the proxy's control API,
 * the inspector page): a request must name a host no one else can point at this machine, and
 * come from no foreign page. Another web site open in the user's browser can then neither send
 * faults nor read sessions, not even by DNS rebinding a name of its own to 127.0.0.1.
 *
 * Names are matched exactly, never by prefix or by "repairing" them: 127.0.0.1.attacker.example
 * starts like a loopback address but is the attacker's name to resolve.
 */
import { existsSync } from 'node:fs';
import type http from 'node:http';
import net from 'node:net';
import path from 'node:path';

/** As they appear in a Host header or a URL's hostname: IPv6 in brackets. */
const LOOPBACK_NAMES = new Set(['localhost', '[::1]']);
const WILDCARDS = new Set(['', '0.0.0.0', '::', '[::]']);

/** An address as a Host header or URL hostname names it: IPv6 bracketed, lowercase. */
function asHostName(address: string): string {
  const a = address.toLowerCase();
  return net.isIPv6(a) ? `[${a}]` : a;
}

/** An IP literal as it may stand in a Host header: a real dotted quad, or bracketed IPv6. */
function isIpLiteral(name: string): boolean {
  return net.isIPv4(name) || (name.startsWith('[') && name.endsWith(']') && net.isIPv6(name.slice(1, -1)));
}

/**
 * Loopback, and only as written: localhost, [::1], or a dotted quad in 127/8 (all of it is
 * loopback, and a literal involves no DNS, so it cannot be rebound). Shorthands that only
 * inet_aton reads (127.1, 0x7f.0.0.1, 2130706433) are refused: browsers never send them.
 */
export function isLoopback(name: string): boolean {
  const n = name.toLowerCase();
  return LOOPBACK_NAMES.has(n) || (net.isIPv4(n) && n.startsWith('127.'));
}

/**
 * May a request name this host (no port), the server being bound to `boundHost`? Loopback, the
 * exact bind address, and, on a wildcard bind (no single name to expect), any IP literal: only
 * a DNS name can be rebound, and only this server answers on its own addresses.
 */
export function isOwnName(name: string, boundHost: string): boolean {
  const n = name.toLowerCase();
  if (n === '') return false;
  if (isLoopback(n) || n === asHostName(boundHost)) return true;
  return WILDCARDS.has(boundHost) && isIpLiteral(n);
}

/** The name in a Host header ("name", "name:port", "[v6]", "[v6]:port"); null if malformed. */
export function hostHeaderName(value: string): string | null {
  const m = /^(\[[^\]]*\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(value);
  return m ? m[1] : null;
}

/** Why the request is refused, or null when it may go on. */
export function checkLocalRequest(req: http.IncomingMessage, boundHost: string): string | null {
  const hostHeader = String(req.headers.host ?? '');
  const name = hostHeaderName(hostHeader);
  if (name === null || !isOwnName(name, boundHost)) return `Host ${JSON.stringify(hostHeader)} is not this machine; use http://127.0.0.1:<port>/`;
  const origin = req.headers.origin;
  // "null" (file: pages, sandboxed frames) is a cross-origin caller: it cannot read an answer,
  // and JSON or DELETE needs a preflight these servers never grant; forms get 415.
  if (origin !== undefined && origin !== 'null') {
    let originHost = '';
    try {
      originHost = new URL(origin).hostname;
    } catch {
      return `Origin ${JSON.stringify(origin)} is not a URL`;
    }
    if (!isOwnName(originHost, boundHost)) return `requests from pages of ${JSON.stringify(origin)} are refused`;
  }
  return null;
}

/**
 * Path of a page asset, `folder` relative to the repository (`inspector/assets`, `proxy`). The
 * assets are not compiled, so from dist/ they are found beside the sources: ../../<folder> from
 * dist/core/, ../<folder> from core/ itself.
 */
export function assetPath(folder: string, file: string): string {
  for (const dir of [path.join(__dirname, '..', folder), path.join(__dirname, '..', '..', folder)]) {
    const full = path.join(dir, file);
    if (existsSync(full)) return full;
  }
  throw new Error(`page asset missing: ${folder}/${file}`);
}
