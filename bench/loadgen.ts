/**
 * Load generator: one process, thousands of lightweight seqstream connections. Not the CLI
 * client: no XState, no progress output, its own minimal frame parser. Every number is checked
 * against the seed-defined sequence, so loss, duplication and reordering are counted, and its
 * lateness against the session's schedule goes into a histogram.
 *
 * Driven by its parent over IPC (see bench/protocol-ipc.ts for the messages).
 */
import net from 'node:net';
import { valueAt, type Seed } from '../core/sequence';
import { MessageType, RESUMABLE_REJECTS, RejectCode } from '../transport/protocol/constants';
// The real client's backoff formula (a pure function; XState is loaded, not used).
import { backoffMs, DEFAULT_BASE_BACKOFF_MS } from '../machines/client.machine';

/** Version 1: the same frames as every earlier run, so results stay comparable; servers keep speaking it. */
const LOADGEN_VERSION = 1;
import { encode } from '../transport/protocol/codec';
import { Histogram } from './histogram';
import { serveGenerator, type GenConfig, type GenReport } from './ipc';

interface Conn {
  socket: net.Socket | null;
  id: Buffer | null;
  seed: Seed;
  length: number;
  next: number;
  /** Schedule anchor: when the WELCOME that started this stretch arrived, and its start index. */
  anchorAt: number;
  anchorIndex: number;
  buf: Buffer | null;
  done: boolean;
  /** Set by a storm: when the cut happened; cleared at the first number after it. */
  cutAt: number;
  /** WELCOME arrived on the current socket. Heartbeats wait for it: a heartbeat before the
   *  RESUME would be the connection's first message, which the server rejects (UNEXPECTED_MESSAGE). */
  live: boolean;
  /** Failed connection attempts since the last number (the backoff's exponent), when reconnecting. */
  attempts: number;
}

const now = () => performance.now();
const HEARTBEAT_TICK_MS = 20;

export class LoadGenerator {
  private readonly conns: Conn[] = [];
  private lateness = new Histogram();
  private resume = new Histogram();
  private counts = { received: 0, gaps: 0, dups: 0, badValues: 0, rejects: 0, expired: 0, errors: 0, completed: 0, welcomes: 0, checksumOk: 0, cut: 0 };
  private heartbeat: NodeJS.Timeout | null = null;
  private measuring = false;
  private readonly hb = encode({ type: MessageType.HEARTBEAT, nonce: 0 });
  /** Set by expectCut: a connection the server closes after it counts as cut at this (local) time. */
  private cutOrigin = 0;

  constructor(private readonly cfg: GenConfig) {}

  get connected(): number {
    return this.conns.filter((c) => c.socket && c.id).length;
  }

