/**
 * A real HAProxy (Debian's package) in TCP mode in front of seqstream nodes: round robin, a
 * health check every `checkMs` (GET /ready on each node's metrics port when given, else a TCP
 * connect), for the cluster demo, the tests and the benchmarks. Started on a free port with a
 * generated configuration in a temp dir; a missing binary is a clear error naming the script
 * that installs it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../core/ports';
import { findBinary } from './binaries';
import { endChild, track } from './children';

export interface Backend {
  readonly name: string;
  readonly port: number;
  /** The node's /ready port; absent: a plain TCP check. */
  readonly readyPort?: number;
}

export interface HaproxyOptions {
  backends: readonly Backend[];
  /** Listen port; 0 or absent picks a free one. */
  port?: number;
  checkMs?: number;
  /** Connections HAProxy takes at once (each costs it two open files). */
  maxConnections?: number;
}

export interface HaproxyProcess {
  readonly port: number;
  readonly configPath: string;
  stop(): Promise<void>;
}

/** The configuration, on its own so the docs can show what the tests run. */
export function haproxyConfig(o: Required<Omit<HaproxyOptions, 'port'>> & { port: number }): string {
  const httpCheck = o.backends.every((b) => b.readyPort !== undefined);
  return [
    'global',
    `  maxconn ${o.maxConnections}`,
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    // A seqstream connection is long and may be quiet for a heartbeat interval: the client and
    // server heartbeats decide when a link is dead, not the balancer.
    '  timeout client 1h',
    '  timeout server 1h',
    '  option redispatch',
    '  retries 2',
    'frontend seqstream',
    `  bind 127.0.0.1:${o.port}`,
    '  default_backend nodes',
    'backend nodes',
    '  balance roundrobin',
    ...(httpCheck ? ['  option httpchk GET /ready', '  http-check expect status 200'] : []),
    // A node marked down (dead, or draining: /ready says 503) gets no new connections; its
    // established ones are left alone so a draining node can tell its clients to resume.
    `  default-server inter ${o.checkMs} fastinter ${o.checkMs} downinter ${o.checkMs} fall 1 rise 1`,
    ...o.backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check${b.readyPort !== undefined ? ` port ${b.readyPort}` : ''}`),
    '',
  ].join('\n');
}

export async function startHaproxy(opts: HaproxyOptions): Promise<HaproxyProcess> {
  const bin = findBinary('haproxy');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seqstream-haproxy-'));
  const port = opts.port || (await freePort());
  const configPath = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(configPath, haproxyConfig({ backends: opts.backends, port, checkMs: opts.checkMs ?? 200, maxConnections: opts.maxConnections ?? 8000 }));
  const child = spawn(bin, ['-db', '-q', '-f', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (c: Buffer) => (output = (output + c.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  track(child);
  try {
    await listening(port, child, () => output);
  } catch (err) {
    child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    configPath,
    async stop() {
      await endChild(child, 'SIGTERM');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Resolves once the frontend accepts a TCP connection (within 10 s), rejects if HAProxy exits. */
async function listening(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}): ${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen on ${port} within 10 s: ${output()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

