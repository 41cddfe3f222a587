/**
 * A server under test as its own process: started on a free port with the gc-watch preloaded,
 * ready when the port accepts, asked for its gc/loop stretch by signal, stopped with SIGTERM.
 * Its own process so that /proc figures (CPU, RSS) describe the server alone.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../core/ports';
import type { GcStretch } from './gc-watch';
import type { ServerKind } from './types';

// Compiled to dist/bench/: the seqstream server is dist/bin/server.js, the peers sit beside this file.
const distBench = __dirname;
const distBin = path.join(__dirname, '..', 'bin');

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Limits for a seqstream server under load: room for a whole process's worth of sessions, and
 * the per-source limits off (the load generators are thousands of clients on one address).
 */
export const BENCH_LIMITS: readonly string[] = ['--max-sessions', '20000', '--max-sessions-per-source', '0', '--new-session-rate', '0', '--max-pending-handshakes', '0', '--max-pending-per-source', '0'];

export interface RunningServer {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
  /** Ends the server's current gc-watch stretch and returns it (null if it did not answer). */
  stretch(): Promise<GcStretch | null>;
}

export async function startServer(kind: ServerKind, intervalMs: number, extraArgs: string[] = []): Promise<RunningServer> {
  const port = await freePort();
  const script =
    kind === 'seqstream' ? path.join(distBin, 'server.js') : path.join(distBench, kind === 'bare' ? 'bare-server.js' : 'socketio-server.js');
  const args =
    kind === 'seqstream'
      ? [
          String(port),
          '--interval',
          String(intervalMs),
          ...BENCH_LIMITS,
          '--log-file',
          path.join(os.tmpdir(), `seqstream-bench-${process.pid}.log`),
          // BENCH_SEQSTREAM_ARGS="--log-level warn": extra server flags, for experiments.
          ...(process.env.BENCH_SEQSTREAM_ARGS ?? '').split(' ').filter(Boolean),
          ...extraArgs,
        ]
      : [String(port), String(intervalMs)];
  // BENCH_SERVER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the servers under load.
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const watchFile = path.join(os.tmpdir(), `seqstream-bench-gc-${process.pid}-${port}.json`);
  rmSync(watchFile, { force: true });
  const child = spawn(process.execPath, [...nodeArgs, '--require', path.join(distBench, 'gc-watch.js'), script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GC_WATCH_OUT: watchFile },
  });
  let stretches = 0;
  let out = '';
  const collect = (b: Buffer) => (out += b.toString());
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  // Ready when the port accepts a connection: a server at --log-level warn prints nothing.
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${kind} server exited (${child.exitCode}): ${out}`);
    if (await accepts(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} server did not start: ${out}`);
    }
    await sleep(50);
  }
  child.stdout!.off('data', collect);
  child.stderr!.off('data', collect);
  child.stdout!.resume();
  child.stderr!.resume();
  return {
    child,
    port,
    stretch: async () => {
      const seq = ++stretches;
      child.kill('SIGUSR2');
      const deadline = Date.now() + 3000;
      while (Date.now() < deadline) {
        if (existsSync(watchFile)) {
          try {
            const st = JSON.parse(readFileSync(watchFile, 'utf8')) as GcStretch;
            if (st.seq === seq) return st;
          } catch {
            // caught mid-write: read again
          }
        }
        await sleep(20);
      }
      return null;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        // SIGTERM first: a clean exit is what lets --cpu-prof write its profile.
        const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(hard);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}
