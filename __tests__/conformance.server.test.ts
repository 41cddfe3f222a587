/**
 * The conformance suite's server mode against our own server, in process, at short timings:
 * every case must pass except those listed as pending below, and none may be skipped (the
 * reconnect window is given, so the expiry cases run). The README's table of server cases must
 * list exactly the case array, in order, with the same rules.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runCases, type CaseResult } from '../conformance/case';
import { serverCases } from '../conformance/server-cases';
import type { SeqServer } from '../transport/server/server';
import { startServer } from './helpers/net';

/**
 * Slower than FAST on purpose: "the first NUMBER at once" is told from "one interval later" by
 * the gap between the two, which must stand clear of scheduling jitter on a loaded machine.
 */
const TIMINGS = {
  intervalMs: 20,
  heartbeatIntervalMs: 40,
  heartbeatTimeoutMs: 200,
  reconnectWindowMs: 500,
  handshakeTimeoutMs: 300,
};

let server: SeqServer;
let results: CaseResult[] = [];

beforeAll(async () => {
  server = await startServer(TIMINGS);
  results = await runCases(serverCases, {
    host: '127.0.0.1',
    port: server.port,
    timeoutMs: 2000,
    reconnectWindowMs: TIMINGS.reconnectWindowMs,
  });
}, 120_000);

afterAll(async () => {
  await server?.close();
});

it('runs every server case', () => {
  expect(results.map((r) => r.id)).toEqual(serverCases.map((c) => c.id));
});

it.each(serverCases.map((c) => [c.id, c.title] as const))('%s %s', (id) => {
  const r = results.find((x) => x.id === id)!;
  expect({ id, pass: r.pass, skipped: r.skipped ?? false, detail: r.pass ? '' : r.detail }).toEqual({ id, pass: true, skipped: false, detail: '' });
});

it('conformance/README.md lists exactly the server cases, in order, with their rules', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'conformance', 'README.md'), 'utf8');
  const rows = readme
    .split('\n')
    .map((line) => /^\|\s*(S[\d.]+)\s*\|\s*([^|]+?)\s*\|/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ id: m[1], rule: m[2] }));
  expect(rows).toEqual(serverCases.map((c) => ({ id: c.id, rule: c.rule })));
});
