/**
 * The client's socket for one connection: cleartext TCP, or TLS verified against the system's
 * CAs or a private one. Also tells which TLS failures are final: retrying cannot fix a
 * certificate we do not trust, a server that does not speak TLS, or a server that refuses our
 * (missing) client certificate — those are configuration (or an attacker on the path), and a
 * client that retried them forever would only hide the reason behind a spinner.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { ClientTls } from '../tls-files';

export interface ClientSocket {
  socket: net.Socket;
  /** The event after which frames may be written: the TCP connect, or the verified handshake. */
  ready: 'connect' | 'secureConnect';
}

export function openSocket(host: string, port: number, tlsOpts: ClientTls | null | undefined): ClientSocket {
  if (!tlsOpts) return { socket: net.connect({ host, port }), ready: 'connect' };
  // The name to verify: --tls-servername, else the host. It also goes out as SNI, except an
  // IP address (RFC 6066 allows names only), which Node still checks against the IP SANs.
  const name = tlsOpts.servername ?? host;
  const socket = tls.connect({
    host,
    port,
    ...(net.isIP(name) ? { checkServerIdentity: (_host: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(name, cert) } : { servername: name }),
    ca: tlsOpts.ca,
    cert: tlsOpts.cert,
    key: tlsOpts.key,
    minVersion: 'TLSv1.2',
    rejectUnauthorized: true,
  });
  return { socket, ready: 'secureConnect' };
}

/** A handshake alert from the server about our certificate (or its absence). */
const CLIENT_CERT_REFUSED = /^ERR_SSL_.*ALERT_(CERTIFICATE_REQUIRED|UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|UNSUPPORTED_CERTIFICATE|ACCESS_DENIED)$/;
/** What OpenSSL says when the bytes that came back are not TLS records. */
const NOT_TLS = /^ERR_SSL_(WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER_FAILURE|UNKNOWN_PROTOCOL)$/;

/** The reason to stop for good after this socket error, or null when a retry may help. */
export function finalTlsFailure(err: NodeJS.ErrnoException, socket: net.Socket, where: string): string | null {
  if (!(socket instanceof tls.TLSSocket)) return null;
  const code = err.code ?? '';
  // Set by Node only when the handshake finished and verification failed (it then destroys).
  if (socket.authorizationError) {
    return `the server's certificate is not trusted: ${err.message} (${socket.authorizationError}); check --tls-ca / --tls-servername`;
  }
  if (CLIENT_CERT_REFUSED.test(code)) {
    return `the server at ${where} refused our TLS handshake (${reasonOf(err)}): it requires a client certificate it trusts; check --tls-cert / --tls-key`;
  }
  if (NOT_TLS.test(code)) {
    return `the server at ${where} does not speak TLS (${reasonOf(err)}): drop --tls, or start the server with --tls-cert / --tls-key`;
  }
  return null;
}

function reasonOf(err: NodeJS.ErrnoException & { reason?: string }): string {
  return err.reason ?? err.code ?? err.message;
}
