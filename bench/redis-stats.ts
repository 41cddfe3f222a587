/**
 * Redis's own view of a stretch, read from INFO (commandstats, cpu, memory) on a side
 * connection: how many scripts and commands the servers under test ran, the CPU redis-server
 * spent on them, and what its data grew by. The INFO calls themselves are left out of the counts.
 */
import Redis from 'ioredis';
import type { RedisDelta } from './types';

export interface RedisSnapshot {
  calls: Record<string, number>;
  /** Microseconds Redis spent executing each command (commandstats' usec: no network, no parsing). */
  usec: Record<string, number>;
  cpuSec: number;
  usedMemoryBytes: number;
}

function fields(info: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of info.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) m.set(line.slice(0, i), line.slice(i + 1));
  }
  return m;
}

export class RedisStats {
  private readonly conn: Redis;

  constructor(url: string) {
    this.conn = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1 });
  }

  async server(): Promise<{ pid: number; version: string }> {
    const f = fields(await this.conn.info('server'));
    return { pid: Number(f.get('process_id')), version: f.get('redis_version') ?? 'unknown' };
  }

  async snapshot(): Promise<RedisSnapshot> {
    // One INFO with three sections, so the figures describe one instant.
    const f = fields((await this.conn.call('INFO', 'commandstats', 'cpu', 'memory')) as string);
    const calls: Record<string, number> = {};
    const usec: Record<string, number> = {};
    for (const [k, v] of f) {
      if (!k.startsWith('cmdstat_')) continue;
      calls[k.slice('cmdstat_'.length)] = Number(/calls=(\d+)/.exec(v)?.[1] ?? 0);
      usec[k.slice('cmdstat_'.length)] = Number(/usec=(\d+)/.exec(v)?.[1] ?? 0);
    }
    return {
      calls,
      usec,
      cpuSec: Number(f.get('used_cpu_user') ?? 0) + Number(f.get('used_cpu_sys') ?? 0),
      usedMemoryBytes: Number(f.get('used_memory') ?? 0),
    };
  }

  /** Empties the store between measurements (records left by a drained server would count). */
  async flush(): Promise<void> {
    await this.conn.flushall();
  }

  close(): Promise<unknown> {
    return this.conn.quit().catch(() => this.conn.disconnect());
  }
}

/** What happened between two snapshots; INFO and the flush are the bench's, not the servers'. */
export function delta(a: RedisSnapshot, b: RedisSnapshot): RedisDelta {
  const byCommand: Record<string, number> = {};
  for (const [cmd, n] of Object.entries(b.calls)) {
    const d = n - (a.calls[cmd] ?? 0);
    if (d > 0 && cmd !== 'info' && cmd !== 'flushall') byCommand[cmd] = d;
  }
  const commands = Object.values(byCommand).reduce((s, n) => s + n, 0);
  const usec = (cmd: string) => (b.usec[cmd] ?? 0) - (a.usec[cmd] ?? 0);
  return {
    scripts: (byCommand.evalsha ?? 0) + (byCommand.eval ?? 0),
    scriptExecUsec: usec('evalsha') + usec('eval'),
    commands,
    byCommand,
    cpuSec: b.cpuSec - a.cpuSec,
    usedMemoryBytes: b.usedMemoryBytes - a.usedMemoryBytes,
  };
}
