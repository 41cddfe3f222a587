/**
 * A loopback port that was free a moment ago, for programs that must be told a port before they
 * start (their port flag takes 1..65535, not 0). Another process may take it in between: callers
 * that start a server on it treat EADDRINUSE as a reason to try again, not a bug.
 */
import net from 'node:net';

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
