/**
 * Per-session lifecycle lines (new session, resumed, suspended, complete, …) at info, until they
 * come in a burst: past `perSecond` lines in a second, the rest of that second is counted by kind
 * and said in one summary line when the second ends ("lifecycle burst, not logged one by one
 * (over 50 lines a second; each at debug): 2,974 resumed, 12 suspended"). A reconnect storm of 10,000 then costs a
 * few dozen lines instead of 30,000, which in a CPU profile of the storm were 8.5 % of the
 * server's time. At debug every line is still written.
 *
 * Not RepeatedLog (same folder): that one keeps the first line per peer address and kind, for
 * warnings a peer can cause; these are the server's own events, one per session, and what a
 * burst needs is their volume bounded whoever causes it.
 */
import type { Logger } from './logger';

export class BurstLog {
  private windowStart = 0;
  private inWindow = 0;
  private readonly tally = new Map<string, number>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly log: Logger,
    private readonly perSecond = 50,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One lifecycle event of `kind` ("resumed", "suspended", …), with its per-session line. */
  line(kind: string, message: string, meta: Record<string, unknown>): void {
    const t = this.now();
    if (t - this.windowStart >= 1000) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (++this.inWindow <= this.perSecond) {
      this.log.info(message, meta);
      return;
    }
    if (this.log.isDebugEnabled()) this.log.debug(message, meta);
    this.tally.set(kind, (this.tally.get(kind) ?? 0) + 1);
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, 1000 - (t - this.windowStart)));
      this.timer.unref();
    }
  }

  /** Says what was counted (at the end of each burst second, and on close). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.tally.size === 0) return;
    const parts = [...this.tally].map(([kind, n]) => `${n.toLocaleString('en-US')} ${kind}`);
    this.tally.clear();
    this.log.info(`lifecycle burst, not logged one by one (over ${this.perSecond} lines a second; each at debug): ${parts.join(', ')}`);
  }
}
