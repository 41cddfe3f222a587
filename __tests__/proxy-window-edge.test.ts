/**
 * The reconnect window's edge, through the real proxy: an outage just under the window ends in
 * a resume at the exact next index; one just over ends in a clear SESSION_EXPIRED rejection,
 * which the client treats as final. "Just" is a margin of a third of the window, far above
 * timer noise, so the outcome is deterministic.
 *
 * Two outages: refuse + cut (the server sees the close at once, so the window starts at the
 * fault) and freeze (the link goes silent; the window starts when the heartbeat timeout fires).
 */
import { RelayProxy } from '../proxy/proxy';
import type { SeqServer } from '../transport/server/server';
import { startClient, startServer, waitFor, FAST, storedSessions } from './helpers/net';

const WINDOW = 1500;
const MARGIN = 500;
const LENGTH = 300;

let server: SeqServer;
let proxy: RelayProxy;
beforeEach(async () => {
  server = await startServer({ reconnectWindowMs: WINDOW });
  proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: server.port });
  await proxy.listen();
});
afterEach(async () => {
  await proxy.close();
  await server.close();
});

async function outage(fault: Record<string, unknown>) {
  const received: number[] = [];
  const resumedAt: number[] = [];
  const c = startClient(proxy.port, LENGTH, { onNumber: (i) => received.push(i), onResume: (i) => resumedAt.push(i) });
  await waitFor(() => received.length >= 20, 'the first numbers');
  proxy.addFault(fault);
  const result = await c.result;
  return { result, received, resumedAt };
}

describe.each([
  ['refuse + cut', (d: number) => ({ kind: 'refuse', existing: 'cut', durationMs: d })],
  ['freeze', (d: number) => ({ kind: 'freeze', durationMs: d })],
])('%s', (_name, fault) => {
  test(`lasting the window minus ${MARGIN} ms: the session resumes at the exact next index`, async () => {
    const { result, received, resumedAt } = await outage(fault(WINDOW - MARGIN));
    expect(result.failure).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.reconnects).toBeGreaterThanOrEqual(1);
    expect(received).toEqual(Array.from({ length: LENGTH }, (_, i) => i));
    expect(resumedAt.length).toBeGreaterThanOrEqual(1);
    await waitFor(() => storedSessions(server) === 0, 'the completed session to be discarded');
  });

  test(`lasting the window plus ${MARGIN} ms: a clear "expired" rejection, final`, async () => {
    const { result, received } = await outage(fault(WINDOW + MARGIN + FAST.heartbeatTimeoutMs));
    expect(result.ok).toBe(false);
    expect(result.failure).toMatch(/expired/i);
    expect(result.failure).toMatch(/reconnect window/);
    expect(received.length).toBeLessThan(LENGTH);
    expect(storedSessions(server)).toBe(0);
  });
});
