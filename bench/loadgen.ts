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
import { serveGenerator, type GenConfig, type GenReport, type OpenOutcome } from './ipc';

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
  /** The last REJECT on this connection, by name (the ramp reports why a session did not start). */
  rejectedWith?: string;
}

const now = () => performance.now();
const HEARTBEAT_TICK_MS = 20;
const RAMP_TICK_MS = 10;
/**
 * Handshakes in flight (connect issued, no WELCOME yet) may be at most this many seconds of the
 * current rate: a server slow to accept or answer holds the ramp back to its own pace instead of
 * being buried in SYNs that overflow its listen queue and come back a second later.
 */
const HANDSHAKE_WINDOW_S = 0.5;
const MIN_WINDOW = 20;
/** Floor of the back-off (new sessions/s), and the step back up per calm second (a tenth of the asked rate). */
const MIN_RAMP_PER_SEC = 20;
const RAMP_RECOVERY_MS = 1000;
/** Past this many failed attempts one session is given up (its reason is reported). */
const MAX_OPEN_ATTEMPTS = 8;
/** The ramp's time: a minute, or four times what the asked rate needs, whichever is longer. */
const rampDeadlineMs = (cfg: GenConfig) => cfg.rampDeadlineMs ?? Math.max(60_000, (4000 * cfg.connections) / cfg.rampPerSec);

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
  /** While open() ramps: attempts that fail before their WELCOME are retried, and the ramp backs off. */
  private opening = false;
  private readonly retryQueue: { c: Conn; due: number }[] = [];
  private openFailures = 0;
  private resumedDuringRamp = 0;
  private heartbeatTimeoutsDuringRamp = 0;
  /** Why attempts failed during the ramp, by kind ("ECONNREFUSED", "REJECT SERVER_FULL", …). */
  private readonly failureKinds = new Map<string, number>();
  private gaveUp = 0;
  private lastFirstWelcomeAt = 0;

  constructor(private readonly cfg: GenConfig) {}

  get connected(): number {
    return this.conns.filter((c) => c.socket && c.id).length;
  }

  /**
   * Opens the connections at up to cfg.rampPerSec, at the pace the server accepts: handshakes
   * in flight are held to HANDSHAKE_WINDOW_S of the rate, the rate halves on any attempt that
   * fails before its WELCOME (refused, reset, rejected: retried after the client's backoff) and
   * climbs back a tenth per calm second. Resolves at the last WELCOME or at the deadline, with
   * how far it got and why: a size the server cannot take is a result, not a crash.
   */
  async open(): Promise<OpenOutcome> {
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
    const target = this.cfg.rampPerSec;
    const started = now();
    const deadline = started + rampDeadlineMs(this.cfg);
    let rate = target;
    let minRate = target;
    let credit = 0;
    let last = started;
    let lastChange = started;
    let failuresSeen = 0;
    this.opening = true;
    try {
      while (this.streaming() + this.gaveUp < this.cfg.connections && now() < deadline) {
        const t = now();
        if (this.openFailures + this.resumedDuringRamp > failuresSeen) {
          failuresSeen = this.openFailures + this.resumedDuringRamp;
          rate = Math.max(MIN_RAMP_PER_SEC, rate / 2);
          minRate = Math.min(minRate, rate);
          lastChange = t;
        } else if (rate < target && t - lastChange >= RAMP_RECOVERY_MS) {
          rate = Math.min(target, rate + target / 10);
          lastChange = t;
        }
        // Credit for one tick's worth at most: time spent held back by the window is not made up in a burst.
        credit = Math.min(credit + (rate * (t - last)) / 1000, Math.max(1, (rate * RAMP_TICK_MS) / 1000));
        last = t;
        const window = Math.max(MIN_WINDOW, rate * HANDSHAKE_WINDOW_S);
        let inFlight = this.handshaking();
        while (credit >= 1 && inFlight < window) {
          const c = this.nextToOpen(t);
          if (!c) break;
          this.connect(c);
          credit--;
          inFlight++;
        }
        await new Promise((r) => setTimeout(r, RAMP_TICK_MS));
      }
    } finally {
      this.opening = false;
    }
    const welcomed = this.streaming();
    const took = Math.max(1, (this.lastFirstWelcomeAt || now()) - started);
    return {
      target: this.cfg.connections,
      welcomed,
      rampPerSec: (1000 * this.counts.welcomes) / took,
      minRatePerSec: minRate,
      retried: this.openFailures,
      resumedDuringRamp: this.resumedDuringRamp,
      heartbeatTimeouts: this.heartbeatTimeoutsDuringRamp,
      shortfall: welcomed >= this.cfg.connections ? '' : this.shortfallReason(welcomed),
    };
  }

  /** Sessions welcomed on their current connection. */
  private streaming(): number {
    let n = 0;
    for (const c of this.conns) if (c.socket && c.live && !c.done) n++;
    return n;
  }

  /** Connections issued whose WELCOME has not come (SYN in a queue, HELLO unanswered). */
  private handshaking(): number {
    let n = 0;
    for (const c of this.conns) if (c.socket && !c.live && !c.done) n++;
    return n;
  }

  /** A due retry first, then a new session. */
  private nextToOpen(t: number): Conn | null {
    const k = this.retryQueue.findIndex((r) => r.due <= t);
    if (k >= 0) return this.retryQueue.splice(k, 1)[0].c;
    if (this.conns.length >= this.cfg.connections) return null;
    const c: Conn = { socket: null, id: null, seed: { hi: 0, lo: 0 }, length: 0, next: 0, anchorAt: 0, anchorIndex: 0, buf: null, done: false, cutAt: 0, live: false, attempts: 0 };
    this.conns.push(c);
    return c;
  }

  /** During the ramp: an attempt ended before its WELCOME, or a welcomed session lost its connection. */
  private retryDuringRamp(c: Conn, kind: string, wasLive: boolean): void {
    if (wasLive) {
      // Welcomed, then closed (a heartbeat timeout while the server was busy ramping): RESUME.
      this.resumedDuringRamp++;
    } else {
      this.openFailures++;
    }
    this.failureKinds.set(kind, (this.failureKinds.get(kind) ?? 0) + 1);
    c.live = false;
    c.buf = null;
    if (c.done || c.attempts >= MAX_OPEN_ATTEMPTS) {
      if (!c.done) c.done = true;
      this.gaveUp++;
      return;
    }
    const delay = backoffMs({ attempts: c.attempts++, baseBackoffMs: DEFAULT_BASE_BACKOFF_MS, maxBackoffMs: 5000, jitter: Math.random() });
    this.retryQueue.push({ c, due: now() + delay });
  }

  private shortfallReason(welcomed: number): string {
    const kinds = [...this.failureKinds].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ×${n}`);
    const pending = this.handshaking();
    const parts = [
      `${welcomed}/${this.cfg.connections} sessions started in ${(rampDeadlineMs(this.cfg) / 1000).toFixed(0)} s`,
      kinds.length ? `failed attempts: ${kinds.join(', ')}` : 'no attempt failed',
      ...(this.gaveUp ? [`${this.gaveUp} given up (a final REJECT, or ${MAX_OPEN_ATTEMPTS} failed attempts)`] : []),
      ...(pending ? [`${pending} still waiting for their WELCOME`] : []),
      ...(this.retryQueue.length ? [`${this.retryQueue.length} waiting to retry`] : []),
    ];
    return parts.join('; ');
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
    let failure = 'closed before WELCOME';
    s.on('error', (err: NodeJS.ErrnoException) => {
      this.counts.errors++;
      failure = err.code ?? err.message;
    });
    s.on('close', () => {
      if (c.socket !== s) return;
      c.socket = null;
      if (this.opening && !(c.done && c.id)) this.retryDuringRamp(c, c.rejectedWith ?? (c.live ? `closed after WELCOME (${failure})` : failure), c.live);
      else if (this.cfg.reconnectCapMs !== undefined && !c.done) this.reconnectLater(c);
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
      if (!c.id) {
        this.counts.welcomes++;
        this.lastFirstWelcomeAt = now();
      }
      c.rejectedWith = undefined;
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
      c.rejectedWith = `REJECT ${RejectCode[buf[o + 1]] ?? buf[o + 1]}`;
      if (buf[o + 1] === RejectCode.SESSION_EXPIRED) this.counts.expired++;
      if (buf[o + 1] === RejectCode.HEARTBEAT_TIMEOUT && this.opening) this.heartbeatTimeoutsDuringRamp++;
      // A final reject ends the session for a reconnecting client too; a resumable one is retried.
      if (!RESUMABLE_REJECTS.has(buf[o + 1])) c.done = true;
      void len;
    }
  }
}

if (require.main === module) serveGenerator((cfg) => new LoadGenerator(cfg));
