/**
 * The fault-injection relay proxy: client ↔ server byte relay with faults ("toxics") applied
 * through one model (./faults), so terminal keys, signals, the HTTP control API and the chaos
 * schedule all act the same way.
 *
 * This file is the listener: accept (each connection in ./connection), refuse and listen again,
 * close, the totals. Which faults are active, and until when, is the book's (./fault-book).
 *
 * Just over ~250 lines after its split: the listener plus the public API that the control
 * page, the CLI and the chaos schedule call, most of it one-line hand-offs to the book or the
 * connections.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { silentLogger, type Logger } from '../core/logger';
import { ProxyConnection, type ConnectionStats } from './connection';
import { FaultBook } from './fault-book';
import type { Fault, FaultKind } from './faults';

// The stats type is part of the proxy's API (connections(), the 'connection' event): its callers import it from here.
export type { ConnectionStats } from './connection';

export interface ProxyOptions {
  listenHost: string;
  /** 0 picks a free port (kept across a refuse outage). */
  listenPort: number;
  upstreamHost: string;
  upstreamPort: number;
  logger?: Logger;
  /** Jitter source, injectable for replayable runs. */
  random?: () => number;
}

export interface ProxyStats {
  listening: boolean;
  port: number;
  connections: number;
  accepted: number;
  /** Bytes relayed, closed connections included. */
  bytesUp: number;
  bytesDown: number;
  /** Faults injected since start, by kind. */
  injected: Partial<Record<FaultKind, number>>;
  activeFaults: number;
}

export class RelayProxy extends EventEmitter {
  private readonly server: net.Server;
  private readonly conns = new Map<number, ProxyConnection>();
  private readonly book: FaultBook;
  private readonly log: Logger;
  private readonly random: () => number;
  private nextConnId = 1;
  /** Bumped by every fault that closes all connections, so one still connecting upstream is closed too. */
  private cutGeneration = 0;
  private listenInProgress = false;
  private boundPort = 0;
  private listening = false;
  private closing = false;
  private accepted = 0;
  private closedBytesUp = 0;
  private closedBytesDown = 0;

