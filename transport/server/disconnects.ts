/**
 * Connection closes, told to their sessions a slice at a time instead of all at once.
 *
 * When thousands of clients drop together (a reconnect storm), Node delivers their closes in
 * one poll phase; telling each session there (its actor woken, suspended, the store written)
 * kept the event loop away from accept() for most of a second, the kernel's accept queue
 * (4,096) overflowed, and every dropped SYN cost its client a 1 s retransmit. Here a close costs
 * a push; the sessions hear of it in slices between turns of the loop, so the clients' new
 * connections are accepted meanwhile. A RESUME that overtakes its own close is what the machine
 * already handles (a resume while streaming: the new connection wins; the old connection's
 * DISCONNECTED is then ignored, as it names a connection the session no longer has).
 */
import type { SessionRuntime } from './session-runtime';

/** Sessions told per turn of the event loop: about 10 ms of work at a storm's cost per close. */
const SLICE = 200;

export class Disconnects {
  constructor(
    /** A session whose DISCONNECTED threw: reported, and the rest are still told. */
    private readonly onError: (err: unknown) => void,
  ) {}

  private queue: { session: SessionRuntime; connectionId: number }[] = [];
  private head = 0;
  private scheduled: NodeJS.Immediate | null = null;

  /** `session` lost its connection `connectionId`: it hears so within a few turns of the loop. */
  add(session: SessionRuntime, connectionId: number): void {
    this.queue.push({ session, connectionId });
    this.scheduled ??= setImmediate(this.run);
  }

  /** Closes not told yet (for tests). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Forgets everything not told yet (server shutdown). */
  clear(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.queue = [];
    this.head = 0;
  }

  private run = (): void => {
    this.scheduled = null;
    const end = Math.min(this.queue.length, this.head + SLICE);
    while (this.head < end) {
      const { session, connectionId } = this.queue[this.head++];
      try {
        session.send({ type: 'DISCONNECTED', connectionId });
      } catch (err) {
        // One session's failure is its own: the closes queued after it are still told.
        this.onError(err);
      }
    }
    if (this.head < this.queue.length) this.scheduled = setImmediate(this.run);
    else {
      this.queue = [];
      this.head = 0;
    }
  };
}
