#!/usr/bin/env node
/**
 * `demo`: the quickest way to see seqstream work. Starts the real server, proxy and clients as
 * separate programs, kills the proxy once every client is a third of the way through (as the
 * seed's users did), restarts it inside the reconnect window, and ends with a table showing each
 * client resume where it left off and finish with a success verdict.
 *
 * Driven by events, not the clock: on a loaded machine the clients start seconds apart, so a
 * timer fired before some had even connected (they then started afresh and "succeeded" with no
 * resume). The demo watches the proxy's control API instead: bytes forwarded down each
 * connection say how many numbers its client has, and a connection that has a third is held (a
 * `freeze` of its down direction) until every client has a third. Then the proxy dies.
 *
 * What the demo reads from a client is only its `--json` result (sessionId, reconnects, ok,
 * failure) and its stderr line `resumed session <id8> at index <n>`.
 *
 * Over ~250 lines as one program read top to bottom: the child-program wrapper, the proxy API
 * client and the result table serve only this script, and the sequence (start, hold, kill,
 * restart, verdicts) is easiest to check in one place.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { shortId } from '../core/logger';
import { BODY_SIZE } from '../transport/protocol/codec';
import { LENGTH_PREFIX_BYTES, MessageType, PROTOCOL_VERSION } from '../transport/protocol/constants';
import type { ConnectionStats } from '../proxy/proxy';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run';
import { freePort } from '../core/ports';
import { clusterMain } from './cluster-demo';
import { parseDemoOptions } from './demo-options';

const MIN_LENGTH = 3;

const HELP = `seqstream demo: server + proxy + clients; the proxy dies mid-stream and comes back.

Usage: demo [--clients N] [--length N] [--interval MS]
       demo --cluster [--help]   redis-server, 3 nodes and HAProxy; a node is killed mid-stream

  --clients N     number of clients (default 5)
  --length N      numbers per client, at least ${MIN_LENGTH} (default 60)
  --interval MS   server send interval in ms (default 50)
  --help          show this help

Once every client has received at least a third of its numbers (a client that gets there
first is held there), the proxy is killed, then restarted within the reconnect window. The
demo ends with a table: client, session (short id), index it resumed at, reconnects, verdict.

Exit status: 0 when every client resumed after the outage and reports SUCCESS; 1 otherwise
(including when the machine is too slow for a client to be held at a third: use a longer
--length or --interval); 2 bad arguments.`;

/** How long the proxy stays dead: long enough to watch the clients retry, far inside the window. */
const OUTAGE_MS = 1500;
/** How often the proxy's connections are polled while waiting for every client's third. */
const POLL_MS = 20;
/**
 * A held client hears nothing from the server, so the heartbeat timeout (given to clients in
 * WELCOME) must outlast the wait for the slowest client; the wait is bounded below it.
 */
const HEARTBEAT_INTERVAL_MS = 500;
const HEARTBEAT_TIMEOUT_MS = 30_000;
const HOLD_LIMIT_MS = 25_000;
const RECONNECT_WINDOW_MS = 60_000;
/** Bound on each program's start-up line; a loaded machine can be slow to start node. */
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5000;

/** Frame sizes in the version the clients speak with our server (the newest). */
const SIZES = BODY_SIZE[PROTOCOL_VERSION];
const WELCOME_FRAME = LENGTH_PREFIX_BYTES + SIZES[MessageType.WELCOME];
const NUMBER_FRAME = LENGTH_PREFIX_BYTES + SIZES[MessageType.NUMBER];
const HEARTBEAT_ACK_FRAME = LENGTH_PREFIX_BYTES + SIZES[MessageType.HEARTBEAT_ACK];

const parse = (argv: readonly string[]) => parseDemoOptions(argv, { defaults: { clients: 5, length: 60, interval: 50 }, minLength: MIN_LENGTH, fault: 'the outage' });


const bin = (name: string) => path.join(__dirname, `${name}.js`);

/** A child program whose output is shown line by line, prefixed, and can be waited on. */
class Program {
  readonly child: ChildProcess;
  readonly exited: Promise<number>;
  /** stdout, kept whole for the programs whose result is parsed. */
  stdout = '';
  private lineListeners = new Set<(line: string) => void>();

