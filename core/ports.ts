/**
 * Ports: listening and finding a free one.
 */
import net from 'node:net';

/**
 * Listens and resolves with the port (0 picks one). A listen error rejects; later errors are the
 * server's own business (its standing 'error' handler), so the one-shot handler is removed.
 */
export function listenOn(server: net.Server, options: net.ListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/**
 * A loopback port that was free a moment ago, for programs that must be told a port before they
 * start (their port flag takes 1..65535, not 0). Another process may take it in between: callers
 * that start a server on it treat EADDRINUSE as a reason to try again, not a bug.
 */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}
