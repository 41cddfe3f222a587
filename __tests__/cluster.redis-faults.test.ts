/**
 * Redis faults over real processes: redis-server, HAProxy and 3 nodes (dist/bin/server.js).
 *
 * - Redis restarted mid-stream with AOF (fsync always): nothing lost, every client succeeds.
 * - Redis silent for a few seconds (SIGSTOP: still listening, connections open, nothing answered,
 *   as behind a partition — the harder case than a kill, whose refused connections fail at once;
 *   here only the nodes' command timeout tells them): attached sessions keep streaming; HELLO and
 *   RESUME straight to a node get REJECT UNAVAILABLE (resumable); /ready says 503; afterwards
 *   every node is ready again, every client succeeds, and each node logged the outage once and
 *   its end once, not once per session.
 */
import { sequenceChecksum, valueAt } from '../core/sequence';
import { MessageType, RejectCode, RESUMABLE_REJECTS } from '../transport/protocol/constants';
import type { Message } from '../transport/protocol/codec';
import { runLanes, startCluster, stopAllClients, tally, trackClient, TIMINGS, within, type Cluster } from './helpers/cluster';
import { waitFor, waitForAsync } from './helpers/net';
import { RawClient } from './helpers/raw-client';

let cluster: Cluster | null = null;
const raws: RawClient[] = [];

afterEach(async () => {
  stopAllClients();
  for (const r of raws.splice(0)) r.close();
  cluster?.redis.resume();
  await cluster?.stop();
  cluster = null;
});

async function raw(port: number): Promise<RawClient> {
  const r = await RawClient.connect(port);
  r.startHeartbeats(TIMINGS.heartbeatIntervalMs);
  raws.push(r);
  return r;
}

const numbers = (c: RawClient) =>
  c.messages.filter((m): m is Extract<Message, { type: MessageType.NUMBER }> => m.type === MessageType.NUMBER).map((m) => [m.index, m.value] as const);

/** Every session a client of the run named ended 'complete' in Redis. */
async function allComplete(c: Cluster, ids: readonly string[]): Promise<string[]> {
  const bad: string[] = [];
  for (const id of ids) {
    const s = await c.store.inspect(id);
    if (s !== 'complete') bad.push(`${id.slice(0, 8)}: ${typeof s === 'object' ? s.state : s}`);
  }
  return bad;
}

test('Redis restarted mid-stream (AOF on): nothing lost, every client succeeds, every session complete in Redis', async () => {
  const started = Date.now();
  const c = (cluster = await startCluster({ appendonly: true }));
  let going = true;
  const lanes = runLanes({ lanes: 40, port: c.haproxy.port, store: c.store, minLength: 150, maxLength: 250, keepGoing: () => going });
  await waitFor(() => lanes.clients.length >= 40 && lanes.clients.slice(0, 40).every((t) => t.seed !== undefined && t.calls >= 10), 'the first 40 clients streaming, their seeds read', 15_000);
  const restartedAt = Date.now();
  await c.redis.restart();
  // New sessions work again after it: a few clients created and welcomed since the restart.
  await waitFor(() => lanes.clients.filter((t) => t.events[0]?.kind === 'welcome' && t.events[0].at > restartedAt).length >= 5, 'new sessions after the restart', 15_000);
  going = false;
  const runs = await within(lanes.done, 20_000, 'the clients to finish', lanes.stopAll);
  const t = tally(runs);
  const summary = `${t.clients} sessions, ${t.verified} verified against their Redis seed, ${t.numbers} numbers checked, ${t.lost} lost, ${t.duplicated} duplicated, ${t.wrong} wrong, ${t.reconnects} reconnects; Redis restarted once; ${((Date.now() - started) / 1000).toFixed(1)} s`;
  process.stdout.write(summary + '\n');
  if (t.problems.length) throw new Error(`${summary}\n${t.problems.slice(0, 15).join('\n')}`);
  expect(t.verified).toBe(t.clients);
  expect(t.lost + t.duplicated + t.wrong).toBe(0);
  // Every completion written before or after the restart reached the AOF: all complete.
  const ids = runs.map(([tc]) => tc.sessionId!);
  let bad: string[] = [];
  await waitForAsync(async () => (bad = await allComplete(c, ids)).length === 0, `every session complete in Redis (not yet: ${bad.slice(0, 5).join(', ')})`, 10_000, 100);
}, 60_000);

