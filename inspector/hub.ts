/**
 * Collects the session actors' inspection events into the view model and hands the page one
 * batch of changes per flush interval, whatever the event rate: a reconnect storm of thousands
 * of transitions becomes a few batches, and nothing at all is done between flushes but the
 * reduction itself. With no page connected, the hub still reduces (so a page opened later sees
 * the present) but serialises nothing.
 */
import type { InspectionEvent } from 'xstate';
import { applyInspection, countsByState, createViewModel, DEFAULT_LIMITS, takeChanges, type SessionRow, type TopState, type ViewLimits, type ViewModel } from './view-model';

export interface HubOptions {
  /** The server's send interval, so the page can extrapolate each streaming session's index. */
  intervalMs: number;
  /** The session store's next index for a protocol session id (read on state changes only). */
  probeIndex?: (sessionId: string) => number | undefined;
  flushMs?: number;
  limits?: ViewLimits;
}

export interface Batch {
  /** Server time of the batch (epoch ms), so the page can correct for clock offset. */
  now: number;
  intervalMs: number;
  counts: Record<TopState, number>;
  rows: SessionRow[];
  removed: string[];
  /** True for the first batch a page receives: every row, not only changes. */
  full: boolean;
}

type Listener = (batch: Batch) => void;

export class InspectorHub {
  readonly vm: ViewModel = createViewModel();
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | null = null;
  private readonly limits: ViewLimits;
  /** Events reduced since start: for the page's footer and the benchmark. */
  events = 0;
  /** Protocol session id of the event being reduced. */
  private current: string | undefined;
  /**
   * The store is read only when a row changes (the reduction calls this lazily), not on the
   * heartbeat re-arms that make up nearly all events; bound once, so those allocate nothing.
   */
  private readonly readIndex = (): number | undefined => (this.current && this.opts.probeIndex ? this.opts.probeIndex(this.current) : undefined);

  constructor(private readonly opts: HubOptions) {
    this.limits = opts.limits ?? DEFAULT_LIMITS;
  }

  /** The `inspect` observer to give every session actor. */
  readonly inspect = (ev: InspectionEvent): void => {
    this.events++;
    // Microsteps and actions add nothing the rows show.
    if (ev.type !== '@xstate.snapshot' && ev.type !== '@xstate.event') return;
    const snapshot = (ev as { snapshot?: { context?: { id?: unknown } } }).snapshot;
    this.current = typeof snapshot?.context?.id === 'string' ? snapshot.context.id : undefined;
    const changed = applyInspection(this.vm, ev as unknown as Parameters<typeof applyInspection>[1], { now: Date.now(), nextIndex: this.readIndex }, this.limits);
    if (this.listeners.size === 0) {
      // No page to tell: a page that connects later gets every row in its first batch.
      this.vm.dirty.clear();
      this.vm.removed.clear();
      return;
    }
    if (changed && !this.timer) {
      this.timer = setTimeout(() => this.flush(), this.opts.flushMs ?? 250);
    }
  };

  /** Adds a page; it gets everything now, then batches of changes. Returns the unsubscribe. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    listener(this.full());
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
      }
    };
  }

  /** Every row: what a page gets first, and again after it fell behind. */
  full(): Batch {
    return { now: Date.now(), intervalMs: this.opts.intervalMs, counts: countsByState(this.vm), rows: [...this.vm.rows.values()].map((r) => ({ ...r })), removed: [], full: true };
  }

  history(key: string) {
    const row = this.vm.rows.get(key);
    return row ? { row, history: this.vm.histories.get(key) ?? [] } : undefined;
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.listeners.clear();
  }

  private flush(): void {
    this.timer = null;
    const { rows, removed } = takeChanges(this.vm);
    if (rows.length === 0 && removed.length === 0) return;
    const batch: Batch = { now: Date.now(), intervalMs: this.opts.intervalMs, counts: countsByState(this.vm), rows, removed, full: false };
    for (const l of this.listeners) l(batch);
  }
}
