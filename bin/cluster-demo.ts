/**
 * `demo --cluster`: seqstream surviving a node's death. Starts a real redis-server, three server
 * nodes as processes of their own sharing it (`--store redis://…`), and a real HAProxy in front
 * (round robin, /ready checks); runs the clients through HAProxy; once every client has a third
 * of its numbers, SIGKILLs the node serving the most of them, starts it again once its clients
 * have resumed elsewhere, and ends with a table: client, node before → node after, the index it
 * resumed at, verdict.
 *
 * The clients run in this process (`runClient`), so the demo sees each WELCOME: its instance id
 * says which node served the client, mapped to the node's name by the instance id each node
 * prints at start (a restarted node has a new one, under the same name).
 *
 * Driven by events, with a bound on every wait: the kill when the slowest client has a third,
 * the restart when every client of the dead node has resumed, the table when every client ended.
 *
 * Over ~250 lines, like demo.ts and for the same reason: one program read top to bottom, whose
 * progress lines, node bookkeeping and table serve only this script.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';
import { escapeText } from '../core/escape';
import { shortId } from '../core/logger';
import { freePort } from '../core/ports';
import { findBinary } from '../cluster/binaries';
import { startHaproxy, type HaproxyProcess } from '../cluster/haproxy-process';
import { nodeProcess, type NodeProcess } from '../cluster/node-process';
import { startRedis, type RedisServer } from '../cluster/redis-process';
import { runClient, type ClientResult } from '../transport/client/client';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run';
import { parseDemoOptions } from './demo-options';

const NODES = 3;
const MIN_LENGTH = 30;

export const CLUSTER_HELP = `seqstream cluster demo: redis-server, 3 server nodes and HAProxy; one node is killed mid-stream.

Usage: demo --cluster [--clients N] [--length N] [--interval MS]

  --clients N     number of clients (default 20)
  --length N      numbers per client, at least ${MIN_LENGTH} (default 150)
  --interval MS   the nodes' send interval in ms (default 50)
  --help          show this help

Needs Debian's redis-server and haproxy (sh scripts/install-services.sh installs them).
Sessions live in the redis-server; each node is \`node dist/bin/server.js PORT --store redis://…
--metrics-port M\` and HAProxy (TCP, round robin) sends a client to a node whose /ready says 200.
The clients connect through HAProxy. Once every client has a third of its numbers, the node
serving the most clients is killed (SIGKILL: no drain, as in a crash); its clients reconnect
through HAProxy, land on another node and resume there at their exact next index; the node is
then started again. The demo ends with a table: client, node before → node after, index it
resumed at, verdict. Node logs: logs/cluster-demo-node-N.log.

Exit status: 0 when every client succeeds (and every client of the killed node resumed on
another node); 1 otherwise, or when redis-server or haproxy is missing; 2 bad arguments.`;

/** Client and node heartbeats: a dead link is noticed quickly, never falsely on a loaded machine. */
const HEARTBEAT_INTERVAL_MS = 500;
const HEARTBEAT_TIMEOUT_MS = 5000;
const RECONNECT_WINDOW_MS = 30_000;
/** The clients' backoff cap: they find a live node within a second of the kill. */
const MAX_BACKOFF_MS = 500;
const PROGRESS_EVERY_MS = 1000;
const POLL_MS = 20;
/** Slack on the waits whose length the run's own figures give (start-up, resume, finish). */
const SLACK_MS = 20_000;

const parse = (argv: readonly string[]) =>
  parseDemoOptions(argv, { defaults: { clients: 20, length: 150, interval: 50 }, minLength: MIN_LENGTH, maxClients: 1000, fault: 'the kill' });

/** One client of the demo, as the demo follows it. */
interface Tracked {
  readonly n: number;
  readonly run: ReturnType<typeof runClient>;
  /** Instance id of the node now serving it (last WELCOME); null before the first. */
  instance: string | null;
  /** Its node when the node was killed. */
  instanceAtKill: string | null;
  /** Its first resume after the kill. */
  resumed: { index: number; instance: string } | null;
  result: ClientResult | null;
}

export interface ClusterRow {
  client: number;
  before: string;
  after: string;
  resumedAt: number | null;
  ok: boolean;
  verdict: string;
}

