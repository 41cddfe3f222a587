/**
 * The client's progress output: a live bar (count, rate, ETA) on a terminal, plain periodic
 * lines otherwise, so logs and CI output stay readable.
 *
 * While disconnected it shows "reconnecting: attempt N, offline for X s" instead of a rate and
 * an ETA: there is no rate to speak of, and an ETA would be made up. The rate (and so the ETA)
 * counts only time spent connected, and comes back with the next WELCOME.
 */
export interface ProgressOptions {
  stream: NodeJS.WriteStream;
  /** Plain-line period when not a TTY. */
  lineEveryMs?: number;
  now?: () => number;
}

export class ProgressDisplay {
  private total = 0;
  private done = 0;
  /** Set by the first start(): numbers already held then do not count towards the rate. */
  private startedAt: number | null = null;
  private baseDone = 0;
  /** Time spent disconnected since startedAt, excluded from the rate. */
  private offlineMs = 0;
  private offlineSince: number | null = null;
  private attempt = 0;
  private lastDraw = 0;
  private lastLine = 0;
  private barShown = false;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = Boolean(opts.stream.isTTY);
    this.now = opts.now ?? Date.now;
  }

  /** A WELCOME: the session (again) streams from `done`. Ends an offline period. */
  start(total: number, done: number): void {
    const t = this.now();
    if (this.startedAt === null) {
      this.startedAt = t;
      this.baseDone = done;
    }
    if (this.offlineSince !== null) this.offlineMs += t - this.offlineSince;
    this.offlineSince = null;
    this.total = total;
    this.done = done;
    this.render('force');
  }

  /** The link is down (lost, or a connect failed); `attempt` is the reconnect attempt under way. */
  offline(attempt: number): void {
    this.offlineSince ??= this.now();
    this.attempt = attempt;
    // The loss line was just printed: plain output waits for its period, a bar is redrawn.
    this.render('redraw');
  }

  /** A clock tick with nothing new: keeps the offline time (and a stalled bar) current. */
  tick(): void {
    this.render('tick');
  }

  update(done: number): void {
    this.done = done;
    this.render('tick');
  }

  /** Prints an event line (loss, resume) without tearing the bar. */
  say(line: string): void {
    this.clearBar();
    this.opts.stream.write(line + '\n');
    this.render('redraw');
  }

  finish(): void {
    // Given up while offline: no last "reconnecting" line, the verdict says what happened.
    if (this.offlineSince === null) this.render('force');
    if (this.barShown) this.opts.stream.write('\n');
    this.barShown = false;
  }

  private clearBar(): void {
    if (this.tty && this.barShown) this.opts.stream.write('\r\x1b[2K');
    this.barShown = false;
  }

  /** tick: throttled; redraw: the bar again after a line (TTY only); force: always. */
  private render(mode: 'tick' | 'redraw' | 'force'): void {
    const t = this.now();
    const offline = this.offlineSince !== null ? `reconnecting: attempt ${this.attempt}, offline for ${formatOffline((t - this.offlineSince) / 1000)}` : null;
    if (this.total === 0 && offline === null) return;
    if (this.tty) {
      if (mode === 'tick' && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      this.opts.stream.write(`\r\x1b[2K${this.total === 0 ? offline : `${this.bar()} ${offline ?? this.speed(t, '/s')}`}`);
      this.barShown = true;
    } else {
      // Before any WELCOME each failed attempt prints its own line already.
      if (this.total === 0) return;
      const every = this.opts.lineEveryMs ?? 5000;
      if (mode !== 'force' && t - this.lastLine < every) return;
      this.lastLine = t;
      const count = `${this.done}/${this.total} (${this.pct()}%)`;
      this.opts.stream.write(`progress: ${count}, ${offline ?? this.speed(t, ' numbers/s,')}\n`);
    }
  }

  private pct(): string {
    return ((100 * this.done) / this.total).toFixed(1);
  }

  private bar(): string {
    const width = Math.max(10, Math.min(40, (this.opts.stream.columns ?? 80) - 50));
    const filled = Math.round((width * this.done) / this.total);
    return `[${'#'.repeat(filled) + '-'.repeat(width - filled)}] ${this.done}/${this.total} ${this.pct()}%`;
  }

  /** Rate over connected time only, and the ETA it gives. */
  private speed(t: number, unit: string): string {
    const online = (t - (this.startedAt ?? t) - this.offlineMs) / 1000;
    const rate = online > 0 ? (this.done - this.baseDone) / online : 0;
    const eta = rate > 0 ? formatDuration((this.total - this.done) / rate) : '?';
    return `${rate.toFixed(1)}${unit} ETA ${eta}`;
  }
}

/** Seconds below a minute, so a short outage reads "offline for 7 s"; then as a duration. */
function formatOffline(seconds: number): string {
  return seconds < 60 ? `${Math.floor(seconds)} s` : formatDuration(seconds);
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
