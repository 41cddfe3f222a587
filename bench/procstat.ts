/** The operating system's view of a process: CPU time and resident memory, from /proc. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SEC = 100; // USER_HZ on Linux

export interface ProcSample {
  at: number;
  /** user + system CPU seconds so far. */
  cpuSec: number;
  rssBytes: number;
}

export function sampleProc(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { at: performance.now(), cpuSec: (utime + stime) / TICKS_PER_SEC, rssBytes: rssKb * 1024 };
}

/** CPU use between two samples, as a percentage of one core. */
export function cpuPercent(a: ProcSample, b: ProcSample): number {
  return (100 * (b.cpuSec - a.cpuSec)) / ((b.at - a.at) / 1000);
}

/** The processes whose parent is `pid` (a `--workers` primary's workers), from /proc. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch {
      // ended while we looked
    }
  }
  return out.sort((a, b) => a - b);
}

/** Open files of a process: one per socket, so roughly its sessions. */
export function openFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}
