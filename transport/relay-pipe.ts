/**
 * One direction of a relayed connection: reads `from`, writes `to`, and applies that direction's
 * toxics (freeze, latency ± jitter, bandwidth, slicer, limit).
 *
 * With no toxic the bytes go straight through (the seed's relay, with backpressure). With one,
 * every chunk becomes one or more pieces with a due time in a queue, released in order by a
 * single timer: TCP never reorders or drops bytes on a live connection, so neither does a toxic;
 * it only delays, slices or stops them. Reading pauses while the queue holds more than
 * HIGH_WATER bytes, so a slow toxic never makes the proxy buffer what a fast peer sends.
 */
import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { NO_TOXICS, type PipeToxics } from './faults';

const HIGH_WATER = 64 * 1024;
/** Bandwidth is released in pieces of 1/BANDWIDTH_STEPS of a second's worth, so it flows evenly. */
const BANDWIDTH_STEPS = 20;

interface Piece {
  buf: Buffer;
  due: number;
}

export class RelayPipe {
  /** Bytes forwarded (written to `to`). */
  bytes = 0;
  private toxics: PipeToxics = NO_TOXICS;
  private readonly queue: Piece[] = [];
  private queuedBytes = 0;
  /** Due time of the last piece queued: later pieces never overtake it. */
  private lastDue = 0;
  private timer: NodeJS.Timeout | null = null;
  private awaitingDrain = false;
  private limitFaultId = 0;
  private limitCount = 0;
  private stopped = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    /** Called once when a limit fault's byte budget is used up. */
    private readonly onLimit: () => void,
    private readonly random: () => number = Math.random,
  ) {
    from.on('data', (chunk: Buffer) => this.take(chunk));
    to.on('drain', () => {
      this.awaitingDrain = false;
      this.flush();
    });
  }

  get queued(): number {
    return this.queuedBytes;
  }

  setToxics(t: PipeToxics): void {
    if (t.limit && t.limit.faultId !== this.limitFaultId) {
      this.limitFaultId = t.limit.faultId;
      this.limitCount = 0;
    }
    this.toxics = t;
    this.flush();
  }

  /** Drops what is queued and stops the timer: the connection is gone. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private get direct(): boolean {
    const t = this.toxics;
    return this.queue.length === 0 && !t.frozen && t.latencyMs === 0 && t.jitterMs === 0 && t.bytesPerSec === 0 && t.sliceBytes === 0;
  }

  private take(chunk: Buffer): void {
    if (this.stopped) return;
    if (this.direct) {
      this.forward(chunk);
      this.updateReading();
      return;
    }
    const t = this.toxics;
    const now = performance.now();
    const pieceSize = t.sliceBytes > 0 ? t.sliceBytes : t.bytesPerSec > 0 ? Math.max(1, Math.floor(t.bytesPerSec / BANDWIDTH_STEPS)) : chunk.length;
    for (let off = 0; off < chunk.length; off += pieceSize) {
      const buf = chunk.subarray(off, off + pieceSize);
      const jitter = t.jitterMs > 0 ? (this.random() * 2 - 1) * t.jitterMs : 0;
      let due = Math.max(now + Math.max(0, t.latencyMs + jitter), this.lastDue);
      if (t.sliceBytes > 0 && this.queue.length > 0) due = Math.max(due, this.lastDue + t.sliceDelayMs);
      // A piece is released once the link could have carried it at the configured rate.
      if (t.bytesPerSec > 0) due = Math.max(due, this.lastDue) + (buf.length * 1000) / t.bytesPerSec;
      this.lastDue = due;
      this.queue.push({ buf, due });
      this.queuedBytes += buf.length;
    }
    this.updateReading();
    this.flush();
  }

  /** Releases every piece that is due, then sets the timer for the next one. */
  private flush(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const now = performance.now();
    while (this.queue.length > 0 && !this.toxics.frozen && !this.awaitingDrain) {
      const head = this.queue[0];
      if (head.due > now + 0.5) break;
      this.queue.shift();
      this.queuedBytes -= head.buf.length;
      this.forward(head.buf);
      if (this.stopped) return;
    }
    if (this.queue.length > 0 && !this.toxics.frozen && !this.awaitingDrain) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, this.queue[0].due - now));
    }
    if (this.queue.length === 0) this.lastDue = 0;
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
    if (this.stopped) return;
    if (this.toxics.frozen || this.awaitingDrain || this.queuedBytes > HIGH_WATER) this.from.pause();
    else this.from.resume();
  }
}
