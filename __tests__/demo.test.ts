/**
 * `npm run demo`, the newcomer's first command, as built: it must show every client resume after
 * the proxy dies, not start afresh. The summary table it ends with is what is checked: one row
 * per client, resumed at an index of at least a third of its length, SUCCESS, and exit 0.
 * `npm test` builds dist/ first.
 */
import { existsSync } from 'node:fs';
import { demoScript, runDemo } from './helpers/demo-run';


interface Row {
  client: number;
  session: string;
  resumedAt: number | null;
  reconnects: number;
  verdict: string;
}

/** The rows of the summary table: `client  session  resumed at  reconnects  verdict`. */
function tableRows(out: string): Row[] {
  const lines = out.split('\n');
  const header = lines.findIndex((l) => /^\s*client\s+session\s+resumed at\s+reconnects\s+verdict\s*$/.test(l));
  if (header < 0) return [];
  const rows: Row[] = [];
  for (const line of lines.slice(header + 1)) {
    const m = /^\s*(\d+)\s+(\S+)\s+(\d+|-)\s+(\d+|-)\s+(.+?)\s*$/.exec(line);
    if (!m) break;
    rows.push({ client: Number(m[1]), session: m[2], resumedAt: m[3] === '-' ? null : Number(m[3]), reconnects: m[4] === '-' ? -1 : Number(m[4]), verdict: m[5] });
  }
  return rows;
}

beforeAll(() => {
  if (!existsSync(demoScript)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

test('the demo cuts the proxy once every client has a third of its numbers; every client resumes there and succeeds', async () => {
  const clients = 3;
  const length = 45;
  const run = await runDemo(['--clients', String(clients), '--length', String(length), '--interval', '40']);
  const rows = tableRows(run.out);
  const why = `demo output:\n${run.out}`;
  expect({ rows: rows.length, why }).toEqual({ rows: clients, why });
  for (const r of rows) {
    expect({ client: r.client, session: /^[0-9a-f]{8}$/.test(r.session) }).toEqual({ client: r.client, session: true });
    expect({ client: r.client, resumedAt: r.resumedAt !== null && r.resumedAt >= length / 3 }).toEqual({ client: r.client, resumedAt: true });
    expect({ client: r.client, reconnects: r.reconnects >= 1 }).toEqual({ client: r.client, reconnects: true });
    expect({ client: r.client, verdict: r.verdict }).toEqual({ client: r.client, verdict: 'SUCCESS' });
  }
  expect(new Set(rows.map((r) => r.session)).size).toBe(clients);
  expect({ code: run.code, why }).toEqual({ code: 0, why });
}, 90_000);

test('demo --help describes the options and the exit status', async () => {
  const run = await runDemo(['--help']);
  expect(run.code).toBe(0);
  for (const flag of ['--clients', '--length', '--interval']) expect(run.out).toContain(flag);
  expect(run.out).toMatch(/Exit status/);
});
