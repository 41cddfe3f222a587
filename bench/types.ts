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
  /** Scale-out (bench/workloads/scaleout.ts): sessions for memory-vs-Redis and the storm through Redis. */
  scaleoutSessions: number;
  /** Scale-out: sessions per node, three nodes behind HAProxy, one SIGKILLed. */
  failoverPerNode: number;
  /** Scale-out: sessions on one `--workers 2` server with the Redis store (each worker < 20,000 files). */
  workersSessions: number;
  /** Run only these workloads (for profiling one thing); all when unset. */
  only?: ('seed' | 'socketio' | 'throughput' | 'storm' | 'inspector' | 'scaleout')[];
}

export interface LatencySummary {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

/** A seed run's ramp, summed over its generators (bench/loadgen.ts). */
export interface RampRecord {
  /** The rate the plan asked for, all generators together. */
  askedPerSec: number;
  /** The lowest rate the generators' back-off went down to (summed; = asked when none backed off). */
  minRatePerSec: number;
  /** Connection attempts that failed before their WELCOME and were retried. */
  retried: number;
  /** Welcomed sessions whose connection the server closed during the ramp: each one a suspension on the server (the generator RESUMEd it). */
  suspensions: number;
  /** REJECT HEARTBEAT_TIMEOUT received during the ramp (each also counted in suspensions). */
  heartbeatTimeouts: number;
}

export interface SeedResult {
  server: ServerKind;
  sessions: number;
  /** Sessions the ramp started (per-session figures divide by this); < sessions when it fell short. */
  reached?: number;
  /** New sessions per second the ramp reached, all generators together (null: the generator does not say). */
  rampPerSec?: number | null;
  /** Why the ramp did not reach `sessions` in its time (empty when it did): the figures then describe `reached`. */
  shortfall?: string;
  /** What the ramp went through, as the generators saw it (null: Socket.IO's generator does not say; absent in older results). */
  ramp?: RampRecord | null;
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
  /**
   * The server's V8 heap at the end (all spaces): live and allocated bytes against what is
   * committed. Committed but free is heap the GC keeps after a burst (the ramp), which RSS
   * counts as if it were sessions' (null: the server did not say).
   */
  heapUsedMiB?: number | null;
  heapCommittedMiB?: number | null;
}

export interface ThroughputStep {
  server: ServerKind;
  intervalMs: number;
  /** What the server was asked to send: sessions × 1000 / interval. */
  offeredPerSec: number;
  /** What the clients received over the measured stretch. */
  numbersPerSec: number;
  /** Clients' lateness p99 (generator noise included: reported, not judged). */
  p99Ms: number;
  /** The server's own event-loop delay p99 over the stretch (null: the server did not say). */
  serverLoopP99Ms: number | null;
  cpuPercent: number;
  loss: number;
  withinBudget: boolean;
  /** Why the step failed the ceiling's rule (empty when it passed). */
  failed: string;
}

/** The throughput ceiling: the highest delivered rate of a step that met the rule (bench/workloads/throughput.ts). */
export interface Ceilings {
  seqstream: number;
  bare: number;
  /** seqstream ÷ bare (0 when bare has no ceiling). */
  ratio: number;
  /** The rule, in words, as it was applied in this run. */
  rule?: string;
  /** Servers that met the rule at every step: their ceiling is above the highest rate offered. */
  aboveRange?: ServerKind[];
}

/** Where a storm's time went, over the stretch from the cut to the last session's next number. */
export interface StormWhere {
  /** From the cut until every session had its next number (or the wait gave up). */
  settleMs: number;
  /** Server CPU over that stretch. */
  serverCpuSec: number;
  /** The server's event-loop delay over that stretch (bench/gc-watch.ts). */
  serverLoopP50Ms: number | null;
  serverLoopP99Ms: number | null;
  serverLoopMaxMs: number | null;
  gcTotalMs: number | null;
  /** The kernel's accept queue: overflows (machine-wide counter), largest Recv-Q seen (bench/listen-probe.ts). */
  listenOverflows: number | null;
  listenDrops: number | null;
  recvQMax: number | null;
  recvQSamples: number;
  backlog: number | null;
}

/** How cut sessions came back, from the generators' reports (a storm, a node's death). */
export interface ResumeOutcome {
  /** Time from the cut to each session's next number. */
  resume: LatencySummary;
  resumed: number;
  loss: number;
  dup: number;
  expired: number;
  rejects: number;
}

export interface StormResult extends ResumeOutcome {
  /** Absent in results written before the storm ran against all three servers (seqstream). */
  server?: ServerKind;
  sessions: number;
  where?: StormWhere;
}

export interface InspectorResult {
  sessions: number;
  off: SeedResult;
  on: SeedResult;
  /** What the connected page received over SSE during the measured stretch. */
  sseBytesPerSec: number;
  sseBatchesPerSec: number;
}

/** Redis's own figures over a stretch (INFO commandstats, cpu, memory deltas). */
export interface RedisDelta {
  /** EVALSHA + EVAL calls: one per lifecycle operation. */
  scripts: number;
  /** Microseconds spent executing them (commandstats: the commands inside included, no network). */
  scriptExecUsec: number;
  /** Every command Redis ran, the ones inside scripts included (INFO itself left out). */
  commands: number;
  byCommand: Record<string, number>;
  cpuSec: number;
  usedMemoryBytes: number;
}

export interface StoreComparison {
  sessions: number;
  memory: SeedResult;
  redis: SeedResult;
  /** redis ÷ memory, same N, same run. */
  cpuRatio: number;
  rssRatio: number;
  /** redis-server's CPU over the Redis run's measured stretch (steady streaming touches no store). */
  redisCpuPercentSteady: number;
  /** Redis's used_memory per streaming session record (N live records against an empty store). */
  bytesPerStreamingRecord: number;
}

/** Sessions run from HELLO to END with one cut and RESUME each, on a fresh server and store. */
export interface LifetimeCost {
  sessions: number;
  completed: number;
  redis: RedisDelta;
  scriptsPerLifetime: number;
  commandsPerLifetime: number;
  /** redis-server CPU ÷ scripts over the stretch (its idle housekeeping included). */
  redisCpuUsPerScript: number;
  /** used_memory per completed session's tombstone. */
  bytesPerTombstone: number;
  loss: number;
  dup: number;
  rejects: number;
}

/** `resume` counts from the SIGKILL to each cut session's next number. */
export interface FailoverResult extends ResumeOutcome {
  nodes: number;
  perNode: number;
  sessions: number;
  /** Sessions whose connection the killed node held (they reconnect through HAProxy). */
  cut: number;
  connectedAtEnd: number;
  /** The clients' reconnect backoff: first ceiling, doubling per failed attempt, up to the cap. */
  backoffBaseMs: number;
  backoffCapMs: number;
  haproxyCheckMs: number;
}

export interface WorkerShare {
  pid: number;
  cpuPercent: number;
  /** This worker's part of the workers' CPU. */
  share: number;
  openFiles: number;
  rssMiB: number;
}

export interface WorkersResult {
  target: number;
  reached: number;
  /** Why fewer than the target were reached (empty when all were). */
  shortfall: string;
  generators: number;
  workers: WorkerShare[];
  primaryCpuPercent: number;
  lateness: LatencySummary;
  numbersPerSec: number;
  loss: number;
  dup: number;
  badValues: number;
  rejects: number;
  connectedAtEnd: number;
}

export interface ScaleoutResult {
  redisVersion: string;
  store: StoreComparison | null;
  lifetimes: LifetimeCost | null;
  storm: (StormResult & { redisCpuSec: number; redisScripts: number }) | null;
  failover: FailoverResult | null;
  workers: WorkersResult | null;
}

export interface Results {
  date: string;
  mode: Plan['mode'];
  machine: { cores: number; cpuModel: string; memoryGiB: number; node: string; platform: string; fdLimit: string };
  seed: SeedResult[];
  throughput: ThroughputStep[];
  ceilings: Ceilings;
  /** Seqstream's storm (the one the README quotes); all three servers' are in `storms`. */
  storm: StormResult | null;
  storms?: StormResult[];
  /** Seqstream ÷ bare floor, time to next number, same run. */
  stormRatio?: { p50: number; p99: number } | null;
  inspector: InspectorResult[];
  /** Sessions in Redis, several processes and nodes (null when not run). */
  scaleout?: ScaleoutResult | null;
  notes: string[];
}
