/** Small hand-made benchmark results for the report, targets and compare tests: only what they read is real. */
import type { RampRecord, Results, SeedResult, ServerKind, StormResult } from '../../bench/types';

const calmRamp: RampRecord = { askedPerSec: 3000, minRatePerSec: 3000, retried: 0, suspensions: 0, heartbeatTimeouts: 0 };

export function seedRow(server: ServerKind, sessions: number, cpuPercent: number, rssPerSessionKiB: number, over: Partial<SeedResult> = {}): SeedResult {
  return {
    server,
    sessions,
    reached: sessions,
    rampPerSec: 2950,
    shortfall: '',
    ramp: server === 'socketio' ? null : calmRamp,
    intervalMs: 1000,
    rssPerSessionKiB,
    rssMiB: 100,
    cpuPercent,
    lateness: { p50Ms: 2, p99Ms: 5, maxMs: 9, samples: sessions * 15 },
    numbersPerSec: sessions,
    loss: 0,
    dup: 0,
    badValues: 0,
    rejects: 0,
    connectedAtEnd: sessions,
    serverLoopP99Ms: 3,
    serverLoopMaxMs: 8,
    gcMaxPauseMs: 2,
    ...over,
  };
}

export function stormRow(server: ServerKind, p99Ms: number, over: Partial<StormResult> = {}): StormResult {
  return { server, sessions: 10000, resume: { p50Ms: p99Ms / 2, p99Ms, maxMs: p99Ms + 100, samples: 10000 }, resumed: 10000, loss: 0, dup: 0, expired: 0, rejects: 0, ...over };
}

/** A run that meets every target of issue 12. */
export function goodRun(over: Partial<Results> = {}): Results {
  const storms = [stormRow('seqstream', 2000), stormRow('bare', 1600), stormRow('socketio', 2500)];
  return {
    date: '2026-12-01T10:00:00.000Z',
    mode: 'full',
    machine: { cores: 2, cpuModel: 'test', memoryGiB: 24, node: 'v20.0.0', platform: 'Linux', fdLimit: '20000' },
    seed: [
      seedRow('bare', 5000, 10, 8),
      seedRow('seqstream', 5000, 11, 10),
      seedRow('bare', 10000, 20, 6),
      seedRow('seqstream', 10000, 21, 8),
      seedRow('bare', 19500, 40, 5),
      seedRow('seqstream', 19500, 43, 7),
      seedRow('socketio', 5000, 30, 40),
    ],
    throughput: (['seqstream', 'bare'] as const).map((server) => ({ server, intervalMs: 1, offeredPerSec: 10000, numbersPerSec: 9990, p99Ms: 4, serverLoopP99Ms: 9, cpuPercent: 80, loss: 0, withinBudget: true, failed: '' })),
    ceilings: { seqstream: 9500, bare: 10000, ratio: 0.95 },
    storm: storms[0],
    storms,
    stormRatio: { p50: 1.25, p99: 1.25 },
    inspector: [],
    notes: [],
    ...over,
  };
}
