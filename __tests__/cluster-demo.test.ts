/**
 * `npm run demo -- --cluster` as built: real redis-server, three node processes and HAProxy. The
 * table it ends with is what is checked: 20 rows, all SUCCESS, every client of the killed node
 * moved to another node and resumed past a third of its numbers, exit 0; and nothing it started
 * is still listening afterwards. Needs redis-server and haproxy (scripts/install-services.sh);
 * `npm test` builds dist/ first.
 */
import { existsSync } from 'node:fs';
import net from 'node:net';
import { demoScript, runDemo } from './helpers/demo-run';


interface Row {
  client: number;
  before: string;
  after: string;
  resumedAt: number | null;
  verdict: string;
}

/** The rows of the summary table: `client  node before → after  resumed at  verdict`. */
function tableRows(out: string): Row[] {
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^client\s+node before → after\s+resumed at\s+verdict\s*$/.test(l));
  if (header < 0) return [];
  const rows: Row[] = [];
  for (const line of lines.slice(header + 1)) {
    const m = /^(\d+)\s+(\S+) → (\S+)\s+(\d+|-)\s+(.+?)\s*$/.exec(line);
    if (!m) break;
    rows.push({ client: Number(m[1]), before: m[2], after: m[3], resumedAt: m[4] === '-' ? null : Number(m[4]), verdict: m[5] });
  }
  return rows;
}

/** Whether something accepts TCP connections on the port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

beforeAll(() => {
  if (!existsSync(demoScript)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

test('the cluster demo kills the busiest node once every client has a third; its clients resume on the others; all 20 succeed', async () => {
  const length = 150;
  const run = await runDemo(['--cluster', '--length', String(length), '--interval', '50']);
  const why = `demo output:\n${run.out}`;
  const rows = tableRows(run.out);
  expect({ rows: rows.length, why }).toEqual({ rows: 20, why });
  expect(rows.map((r) => r.client)).toEqual(Array.from({ length: 20 }, (_, k) => k + 1));
  for (const r of rows) expect({ client: r.client, verdict: r.verdict }).toEqual({ client: r.client, verdict: 'SUCCESS' });

  const killed = /killing (node-\d) \(SIGKILL/.exec(run.out)?.[1];
  expect({ killed, why }).toEqual({ killed: expect.stringMatching(/^node-\d$/), why });
  const moved = rows.filter((r) => r.before === killed);
  expect(moved.length).toBeGreaterThanOrEqual(1);
  for (const r of moved) {
    // Off the dead node, resumed where it was: at least a third in, never from the start.
    expect({ client: r.client, after: r.after !== killed, resumedAt: r.resumedAt !== null && r.resumedAt >= length / 3 }).toEqual({ client: r.client, after: true, resumedAt: true });
  }
  expect({ code: run.code, why }).toEqual({ code: 0, why });

  // Everything it started is stopped: redis-server, HAProxy and the nodes no longer listen.
  const ports = [
    ...[...run.out.matchAll(/redis-server on redis:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])),
    ...[...run.out.matchAll(/HAProxy on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])),
    ...[...run.out.matchAll(/listening on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1])),
  ];
  expect(ports.length).toBeGreaterThanOrEqual(5);
  for (const port of new Set(ports)) expect({ port, accepting: await accepting(port) }).toEqual({ port, accepting: false });
}, 120_000);

test('demo --cluster --help describes the options, what it needs and the exit status', async () => {
  const run = await runDemo(['--cluster', '--help']);
  expect(run.code).toBe(0);
  for (const text of ['--clients', '--length', '--interval', 'scripts/install-services.sh', 'Exit status']) expect(run.out).toContain(text);
});

test('demo --cluster refuses a bad argument with exit status 2', async () => {
  const run = await runDemo(['--cluster', '--length', '5']);
  expect(run.code).toBe(2);
  expect(run.out).toMatch(/--length must be at least/);
});
