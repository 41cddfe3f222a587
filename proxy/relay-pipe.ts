/**
 * One direction of a relayed connection: reads `from`, writes `to`, and applies that direction's
 * toxics (freeze, latency ± jitter, bandwidth, slicer, limit). The source's end-of-stream (FIN)
 * is passed on only after every byte before it, as TCP would.
 *
 * With no toxic the bytes go straight through (the seed's relay, with backpressure). With one,
 * each chunk waits in a FIFO and is released, whole or in slices, by a single timer. Release
 * times are computed when a piece is due, from the toxics in force *then*: lifting a latency or
 * bandwidth fault speeds up what is already queued. Slices are cut at release, so a 1-byte
 * slicer over a 64 KiB chunk holds one queue entry, not 65,536. Reading pauses while more than
 * HIGH_WATER bytes wait, so a slow toxic never makes the proxy buffer what a fast peer sends.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { NO_TOXICS, type PipeToxics } from './faults';

const HIGH_WATER = 64 * 1024;
/** Bandwidth is released in pieces of 1/BANDWIDTH_STEPS of a second's worth, so it flows evenly. */
const BANDWIDTH_STEPS = 20;

interface Entry {
  buf: Buffer;
  /** Bytes of `buf` already released. */
  off: number;
  arrivedAt: number;
  /** This chunk's jitter draw in [-1, 1], scaled by the jitter in force when it is due. */
  jitter: number;
}

export class RelayPipe {
  /** Bytes forwarded (written to `to`). */
  bytes = 0;
  private toxics: PipeToxics = NO_TOXICS;
  private queue: Entry[] = [];
  private head = 0;
  private queuedBytes = 0;
  /**
   * Pacing, fixed when each piece is released under the toxics of that moment: when the link
   * is free again at the bandwidth then in force, and when the next slice may go. A later change
   * of toxics does not re-charge pieces already sent.
   */
  private linkFreeAt = -Infinity;
  private nextSliceAt = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private awaitingDrain = false;
  private limitFaultId = 0;
  private limitCount = 0;
  private stopped = false;
  private sourceEnded = false;
  private endSent = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    /** Called once when a limit fault's byte budget is used up. */
    private readonly onLimit: () => void,
    private readonly random: () => number = Math.random,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    from.on('end', () => {
      this.sourceEnded = true;
      this.flush();
    });
    to.on('drain', () => {
      this.awaitingDrain = false;
      this.flush();
    });
  }

  get queued(): number {
    return this.queuedBytes;
  }

  get frozen(): boolean {
    return this.toxics.frozen;
  }

  /** The source ended and everything, FIN included, has been passed on. */
  get finished(): boolean {
    return this.endSent;
  }

  setToxics(t: PipeToxics): void {
    if (t.limit && t.limit.faultId !== this.limitFaultId) {
      this.limitFaultId = t.limit.faultId;
      this.limitCount = 0;
    }
    this.toxics = t;
    this.flush();
  }

  /** Drops what is queued, forwards nothing more, stops the timer: this direction is closed. */
  stop(): void {
    this.stopped = true;
    // Keep reading (and discarding) so the source still sees its peer's FIN and can close;
    // a source left paused here would keep the connection open forever.
    this.from.resume();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.head = 0;
    this.queuedBytes = 0;
  }

  private get pending(): boolean {
    return this.head < this.queue.length;
  }

  private get direct(): boolean {
    const t = this.toxics;
    return !this.pending && !t.frozen && t.latencyMs === 0 && t.jitterMs === 0 && t.bytesPerSec === 0 && t.sliceBytes === 0;
  }

  private take(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.direct && !this.awaitingDrain) {
      this.forward(chunk);
      this.updateReading();
      return;
    }
    this.queue.push({ buf: chunk, off: 0, arrivedAt: performance.now(), jitter: this.toxics.jitterMs > 0 ? this.random() * 2 - 1 : 0 });
    this.queuedBytes += chunk.length;
    this.flush();
  }

  /** When the head's next piece may go, under the toxics in force now. */
  private dueOf(e: Entry): number {
    const t = this.toxics;
    let due = e.arrivedAt + Math.max(0, t.latencyMs + e.jitter * t.jitterMs);
    if (t.sliceBytes > 0) due = Math.max(due, this.nextSliceAt);
    if (t.bytesPerSec > 0) due = Math.max(due, this.linkFreeAt);
    return due;
  }

  private pieceSize(): number {
    const t = this.toxics;
    if (t.sliceBytes > 0) return t.sliceBytes;
    if (t.bytesPerSec > 0) return Math.max(1, Math.floor(t.bytesPerSec / BANDWIDTH_STEPS));
    return Infinity;
  }

  /** Releases every piece that is due, then sets the timer for the next one. */
  private flush(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = performance.now();
    while (this.pending && !this.toxics.frozen && !this.awaitingDrain) {
      const e = this.queue[this.head];
      const due = this.dueOf(e);
      if (due > now + 0.5) break;
      const size = Math.min(this.pieceSize(), e.buf.length - e.off);
      const piece = e.off === 0 && size === e.buf.length ? e.buf : e.buf.subarray(e.off, e.off + size);
      e.off += size;
      this.queuedBytes -= size;
      if (e.off >= e.buf.length) this.head++;
      // Pace from the schedule, not from when the timer happened to fire, unless the link sat
      // idle: an idle link does not bank credit for a burst.
      const releasedAt = due < now - 20 ? now : due;
      const t = this.toxics;
      // The piece occupies the link for its length at the configured rate.
      this.linkFreeAt = t.bytesPerSec > 0 ? releasedAt + (size * 1000) / t.bytesPerSec : releasedAt;
      this.nextSliceAt = releasedAt + (t.sliceBytes > 0 ? t.sliceDelayMs : 0);
      this.forward(piece);
      if (this.stopped) return;
    }
    if (!this.pending) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    if (this.pending && !this.toxics.frozen && !this.awaitingDrain) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, this.dueOf(this.queue[this.head]) - now));
    }
    // A frozen link holds the FIN as it holds the bytes.
    if (this.sourceEnded && !this.pending && !this.toxics.frozen && !this.endSent) {
      this.endSent = true;
      this.to.end();
    }
    this.updateReading();
  }

  private forward(buf: Buffer): void {
    const limit = this.toxics.limit;
    if (limit) {
      const left = limit.bytes - this.limitCount;
      if (buf.length >= left) {
        // Exactly the budget goes through, then the connection is closed.
        if (left > 0) this.to.write(buf.subarray(0, left));
        this.bytes += Math.max(0, left);
        this.limitCount = limit.bytes;
        this.stop();
        this.onLimit();
        return;
      }
      this.limitCount += buf.length;
    }
    this.bytes += buf.length;
    if (!this.to.write(buf)) this.awaitingDrain = true;
  }

  /** Reading stops while frozen, while the peer is not draining, or while the queue is full. */
  private updateReading(): void {
    if (this.stopped || this.sourceEnded) return;
    if (this.toxics.frozen || this.awaitingDrain || this.queuedBytes > HIGH_WATER) this.from.pause();
    else this.from.resume();
  }
}
