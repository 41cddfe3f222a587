/**
 * The client's progress output: a live bar (count, rate, ETA) on a terminal, drawn by
 * cli-progress, and plain periodic lines otherwise, so logs and CI output stay readable.
 *
 * While disconnected it shows "reconnecting: attempt N, offline for X s" instead of a rate and
 * an ETA: there is no rate to speak of, and an ETA would be made up. The rate (and so the ETA)
 * counts only time spent connected, and comes back with the next WELCOME.
 *
 * Two things stay ours, because cli-progress cannot do them: the rate and ETA (its own count
 * wall time since its start(), offline periods included), and the plain lines (its non-TTY mode
 * prints on a timer of its own and always prints a last line at stop(), so a client that gave
 * up while offline would end its log on "reconnecting" instead of the verdict).
 */
import { Format, SingleBar, type Options, type Params } from 'cli-progress';

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
  /** On a terminal only; active while the bar is on screen. */
  private readonly bar: SingleBar | null;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.now = opts.now ?? Date.now;
    this.bar = opts.stream.isTTY
      ? new SingleBar({
          stream: opts.stream,
          // The text reads our clock, so cli-progress's own redraws (at most 10 a second, on a
          // change) keep "offline for" counting; our calls draw at once, throttled below.
          format: (options, params) => this.barText(options, params),
          synchronousUpdate: false,
          barCompleteChar: '#',
          barIncompleteChar: '-',
          // true: the terminal's wrapping is left alone (turned off, a crash would leave it off)
          // and the text is cut to the width instead; the bar is sized so that it is not cut.
          linewrap: true,
        })
      : null;
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

  /** Prints an event line (loss, resume) without tearing the bar: the bar is erased, then drawn below it. */
  say(line: string): void {
    if (this.bar?.isActive) this.opts.stream.write('\r\x1b[2K');
    this.opts.stream.write(line + '\n');
    if (this.bar?.isActive) this.bar.start(this.total, this.done);
  }

  finish(): void {
    if (this.bar) {
      // The bar stays on screen as it last was, and the verdict goes on the next line.
      this.bar.stop();
      return;
    }
    // Given up while offline: no last "reconnecting" line, the verdict says what happened.
    if (this.offlineSince === null) this.render('force');
  }

  /** tick: throttled; redraw: the bar again after a line (TTY only); force: always. */
  private render(mode: 'tick' | 'redraw' | 'force'): void {
    const t = this.now();
    if (this.total === 0 && this.offlineSince === null) return;
    if (this.bar) {
      if (!this.bar.isActive) {
        // start() draws; it also saves the cursor where the bar is, which stop() returns to.
        this.bar.start(this.total, this.done);
        this.lastDraw = t;
        return;
      }
      this.bar.setTotal(this.total);
      this.bar.update(this.done);
      if (mode === 'tick' && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      this.bar.render();
    } else {
      // Before any WELCOME each failed attempt prints its own line already.
      if (this.total === 0) return;
      const every = this.opts.lineEveryMs ?? 5000;
      if (mode !== 'force' && t - this.lastLine < every) return;
      this.lastLine = t;
      const count = `${this.done}/${this.total} (${this.pct()}%)`;
      this.opts.stream.write(`progress: ${count}, ${this.offlineText(t) ?? this.speed(t, ' numbers/s,')}\n`);
    }
  }

  /** The bar's line; before any WELCOME, the reconnect state alone. */
  private barText(options: Options, params: Params): string {
    const t = this.now();
    const state = this.offlineText(t) ?? this.speed(t, '/s');
    if (params.total === 0) return state;
    const rest = ` ${params.value}/${params.total} ${this.pct()}% ${state}`;
    // The bar takes what the text leaves of the line (10 to 40 columns), so the state is not cut.
    const width = Math.max(10, Math.min(40, (this.opts.stream.columns ?? 80) - rest.length - 3));
    return `[${Format.BarFormat(params.progress, { ...options, barsize: width })}]${rest}`;
  }

  private offlineText(t: number): string | null {
    return this.offlineSince === null ? null : `reconnecting: attempt ${this.attempt}, offline for ${formatOffline((t - this.offlineSince) / 1000)}`;
  }

  private pct(): string {
    return ((100 * this.done) / this.total).toFixed(1);
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
