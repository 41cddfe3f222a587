/**
 * A real redis-server (Debian's binary) for the tests, the cluster demo and the benchmarks: on a free port, in a fresh temp dir, no RDB
 * snapshots, optionally AOF (fsync always, so a SIGKILL loses nothing the test wrote). Missing
 * binary is a failure with the command that installs it, never a skip.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../core/ports';
import { findBinary } from './binaries';
import { endChild, track } from './children';

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** SIGTERM (AOF flushed), wait for exit, remove the dir: the end of this server. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit; the dir stays, so `restart()` brings the AOF back. */
  kill(): Promise<void>;
  /** Stops it if running (SIGTERM), then starts it again on the same port and dir. */
  restart(): Promise<void>;
  /**
   * SIGSTOP: still listening, connections open, but nothing answered — a silent Redis, as behind
   * a network partition (clients find out only by their command timeout). `resume()` ends it.
   */
  pause(): void;
  /** SIGCONT after `pause()`: it answers again, commands queued meanwhile first. */
  resume(): void;
}

export interface RedisServerOptions {
  appendonly?: boolean;
  readyTimeoutMs?: number;
}

/** The redis-server binary, or a clear error naming the script that installs it. */
export function redisServerBinary(dirs?: string[]): string {
  return findBinary('redis-server', dirs);
}

export async function startRedis(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = redisServerBinary();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqstream-redis-'));
  const readyTimeoutMs = opts.readyTimeoutMs ?? 10_000;
  let port = 0;
  let child: ChildProcess | undefined;
  // Another process may take the free port before redis binds it: a fresh port then.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await launch(bin, port, dir, opts, readyTimeoutMs);
      break;
    } catch (e) {
      if (attempt >= 3 || !/Address already in use/i.test((e as Error).message)) {
        fs.rmSync(dir, { recursive: true, force: true });
        throw e;
      }
    }
  }
  let stopped = false;
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      stopped = true;
      if (child) await endChild(child, 'SIGTERM');
      child = undefined;
      fs.rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      if (child) await endChild(child, 'SIGKILL');
      child = undefined;
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop(): its dir is gone');
      if (child) await endChild(child, 'SIGTERM');
      child = await launch(bin, port, dir, opts, readyTimeoutMs);
    },
  };
  return server;
}

function launch(bin: string, port: number, dir: string, opts: RedisServerOptions, readyTimeoutMs: number): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--logfile', '', '--protected-mode', 'yes'];
  if (opts.appendonly) args.push('--appendonly', 'yes', '--appendfsync', 'always');
  const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let log = '';
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} ${why}; its output:\n${log.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`was not ready within ${readyTimeoutMs} ms`), readyTimeoutMs);
    const onData = (chunk: Buffer) => {
      // Always read its output (a full pipe would stall redis), keep only the tail for errors.
      log = (log + chunk.toString()).slice(-8000);
      if (/Ready to accept connections/.test(log)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    };
    const onExit = (code: number | null, signal: string | null) => fail(`exited (${signal ?? code}) before it was ready`);
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
    child.once('error', (e) => fail(`could not start: ${e.message}`));
  });
}