  constructor(
    readonly label: string,
    program: string,
    args: string[],
    /** Whether stdout is shown (false: it is a result to parse, not to read). */
    showStdout = true,
  ) {
    this.child = spawn(process.execPath, [bin(program), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    this.child.stdout!.on('data', (b: Buffer) => (this.stdout += b.toString()));
    this.lines(this.child.stderr!);
    if (showStdout) this.lines(this.child.stdout!);
  }

  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  waitForLine<T>(match: (line: string) => T | undefined, what: string, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (finish: () => void) => {
        clearTimeout(timer);
        off();
        this.child.off('exit', onExit);
        finish();
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms`))), timeoutMs);
      const onExit = (code: number | null) => done(() => reject(new Error(`${this.label} exited (${code}) before ${what}`)));
      const off = this.onLine((line) => {
        const found = match(line);
        if (found !== undefined) done(() => resolve(found));
      });
      this.child.once('exit', onExit);
    });
  }

  private lines(stream: NodeJS.ReadableStream): void {
    let rest = '';
    stream.on('data', (b: Buffer) => {
      // A progress bar rewrites its line with \r; each rewrite counts as a line here.
      const parts = (rest + b.toString()).split(/\r?\n|\r/);
      rest = parts.pop() ?? '';
      for (const line of parts) {
        if (!line.trim()) continue;
        process.stdout.write(`[${this.label}] ${line}\n`);
        for (const l of this.lineListeners) l(line);
      }
    });
  }
}

/** The proxy's HTTP control API, as the demo uses it. */
class ProxyApi {
  constructor(private readonly base: string) {}

  async connections(): Promise<ConnectionStats[]> {
    const res = await fetch(`${this.base}connections`);
    if (!res.ok) throw new Error(`GET /connections: ${res.status} ${await res.text()}`);
    return (await res.json()) as ConnectionStats[];
  }

  async holdDown(connectionId: number): Promise<void> {
    const res = await fetch(`${this.base}faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'freeze', target: connectionId, direction: 'down' }),
    });
    if (!res.ok) throw new Error(`POST /faults (freeze connection ${connectionId}): ${res.status} ${await res.text()}`);
  }
}

/**
 * The fewest NUMBERs a connection can have carried, from the bytes the proxy forwarded down it:
 * one WELCOME, then NUMBERs, plus at most one HEARTBEAT_ACK per heartbeat interval (the server
 * omits them while it streams, but the bound must not rely on that). On a resumed connection
 * this counts only the numbers since the resume, so it stays a lower bound of the client's.
 */
export function numbersAtLeast(c: Pick<ConnectionStats, 'bytesDown' | 'ageMs'>, heartbeatIntervalMs: number): number {
  const acks = Math.floor(c.ageMs / heartbeatIntervalMs) + 1;
  return Math.max(0, Math.floor((c.bytesDown - WELCOME_FRAME - acks * HEARTBEAT_ACK_FRAME) / NUMBER_FRAME));
}

interface ClientOutcome {
  client: number;
  session: string;
  resumedAt: number | null;
  reconnects: number | null;
  ok: boolean;
  verdict: string;
}

interface ClientJson {
  ok?: unknown;
  sessionId?: unknown;
  reconnects?: unknown;
  failure?: unknown;
}

/** The client's `--json` result: the last line of its stdout. */
function parseResult(stdout: string): ClientJson | null {
  try {
    const value: unknown = JSON.parse(stdout.trim().split('\n').pop() ?? '');
    return typeof value === 'object' && value !== null ? (value as ClientJson) : null;
  } catch {
    return null;
  }
}

/** What one client reported: its --json result and, after the outage, its resume line. */
function outcome(client: number, code: number, stdout: string, resumedAfterCut: { session: string; index: number } | null): ClientOutcome {
  const result = parseResult(stdout);
  if (!result) return { client, session: '-', resumedAt: null, reconnects: null, ok: false, verdict: `FAILURE: no result (exit status ${code})` };
  const session = typeof result.sessionId === 'string' ? shortId(result.sessionId) : '-';
  const reconnects = typeof result.reconnects === 'number' ? result.reconnects : null;
  const resumedAt = resumedAfterCut && resumedAfterCut.session === session ? resumedAfterCut.index : null;
  let verdict: string;
  if (result.ok !== true) verdict = `FAILURE: ${String(result.failure ?? `exit status ${code}`)}`;
  else if (resumedAt === null) verdict = `NO RESUME: ${reconnects === 0 ? 'it finished before the outage (a longer --length or --interval gives the demo time to hold it)' : 'it did not resume its session after the outage'}`;
  else verdict = 'SUCCESS';
  return { client, session, resumedAt, reconnects, ok: verdict === 'SUCCESS', verdict };
}