test('Redis silent for a few seconds (SIGSTOP): streams go on, HELLO/RESUME refused UNAVAILABLE, /ready 503, one log line per outage, then all consistent', async () => {
  const started = Date.now();
  const c = (cluster = await startCluster());
  // A session of our own, cut before the outage: resumed during it (refused) and after (it continues).
  const r0 = await raw(c.nodes[0].port);
  r0.hello(60, 2);
  const w0 = await r0.next(MessageType.WELCOME);
  const id0 = w0.sessionId.toString('hex');
  await waitFor(() => numbers(r0).length >= 5, 'five numbers');
  r0.close();
  const got0 = numbers(r0);
  await waitForAsync(async () => (await c.store.inspect(id0)) !== undefined && ((await c.store.inspect(id0)) as { state?: string }).state === 'suspended', 'the cut session suspended in Redis');

  let going = true;
  // Long sessions (8 s or more): none ends during the outage, so only the refused handshakes
  // can tell a node that Redis is away, and only a node's own recovery can tell it it is back.
  const lanes = runLanes({ lanes: 30, port: c.haproxy.port, store: c.store, minLength: 400, maxLength: 450, keepGoing: () => going });
  await waitFor(() => lanes.clients.length === 30 && lanes.clients.every((t) => t.seed !== undefined && t.calls >= 5), 'every client streaming, its seed read', 15_000);
  const mark = c.lines.map((l) => l.length);
  const pausedAt = Date.now();
  c.redis.pause();
  const late: ReturnType<typeof trackClient>[] = [];
  try {
    for (const node of c.nodes) {
      const r = await raw(node.port);
      r.hello(10, 2);
      const reject = await r.next(MessageType.REJECT, `REJECT from ${node.name}`, 5000);
      expect(reject.code).toBe(RejectCode.UNAVAILABLE);
      expect(RESUMABLE_REJECTS.has(reject.code)).toBe(true);
    }
    const r1 = await raw(c.nodes[1].port);
    r1.resume(w0.sessionId, got0.length, w0.instanceId);
    expect((await r1.next(MessageType.REJECT, 'REJECT of the RESUME', 5000)).code).toBe(RejectCode.UNAVAILABLE);
    for (let i = 0; i < c.nodes.length; i++) expect(await c.ready(i)).toBe(503);
    // Clients arriving now through HAProxy: no session for them until Redis answers again.
    for (let i = 0; i < 5; i++) late.push(trackClient(1000 + i, c.haproxy.port, 50, c.store));
    // The attached sessions stream on: each gets half a second's numbers more while Redis is silent.
    const before = new Map(lanes.clients.map((t) => [t, t.calls]));
    await waitFor(() => [...before].every(([t, n]) => t.calls >= n + 25), 'every attached client to get 25 more numbers', 5000);
    expect(lanes.clients.every((t) => t.events.every((e) => e.kind === 'welcome'))).toBe(true);
    // The outage lasts 3 s in all (its length, not a wait for a state).
    await new Promise((r) => setTimeout(r, Math.max(0, pausedAt + 3000 - Date.now())));
    expect(late.every((t) => !t.welcomed || t.events.every((e) => e.kind === 'loss'))).toBe(true);
  } finally {
    c.redis.resume();
  }
  const resumedAt = Date.now();
  // Every node ready again soon, on its own: no session of theirs ends for seconds yet, and
  // HAProxy sends no client to a node it marked down, so nothing else would make one ask Redis.
  await waitForAsync(async () => (await Promise.all(c.nodes.map((_, i) => c.ready(i)))).every((s) => s === 200), 'every node ready again', 2000);
  expect(lanes.clients.every((t) => !t.finished)).toBe(true);
  const readyAfterMs = Date.now() - resumedAt;

  // The cut session resumes where it was, and completes.
  const r2 = await raw(c.nodes[2].port);
  r2.resume(w0.sessionId, got0.length, w0.instanceId);
  expect((await r2.next(MessageType.WELCOME)).startIndex).toBe(got0.length);
  const end = await r2.next(MessageType.END);
  const seed0 = { hi: w0.seedHi, lo: w0.seedLo };
  const all0 = [...got0, ...numbers(r2)];
  expect(all0.map(([i]) => i)).toEqual([...Array(60).keys()]);
  for (const [i, v] of all0) expect(v).toBe(valueAt(seed0, i));
  expect(end.checksum).toBe(sequenceChecksum(seed0, 60));
  r2.send({ type: MessageType.ACK, verdict: 0 });

  going = false;
  const runs = await within(Promise.all([lanes.done, Promise.all(late.map(async (t) => [t, await t.result] as const))]), 20_000, 'the clients to finish', () => {
    lanes.stopAll();
    late.forEach((t) => t.stop());
  });
  const all = [...runs[0], ...runs[1]];
  const t = tally(all);
  const summary = `${t.clients} sessions, ${t.verified} verified against their Redis seed, ${t.numbers} numbers checked, ${t.lost} lost, ${t.duplicated} duplicated, ${t.wrong} wrong; Redis silent 3 s; nodes ready ${readyAfterMs} ms after; ${((Date.now() - started) / 1000).toFixed(1)} s`;
  process.stdout.write(summary + '\n');
  if (t.problems.length) throw new Error(`${summary}\n${t.problems.slice(0, 15).join('\n')}`);
  expect(t.verified).toBe(t.clients);
  expect(t.lost + t.duplicated + t.wrong).toBe(0);
  const ids = [...all.map(([tc]) => tc.sessionId!), id0];
  let bad: string[] = [];
  await waitForAsync(async () => (bad = await allComplete(c, ids)).length === 0, `every session complete in Redis (not yet: ${bad.slice(0, 5).join(', ')})`, 10_000, 100);

  // One line when the outage began and one when it ended, per node: not one per session.
  for (const [i, lines] of c.lines.entries()) {
    const since = lines.slice(mark[i]);
    const down = since.filter((l) => /session store .* unreachable/.test(l));
    const up = since.filter((l) => /session store .* reachable again/.test(l));
    expect({ node: i + 1, down: down.length, up: up.length }).toEqual({ node: i + 1, down: 1, up: 1 });
  }
}, 60_000);
