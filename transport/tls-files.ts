/**
 * TLS material, read from the files the flags name and checked once at start: a missing,
 * unreadable or malformed file, or a key that does not match its certificate, is refused with
 * the file's name, so the operator knows which flag to fix (and no connection ever finds out).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { ConfigError } from '../core/config';

/** What the server listens with. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Set: every client must present a certificate signed by this CA. */
  ca?: Buffer;
}

/** What the client connects with; its presence means "use TLS". */
export interface ClientTls {
  /** Trust only this CA (a private one); absent: the system's CAs. */
  ca?: Buffer;
  /** Presented when the server asks for a client certificate. */
  cert?: Buffer;
  key?: Buffer;
  /** Name the server's certificate must carry, also sent as SNI; absent: the host. */
  servername?: string;
}

export interface TlsPaths {
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
}

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a directory' : e.message;
    throw new ConfigError(`cannot read ${flag} ${path}: ${why}`);
  }
}

/** OpenSSL's text without its "error:0480006C:PEM routines::" prefix. */
function reason(err: unknown): string {
  const e = err as Error & { reason?: string };
  return e.reason ?? e.message.replace(/^error:[0-9A-F]+:[^:]*:[^:]*:/, '');
}

function check(flag: string, path: string, what: string, pem: Buffer, parse: (pem: Buffer) => unknown): void {
  try {
    parse(pem);
  } catch (err) {
    throw new ConfigError(`${flag} ${path} is not ${what}: ${reason(err)}`);
  }
}

function certAndKey(paths: TlsPaths): { cert: Buffer; key: Buffer } {
  const cert = read('--tls-cert', paths.tlsCert);
  const key = read('--tls-key', paths.tlsKey);
  check('--tls-cert', paths.tlsCert, 'a PEM certificate', cert, (pem) => new X509Certificate(pem));
  check('--tls-key', paths.tlsKey, 'a PEM private key', key, (pem) => createPrivateKey(pem));
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    throw new ConfigError(`--tls-key ${paths.tlsKey} does not go with --tls-cert ${paths.tlsCert}: ${reason(err)}`);
  }
  return { cert, key };
}

function caFile(path: string): Buffer {
  const ca = read('--tls-ca', path);
  check('--tls-ca', path, 'a PEM CA certificate', ca, (pem) => new X509Certificate(pem));
  return ca;
}

/** The server's TLS settings, or null for cleartext TCP. */
export function serverTls(paths: TlsPaths): ServerTls | null {
  if (!paths.tlsCert && !paths.tlsKey) {
    if (paths.tlsCa) throw new ConfigError('--tls-ca (client certificates) needs TLS: give --tls-cert and --tls-key too');
    return null;
  }
  if (!paths.tlsCert || !paths.tlsKey) throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  return { ...certAndKey(paths), ...(paths.tlsCa ? { ca: caFile(paths.tlsCa) } : {}) };
}

/** The client's TLS settings, or null for cleartext TCP. Any TLS flag implies --tls. */
export function clientTls(cfg: TlsPaths & { tls: boolean; tlsServername: string }): ClientTls | null {
  if (!cfg.tls && !cfg.tlsCa && !cfg.tlsCert && !cfg.tlsKey && !cfg.tlsServername) return null;
  if (Boolean(cfg.tlsCert) !== Boolean(cfg.tlsKey)) throw new ConfigError('--tls-cert and --tls-key go together: give both or neither');
  return {
    ...(cfg.tlsCa ? { ca: caFile(cfg.tlsCa) } : {}),
    ...(cfg.tlsCert ? certAndKey(cfg) : {}),
    ...(cfg.tlsServername ? { servername: cfg.tlsServername } : {}),
  };
}
