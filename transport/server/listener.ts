/**
 * The server's listening socket: cleartext TCP, or TLS with the same framing inside. Either way
 * the server gets a net.Socket (a TLSSocket is one) once it can carry frames: at once for TCP,
 * after a completed handshake for TLS. Everything before that — a peer that sends nothing,
 * garbage, a failed or slow handshake, a cleartext client at the TLS port, a client certificate
 * that is not trusted — is dealt with here,
 * bounded in time, logged once per connection, and never reaches the listener's 'error'.
 */
import net from 'node:net';
import tls from 'node:tls';
import { sourceKey } from './admission';
import { MessageType, RejectCode, TLS_HANDSHAKE_RECORD } from '../protocol/constants';
import { encode } from '../protocol/codec';
import { CLOSE_GRACE_MS } from './server-connection';
import type { ServerTls } from '../tls-files';

export interface ListenerOptions {
  /** Absent: cleartext TCP. */
  tls?: ServerTls | null;
  /** Bound on each phase before the first frame: the first byte, then the TLS handshake. */
  handshakeTimeoutMs: number;
  /** Per-connection warnings a peer can cause, with the peer's source (the server aggregates them). */
  warn: (kind: string, source: string, message: string) => void;
  /**
   * Asked for each TCP connection before TLS: false refuses it (closed at once: nothing can be
   * said to a TLS client before its handshake). Every admitted one is `released` exactly once,
   * when it is handed over or closes.
   */
  admit?: (raw: net.Socket) => boolean;
  released?: (raw: net.Socket) => void;
}

export interface Listener {
  readonly server: net.Server;
  /** Connections accepted but not handed over (TLS not started or not finished, or refused). */
  readonly pending: number;
  /** Destroys every socket not handed over: they would hold server.close() open. */
  destroyPending(): void;
}

/**
 * Tells a peer that never reaches the server why, then closes: the same REJECT frame and grace
 * as ServerConnection.reject, which cannot serve here: that needs a ServerConnection (an id,
 * limits, a message budget, the server's handlers, a place in the server's count), which a peer
 * refused at the door never becomes, and what it adds (its closing state, the peak-queue
 * witness, reading on for the FIN) is that connection's bookkeeping.
 */
function refuse(socket: net.Socket, code: RejectCode, reason: string): void {
  socket.end(encode({ type: MessageType.REJECT, code, reason }));
  setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
}

export function createListener(opts: ListenerOptions, onSocket: (socket: net.Socket) => void): Listener {
  // Keyed by the TCP 4-tuple, which the TLSSocket shares with the raw socket it wraps.
  const pending = new Map<string, net.Socket>();
  if (!opts.tls) {
    return { server: net.createServer(onSocket), pending: 0, destroyPending: () => {} };
  }
  const { handshakeTimeoutMs } = opts;
  const warn = (kind: string, s: net.Socket | undefined, message: string) => opts.warn(kind, sourceKey(s?.remoteAddress), message);
  /** Ends the pre-handshake phase of a raw socket once (handed over or closed). */
  const release = (tuple: string, raw: net.Socket) => {
    if (pending.get(tuple) !== raw) return;
    pending.delete(tuple);
    opts.released?.(raw);
  };
  const clientCa = opts.tls.ca;
  const secure = tls.createServer({
    cert: opts.tls.cert,
    key: opts.tls.key,
    // Node would drop a client whose certificate fails without a word (no alert, no reason);
    // the check is done below instead, so the client gets a REJECT it can show.
    ...(clientCa ? { ca: clientCa, requestCert: true, rejectUnauthorized: false } : {}),
    minVersion: 'TLSv1.2',
    // Node's default is 120 s; a peer that never finishes must hold nothing for long.
    handshakeTimeout: handshakeTimeoutMs,
  });
  secure.on('secureConnection', (socket: tls.TLSSocket) => {
    if (clientCa && !socket.authorized) {
      const presented = Object.keys(socket.getPeerCertificate()).length > 0;
      const why = presented ? `its certificate is not trusted (${socket.authorizationError})` : 'it presented no certificate';
      warn('client certificate refused', parentOf(socket), `client certificate refused from ${peerOf(socket)}: ${why}`);
      // Still pending (until it closes): a refused peer must not hold up server.close().
      return refuse(socket, RejectCode.BAD_REQUEST, `client certificate refused: ${why}; present one signed by this server's CA (--tls-cert, --tls-key)`);
    }
    const tuple = tupleOf(socket);
    const raw = pending.get(tuple);
    if (raw) release(tuple, raw);
    onSocket(socket);
  });
  secure.on('tlsClientError', (err: NodeJS.ErrnoException & { reason?: string }, socket: tls.TLSSocket) => {
    const why = err.code === 'ECONNRESET' ? 'the peer closed the connection (a client that does not trust our certificate does that)' : `${err.reason ?? err.message} (${err.code ?? 'no code'})`;
    warn('TLS handshake failed', parentOf(socket), `TLS handshake failed from ${peerOf(socket)}: ${why}`);
    // Node leaves the socket open after a handshake timeout; it must not linger.
    socket.destroy();
  });

  // The front door reads one byte before TLS sees the connection: a cleartext seqstream client
  // (frames start with 0x00) gets a REJECT it can read and show, instead of a silent close.
  const server = net.createServer((raw) => {
    if (opts.admit && !opts.admit(raw)) return void raw.destroy();
    const tuple = tupleOf(raw);
    pending.set(tuple, raw);
    const peer = `${raw.remoteAddress}:${raw.remotePort}`;
    raw.on('error', () => {
      /* a reset before or during the handshake is routine; 'close' cleans up */
    });
    raw.on('close', () => release(tuple, raw));
    const timer = setTimeout(() => {
      warn('TLS handshake failed', raw, `TLS handshake failed from ${peer}: nothing received within ${handshakeTimeoutMs} ms`);
      raw.destroy();
    }, handshakeTimeoutMs);
    raw.once('close', () => clearTimeout(timer));
    raw.once('data', (first: Buffer) => {
      clearTimeout(timer);
      raw.pause();
      if (first[0] === 0) {
        warn('cleartext connection to the TLS port', raw, `cleartext connection from ${peer} to the TLS port: refused`);
        return refuse(raw, RejectCode.PROTOCOL_ERROR, 'this server speaks TLS only: connect with --tls');
      }
      if (first[0] !== TLS_HANDSHAKE_RECORD) {
        warn('TLS handshake failed', raw, `TLS handshake failed from ${peer}: not a TLS handshake (first byte 0x${first[0].toString(16).padStart(2, '0')})`);
        return void raw.destroy();
      }
      // TLS reads what is already buffered before it reads the socket (Node's initRead).
      raw.unshift(first);
      secure.emit('connection', raw);
    });
  });

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
  const s = parentOf(socket);
  return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : 'a peer that has gone';
}

/**
 * The socket that still knows the peer's address: a TLSSocket the peer has closed lost it with
 * its handle; the TCP socket it wraps (Node's `_parent`) cached it when the front door read it.
 */
function parentOf(socket: tls.TLSSocket): net.Socket | undefined {
  return socket.remoteAddress ? socket : (socket as tls.TLSSocket & { _parent?: net.Socket })._parent;
}
