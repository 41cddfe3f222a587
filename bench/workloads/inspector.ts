/** The live inspector's cost: seqstream with --inspect and a page connected, against the same N without. */
import http from 'node:http';
import { freePort } from '../../core/ports';
import { finish, steady } from '../steady';
import type { InspectorResult, Plan, SeedResult } from '../types';

/**
 * Seqstream with `--inspect` and a page's event stream connected from the start (so the page
 * sees every session created), against seqstream without it at the same N: the off figure is
 * the seed workload's when that ran in this run, else measured here.
 */
export async function inspectorCost(sessions: number, plan: Plan, log: (s: string) => void, seed: SeedResult[]): Promise<InspectorResult> {
  const off = seed.find((r) => r.server === 'seqstream' && r.sessions === sessions) ?? (await finish(await steady('seqstream', sessions, 1000, plan, log))).result;
  const inspectPort = await freePort();
  const received = { bytes: 0, batches: 0 };
  let mark = { bytes: 0, batches: 0, at: 0 };
  let window = { bytes: 0, batches: 0, ms: 0 };
  let page: http.ClientRequest | null = null;
  const connectPage = () =>
    new Promise<void>((resolve, reject) => {
      page = http.get({ host: '127.0.0.1', port: inspectPort, path: '/events' }, (res) => {
        res.on('data', (chunk: Buffer) => {
          received.bytes += chunk.length;
          received.batches += chunk.toString('latin1').split('data: ').length - 1;
        });
        resolve();
      });
      page.on('error', reject);
    });
  try {
    const run = await steady('seqstream', sessions, 1000, plan, log, {
      extraArgs: [`--inspect=${inspectPort}`],
      onStarted: connectPage,
      onMeasure: (phase) => {
        if (phase === 'start') mark = { ...received, at: Date.now() };
        else window = { bytes: received.bytes - mark.bytes, batches: received.batches - mark.batches, ms: Date.now() - mark.at };
      },
    });
    await finish(run);
    const on = run.result;
    const sseBytesPerSec = window.ms ? (window.bytes * 1000) / window.ms : 0;
    const sseBatchesPerSec = window.ms ? (window.batches * 1000) / window.ms : 0;
    log(`inspector N=${sessions}: CPU ${on.cpuPercent.toFixed(1)} % on vs ${off.cpuPercent.toFixed(1)} % off, p99 ${on.lateness.p99Ms.toFixed(2)} vs ${off.lateness.p99Ms.toFixed(2)} ms, page fed ${(sseBytesPerSec / 1024).toFixed(1)} KiB/s in ${sseBatchesPerSec.toFixed(1)} batches/s`);
    return { sessions, off, on, sseBytesPerSec, sseBatchesPerSec };
  } finally {
    (page as http.ClientRequest | null)?.destroy();
  }
}
