/** The benchmark's plans and results: shared by the runner, the report and the chart (no import circle). */

export type ServerKind = 'seqstream' | 'bare' | 'socketio';

export interface Plan {
  mode: 'full' | 'quick' | 'smoke';
  seedSizes: number[];
  socketIoSizes: number[];
  throughputSessions: number;
  throughputIntervals: number[];
  stormSessions: number;
  warmupMs: number;
  measureMs: number;
  rampPerSec: number;
  perGenerator: number;
  /** Seqstream with the live inspector on and a page connected, against the same N without. */
  inspectorSizes: number[];
  /** Run only these workloads (for profiling one thing); all when unset. */
  only?: ('seed' | 'socketio' | 'throughput' | 'storm' | 'inspector')[];
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

export interface SeedResult {
  server: ServerKind;
  sessions: number;
  intervalMs: number;
  rssPerSessionKiB: number;
  rssMiB: number;
  cpuPercent: number;
  lateness: LatencySummary;
  numbersPerSec: number;
  loss: number;
  dup: number;
  badValues: number;
  rejects: number;
  /** Sessions still connected at the end of the measurement: a run that lost some is not valid. */
  connectedAtEnd: number;
  /**
   * The server's own view of the measurement stretch (bench/gc-watch.ts): how late its event
   * loop ran and its longest GC pause. Lateness above these came from the generators' side.
   */
  serverLoopP99Ms: number | null;
  serverLoopMaxMs: number | null;
  gcMaxPauseMs: number | null;
}

export interface ThroughputStep {
  server: ServerKind;
  intervalMs: number;
  numbersPerSec: number;
  p99Ms: number;
  cpuPercent: number;
  withinBudget: boolean;
}

export interface StormResult {
  sessions: number;
  resume: LatencySummary;
  resumed: number;
  loss: number;
  dup: number;
  expired: number;
  rejects: number;
}

export interface InspectorResult {
  sessions: number;
  off: SeedResult;
  on: SeedResult;
  /** What the connected page received over SSE during the measured stretch. */
  sseBytesPerSec: number;
  sseBatchesPerSec: number;
}

export interface Results {
  date: string;
  mode: Plan['mode'];
  machine: { cores: number; cpuModel: string; memoryGiB: number; node: string; platform: string; fdLimit: string };
  seed: SeedResult[];
  throughput: ThroughputStep[];
  ceilings: { seqstream: number; bare: number; ratio: number };
  storm: StormResult | null;
  inspector: InspectorResult[];
  notes: string[];
}
