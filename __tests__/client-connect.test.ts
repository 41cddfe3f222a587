/**
 * A client that never reached the server says so: "cannot connect", not "connection lost at
 * index 0", which is kept for a link that was established.
 */
import net from 'node:net';
import { runProgram } from './helpers/program';

/** A port nobody listens on: bound once to learn a free number, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

it('the client program against a closed port: cannot connect, retrying; then gives up with exit 1', async () => {
  const port = await closedPort();
  const run = await runProgram('client', [String(port), '10', '--max-reconnects', '2', '--max-backoff', '50ms', '--log-file', '']);
  expect(run.code).toBe(1);
  const lines = run.err.trim().split('\n');
  expect(lines).toEqual([
    `cannot connect to 127.0.0.1:${port} (ECONNREFUSED); retrying`,
    `cannot connect to 127.0.0.1:${port} (ECONNREFUSED), attempt 2; giving up`,
  ]);
  expect(run.err).not.toMatch(/connection lost/);
  expect(run.out).toBe(`FAILURE: gave up after 2 failed attempt(s); last: cannot connect to 127.0.0.1:${port} (ECONNREFUSED)\n`);
});
