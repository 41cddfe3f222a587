/**
 * The load generators as forked processes (at most plan.perGenerator sessions each, apart from
 * the runner and the server), spoken to over IPC one command at a time, and the sums of what
 * they report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Histogram } from './histogram';
import type { GenCommand, GenReply, GenReport } from './ipc';
import type { LatencySummary, ResumeOutcome, ServerKind } from './types';

// Compiled to dist/bench/: the generators' scripts sit beside this file.
const distBench = __dirname;

export class GeneratorProc {
  private readonly child: ChildProcess;
  private waiting: ((r: GenReply) => void) | null = null;

  constructor(kind: ServerKind) {
    this.child = fork(path.join(distBench, kind === 'socketio' ? 'socketio-loadgen.js' : 'loadgen.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (r: GenReply) => {
      const w = this.waiting;
      this.waiting = null;
      w?.(r);
    });
  }

  send(cmd: GenCommand, timeoutMs = 180_000): Promise<GenReply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`generator did not answer ${cmd.type} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting = (r) => {
        clearTimeout(timer);
        if (r.type === 'error') reject(new Error(`generator: ${r.message}`));
        else resolve(r);
      };
      this.child.send(cmd);
    });
  }

  async report(): Promise<GenReport> {
    const r = await this.send({ type: 'report' });
    if (r.type !== 'report') throw new Error('expected a report');
    return r.report;
  }

  async close(): Promise<void> {
    await this.send({ type: 'close' }, 10_000).catch(() => this.child.kill('SIGKILL'));
  }
}

export function summarize(h: Histogram): LatencySummary {
  return { p50Ms: h.quantile(0.5) / 1000, p99Ms: h.quantile(0.99) / 1000, maxMs: h.max / 1000, samples: h.total };
}

/** How the cut sessions came back, summed over the generators' reports. */
export function resumeOutcome(reports: GenReport[]): ResumeOutcome {
  const resume = merge(reports, 'resume');
  return {
    resume: summarize(resume),
    resumed: resume.total,
    loss: sum(reports, 'gaps'),
    dup: sum(reports, 'dups'),
    expired: sum(reports, 'expired'),
    rejects: sum(reports, 'rejects'),
  };
}

export function merge(reports: GenReport[], key: 'lateness' | 'resume'): Histogram {
  const h = new Histogram();
  for (const r of reports) h.merge(Histogram.fromJSON(r[key]));
  return h;
}

export const sum = (reports: GenReport[], k: keyof GenReport['counts']) => reports.reduce((a, r) => a + r.counts[k], 0);
