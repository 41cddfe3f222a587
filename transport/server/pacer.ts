/**
 * One shared tick scheduler for every streaming session, instead of a timer per session.
 *
 * All sessions of a server share one interval, so if each entry's next due time is its previous
 * due time plus the interval, a plain FIFO stays sorted by due time: a new entry is due at
 * now + interval, which is never earlier than anything already queued. That makes scheduling
 * O(1) per number with a single pending timer for the whole server. Removal is lazy (the entry
 * is marked and skipped when it reaches the head), so stopping is O(1) too.
 */

export interface PacerClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: PacerClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface PacerEntry<T> {
  readonly item: T;
  due: number;
  active: boolean;
}

export class Pacer<T> {
  private queue: PacerEntry<T>[] = [];
  private head = 0;
  private timer: unknown = null;
  private starting: PacerEntry<T>[] = [];
  private startTimer: unknown = null;
  private timerDue = Infinity;
  private active = 0;

  /**
   * @param onTick called once per interval per entry; return false to stop pacing that entry.
   */
  constructor(
    private readonly intervalMs: number,
    private readonly onTick: (item: T) => boolean,
    private readonly clock: PacerClock = realClock,
    /** A throwing tick stops only its own entry; the scheduler must keep serving the others. */
    private readonly onError: (err: unknown, item: T) => void = (err) => console.error(err),
  ) {}

  /** Entries currently paced. */
  get size(): number {
    return this.active;
  }

  /**
   * Paces `item`: the first tick comes on the next turn of the event loop (not synchronously,
   * so the caller finishes what it is doing first), the following ones one interval apart.
   * Starts are batched: a reconnect storm of thousands costs one timer, not thousands.
   */
  add(item: T): PacerEntry<T> {
    const entry: PacerEntry<T> = { item, due: 0, active: true };
    this.starting.push(entry);
    this.active++;
    if (this.startTimer === null) this.startTimer = this.clock.setTimeout(this.flushStarts, 0);
    return entry;
  }

  remove(entry: PacerEntry<T>): void {
    if (!entry.active) return;
    entry.active = false;
    this.active--;
    if (this.active === 0) this.clear();
  }

  /** Drops everything; the pacer can be reused. */
  clear(): void {
    for (let i = this.head; i < this.queue.length; i++) this.queue[i].active = false;
    for (const e of this.starting) e.active = false;
    this.starting = [];
    if (this.startTimer !== null) this.clock.clearTimeout(this.startTimer);
    this.startTimer = null;
    this.queue = [];
    this.head = 0;
    this.active = 0;
    this.disarm();
  }

  private flushStarts = (): void => {
    this.startTimer = null;
    const list = this.starting;
    this.starting = [];
    const now = this.clock.now();
    for (const entry of list) {
      if (!entry.active) continue;
      // now + interval is never earlier than anything queued, so the FIFO stays sorted.
      entry.due = now;
      this.tick(entry);
    }
    this.arm();
  };

  /** Runs one tick and re-queues the entry one interval after its due time if it goes on. */
  private tick(entry: PacerEntry<T>): void {
    let keep = false;
    try {
      keep = this.onTick(entry.item);
    } catch (err) {
      this.onError(err, entry.item);
    }
    if (keep && entry.active) {
      entry.due += this.intervalMs;
      this.queue.push(entry);
    } else if (entry.active) {
      entry.active = false;
      this.active--;
    }
  }

  private run = (): void => {
    this.timer = null;
    this.timerDue = Infinity;
    const now = this.clock.now();
    // Entries re-queued during this run are due at least one interval later, so the loop ends.
    while (this.head < this.queue.length) {
      const entry = this.queue[this.head];
      if (entry.active && entry.due > now) break;
      this.head++;
      if (entry.active) this.tick(entry);
    }
    this.compact();
    this.arm();
  };

  private compact(): void {
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    } else if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    }
  }

  private arm(): void {
    while (this.head < this.queue.length && !this.queue[this.head].active) this.head++;
    if (this.head >= this.queue.length) {
      this.disarm();
      return;
    }
    const due = this.queue[this.head].due;
    if (this.timer !== null && this.timerDue <= due) return;
    this.disarm();
    this.timerDue = due;
    this.timer = this.clock.setTimeout(this.run, Math.max(0, due - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
  }
}
