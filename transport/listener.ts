/**
 * The server's listening socket: cleartext TCP, or TLS with the same framing inside. Either way
 * the server gets a net.Socket (a TLSSocket is one) once it can carry frames: at once for TCP,
 * after a completed handshake for TLS. Everything before that — a peer that sends nothing,
 * garbage, a failed or slow handshake, a cleartext client at the TLS port — is dealt with here,
 * bounded in time, logged once per connection, and never reaches the listener's 'error'.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../core/logger';
import { MessageType, RejectCode, TLS_HANDSHAKE_RECORD } from './constants';
import { encode } from './codec';
import type { ServerTls } from './tls-files';

export interface ListenerOptions {
  /** Absent: cleartext TCP. */
  tls?: ServerTls | null;
  /** Bound on each phase before the first frame: the first byte, then the TLS handshake. */
  handshakeTimeoutMs: number;
  log: Logger;
}

export interface Listener {
  readonly server: net.Server;
  /** Connections accepted but not yet handed over (TLS not started or not finished). */
  readonly pending: number;
  /** Destroys every socket still in the TLS phase: they would hold server.close() open. */
  destroyPending(): void;
}

/** How long a cleartext peer at the TLS port gets to read our REJECT. */
const REFUSE_GRACE_MS = 1000;

export function createListener(opts: ListenerOptions, onSocket: (socket: net.Socket) => void): Listener {
  // Keyed by the TCP 4-tuple, which the TLSSocket shares with the raw socket it wraps.
  const pending = new Map<string, net.Socket>();
  if (!opts.tls) {
    return { server: net.createServer(onSocket), pending: 0, destroyPending: () => {} };
  }
  const { log, handshakeTimeoutMs } = opts;
  const clientCa = opts.tls.ca;
  const secure = tls.createServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    minVersion: 'TLSv1.2',
    // Node's default is 120 s; a peer that never finishes must hold nothing for long.
    handshakeTimeout: handshakeTimeoutMs,
  });
  secure.on('secureConnection', (socket: tls.TLSSocket) => {
    pending.delete(tupleOf(socket));
    onSocket(socket);
  });
  secure.on('tlsClientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: tls.TLSSocket) => {
    const why = err.code === 'ECONNRESET' ? 'the peer closed the connection (a client that does not trust our certificate does that)' : `${err.reason ?? err.message} (${err.code ?? 'no code'})`;
    log.warn(`TLS handshake failed from ${peerOf(socket)}: ${why}`);
    // Node leaves the socket open after a handshake timeout; it must not linger.
    socket.destroy();
  });

  // The front door reads one byte before TLS sees the connection: a cleartext seqstream client
  // (frames start with 0x00) gets a REJECT it can read and show, instead of a silent close.
  const server = net.createServer((raw) => {
    const tuple = tupleOf(raw);
    pending.set(tuple, raw);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    raw.on('error', () => {
      /* a reset before or during the handshake is routine; 'close' cleans up */
    });
    raw.on('close', () => {
      if (pending.get(tuple) === raw) pending.delete(tuple);
    });
    const timer = setTimeout(() => {
      log.warn(`TLS handshake failed from ${peer}: nothing received within ${handshakeTimeoutMs} ms`);
      raw.destroy();
    }, handshakeTimeoutMs);
    raw.once('close', () => clearTimeout(timer));
    raw.once('data', (first: Buffer) => {
      clearTimeout(timer);
      raw.pause();
      if (first[0] === 0) return refuseCleartext(raw, peer);
      // TLS reads what is already buffered before it reads the socket (Node's initRead).
      raw.unshift(first);
      secure.emit('connection', raw);
    });
  });

  const refuseCleartext = (raw: net.Socket, peer: string) => {
    log.warn(`cleartext connection from ${peer} to the TLS port: refused`);
    raw.end(encode({ type: MessageType.REJECT, code: RejectCode.PROTOCOL_ERROR, reason: 'this server speaks TLS only: connect with --tls' }));
    setTimeout(() => raw.destroy(), REFUSE_GRACE_MS).unref();
  };

  return {
    server,
    get pending() {
      return pending.size;
    },
    destroyPending: () => {
      for (const raw of pending.values()) raw.destroy();
    },
  };
}

function tupleOf(s: net.Socket): string {
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

function peerOf(socket: tls.TLSSocket): string {
  // A socket the peer has closed has lost its address with its handle; the TCP socket it wraps
  // (Node's `_parent`) cached it when the front door read it.
  const s = socket.remoteAddress ? socket : (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
  return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'a peer that has gone';
}