  constructor(private readonly opts: ProxyOptions) {
    super();
    this.log = opts.logger ?? silentLogger();
    this.random = opts.random ?? Math.random;
    this.book = new FaultBook({
      conns: this.conns,
      log: this.log,
      cutConnecting: () => void this.cutGeneration++,
      stopListening: () => this.stopListening(),
      resumeListening: () => this.resumeListening(),
      emit: (event, ...args) => this.emit(event, ...args),
    });
    this.server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client));
    this.server.on('error', (err) => this.fail(err));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      // A listen error goes to the caller only; fail() (the standing handler) stays quiet for it.
      this.listenInProgress = true;
      const onListenError = (err: Error) => {
        this.listenInProgress = false;
        reject(err);
      };
      this.server.once('error', onListenError);
      this.server.listen({ port: this.boundPort || this.opts.listenPort, host: this.opts.listenHost, backlog: 4096 }, () => {
        this.listenInProgress = false;
        this.server.off('error', onListenError);
        this.boundPort = (this.server.address() as net.AddressInfo).port;
        // Listening completes a tick later: a refuse or close() may have come in between.
        if (this.closing || this.book.refusing) {
          this.server.close();
          this.listening = false;
        } else {
          this.listening = true;
        }
        resolve(this.boundPort);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** True while a freeze on every connection, both directions, is active (the 'f' key's toggle). */
  get frozen(): boolean {
    return this.book.frozen;
  }

  connections(): ConnectionStats[] {
    return [...this.conns.values()].map((c) => c.stats);
  }

  connection(id: number): ConnectionStats | undefined {
    return this.conns.get(id)?.stats;
  }

  faults(): Fault[] {
    return this.book.list();
  }

  stats(): ProxyStats {
    let up = this.closedBytesUp;
    let down = this.closedBytesDown;
    for (const c of this.conns.values()) {
      up += c.up.bytes;
      down += c.down.bytes;
    }
    return {
      listening: this.listening,
      port: this.boundPort,
      connections: this.conns.size,
      accepted: this.accepted,
      bytesUp: up,
      bytesDown: down,
      injected: { ...this.book.injected },
      activeFaults: this.book.size,
    };
  }

  /**
   * Adds a fault from untrusted input (validated by parseFaultSpec). Throws FaultError (400/404)
   * and changes nothing when the request cannot be carried out.
   */
  addFault(input: unknown): Fault {
    return this.book.add(input);
  }

  /** Removes an active fault; throws FaultError 404 when there is none with that id. */
  removeFault(id: number): Fault {
    return this.book.remove(id);
  }

  /** Lifts every active fault; returns how many. */
  clearFaults(): number {
    return this.book.liftWhere(() => true);
  }

  /** Cuts every current connection; returns how many. New connections are still accepted. */
  cutAll(): number {
    const before = this.conns.size;
    this.addFault({ kind: 'cut' });
    return before;
  }

  /** Stops forwarding in both directions on every connection, present and future. */
  freeze(durationMs?: number): Fault {
    return this.addFault(durationMs === undefined ? { kind: 'freeze' } : { kind: 'freeze', durationMs });
  }

  /** Lifts every freeze on all connections. */
  unfreeze(): number {
    return this.book.liftWhere((f) => f.kind === 'freeze' && f.target === 'all');
  }

  /** Stops listening and drops every connection: what stopping the seed's proxy did. */
  close(): Promise<void> {
    this.closing = true;
    this.book.drop();
    const done = new Promise<void>((resolve) => (this.listening ? this.server.close(() => resolve()) : resolve()));
    this.listening = false;
    for (const c of [...this.conns.values()]) c.destroy();
    return done;
  }

  /** Closing the listener makes new connections fail with ECONNREFUSED, as a stopped proxy did. */
  private stopListening(): void {
    if (!this.listening) return;
    this.listening = false;
    this.server.close();
  }

  /** After an outage the port may be taken for a moment: try again each second until it works. */
  private resumeListening(): void {
    if (this.listening || this.closing || this.book.refusing) return;
    this.listen().catch((err: Error) => {
      this.log.error(`cannot listen again on port ${this.boundPort} after the refuse fault (${err.message}); retrying in 1 s`);
      const retry = setTimeout(() => this.resumeListening(), 1000);
      retry.unref();
    });
  }

  /** A server error reaches 'error' listeners if there are any, the log in any case, never a crash. */
  private fail(err: Error): void {
    if (this.listenInProgress) return; // the caller of listen() hears it
    this.log.error(`proxy: ${err.message}`);
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private accept(client: net.Socket): void {
    client.pause(); // nothing is read until the upstream side exists
    client.on('error', () => {});
    const upstream = net.connect({ host: this.opts.upstreamHost, port: this.opts.upstreamPort, allowHalfOpen: true });
    const generation = this.cutGeneration;
    const abandon = () => upstream.destroy();
    client.once('close', abandon);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const onFail = (err: Error) => {
      this.log.warn(`upstream ${this.opts.upstreamHost}:${this.opts.upstreamPort} unreachable (${(err as NodeJS.ErrnoException).code ?? err.message}); closing the client`);
      client.destroy();
    };
    upstream.once('error', onFail);
    upstream.once('connect', () => {
      upstream.off('error', onFail);
      client.off('close', abandon);
      // Closed, or cut by a fault that acted on every connection while this one was connecting.
      if (this.closing || generation !== this.cutGeneration || client.destroyed) {
        client.destroy();
        upstream.destroy();
        return;
      }
      this.accepted++;
      const conn = new ProxyConnection(
        this.nextConnId++,
        client,
        upstream,
        (c) => {
          this.conns.delete(c.id);
          this.closedBytesUp += c.up.bytes;
          this.closedBytesDown += c.down.bytes;
          this.log.info(`connection ${c.id} closed (${c.up.bytes} bytes up, ${c.down.bytes} down)`);
          // A fault aimed at this connection has nothing left to act on.
          this.book.liftWhere((f) => f.target === c.id);
          this.emit('close', c.stats);
        },
        this.random,
      );
      this.conns.set(conn.id, conn);
      const shaping = this.book.admit(conn);
      this.log.info(`connection ${conn.id} from ${conn.clientAddress}${shaping.length ? ` (faults: ${shaping.join(', ')})` : ''}`);
      this.emit('connection', conn.stats);
    });
  }
}
