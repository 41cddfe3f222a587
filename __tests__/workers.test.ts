/**
 * `server --workers N`: refused without a shared store; with Redis, N processes serve one port,
 * a worker killed with SIGKILL is started again by the primary, and SIGTERM drains them all and
 * ends the primary with status 0. Real processes, a real redis-server.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { freePort } from '../core/ports';
import { startRedis, type RedisServer } from '../cluster/redis-process';
import { startClient, waitFor } from './helpers/net';

const serverJs = path.join(__dirname, '..', 'dist', 'bin', 'server.js');

let redis: RedisServer | null = null;
let primary: ChildProcess | null = null;
afterAll(async () => {
  primary?.kill('SIGKILL');
  await redis?.stop();
});

/** The worker processes: the primary's children. */
function workers(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid)]).toString().trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function oneClient(port: number): Promise<boolean> {
  return (await startClient(port, 20).result).ok;
}

it('--workers with the memory store is refused with a reason and exit status 2', () => {
  let status = 0;
  let stderr = '';
  try {
    execFileSync(process.execPath, [serverJs, '49999', '--workers', '2', '--log-file', ''], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { status: number; stderr: Buffer };
    status = e.status;
    stderr = e.stderr.toString();
  }
  expect(status).toBe(2);
  expect(stderr).toMatch(/--workers needs a shared store \(--store redis:\/\/…\)/);
});

it('two workers share one port through Redis; a killed worker comes back; SIGTERM drains them and exits 0', async () => {
  redis = await startRedis();
  const port = await freePort();
  const child = spawn(process.execPath, [serverJs, String(port), '--workers', '2', '--store', redis.url, '--interval', '20ms', '--log-file', ''], { stdio: ['ignore', 'pipe', 'pipe'] });
  primary = child;
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const listening = () => (out.match(/listening on /g) ?? []).length;
  await waitFor(() => listening() >= 2, `two workers listening (output so far:\n${out})`, 15_000);
  expect(workers(child.pid!)).toHaveLength(2);
  expect(await oneClient(port)).toBe(true);

  const [victim] = workers(child.pid!);
  process.kill(victim, 'SIGKILL');
  await waitFor(() => /worker \d \(pid \d+\) exited \(SIGKILL\); starting it again/.test(out), 'the primary to notice the dead worker', 5_000);
  // Died young (under 5 s after its start): the primary waits 5 s before starting it again.
  await waitFor(() => listening() >= 3, 'the worker to be started again', 15_000);
  const now = workers(child.pid!);
  expect(now).toHaveLength(2);
  expect(now).not.toContain(victim);
  expect(await oneClient(port)).toBe(true);

  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  primary = null;
  expect((out.match(/drained \d+ session\(s\)/g) ?? []).length).toBe(2);
}, 60_000);
