/** Load generator for the Socket.IO baseline: same checks and histograms, socket.io-client connections. */
import { io, type Socket } from 'socket.io-client';
import { valueAt, type Seed } from '../core/sequence';
import { Histogram } from './histogram';
import { serveGenerator, type GenConfig, type GenReport, type Generator } from './ipc';

interface IoConn {
  socket: Socket;
  seed: Seed | null;
  next: number;
  anchorAt: number;
  /** Set by a storm: when the cut happened; cleared at the first number after it. */
  cutAt: number;
}

const now = () => performance.now();

export class SocketIoGenerator implements Generator {
  private readonly conns: IoConn[] = [];
  private lateness = new Histogram();
  private resume = new Histogram();
  private measuring = false;
  private counts = { received: 0, gaps: 0, dups: 0, badValues: 0, rejects: 0, expired: 0, errors: 0, completed: 0, welcomes: 0, checksumOk: 0, cut: 0 };

  constructor(private readonly cfg: GenConfig) {}

  async open(): Promise<void> {
    const perTick = Math.max(1, Math.round(this.cfg.rampPerSec / 100));
    for (let k = 0; k < this.cfg.connections; k += perTick) {
      for (let j = k; j < Math.min(this.cfg.connections, k + perTick); j++) this.connect();
      await new Promise((r) => setTimeout(r, 10));
    }
    const deadline = Date.now() + 120_000;
    while (this.counts.welcomes < this.cfg.connections) {
      if (Date.now() > deadline) throw new Error(`only ${this.counts.welcomes}/${this.cfg.connections} Socket.IO sessions started`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private connect(): void {
    const socket = io(`http://${this.cfg.host}:${this.cfg.port}`, {
      transports: ['websocket'],
      forceNew: true,
      auth: { length: this.cfg.length },
      reconnectionDelayMax: 1000,
    });
    const c: IoConn = { socket, seed: null, next: 0, anchorAt: 0, cutAt: 0 };
    this.conns.push(c);
    socket.on('welcome', (hi: number, lo: number) => {
      c.seed = { hi, lo };
      c.anchorAt = now();
      this.counts.welcomes++;
    });
    socket.on('n', (index: number, value: number) => {
      const t = now();
      if (index !== c.next) {
        if (index < c.next) this.counts.dups++;
        else this.counts.gaps++;
      }
      if (c.seed && value !== valueAt(c.seed, index)) this.counts.badValues++;
      c.next = Math.max(c.next, index + 1);
      if (this.measuring) {
        this.counts.received++;
        this.lateness.record((t - (c.anchorAt + index * this.cfg.intervalMs)) * 1000);
        if (c.cutAt !== 0) this.resume.record((t - c.cutAt) * 1000);
      }
      c.cutAt = 0;
    });
    socket.on('connect', () => {
      // Reconnected after a cut without its state: Socket.IO started it afresh (a new welcome follows).
      if (c.cutAt !== 0 && !socket.recovered) this.counts.expired++;
    });
    socket.on('connect_error', () => this.counts.errors++);
  }

  measure(): void {
    this.lateness = new Histogram();
    this.resume = new Histogram();
    for (const k of Object.keys(this.counts) as (keyof typeof this.counts)[]) if (k !== 'welcomes') this.counts[k] = 0;
    this.measuring = true;
  }

  /**
   * Cuts every connection's transport at once; Socket.IO's own reconnect (its backoff: the first
   * retry after 500-1000 ms with this config) and connection state recovery bring them back.
   */
  storm(): void {
    const t = now();
    for (const c of this.conns) {
      if (!c.socket.connected) continue;
      c.cutAt = t;
      this.counts.cut++;
      c.socket.io.engine.close();
    }
  }

  report(): GenReport {
    return {
      connections: this.conns.length,
      connected: this.conns.filter((c) => c.socket.connected).length,
      counts: { ...this.counts },
      lateness: this.lateness.toJSON(),
      resume: this.resume.toJSON(),
      pendingResumes: this.conns.filter((c) => c.cutAt !== 0).length,
    };
  }

  close(): void {
    for (const c of this.conns) c.socket.disconnect();
  }
}

if (require.main === module) serveGenerator((cfg) => new SocketIoGenerator(cfg));