export function clusterTable(rows: readonly ClusterRow[]): string {
  const cells = [
    ['client', 'node before → after', 'resumed at', 'verdict'],
    ...rows.map((r) => [String(r.client), `${r.before} → ${r.after}`, r.resumedAt === null ? '-' : String(r.resumedAt), r.verdict]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

/** Ctrl-C or SIGTERM: everything started is stopped, and the exit status says which signal. */
class Interrupted extends Error {
  constructor(readonly exitCode: number, signal: string) {
    super(`interrupted by ${signal}`);
  }
}

export async function clusterMain(argv: readonly string[]): Promise<number> {
  const opts = parse(argv);
  if (opts === 'help') {
    process.stdout.write(CLUSTER_HELP + '\n');
    return EXIT_OK;
  }
  if (typeof opts !== 'object') {
    process.stderr.write(`demo --cluster: ${opts}\nTry 'demo --cluster --help'.\n`);
    return EXIT_USAGE;
  }
  try {
    // Both before anything starts: a missing one is a clear error, not a half-started cluster.
    findBinary('redis-server');
    findBinary('haproxy');
  } catch (err) {
    process.stderr.write(`demo --cluster: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }

  const say = (line: string) => process.stdout.write(`${line}\n`);
  const third = Math.ceil(opts.length / 3);
  const streamMs = opts.length * opts.interval;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals, exitCode: number) => () => {
    say(`\n== ${signal}: stopping the clients, HAProxy, the nodes and redis-server`);
    abort.abort(new Interrupted(exitCode, signal));
  };
  const onInt = onSignal('SIGINT', 130);
  const onTerm = onSignal('SIGTERM', 143);
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  const checkAbort = () => abort.signal.throwIfAborted();
  /** Waits until `done()` (polled), or fails after `limitMs` with `why`, or on Ctrl-C. */
  const until = async (done: () => boolean, limitMs: number, why: string) => {
    const deadline = Date.now() + limitMs;
    while (!done()) {
      checkAbort();
      if (Date.now() > deadline) throw new Error(`${why} (waited ${Math.round(limitMs / 1000)} s)`);
      await sleep(POLL_MS, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  };

  let redis: RedisServer | null = null;
  let haproxy: HaproxyProcess | null = null;
  const nodes: NodeProcess[] = [];
  const clients: Tracked[] = [];
  /** Instance id → node name, filled at every start (a restarted node has a new id). */
  const names = new Map<string, string>();
  const nodeName = (id: string | null) => (id === null ? '-' : (names.get(id) ?? nodes.find((n) => n.instanceId === id)?.name ?? `instance ${id.slice(0, 8)}`));
  let progress: NodeJS.Timeout | null = null;
  /** Off once the table is printed: the nodes' stop lines would come after it. */
  let echoNodes = true;
  try {
    say(`== starting redis-server (the shared session store), ${NODES} seqstream nodes and HAProxy`);
    redis = await startRedis();
    checkAbort();
    say(`== redis-server on ${redis.url}`);
    for (let k = 1; k <= NODES; k++) {
      const name = `node-${k}`;
      nodes.push(
        nodeProcess({
          name,
          port: await freePort(),
          metricsPort: await freePort(),
          store: redis.url,
          args: [
            '--interval', `${opts.interval}ms`, '--heartbeat-interval', `${HEARTBEAT_INTERVAL_MS}ms`,
            '--heartbeat-timeout', `${HEARTBEAT_TIMEOUT_MS}ms`, '--reconnect-window', `${RECONNECT_WINDOW_MS}ms`,
            '--log-file', path.join('logs', `cluster-demo-${name}.log`),
          ],
          // The node's own lines about itself (start, drain, store outages) and its warnings;
          // per-session chatter stays in its log file, the demo says what each client did.
          onLine: (line) => {
            if (echoNodes && (!/\bs=[0-9a-f]{8}\b/.test(line) || /\b(warn|error)\b/.test(line))) say(`[${name}] ${escapeText(line)}`);
          },
        }),
      );
    }
    await Promise.all(nodes.map((n) => n.start()));
    checkAbort();
    for (const n of nodes) names.set(n.instanceId, n.name);
    haproxy = await startHaproxy({ backends: nodes.map((n) => ({ name: n.name, port: n.port, readyPort: n.metricsPort })) });
    checkAbort();
    say(`== HAProxy on 127.0.0.1:${haproxy.port} (TCP, round robin) in front of ${nodes.map((n) => `${n.name} :${n.port}`).join(', ')}; it checks each node's /ready`);

    say(`\n== ${opts.clients} clients ask for ${opts.length} numbers each through HAProxy; once every one has ${third} (a third), the node serving the most dies\n`);
    let killedAt = 0;
    for (let n = 1; n <= opts.clients; n++) {
      const t: Tracked = {
        n,
        instance: null,
        instanceAtKill: null,
        resumed: null,
        result: null,
        run: runClient({
          host: '127.0.0.1',
          port: haproxy.port,
          length: opts.length,
          maxBackoffMs: MAX_BACKOFF_MS,
          maxReconnects: 0,
          heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
          heartbeatTimeoutMs: HEARTBEAT_TIMEOUT_MS,
          onResume: (startIndex, ctx) => {
            t.instance = ctx.instanceId;
            const session = shortId(ctx.sessionId!);
            if (ctx.reconnects === 0) {
              say(`[client ${n}] session ${session} on ${nodeName(t.instance)}`);
              return;
            }
            say(`[client ${n}] resumed session ${session} on ${nodeName(t.instance)} at index ${startIndex}`);
            if (killedAt && !t.resumed && ctx.instanceId) t.resumed = { index: startIndex, instance: ctx.instanceId };
          },
          onLoss: (reason, nextIndex) => say(`[client ${n}] lost its connection to ${nodeName(t.instance)} at index ${nextIndex}: ${escapeText(reason)}`),
          onUnreachable: (address, reason) => say(`[client ${n}] cannot connect to ${address} (${escapeText(reason)}); retrying`),
        }),
      };
      void t.run.result.then((r) => {
        t.result = r;
        say(`[client ${n}] ${r.ok ? `SUCCESS: ${r.length} numbers, checksum matches, ${r.reconnects} reconnect(s)` : `FAILURE: ${escapeText(r.failure ?? 'unknown')}`}`);
      });
      clients.push(t);
    }
    const started = Date.now();
    const received = () => clients.map((c) => c.run.verifier.nextIndex);
    const perNode = () => {
      const count = new Map<string, number>();
      for (const c of clients) if (c.instance && !c.result) count.set(c.instance, (count.get(c.instance) ?? 0) + 1);
      return count;
    };
    progress = setInterval(() => {
      const got = received();
      const spread = [...perNode()].map(([id, k]) => `${nodeName(id)} ${k}`).sort().join(', ');
      say(`== ${((Date.now() - started) / 1000).toFixed(1)} s: numbers per client ${Math.min(...got)}..${Math.max(...got)} of ${opts.length}; streaming clients per node: ${spread || 'none yet'}`);
    }, PROGRESS_EVERY_MS);

    await until(
      () => {
        const early = clients.find((c) => c.result);
        if (early) throw new Error(`client ${early.n} ended before every client had a third of its numbers (${early.result!.ok ? 'it succeeded: this machine is too slow for these figures, try a longer --length or --interval' : escapeText(early.result!.failure ?? '')})`);
        return received().every((k) => k >= third);
      },
      third * opts.interval + SLACK_MS,
      'not every client had a third of its numbers',
    );

    // The node serving the most clients dies: the most sessions to move.
    const load = perNode();
    const victim = nodes.reduce((a, b) => ((load.get(b.instanceId) ?? 0) > (load.get(a.instanceId) ?? 0) ? b : a));
    const victimId = victim.instanceId;
    for (const c of clients) c.instanceAtKill = c.instance;
    const moving = clients.filter((c) => c.instanceAtKill === victimId);
    say(`\n== every client has a third of its numbers: killing ${victim.name} (SIGKILL, no drain), which serves ${moving.length} client(s)\n`);
    killedAt = Date.now();
    await victim.kill();

    await until(() => moving.every((c) => c.resumed || c.result), RECONNECT_WINDOW_MS, `not every client of ${victim.name} resumed on another node`);
    say(`\n== every client of ${victim.name} resumed on another node ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill; starting ${victim.name} again\n`);
    await victim.start();
    names.set(victim.instanceId, victim.name);
    say(`== ${victim.name} is back (instance ${victim.instanceId}); HAProxy sends it new connections once its /ready says 200`);

    await until(() => clients.every((c) => c.result), streamMs + SLACK_MS, 'not every client finished');
    clearInterval(progress);
    progress = null;

    const rows = clients.map((c): ClusterRow => {
      const r = c.result!;
      const before = nodeName(c.instanceAtKill);
      const after = nodeName(c.instance);
      const wasOnVictim = c.instanceAtKill === victimId;
      let verdict: string;
      if (!r.ok) verdict = `FAILURE: ${escapeText(r.failure ?? 'unknown')}`;
      else if (wasOnVictim && !c.resumed) verdict = `NO RESUME: it was on ${victim.name} but did not resume after the kill`;
      else verdict = 'SUCCESS';
      return { client: c.n, before, after, resumedAt: c.resumed?.index ?? null, ok: verdict === 'SUCCESS', verdict };
    });
    const ok = rows.filter((r) => r.ok).length;
    echoNodes = false;
    say(`\n${clusterTable(rows)}\n`);
    say(`== ${victim.name} was killed with ${moving.length} client(s); ${moving.filter((c) => c.resumed).length} resumed on another node`);
    say(`== ${ok}/${opts.clients} clients finished with SUCCESS; node logs in ${path.join('logs', 'cluster-demo-node-N.log')}`);
    return ok === opts.clients ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    const e = abort.signal.aborted ? (abort.signal.reason as Interrupted) : (err as Error);
    process.stderr.write(`demo --cluster: ${e.message}\n`);
    return e instanceof Interrupted ? e.exitCode : EXIT_FAILURE;
  } finally {
    if (progress) clearInterval(progress);
    for (const c of clients) c.run.stop();
    // HAProxy first (no new connections), the nodes drain into redis, redis last.
    const steps: Array<[string, () => Promise<void>]> = [
      ['HAProxy', async () => haproxy?.stop()],
      ['the nodes', async () => void (await Promise.all(nodes.map((n) => n.stop())))],
      ['redis-server', async () => redis?.stop()],
    ];
    for (const [what, step] of steps) {
      await step().catch((e: Error) => process.stderr.write(`demo --cluster: stopping ${what}: ${e.message}\n`));
    }
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
