/**
 * The load generator ramps at the pace the server accepts (bench/loadgen.ts): refused connects
 * are retried after the client's backoff while the ramp slows, and a size the server cannot take
 * in the ramp's time is reported with its reason instead of failing the whole benchmark.
 * Real sockets, a real seqstream server.
 */
import { generatorConfig } from '../bench/fleet';
import { LoadGenerator } from '../bench/loadgen';
import type { SeqServer } from '../transport/server/server';
import { RejectCode } from '../transport/protocol/constants';
import { FAST, freePort, startServer } from './helpers/net';

let server: SeqServer | null = null;
let gen: LoadGenerator | null = null;
afterEach(async () => {
  gen?.close();
  await server?.close();
  gen = server = null;
});

const config = (port: number, connections: number, rampDeadlineMs: number) => ({
  ...generatorConfig('127.0.0.1', port, connections, FAST.intervalMs, 300),
  heartbeatIntervalMs: FAST.heartbeatIntervalMs,
  rampDeadlineMs,
});

it('backs off while connects are refused and starts every session once the server listens', async () => {
  const port = await freePort();
  gen = new LoadGenerator(config(port, 30, 15_000));
  const opening = gen.open();
  // Nobody listens yet: the first attempts are refused. The server comes up a moment later.
  await new Promise((r) => setTimeout(r, 300));
  server = await startServer({ port });
  const outcome = await opening;
  expect(outcome).toMatchObject({ target: 30, welcomed: 30, shortfall: '' });
  expect(outcome.retried).toBeGreaterThan(0);
  expect(outcome.minRatePerSec).toBeLessThan(300);
  expect(outcome.rampPerSec).toBeGreaterThan(0);
  expect(gen.connected).toBe(30);
}, 20_000);

it('reports a size the server cannot take, with the reason, instead of failing', async () => {
  server = await startServer({ maxSessions: 10 });
  gen = new LoadGenerator(config(server.port, 15, 2000));
  const outcome = await gen.open();
  expect(outcome).toMatchObject({ target: 15, welcomed: 10 });
  expect(outcome.shortfall).toMatch(/^10\/15 sessions started in 2 s; failed attempts: REJECT SERVER_FULL ×\d+/);
}, 20_000);

it('counts the heartbeat timeouts and suspensions its sessions went through during the ramp', async () => {
  // Heartbeats far slower than the server's timeout: every welcomed session is timed out and
  // suspended, and RESUMEd; three sessions never fit (SERVER_FULL), so the ramp lasts its 1.5 s.
  server = await startServer({ maxSessions: 5 });
  const seenByServer: number[] = [];
  server.on('rejected', (code: RejectCode) => seenByServer.push(code));
  gen = new LoadGenerator({ ...config(server.port, 8, 1500), heartbeatIntervalMs: 10_000 });
  const outcome = await gen.open();
  const serverTimeouts = seenByServer.filter((c) => c === RejectCode.HEARTBEAT_TIMEOUT).length;
  expect(outcome.heartbeatTimeouts).toBeGreaterThan(0);
  // Each one the server sent (a last one may still be on its way when the ramp ends).
  expect(outcome.heartbeatTimeouts).toBeLessThanOrEqual(serverTimeouts);
  expect(outcome.resumedDuringRamp).toBeGreaterThanOrEqual(outcome.heartbeatTimeouts);
}, 20_000);
