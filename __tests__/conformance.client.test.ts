/**
 * Every client-mode conformance case against OUR client program (built in dist/, as npm test
 * does), and the README's table of client cases against the case array, so neither drifts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runCases, type ClientCtx } from '../conformance/case';
import { clientCases } from '../conformance/client-cases';

const root = path.join(__dirname, '..');
const clientJs = path.join(root, 'dist', 'bin', 'client.js');

const ctx: ClientCtx = {
  // A length, so the case about WELCOME's length against the one asked for applies; no log file
  // in the working folder; a short backoff cap so the reconnecting cases stay quick.
  command: [process.execPath, clientJs, '{PORT}', '20', '--max-backoff', '100ms', '--log-file', ''],
  timeoutMs: 5000,
};

describe('client mode against our client', () => {
  beforeAll(() => {
    if (!existsSync(clientJs)) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  });

  it.each(clientCases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
    const [r] = await runCases([c], ctx);
    expect({ id: r.id, pass: r.pass, detail: r.pass ? '' : r.detail }).toEqual({ id: c.id, pass: true, detail: '' });
  }, 30_000);
});

/** The rows `| C… | §… | … |` of conformance/README.md (client mode). */
function readmeRows(): { file: string; rows: { id: string; rule: string }[] } {
  for (const name of ['README.md']) {
    const file = path.join(root, 'conformance', name);
    if (!existsSync(file)) continue;
    const rows = readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => /^\|\s*(C[\d.]+)\s*\|\s*([^|]+?)\s*\|/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ id: m[1], rule: m[2] }));
    if (rows.length > 0) return { file: name, rows };
  }
  return { file: 'none', rows: [] };
}

it('the README table of client cases lists exactly the case array (ids, rules, order)', () => {
  const { rows } = readmeRows();
  expect(rows).toEqual(clientCases.map((c) => ({ id: c.id, rule: c.rule })));
});

it('client case ids are unique and name their rule (C + § + rule + n)', () => {
  expect(new Set(clientCases.map((c) => c.id)).size).toBe(clientCases.length);
  for (const c of clientCases) expect(c.id.startsWith('C' + c.rule.slice(1) + '.')).toBe(true);
});
