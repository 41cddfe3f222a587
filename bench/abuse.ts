#!/usr/bin/env node
/**
 * `npm run bench:abuse`: what a hostile peer can take from the server, measured on the real
 * server program (the figures the hardening issue asks for):
 *   1. a client that says HELLO 1, never reads, and floods HEARTBEATs: server RSS before and
 *      after, how much the flooder got to send, and how it ended;
 *   2. the same, mid-stream (interval 1 s, heartbeat 20 ms apart): the server's RSS growth;
 *   3. one address doing HELLO-then-drop in a loop at the default limits: how long until it is
 *      limited, and how many sessions it got; a second address still gets in.
 *
 *   node dist/bench/abuse.js [--server PATH/TO/server.js] [--flood-mb N]
 *
 * --server compares another build (an old checkout's dist/bin/server.js) in the same run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { decode, encode, type Message } from '../transport/protocol/codec';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';
import { freePort } from '../core/ports';

const HELP = `abuse: what one hostile peer can take from the server program.

Usage: abuse [--server PATH] [--flood-mb N]

  --server PATH   server.js to measure (default: this build's dist/bin/server.js)
  --flood-mb N    most a flooder sends (default 60, the issue's figure)
  --help          this help`;

interface Args {
  server: string;
  floodMb: number;
}

function parse(argv: string[]): Args | string {
  const a: Args = { server: path.join(__dirname, '..', 'bin', 'server.js'), floodMb: 60 };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') return 'help';
    if (argv[i] === '--server' && argv[i + 1]) a.server = path.resolve(argv[++i]);
    else if (argv[i] === '--flood-mb' && /^\d+$/.test(argv[i + 1] ?? '')) a.floodMb = Number(argv[++i]);
    else return `unknown or incomplete argument ${argv[i]}`;
  }
  return a;
}


async function startServer(script: string, args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [script, String(port), '--log-file', '', '--log-level', 'error', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  // Ready when the port accepts.
  for (let t = 0; t < 200; t++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('the server did not start');
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** HELLO `length`, never read, HEARTBEATs as fast as TCP takes them, for at most `capMb` or `ms`. */
function flood(port: number, length: number, capMb: number, ms: number, onTick: () => void) {
  return new Promise<{ sentMb: number; ended: string; seconds: number }>((resolve) => {
    const started = performance.now();
    const s = net.connect(port, '127.0.0.1');
    const hb = Buffer.concat(Array.from({ length: 4096 }, (_, i) => encode({ type: MessageType.HEARTBEAT, nonce: i })));
    let sent = 0;
    let done = false;
    const tick = setInterval(onTick, 100);
    const finish = (ended: string) => {
      if (done) return;
      done = true;
      clearInterval(tick);
      clearTimeout(timer);
      s.destroy();
      resolve({ sentMb: sent / 2 ** 20, ended, seconds: (performance.now() - started) / 1000 });
    };
    const timer = setTimeout(() => finish(`still open after ${ms / 1000} s, TCP pushing back`), ms);
    const pump = () => {
      while (!done && sent < capMb * 2 ** 20) {
        sent += hb.length;
        if (!s.write(hb)) return s.once('drain', pump);
      }
      if (!done) setTimeout(() => finish(`sent all ${capMb} MB`), 500);
    };
    s.on('connect', () => {
      s.pause();
      s.write(encode({ type: MessageType.HELLO, version: 1, length }));
      pump();
    });
    s.on('error', (e: NodeJS.ErrnoException) => finish(`closed by the server (${e.code})`));
    s.on('close', () => finish('closed by the server'));
  });
}

async function floodCase(script: string, label: string, length: number, serverArgs: string[], capMb: number): Promise<void> {
  const { child, port } = await startServer(script, serverArgs);
  await new Promise((r) => setTimeout(r, 300));
  const before = rssMiB(child.pid!);
  let peak = before;
  const r = await flood(port, length, capMb, 20_000, () => {
    if (child.exitCode === null) peak = Math.max(peak, rssMiB(child.pid!));
  });
  const alive = child.exitCode === null;
  console.log(
    `${label}: RSS ${before.toFixed(0)} -> peak ${peak.toFixed(0)} MiB (+${(peak - before).toFixed(0)}), flooder sent ${r.sentMb.toFixed(1)} MB in ${r.seconds.toFixed(1)} s, ${r.ended}; server ${alive ? 'alive' : 'DIED'}`,
  );
  child.kill('SIGKILL');
}

function answerTo(port: number, from: string): Promise<Message | null> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1', localAddress: from });
    const d = new FrameDecoder();
    s.on('connect', () => s.write(encode({ type: MessageType.HELLO, version: 1, length: 100 })));
    s.on('data', (c) => {
      const bodies = d.push(c);
      if (bodies.length) {
        s.destroy();
        resolve(decode(bodies[0]));
      }
    });
    s.on('error', () => resolve(null));
    s.on('close', () => resolve(null));
  });
}

async function addressCase(script: string): Promise<void> {
  const { child, port } = await startServer(script, []);
  const started = performance.now();
  let welcomed = 0;
  let limitedAt: number | null = null;
  let first: string | null = null;
  while (performance.now() - started < 5000) {
    const m = await answerTo(port, '127.0.0.1');
    if (m?.type === MessageType.WELCOME) welcomed++;
    else if (m?.type === MessageType.REJECT && limitedAt === null) {
      limitedAt = performance.now() - started;
      first = RejectCode[m.code];
    }
  }
  const other = await answerTo(port, '127.0.0.2');
  console.log(
    `one address, HELLO-then-drop for 5 s at default limits: ${welcomed} sessions; ` +
      (limitedAt === null ? 'never limited' : `limited (${first}) after ${(limitedAt / 1000).toFixed(2)} s`) +
      `; another address then gets ${other?.type === MessageType.WELCOME ? 'a WELCOME' : other?.type === MessageType.REJECT ? `REJECT ${RejectCode[other.code]}` : 'nothing'}`,
  );
  child.kill('SIGKILL');
}

async function main(): Promise<number> {
  const args = parse(process.argv.slice(2));
  if (args === 'help') return (console.log(HELP), 0);
  if (typeof args === 'string') return (console.error(`abuse: ${args}\nTry 'abuse --help'.`), 2);
  console.log(`server: ${args.server}`);
  await floodCase(args.server, 'HEARTBEAT flood after END (HELLO 1, never read)', 1, [], args.floodMb);
  await floodCase(args.server, 'HEARTBEAT flood mid-stream (interval 1 s)', 1000, ['--interval', '1s'], args.floodMb);
  await addressCase(args.server);
  return 0;
}

void main().then((code) => (process.exitCode = code));
