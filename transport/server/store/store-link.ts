/**
 * This server's side of its session store: every call goes through here, so an outage is seen
 * once (one log line when it starts, one when it ends, not one per session), lifecycle writes
 * are retried until they land or are refused as stale, and a drain can wait for what is still
 * in flight.
 */
import type { Logger } from '../../../core/logger';
import type { SessionStore, WriteResult } from './session-store';

/** Retry backoff for lifecycle writes: doubles from the first to the cap. */
const RETRY_FIRST_MS = 50;
const RETRY_CAP_MS = 2_000;
/**
 * While the store is away, it is asked this often whether it is back. Without the probe only a
 * client's call could find out, and behind a load balancer none comes: /ready says 503, so the
 * balancer sends no HELLO or RESUME, and a node whose sessions are long stays unready for good.
 */
const PROBE_MS = 200;
/** A read of an id no session has (ids are random hex): cheap, and touches nothing. */
const PROBE_ID = 'probe';

export class StoreLink {
  private downSince: number | null = null;
  private failedDuringOutage = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private probe: NodeJS.Timeout | null = null;

  constructor(
    readonly store: SessionStore,
    private readonly log: Logger,
  ) {}

  /** False from the first failed call until one succeeds again. */
  get reachable(): boolean {
    return this.downSince === null;
  }

  /** Lifecycle writes not yet landed (retrying ones included). */
  get pendingWrites(): number {
    return this.inFlight.size;
  }

  /** One attempt (handshakes: the client retries on a resumable REJECT). */
  async once<T>(op: (s: SessionStore) => Promise<T>): Promise<T> {
    try {
      const out = await op(this.store);
      this.up();
      return out;
    } catch (err) {
      this.down(err);
      throw err;
    }
  }

  /**
   * A lifecycle write, retried with backoff until it lands ('ok') or is refused as stale
   * ('lost'); 'abandoned' only when the server closes first. Never rejects.
   */
  write(op: (s: SessionStore) => Promise<WriteResult>): Promise<WriteResult | 'abandoned'> {
    const p = this.retry(op);
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  /** Resolves when every write in flight has settled, or after `timeoutMs`; true if all did. */
  async settled(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const all = Promise.all([...this.inFlight]).then(() => true as const);
    try {
      return await Promise.race([all, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops retrying (writes still failing settle as 'abandoned'). */
  close(): void {
    this.closed = true;
    if (this.probe) clearTimeout(this.probe);
    this.probe = null;
  }

  private async retry(op: (s: SessionStore) => Promise<WriteResult>): Promise<WriteResult | 'abandoned'> {
    for (let wait = RETRY_FIRST_MS; ; wait = Math.min(RETRY_CAP_MS, wait * 2)) {
      if (this.closed) return 'abandoned';
      try {
        return await this.once(op);
      } catch {
        this.failedDuringOutage++;
        await new Promise((r) => setTimeout(r, wait).unref());
      }
    }
  }

  private down(err: unknown): void {
    if (this.downSince !== null) return;
    this.downSince = Date.now();
    this.log.warn(`session store ${this.store.description} unreachable: ${(err as Error).message}; new sessions and resumes are refused (resumable) and lifecycle writes retried until it is back`);
    this.scheduleProbe();
  }

  /** Asks the store until a call (this probe's or any other) succeeds; `up()` logs the end. */
  private scheduleProbe(): void {
    if (this.probe || this.closed) return;
    this.probe = setTimeout(() => {
      void this.once((s) => s.inspect(PROBE_ID))
        .catch(() => {})
        .finally(() => {
          this.probe = null;
          if (this.downSince !== null) this.scheduleProbe();
        });
    }, PROBE_MS);
    this.probe.unref();
  }

  private up(): void {
    if (this.downSince === null) return;
    this.log.warn(`session store ${this.store.description} reachable again after ${Date.now() - this.downSince} ms (${this.failedDuringOutage} write attempts retried)`);
    this.downSince = null;
    this.failedDuringOutage = 0;
  }
}
