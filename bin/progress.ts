/**
 * The client's progress output: a live bar (count, rate, ETA) on a terminal, plain periodic
 * lines otherwise, so logs and CI output stay readable.
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
  private startedAt: number;
  private lastDraw = 0;
  private lastLine = 0;
  private barShown = false;
  private readonly tty: boolean;
  private readonly now: () => number;

  constructor(private readonly opts: ProgressOptions) {
    this.tty = Boolean(opts.stream.isTTY);
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
  }

  start(total: number, done: number): void {
    this.total = total;
    this.done = done;
    this.render('force');
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
    this.render('force');
    if (this.barShown) this.opts.stream.write('\n');
    this.barShown = false;
  }

  private clearBar(): void {
    if (this.tty && this.barShown) this.opts.stream.write('\r\x1b[2K');
    this.barShown = false;
  }

  /** tick: throttled; redraw: the bar again after a line (TTY only); force: always. */
  private render(mode: 'tick' | 'redraw' | 'force'): void {
    if (this.total === 0) return;
    const t = this.now();
    const elapsed = (t - this.startedAt) / 1000;
    const rate = elapsed > 0 ? this.done / elapsed : 0;
    const left = this.total - this.done;
    const eta = rate > 0 ? formatDuration(left / rate) : '?';
    const pct = ((100 * this.done) / this.total).toFixed(1);
    if (this.tty) {
      if (mode === 'tick' && t - this.lastDraw < 100) return;
      this.lastDraw = t;
      const width = Math.max(10, Math.min(40, (this.opts.stream.columns ?? 80) - 50));
      const filled = Math.round((width * this.done) / this.total);
      const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
      this.opts.stream.write(`\r\x1b[2K[${bar}] ${this.done}/${this.total} ${pct}% ${rate.toFixed(1)}/s ETA ${eta}`);
      this.barShown = true;
    } else {
      const every = this.opts.lineEveryMs ?? 5000;
      if (mode !== 'force' && t - this.lastLine < every) return;
      this.lastLine = t;
      this.opts.stream.write(`progress: ${this.done}/${this.total} (${pct}%), ${rate.toFixed(1)} numbers/s, ETA ${eta}\n`);
    }
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
