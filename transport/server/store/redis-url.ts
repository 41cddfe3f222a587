/**
 * `redis://[user:pass@]host[:port][/db]` and `rediss://…` (TLS), checked before any connection
 * so a typo is a clear message at start, not a reconnect loop.
 */

export interface RedisTarget {
  readonly tls: boolean;
  readonly host: string;
  readonly port: number;
  readonly db: number;
  readonly username?: string;
  readonly password?: string;
  /** The URL without its credentials, for logs, errors and /metrics. */
  readonly safe: string;
}

export const DEFAULT_REDIS_PORT = 6379;

export function parseRedisUrl(text: string): RedisTarget {
  const bad = (why: string) => new Error(`store URL "${redact(text)}": ${why} (expected redis://[user:password@]host[:port][/db] or rediss://…)`);
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    // URL refuses a port out of range as a whole: say which part is wrong.
    const port = /^\w+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/]*):([^/]*)/.exec(text)?.[1];
    if (port !== undefined && port !== '' && !(/^\d+$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) throw bad(`port must be 1..65535, got ${port}`);
    throw bad('not a URL');
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw bad(`scheme must be redis: or rediss:, got ${u.protocol}`);
  if (!u.hostname) throw bad('no host');
  if (u.search || u.hash) throw bad('no query or fragment is understood');
  const port = u.port === '' ? DEFAULT_REDIS_PORT : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port must be 1..65535, got ${u.port}`);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,5}$/.test(path)) throw bad(`database must be a number, got "${path}"`);
  const db = path === '' ? 0 : Number(path);
  const tls = u.protocol === 'rediss:';
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  if (username && !password) throw bad('a user name needs a password (redis://user:password@host)');
  // An IPv6 literal comes bracketed from URL; the socket wants it bare.
  return { tls, host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port, db, username, password, safe: `${u.protocol}//${u.host}/${db}` };
}

/** The text with any `user:password@` taken out, for messages about a URL that did not parse. */
export function redact(text: string): string {
  return text.replace(/\/\/[^/@]*@/, '//***@');
}
