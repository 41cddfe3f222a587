/**
 * The cluster's sessions by state, read from the shared session store (`store.counts()`), for
 * the inspector page beside this node's own live sessions. Read at a modest rate and only while
 * a page is open: each read is one script on Redis whatever the number of sessions, and with no
 * page watching nobody needs it.
 */
import type { StoredState } from '../transport/server/store/session-store';

/** How often the store is read while at least one page is open. */
export const CLUSTER_POLL_MS = 1000;

/** What a page is sent: the counts, or why there are none this time. */
export interface ClusterView {
  /** Server time of the read (epoch ms). */
  at: number;
  counts: Record<StoredState, number> | null;
  /** The read failed (store unreachable): the page says so instead of showing stale counts. */
  error?: string;
}

/** Resolves to the counts, or null when the store is not shared (nothing beyond this node). */
export type ReadClusterCounts = () => Promise<Record<StoredState, number> | null>;

export class ClusterCountsPoller {
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  /** The last view read, sent at once to a page that opens between reads. */
  last: ClusterView | null = null;

  constructor(
    private readonly read: ReadClusterCounts,
    private readonly publish: (view: ClusterView) => void,
    private readonly periodMs = CLUSTER_POLL_MS,
  ) {}

  get running(): boolean {
    return this.timer !== null;
  }

  /** Reads now and then every period, until stop(). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.poll(), this.periodMs);
    this.timer.unref();
    void this.poll();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async poll(): Promise<void> {
    // A slow store must not pile up reads: skip a tick while the last one is out.
    if (this.reading) return;
    this.reading = true;
    let view: ClusterView;
    try {
      const counts = await this.read();
      view = { at: Date.now(), counts };
    } catch (err) {
      view = { at: Date.now(), counts: null, error: (err as Error).message };
    } finally {
      this.reading = false;
    }
    // Stopped while reading (the last page closed): nobody to tell.
    if (!this.timer) return;
    this.last = view;
    this.publish(view);
  }
}
