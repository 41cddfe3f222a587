/**
 * The chaos schedule: random faults from a chosen set at random intervals, drawn from a seeded
 * PRNG so that a run can be replayed with the same seed. The schedule (which kinds, when, how
 * long, which parameters) replays exactly; which connection a per-connection fault lands on
 * depends on the connections open at that moment, so it is drawn as a position in the list of
 * open connections rather than as an id.
 */
import { FAULT_KINDS, type FaultKind } from './faults';
import { seededRandom } from '../core/seeded-random';

export interface ChaosOptions {
  kinds: readonly FaultKind[];
  seed: number;
  /** Mean time between two faults; each gap is drawn in [0.5, 1.5] × this. */
  meanGapMs: number;
  /** Longest a lasting fault is held; each is drawn in [0.2, 1] × this. */
  maxDurationMs: number;
}

/** What the schedule needs from the proxy: the open connections and a way to add a fault. */
export interface ChaosTarget {
  connections(): { id: number }[];
  addFault(spec: unknown): unknown;
}

export function parseChaosKinds(text: string): FaultKind[] {
  if (text === 'all' || text === '') return [...FAULT_KINDS];
  const kinds = text.split(',').map((k) => k.trim());
  for (const k of kinds) {
    if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind "${k}" in --chaos; one of: ${FAULT_KINDS.join(', ')}, or all`);
  }
  return kinds as FaultKind[];
}

export class ChaosSchedule {
  private readonly random: () => number;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  readonly counts: Partial<Record<FaultKind, number>> = {};

  constructor(
    private readonly target: ChaosTarget,
    readonly opts: ChaosOptions,
    private readonly onFault: (spec: Record<string, unknown>, error?: Error) => void = () => {},
  ) {
    if (opts.kinds.length === 0) throw new Error('chaos needs at least one fault kind');
    this.random = seededRandom(opts.seed);
  }

  start(): void {
    this.stopped = false;
    this.scheduleNext();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The next fault the schedule would inject, consuming the PRNG: exposed so a replay can be checked. */
  draw(): Record<string, unknown> {
    const r = this.random;
    const between = (lo: number, hi: number) => Math.round(lo + (hi - lo) * r());
    const kind = this.opts.kinds[Math.floor(r() * this.opts.kinds.length)];
    const spec: Record<string, unknown> = { kind };
    const conns = this.target.connections();
    // Half the faults hit everyone (a network event), half one connection (one bad link).
    const pick = r();
    const dir = r();
    if (kind !== 'refuse' && pick >= 0.5 && conns.length > 0) spec.target = conns[Math.floor(((pick - 0.5) / 0.5) * conns.length)].id;
    if (kind !== 'refuse' && kind !== 'cut' && kind !== 'reset') spec.direction = dir < 0.5 ? 'both' : dir < 0.75 ? 'up' : 'down';
    if (kind !== 'cut' && kind !== 'reset') spec.durationMs = Math.max(1, Math.round(this.opts.maxDurationMs * (0.2 + 0.8 * r())));
    switch (kind) {
      case 'latency':
        spec.latencyMs = between(5, 200);
        spec.jitterMs = between(0, Number(spec.latencyMs) / 2);
        break;
      case 'bandwidth':
        spec.bytesPerSec = between(256, 16_384);
        break;
      case 'slicer':
        spec.sliceBytes = between(1, 16);
        spec.sliceDelayMs = between(0, 5);
        break;
      case 'limit':
        spec.limitBytes = between(0, 2000);
        break;
      case 'refuse':
        spec.existing = r() < 0.5 ? 'keep' : 'cut';
        break;
      default:
        break;
    }
    return spec;
  }

  private scheduleNext(): void {
    const gap = Math.max(1, Math.round(this.opts.meanGapMs * (0.5 + this.random())));
    this.timer = setTimeout(() => {
      const spec = this.draw();
      try {
        this.target.addFault(spec);
        const kind = spec.kind as FaultKind;
        this.counts[kind] = (this.counts[kind] ?? 0) + 1;
        this.onFault(spec);
      } catch (err) {
        // The chosen connection closed in between: nothing to do, the schedule goes on.
        this.onFault(spec, err as Error);
      }
      // onFault may have stopped the schedule.
      if (!this.stopped) this.scheduleNext();
    }, gap);
  }
}
