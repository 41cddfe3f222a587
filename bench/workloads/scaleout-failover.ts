/**
 * A node's death: three server nodes sharing Redis behind a real HAProxy (round robin, /ready
 * checks), K sessions per node, one node SIGKILLed. Its clients reconnect through HAProxy with
 * the real client's backoff and RESUME on the other two; measured is the time from the kill to
 * each one's next number, and that no number was lost or repeated anywhere.
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { startHaproxy } from '../../cluster/haproxy-process';
import { nodeProcess, type NodeProcess } from '../../cluster/node-process';
import { DEFAULTS } from '../../core/config';
import { freePort } from '../../core/ports';
import { DEFAULT_BASE_BACKOFF_MS } from '../../machines/client.machine';
import { openFleet } from '../fleet';
import { resumeOutcome, sum } from '../generators';
import { BENCH_LIMITS } from '../server-process';
import type { FailoverResult, Plan } from '../types';
import type { RedisUnderTest } from './scaleout-store';

const NODES = 3;
const CHECK_MS = 200;

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ready' }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

export async function nodeFailure(perNode: number, plan: Plan, log: (s: string) => void, redis: RedisUnderTest): Promise<FailoverResult> {
  await redis.stats.flush();
  const sessions = NODES * perNode;
  // The clients' own default: what a user running `seqstream-client` gets.
  const backoffCapMs = DEFAULTS.maxBackoff;
  const nodes: NodeProcess[] = [];
  for (let i = 1; i <= NODES; i++) {
    nodes.push(nodeProcess({ name: `node${i}`, port: await freePort(), metricsPort: await freePort(), store: redis.url, args: [...BENCH_LIMITS, '--interval', '1000'] }));
  }
  await Promise.all(nodes.map((n) => n.start()));
  // Each connection costs HAProxy two open files: room for all of them, within its 20,000.
  const haproxy = await startHaproxy({ backends: nodes.map((n) => ({ name: n.name, port: n.port, readyPort: n.metricsPort })), checkMs: CHECK_MS, maxConnections: sessions + 500 });
  try {
    const deadline = Date.now() + 10_000;
    while (!(await Promise.all(nodes.map((n) => ready(n.metricsPort)))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the nodes did not report ready within 10 s');
      await sleep(50);
    }
    await sleep(3 * CHECK_MS); // HAProxy's checks have seen every node up: round robin spreads over three
    const fleet = await openFleet({ host: '127.0.0.1', port: haproxy.port, sessions, intervalMs: 1000, reconnectCapMs: backoffCapMs }, plan);
    try {
      if (fleet.errors.length) throw new Error(fleet.errors.join('; '));
      await sleep(plan.warmupMs);
      await Promise.all(fleet.gens.map((g) => g.send({ type: 'measure' })));
      // Told before the kill, so each generator counts from the kill itself, not from when it
      // noticed: the few ms this message takes are on the conservative side.
      const at = performance.timeOrigin + performance.now();
      await Promise.all(fleet.gens.map((g) => g.send({ type: 'expect-cut', atEpochMs: at })));
      const victim = nodes[0];
      await victim.kill();
      const waitUntil = Date.now() + 60_000 + 2 * backoffCapMs;
      let reports = await fleet.reports();
      // Wait for the closes to arrive, then for every cut session's next number.
      await sleep(500);
      for (;;) {
        reports = await fleet.reports();
        if (reports.every((r) => r.pendingResumes === 0) || Date.now() > waitUntil) break;
        await sleep(100);
      }
      await sleep(1500); // one more interval: the numbers after the first resumed one are checked too
      reports = await fleet.reports();
      const result: FailoverResult = {
        nodes: NODES,
        perNode,
        sessions,
        cut: sum(reports, 'cut'),
        ...resumeOutcome(reports),
        connectedAtEnd: reports.reduce((a, r) => a + r.connected, 0),
        backoffBaseMs: DEFAULT_BASE_BACKOFF_MS,
        backoffCapMs,
        haproxyCheckMs: CHECK_MS,
      };
      const s = result;
      log(
        `node failure: ${NODES} nodes × ${perNode}, ${victim.name} SIGKILLed: ${s.resumed}/${s.cut} of its sessions resumed elsewhere, kill → next number p50 ${s.resume.p50Ms.toFixed(0)} p99 ${s.resume.p99Ms.toFixed(0)} max ${s.resume.maxMs.toFixed(0)} ms (client backoff ${s.backoffBaseMs} ms doubling, cap ${s.backoffCapMs} ms), loss ${s.loss} dup ${s.dup} expired ${s.expired} rejects ${s.rejects}, connected ${s.connectedAtEnd}/${sessions}`,
      );
      return result;
    } finally {
      await fleet.close();
    }
  } finally {
    await haproxy.stop();
    // SIGKILL, not a drain: the store is flushed before the next measurement anyway.
    await Promise.all(nodes.map((n) => n.kill()));
  }
}
