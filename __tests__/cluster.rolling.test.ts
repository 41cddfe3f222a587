/**
 * Rolling restart over real processes: redis-server, HAProxy and 3 nodes (dist/bin/server.js);
 * each node in turn is SIGTERMed (it drains: sessions suspended in Redis, clients told
 * SHUTTING_DOWN), exits, and is started again, while clients stream through HAProxy. Every
 * client that was on a drained node is told SHUTTING_DOWN and resumes on another node; every
 * number of every session is checked against its Redis seed; no client sees a final error.
 */
import { runLanes, startCluster, stopAllClients, tally, TIMINGS, within, type Cluster, type TrackedClient } from './helpers/cluster';
import { waitFor, waitForAsync } from './helpers/net';

let cluster: Cluster | null = null;

afterEach(async () => {
  stopAllClients();
  await cluster?.stop();
  cluster = null;
});

test('every node SIGTERMed and restarted in turn while clients stream: 0 lost, 0 final errors, each drained client resumes elsewhere', async () => {
  const started = Date.now();
  const c = (cluster = await startCluster());
  let rolling = true;
  const lanes = runLanes({ lanes: 60, port: c.haproxy.port, store: c.store, minLength: 100, maxLength: 200, keepGoing: () => rolling });
  const drains: { node: string; instance: string; on: Map<TrackedClient, number> }[] = [];
  for (const node of c.nodes) {
    // The previous drain's clients have all resumed, and this node streams to some.
    await waitFor(
      () => lanes.running().every((t) => !t.welcomed || t.attached) && lanes.running().some((t) => t.attached && t.instance === node.instanceId),
      `every client attached and some on ${node.name}`,
      10_000,
    );
    const instance = node.instanceId;
    // Where each of its clients' story stands just before the SIGTERM.
    const on = new Map(lanes.running().filter((t) => t.instance === instance).map((t) => [t, t.events.length] as const));
    drains.push({ node: node.name, instance, on });
    await node.stop();
    await node.start();
    await waitFor(() => lanes.clients.some((t) => t.instance === node.instanceId), `${node.name} to take sessions again after its restart`, 10_000);
  }
  rolling = false;
  const runs = await within(lanes.done, 20_000, 'the clients to finish', lanes.stopAll);

  const t = tally(runs);
  // After the SIGTERM, each client of the drained node either had its END already, or was told
  // SHUTTING_DOWN and was next welcomed by another node.
  const wrongMoves: string[] = [];
  let told = 0;
  for (const d of drains) {
    for (const [tc, mark] of d.on) {
      const after = tc.events.slice(mark);
      if (after[0]?.kind === 'end') continue;
      const loss = after[0];
      const next = after.find((e) => e.kind === 'welcome');
      if (loss?.kind === 'loss' && /^SHUTTING_DOWN\b/.test(loss.reason) && next?.kind === 'welcome' && next.instance !== d.instance) told++;
      else wrongMoves.push(`${d.node}: client ${tc.n} after the drain: ${JSON.stringify(after.slice(0, 3))}`);
    }
  }
  const onDrained = drains.reduce((n, d) => n + d.on.size, 0);
  const summary = `${t.clients} sessions, ${t.verified} verified against their Redis seed, ${t.numbers} numbers checked, ${t.lost} lost, ${t.duplicated} duplicated, ${t.wrong} wrong; ${drains.length} nodes drained and restarted; ${onDrained} clients on them, ${told} told SHUTTING_DOWN and resumed elsewhere; ${((Date.now() - started) / 1000).toFixed(1)} s`;
  process.stdout.write(summary + '\n');
  if (t.problems.length || wrongMoves.length) throw new Error(`${summary}\n${[...t.problems, ...wrongMoves].slice(0, 15).join('\n')}`);
  expect(t.verified).toBe(t.clients);
  expect(t.lost + t.duplicated + t.wrong).toBe(0);
  expect(drains.every((d) => d.on.size > 0)).toBe(true);
  expect(told).toBeGreaterThan(0);
  // Nothing left hanging in Redis: every session completed, or (an END whose ACK the drain cut
  // off) expired with its window.
  let counts = await c.store.counts();
  await waitForAsync(async () => {
    counts = await c.store.counts();
    return counts.streaming + counts.suspended === 0;
  }, 'no session left streaming or suspended in Redis', TIMINGS.reconnectWindowMs + 5000, 100);
  expect(counts).toMatchObject({ streaming: 0, suspended: 0 });
}, 60_000);
