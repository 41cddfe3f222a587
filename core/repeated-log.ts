/**
 * Log lines that a peer can cause (a protocol error, a refused connection, a rate limit) are
 * aggregated: the first of a kind from a source in a period is logged in full, the rest are
 * counted and reported in one line when the period ends. 5,000 bad connections from one address
 * then cost two lines per period, not 715 KB (observed before this existed).
 *
 * Memory is bounded: at most `maxKeys` (kind, source) pairs per period are tracked one by one;
 * beyond that, repeats are only counted per kind.
 */
import type { Logger } from './logger';

type Level = 'warn' | 'info';

interface Tally {
  level: Level;
  kind: string;
  source: string;
  /** Repeats after the first, which was logged in full. */
  more: number;
  last: string;
}

export class RepeatedLog {
  private readonly tallies = new Map<string, Tally>();
  /** Repeats per kind from sources past maxKeys, and how many such sources (approximate: calls). */
  private readonly overflow = new Map<string, { level: Level; count: number }>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly periodMs = 10_000,
    private readonly maxKeys = 1000,
  ) {}

  /** Logs `message` if it is the first of `kind` from `source` in this period; counts it otherwise. */
  note(level: Level, kind: string, source: string, message: string, meta: Record<string, unknown> = {}): void {
    const key = `${kind}\u0000${source}`;
    const t = this.tallies.get(key);
    if (t) {
      t.more++;
      t.last = message;
      return;
    }
    this.arm();
    if (this.tallies.size >= this.maxKeys) {
      const o = this.overflow.get(kind) ?? { level, count: 0 };
      o.count++;
      this.overflow.set(kind, o);
      return;
    }
    this.tallies.set(key, { level, kind, source, more: 0, last: message });
    this.log[level](message, { ...meta, source });
  }

  /** Reports what was counted and starts a new period. */
  flush(): void {
    const secs = Math.round(this.periodMs / 1000);
    for (const t of this.tallies.values()) {
      if (t.more > 0) this.log[t.level](`${t.more} more ${t.kind} from ${t.source} in the last ${secs} s (last: ${t.last})`, { source: t.source, repeats: t.more });
    }
    for (const [kind, o] of this.overflow) {
      this.log[o.level](`${o.count} more ${kind} from sources beyond the first ${this.maxKeys} in the last ${secs} s`, { repeats: o.count });
    }
    this.tallies.clear();
    this.overflow.clear();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.flush();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      const idle = this.tallies.size === 0 && this.overflow.size === 0;
      this.flush();
      // A quiet period stops the timer; the next line starts it again.
      if (idle && this.timer) {
        clearInterval(this.timer);
        this.timer = null;
      }
    }, this.periodMs);
    this.timer.unref();
  }
}
