/**
 * Preloaded (`node --require dist/bench/gc-watch.js`) into every server under test, so the
 * bench sees the server's own contribution to lateness apart from the load generators':
 * event-loop delay (how late the loop runs — what every number sent in that moment inherits)
 * and garbage-collection pauses (perf_hooks 'gc' entries time the main-thread pause, not the
 * concurrent work).
 *
 * SIGUSR2 writes what was seen since the previous SIGUSR2 (or the start) to $GC_WATCH_OUT as
 * JSON, with a sequence number, and starts a new stretch: the bench signals at the start and
 * at the end of its measurement.
 */
import { writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics } from 'node:v8';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

export interface GcStretch {
  seq: number;
  seconds: number;
  loopDelayMs: { p50: number; p99: number; max: number };
  gc: Record<string, { count: number; totalMs: number; maxMs: number }>;
  /**
   * Where the server's memory is at the stretch's end: the process's RSS, and per V8 heap space
   * what is live against what is committed (the difference is heap the GC keeps in hand, which
   * RSS counts too). What RSS holds beyond the heaps is native: sockets, buffers, code.
   */
  memory: { rssMiB: number; externalMiB: number; spaces: Record<string, { usedMiB: number; committedMiB: number }> };
}

const MiB = 2 ** 20;

function memoryNow(): GcStretch['memory'] {
  const u = process.memoryUsage();
  const spaces: GcStretch['memory']['spaces'] = {};
  for (const s of getHeapSpaceStatistics()) spaces[s.space_name] = { usedMiB: s.space_used_size / MiB, committedMiB: s.physical_space_size / MiB };
  return { rssMiB: u.rss / MiB, externalMiB: u.external / MiB, spaces };
}

const KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-sweep-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental-marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callbacks',
};

if (process.env.GC_WATCH_OUT) {
  const out = process.env.GC_WATCH_OUT;
  let seq = 0;
  let since = Date.now();
  let gc: GcStretch['gc'] = {};
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[(e as unknown as { detail?: { kind: number } }).detail?.kind ?? -1] ?? 'other';
      const s = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      s.count++;
      s.totalMs += e.duration;
      s.maxMs = Math.max(s.maxMs, e.duration);
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    const stretch: GcStretch = {
      seq: ++seq,
      seconds: (Date.now() - since) / 1000,
      loopDelayMs: { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 },
      gc,
      memory: memoryNow(),
    };
    writeFileSync(out, JSON.stringify(stretch));
    loop.reset();
    gc = {};
    since = Date.now();
  });
}