function table(rows: ClientOutcome[]): string {
  const cells = [
    ['client', 'session', 'resumed at', 'reconnects', 'verdict'],
    ...rows.map((r) => [String(r.client), r.session, r.resumedAt === null ? '-' : String(r.resumedAt), r.reconnects === null ? '-' : String(r.reconnects), r.verdict]),
  ];
  const widths = cells[0].map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main(argv: readonly string[]): Promise<number> {
  // The cluster demo is a program of its own (it needs redis-server and haproxy); this one needs nothing installed.
  if (argv.includes('--cluster')) return clusterMain(argv.filter((a) => a !== '--cluster'));
  const opts = parse(argv);
  if (opts === 'help') {
    process.stdout.write(HELP + '\n');
    return EXIT_OK;
  }
  if (typeof opts === 'string') {
    process.stderr.write(`demo: ${opts}\nTry 'demo --help'.\n`);
    return EXIT_USAGE;
  }
  const third = Math.ceil(opts.length / 3);
  const serverPort = await freePort();
  const proxyPort = await freePort();
  const common = ['--log-file', path.join('logs', 'demo.log')];
  const programs: Program[] = [];
  const start = (label: string, program: string, args: string[], showStdout = true) => {
    const p = new Program(label, program, args, showStdout);
    programs.push(p);
    return p;
  };
  try {
    const server = start('server', 'server', [
      String(serverPort), '--interval', `${opts.interval}ms`, '--heartbeat-interval', `${HEARTBEAT_INTERVAL_MS}ms`,
      '--heartbeat-timeout', `${HEARTBEAT_TIMEOUT_MS}ms`, '--reconnect-window', `${RECONNECT_WINDOW_MS}ms`, ...common,
    ]);
    await server.waitForLine((l) => (/listening on/.test(l) ? true : undefined), 'listening line', START_TIMEOUT_MS);

    // The control API on a port of its own (never the default 49157, which a proxy of the
    // user's may hold); its address is read back from the proxy's own line.
    const proxy = start('proxy', 'proxy', [String(proxyPort), String(serverPort), '--control-port', String(await freePort()), ...common]);
    const controlUrl = await proxy.waitForLine((l) => /control API on (http:\/\/\S+\/)/.exec(l)?.[1], 'control API line', START_TIMEOUT_MS);
    const api = new ProxyApi(controlUrl);

    console.log(`\n== ${opts.clients} clients ask for ${opts.length} numbers each through the proxy; once every one has ${third} (a third), the proxy dies\n`);
    let cutDone = false;
    const resumes = new Map<number, { session: string; index: number }>();
    const clients = Array.from({ length: opts.clients }, (_, k) => {
      const c = start(`client ${k + 1}`, 'client', [String(proxyPort), String(opts.length), '--json', '--max-backoff', '500ms', ...common], false);
      c.onLine((line) => {
        const m = /resumed session ([0-9a-f]{8}) at index (\d+)/.exec(line);
        // The first resume after the outage is the one the demo is about.
        if (m && cutDone && !resumes.has(k + 1)) resumes.set(k + 1, { session: m[1], index: Number(m[2]) });
      });
      return c;
    });
    const finished = clients.map((c) => c.exited);
    let endedEarly = null as { client: number; code: number } | null;
    clients.forEach((c, k) =>
      c.exited.then((code) => {
        if (!cutDone) endedEarly ??= { client: k + 1, code };
      }),
    );

    // Hold each connection at its third; when every client's connection is held, cut.
    const held = new Set<number>();
    let firstHeldAt = 0;
    for (;;) {
      if (endedEarly) throw new Error(`client ${endedEarly.client} ended (exit status ${endedEarly.code}) before every client had a third of its numbers; if it succeeded, this machine is too slow for --length ${opts.length} at --interval ${opts.interval}: try longer`);
      if (firstHeldAt && Date.now() - firstHeldAt > HOLD_LIMIT_MS) throw new Error(`not every client had a third of its numbers ${HOLD_LIMIT_MS / 1000} s after the first did`);
      const conns = await api.connections();
      for (const c of conns) {
        if (held.has(c.id) || numbersAtLeast(c, HEARTBEAT_INTERVAL_MS) < third) continue;
        await api.holdDown(c.id);
        held.add(c.id);
        firstHeldAt ||= Date.now();
        console.log(`== proxy connection ${c.id} has carried at least ${third} numbers: holding it there until every client has a third`);
      }
      const open = new Set(conns.map((c) => c.id));
      if (open.size === opts.clients && [...open].every((id) => held.has(id))) break;
      await sleep(POLL_MS);
    }

    console.log('\n== every client has a third of its numbers: killing the proxy, every connection drops\n');
    cutDone = true;
    proxy.child.kill('SIGTERM');
    await proxy.exited;
    await sleep(OUTAGE_MS);
    console.log(`\n== restarting the proxy inside the ${RECONNECT_WINDOW_MS / 1000} s reconnect window: clients resume where they left off\n`);
    const again = start('proxy', 'proxy', [String(proxyPort), String(serverPort), '--control-port', '0', ...common]);
    await again.waitForLine((l) => (/proxy listening on/.test(l) ? true : undefined), 'listening line', START_TIMEOUT_MS);

    const codes = await Promise.all(finished);
    const rows = clients.map((c, k) => outcome(k + 1, codes[k], c.stdout, resumes.get(k + 1) ?? null));
    const ok = rows.filter((r) => r.ok).length;
    console.log(`\n${table(rows)}\n`);
    console.log(`== ${ok}/${opts.clients} clients resumed after the outage and finished with SUCCESS`);
    return ok === opts.clients ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    return EXIT_FAILURE;
  } finally {
    const running = programs.filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of running) p.child.kill('SIGTERM');
    // They all close cleanly on SIGTERM; one that does not is not left behind.
    const stragglers = setTimeout(() => running.forEach((p) => p.child.kill('SIGKILL')), STOP_TIMEOUT_MS);
    await Promise.all(running.map((p) => p.exited));
    clearTimeout(stragglers);
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