  /** Opens the connections at cfg.rampPerSec, resolving when every one has its WELCOME. */
  async open(): Promise<void> {
    // Heartbeats start with the ramp, as a real client's start with its WELCOME: a server with a
    // heartbeat timeout shorter than the ramp would otherwise drop the first sessions opened.
    // Real clients' heartbeats are spread over the interval, not sent in one burst: a burst
    // of thousands would measure the generator's own stall, and hit the server unrealistically.
    const slices = Math.max(1, Math.round(this.cfg.heartbeatIntervalMs / HEARTBEAT_TICK_MS));
    let tick = 0;
    this.heartbeat = setInterval(() => {
      const slice = tick++ % slices;
      for (let k = slice; k < this.conns.length; k += slices) {
        const c = this.conns[k];
        if (c.socket && c.live && !c.done) c.socket.write(this.hb);
      }
    }, HEARTBEAT_TICK_MS);
    const perTick = Math.max(1, Math.round(this.cfg.rampPerSec / 100));
    for (let k = 0; k < this.cfg.connections; k += perTick) {
      for (let j = k; j < Math.min(this.cfg.connections, k + perTick); j++) {
        const c: Conn = { socket: null, id: null, seed: { hi: 0, lo: 0 }, length: 0, next: 0, anchorAt: 0, anchorIndex: 0, buf: null, done: false, cutAt: 0, live: false, attempts: 0 };
        this.conns.push(c);
        this.connect(c);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const deadline = Date.now() + 60_000;
    while (this.counts.welcomes < this.cfg.connections) {
      if (Date.now() > deadline) throw new Error(`only ${this.counts.welcomes}/${this.cfg.connections} sessions started`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Starts a measurement stretch: counters and histograms from zero. */
  measure(): void {
    this.lateness = new Histogram();
    this.resume = new Histogram();
    for (const k of Object.keys(this.counts) as (keyof typeof this.counts)[]) if (k !== 'welcomes') this.counts[k] = 0;
    this.measuring = true;
  }

  /** Cuts every connection at once and reconnects all of them with RESUME (the storm). */
  storm(): void {
    const t = now();
    for (const c of this.conns) {
      if (c.done || !c.socket) continue;
      c.socket.removeAllListeners();
      c.socket.on('error', () => {});
      c.socket.destroy();
      c.socket = null;
      c.buf = null;
      c.cutAt = t;
      this.counts.cut++;
    }
    for (const c of this.conns) if (!c.done && c.cutAt === t) this.connect(c);
  }

  /** A server dies at `atEpochMs`: its connections' time to the next number counts from then, not from their close. */
  expectCut(atEpochMs: number): void {
    this.cutOrigin = atEpochMs - performance.timeOrigin;
  }

  report(): GenReport {
    return {
      connections: this.conns.length,
      connected: this.connected,
      counts: { ...this.counts },
      lateness: this.lateness.toJSON(),
      resume: this.resume.toJSON(),
      pendingResumes: this.conns.filter((c) => c.cutAt !== 0 && !c.done).length,
    };
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const c of this.conns) c.socket?.destroy();
  }

  private connect(c: Conn): void {
    const s = net.connect({ host: this.cfg.host, port: this.cfg.port, localAddress: this.cfg.localAddress });
    c.socket = s;
    c.live = false;
    s.setNoDelay(true);
    s.on('connect', () => {
      s.write(
        c.id
          ? encode({ type: MessageType.RESUME, version: LOADGEN_VERSION, sessionId: c.id, nextIndex: c.next })
          : encode({ type: MessageType.HELLO, version: LOADGEN_VERSION, length: this.cfg.length }),
      );
    });
    s.on('data', (chunk: Buffer) => this.onData(c, chunk));
    s.on('error', () => {
      this.counts.errors++;
    });
    s.on('close', () => {
      if (c.socket !== s) return;
      c.socket = null;
      if (this.cfg.reconnectCapMs !== undefined && !c.done) this.reconnectLater(c);
    });
  }

  /** The server side closed (it died, drained, or refused): RESUME (or HELLO again) after the client's backoff. */
  private reconnectLater(c: Conn): void {
    c.live = false;
    c.buf = null;
    if (c.cutAt === 0) {
      c.cutAt = this.cutOrigin || now();
      this.counts.cut++;
    }
    const delay = backoffMs({ attempts: c.attempts++, baseBackoffMs: DEFAULT_BASE_BACKOFF_MS, maxBackoffMs: this.cfg.reconnectCapMs!, jitter: Math.random() });
    setTimeout(() => {
      if (!c.done && !c.socket) this.connect(c);
    }, delay);
  }

  private onData(c: Conn, chunk: Buffer): void {
    let buf = c.buf ? Buffer.concat([c.buf, chunk]) : chunk;
    let pos = 0;
    while (buf.length - pos >= 4) {
      const len = buf.readUInt32BE(pos);
      if (buf.length - pos - 4 < len) break;
      this.onFrame(c, buf, pos + 4, len);
      pos += 4 + len;
    }
    c.buf = pos === buf.length ? null : buf.subarray(pos);
  }

  private onFrame(c: Conn, buf: Buffer, o: number, len: number): void {
    const type = buf[o];
    if (type === MessageType.NUMBER) {
      const t = now();
      const index = buf.readUInt32BE(o + 1);
      const value = buf.readUInt32BE(o + 5);
      if (index !== c.next) {
        if (index < c.next) this.counts.dups++;
        else this.counts.gaps++;
      }
      if (value !== valueAt(c.seed, index)) this.counts.badValues++;
      c.next = Math.max(c.next, index + 1);
      if (this.measuring) {
        this.counts.received++;
        const expected = c.anchorAt + (index - c.anchorIndex) * this.cfg.intervalMs;
        this.lateness.record((t - expected) * 1000);
        if (c.cutAt !== 0) this.resume.record((t - c.cutAt) * 1000);
      }
      c.cutAt = 0;
      c.attempts = 0;
    } else if (type === MessageType.WELCOME) {
      if (!c.id) this.counts.welcomes++;
      c.id = Buffer.from(buf.subarray(o + 1, o + 17));
      c.seed = { hi: buf.readUInt32BE(o + 17), lo: buf.readUInt32BE(o + 21) };
      c.length = buf.readUInt32BE(o + 25);
      c.anchorIndex = buf.readUInt32BE(o + 29);
      c.anchorAt = now();
      c.live = true;
    } else if (type === MessageType.END) {
      c.done = true;
      this.counts.completed++;
      c.socket?.end(encode({ type: MessageType.ACK, verdict: 0 }));
    } else if (type === MessageType.REJECT) {
      this.counts.rejects++;
      if (buf[o + 1] === RejectCode.SESSION_EXPIRED) this.counts.expired++;
      // A final reject ends the session for a reconnecting client too; a resumable one is retried.
      if (!RESUMABLE_REJECTS.has(buf[o + 1])) c.done = true;
      void len;
    }
  }
}

if (require.main === module) serveGenerator((cfg) => new LoadGenerator(cfg));
