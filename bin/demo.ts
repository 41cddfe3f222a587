#!/usr/bin/env node
/**
 * `demo`: the quickest way to see seqstream work. Starts the real server, proxy and clients as
 * separate programs, kills the proxy mid-stream (as the seed's users did), restarts it inside
 * the reconnect window, and shows every client resume and finish with a success verdict.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './run';

const HELP = `seqstream demo: server + proxy + clients, with a proxy outage in the middle.

Usage: demo [--clients N] [--length N] [--interval MS]

  --clients N     number of clients (default 5)
  --length N      numbers per client (default 60)
  --interval MS   server send interval in ms (default 50)
  --help          show this help

Exit status: 0 when every client reports SUCCESS, 1 otherwise.`;

interface DemoOptions {
  clients: number;
  length: number;
  interval: number;
}

function parse(argv: readonly string[]): DemoOptions | string {
  const opts: DemoOptions = { clients: 5, length: 60, interval: 50 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    const key = a.replace(/^--/, '') as keyof DemoOptions;
    if (!(key in opts) || !a.startsWith('--')) return `unknown argument ${a}`;
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1) return `--${key} needs a whole number ≥ 1`;
    opts[key] = v;
  }
  if (opts.length > 65535) return '--length must be at most 65535';
  return opts;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

const bin = (name: string) => path.join(__dirname, `${name}.js`);

function run(label: string, program: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [bin(program), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) =>
    chunk
      .toString()
      .split('\n')
      .filter((l) => l.trim())
      .forEach((l) => process.stdout.write(`[${label}] ${l}\n`));
  child.stdout!.on('data', prefix);
  child.stderr!.on('data', prefix);
  return child;
}

function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const on = (chunk: Buffer) => {
      if (!pattern.test(chunk.toString())) return;
      clearTimeout(timer);
      child.stdout!.off('data', on);
      child.stderr!.off('data', on);
      resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
  });
}

const exited = (child: ChildProcess) =>
  new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code ?? 1))));

export async function main(argv: readonly string[]): Promise<number> {
  const opts = parse(argv);
  if (opts === 'help') {
    process.stdout.write(HELP + '\n');
    return EXIT_OK;
  }
  if (typeof opts === 'string') {
    process.stderr.write(`demo: ${opts}\nTry 'demo --help'.\n`);
    return EXIT_USAGE;
  }
  const serverPort = await freePort();
  const proxyPort = await freePort();
  const common = ['--log-file', path.join('logs', 'demo.log')];
  const server = run('server', 'server', [String(serverPort), '--interval', `${opts.interval}ms`, '--heartbeat-interval', '500ms', '--heartbeat-timeout', '2s', '--reconnect-window', '30s', ...common]);
  let proxy: ChildProcess | null = null;
  const children: ChildProcess[] = [server];
  try {
    await waitForLine(server, /listening on/, 10_000);
    const startProxy = async () => {
      // No control API: the demo drives the proxy by stopping it, and must not take port 49157.
      proxy = run('proxy', 'proxy', [String(proxyPort), String(serverPort), '--control-port', '0', ...common]);
      children.push(proxy);
      await waitForLine(proxy, /listening|relaying|proxy/i, 10_000);
    };
    await startProxy();
    const streamMs = opts.length * opts.interval;
    console.log(`\n== ${opts.clients} clients ask for ${opts.length} numbers each through the proxy (about ${(streamMs / 1000).toFixed(1)} s of streaming)\n`);
    const clients = Array.from({ length: opts.clients }, (_, k) =>
      run(`client ${k + 1}`, 'client', [String(proxyPort), String(opts.length), '--max-backoff', '500ms', ...common]),
    );
    children.push(...clients);
    const verdicts = clients.map(exited);

    await new Promise((r) => setTimeout(r, streamMs / 3));
    console.log('\n== killing the proxy mid-stream: every connection drops\n');
    proxy!.kill('SIGTERM');
    await exited(proxy!);
    await new Promise((r) => setTimeout(r, 1500));
    console.log('\n== restarting the proxy inside the 30 s reconnect window: clients resume where they left off\n');
    await startProxy();

    const codes = await Promise.all(verdicts);
    const ok = codes.filter((c) => c === 0).length;
    console.log(`\n== ${ok}/${opts.clients} clients finished with SUCCESS${ok === opts.clients ? '' : ' — see the FAILURE lines above'}`);
    return ok === opts.clients ? EXIT_OK : EXIT_FAILURE;
  } catch (err) {
    console.error(`demo: ${(err as Error).message}`);
    return EXIT_FAILURE;
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
