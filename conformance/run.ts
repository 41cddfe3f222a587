#!/usr/bin/env node
/**
 * The conformance suite's command line:
 *   conformance server HOST:PORT [options]
 *   conformance client [options] -- COMMAND ... {PORT} ...
 * Prints a table as the cases run, a summary line, and writes a JSON report.
 * Exit status: 0 every case passed (skips allowed), 1 some case failed, 2 bad arguments.
 */
import path from 'node:path';
import { runCases, type Case, type CaseResult } from './case';
import { clientCases } from './client-cases';
import { Peer } from './peer';
import { serverCases } from './server-cases';
import { summarize, summaryLine, Table, writeReport, type Report } from './report';

const EXIT_OK = 0;
const EXIT_FAILURE = 1;
const EXIT_USAGE = 2;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_REPORT = 'conformance-report.json';

const HELP = `conformance: does an implementation follow docs/PROTOCOL.md? Case by case, from the wire.

Usage:
  conformance server HOST:PORT [options]          cases against a running server
  conformance client [options] -- COMMAND ...     cases against a client command line;
                                                  every {PORT} in it is replaced by the
                                                  port of a scripted server (one per case)
Options:
  --json FILE               the JSON report (default ${DEFAULT_REPORT} in the current folder)
  --only ID-PREFIX          run only the cases whose id starts with it (e.g. S3.5, C3.14.1)
  --timeout MS              bound for any one wait for an answer (default ${DEFAULT_TIMEOUT_MS});
                            waits for paced numbers add the intervals WELCOME announces.
                            Raise it above the server's handshake timeout if that is over 5 s.
  --reconnect-window MS     server mode: the server's reconnect window (WELCOME does not carry
                            it). Given, the cases that wait for it run (S3.6.*); else they are
                            shown as skipped.
  --help                    this text

Examples:
  npm run conformance -- server 127.0.0.1:49155 --reconnect-window 30000
  npm run conformance -- client -- node dist/bin/client.js {PORT} --max-backoff 100ms

Exit status: 0 every case passed (skipped ones allowed), 1 a case failed, 2 bad arguments.
See conformance/README.md for the cases and the contract a client under test must keep.`;

export class UsageError extends Error {}

export type Parsed =
  | { help: true }
  | {
      help?: false;
      mode: 'server' | 'client';
      host: string;
      port: number;
      command: string[];
      json: string;
      only: string | null;
      timeoutMs: number;
      reconnectWindowMs?: number;
    };

function positiveMs(flag: string, value: string | undefined): number {
  if (value === undefined) throw new UsageError(`${flag} needs a value in milliseconds`);
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag} must be a whole number of milliseconds above 0, got '${value}'`);
  return n;
}

/** HOST:PORT, with an IPv6 host in brackets ([::1]:49155). */
export function parseTarget(s: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(s) ?? /^([^:[\]]+):(\d+)$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`expected HOST:PORT (e.g. 127.0.0.1:49155 or [::1]:49155), got '${s}'`);
  return { host: m[1], port };
}

export function parseArgv(argv: readonly string[]): Parsed {
  const dash = argv.indexOf('--');
  const head = dash < 0 ? [...argv] : argv.slice(0, dash);
  const command = dash < 0 ? [] : argv.slice(dash + 1);
  if (head.includes('--help') || head.includes('-h')) return { help: true };
  let json = DEFAULT_REPORT;
  let only: string | null = null;
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  let reconnectWindowMs: number | undefined;
  const positional: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i];
    const value = () => {
      const v = head[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === '--json') json = value();
    else if (a === '--only') only = value();
    else if (a === '--timeout') timeoutMs = positiveMs(a, head[++i]);
    else if (a === '--reconnect-window') reconnectWindowMs = positiveMs(a, head[++i]);
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}'`);
    else positional.push(a);
  }
  const [mode, target, ...extra] = positional;
  if (mode === 'server') {
    if (!target) throw new UsageError('server mode needs HOST:PORT');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
    if (command.length) throw new UsageError("server mode takes no command after '--'");
    return { mode, ...parseTarget(target), command: [], json, only, timeoutMs, reconnectWindowMs };
  }
  if (mode === 'client') {
    if (target) throw new UsageError(`unexpected argument '${target}': the client's command goes after '--'`);
    if (reconnectWindowMs !== undefined) throw new UsageError('--reconnect-window is for server mode');
    if (command.length === 0) throw new UsageError("client mode needs the client's command line after '--'");
    if (!command.some((a) => a.includes('{PORT}'))) throw new UsageError("the client's command line must contain {PORT}, where the scripted server's port goes");
    return { mode, host: '', port: 0, command, json, only, timeoutMs };
  }
  throw new UsageError(mode ? `unknown mode '${mode}': use 'server' or 'client'` : "say which mode: 'server HOST:PORT' or 'client -- COMMAND'");
}

function select<C>(cases: readonly Case<C>[], only: string | null): Case<C>[] {
  const picked = only === null ? [...cases] : cases.filter((c) => c.id.startsWith(only));
  if (picked.length === 0) throw new UsageError(only === null ? 'this build has no cases for that mode' : `no case id starts with '${only}'`);
  return picked;
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: Parsed;
  let picked: Case<never>[];
  try {
    args = parseArgv(argv);
    if (args.help) {
      process.stdout.write(HELP + '\n');
      return EXIT_OK;
    }
    picked = (args.mode === 'server' ? select(serverCases, args.only) : select(clientCases, args.only)) as Case<never>[];
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`conformance: ${err.message}\nTry 'conformance --help'.\n`);
    return EXIT_USAGE;
  }
  const target = args.mode === 'server' ? `${args.host}:${args.port}` : args.command.join(' ');
  if (args.mode === 'server') {
    // One clear line instead of every case failing the same way.
    try {
      (await Peer.connect(args.host, args.port, args.timeoutMs)).destroy();
    } catch (err) {
      process.stderr.write(`conformance: no server to test: ${(err as Error).message}\n`);
      return EXIT_FAILURE;
    }
  }
  const table = new Table(Math.max(...picked.map((c) => c.id.length)), Math.max(4, ...picked.map((c) => c.rule.length)));
  const out = process.stdout;
  out.write(`${args.mode} mode: ${picked.length} case(s) against ${target}\n${table.header()}\n`);
  const startedAt = new Date().toISOString();
  const onResult = (r: CaseResult) => out.write(table.row(r) + '\n');
  const results =
    args.mode === 'server'
      ? await runCases(picked as unknown as typeof serverCases, { host: args.host, port: args.port, timeoutMs: args.timeoutMs, reconnectWindowMs: args.reconnectWindowMs }, onResult)
      : await runCases(picked as unknown as typeof clientCases, { command: args.command, timeoutMs: args.timeoutMs }, onResult);
  const summary = summarize(results);
  const report: Report = { mode: args.mode, target, startedAt, summary, cases: results };
  const file = path.resolve(args.json);
  try {
    writeReport(file, report);
  } catch (err) {
    process.stderr.write(`conformance: could not write the report to ${file}: ${(err as Error).message}\n`);
    return EXIT_FAILURE;
  }
  out.write(`${summaryLine(summary)}\nreport: ${file}\n`);
  return summary.failed === 0 ? EXIT_OK : EXIT_FAILURE;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`conformance: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
      process.exitCode = EXIT_FAILURE;
    },
  );
}
