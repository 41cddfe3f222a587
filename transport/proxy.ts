/**
 * The relay proxy: client ↔ server byte relay with faults applied through one model, so the
 * terminal keys, signals and (later) an HTTP control API all act the same way.
 *
 * Faults today: cut (FIN both sides), freeze (stop forwarding, keep sockets open) and close
 * (the seed's "stop the proxy"). A freeze pauses reading on both sockets instead of dropping
 * bytes: TCP never loses bytes on a live connection, it stalls, and so does a frozen proxy.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { silentLogger, type Logger } from '../core/logger';

export interface ProxyOptions {
  listenHost: string;
  /** 0 picks a free port. */
  listenPort: number;
  upstreamHost: string;
  upstreamPort: number;
  logger?: Logger;
}

export interface ConnectionStats {
  id: number;
  clientAddress: string;
  ageMs: number;
  bytesUp: number;
  bytesDown: number;
  frozen: boolean;
}

/** One direction of a relayed connection: reads `from`, writes `to`, honours backpressure and freeze. */
class Pipe {
  bytes = 0;
  private backpressured = false;
  private frozen = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
  ) {
    from.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (!to.write(chunk)) {
        this.backpressured = true;
        this.update();
      }
    });
    to.on('drain', () => {
      this.backpressured = false;
      this.update();
    });
  }

  setFrozen(frozen: boolean): void {
    this.frozen = frozen;
    this.update();
  }

  /** Reading stops for either reason and resumes only when neither holds. */
  private update(): void {
    if (this.frozen || this.backpressured) this.from.pause();
    else this.from.resume();
  }
}

export class ProxyConnection {
  readonly createdAt = Date.now();
  readonly clientAddress: string;
  private readonly up: Pipe;
  private readonly down: Pipe;
  private frozen = false;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly onClose: (conn: ProxyConnection) => void,
  ) {
    this.clientAddress = `${client.remoteAddress}:${client.remotePort}`;
    this.up = new Pipe(client, upstream);
    this.down = new Pipe(upstream, client);
    // Errors (ECONNRESET, EPIPE…) end this connection only; 'close' does the cleanup.
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', () => this.destroy());
      // A half-close is passed on, so a client's FIN reaches the server and vice versa.
      s.on('end', () => (s === client ? upstream : client).end());
    }
  }

  get stats(): ConnectionStats {
    return {
      id: this.id,
      clientAddress: this.clientAddress,
      ageMs: Date.now() - this.createdAt,
      bytesUp: this.up.bytes,
      bytesDown: this.down.bytes,
      frozen: this.frozen,
    };
  }

  setFrozen(frozen: boolean): void {
    this.frozen = frozen;
    this.up.setFrozen(frozen);
    this.down.setFrozen(frozen);
  }

  /**
   * Closes both sides now. Closing the descriptors sends a FIN (an RST where unread bytes are
   * pending, as the kernel does for any close); no side waits for the other to agree.
   */
  cut(): void {
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
    this.onClose(this);
  }
}

export class RelayProxy extends EventEmitter {
  private readonly server: net.Server;
  private readonly conns = new Map<number, ProxyConnection>();
  private readonly log: Logger;
  private nextId = 1;
  private isFrozen = false;

  constructor(private readonly opts: ProxyOptions) {
    super();
    this.log = opts.logger ?? silentLogger();
    this.server = net.createServer((client) => this.accept(client));
    this.server.on('error', (err) => this.emit('error', err));
  }

  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port: this.opts.listenPort, host: this.opts.listenHost, backlog: 4096 }, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  get frozen(): boolean {
    return this.isFrozen;
  }

  connections(): ConnectionStats[] {
    return [...this.conns.values()].map((c) => c.stats);
  }

  /** Cuts every current connection; returns how many. New connections are still accepted. */
  cutAll(): number {
    const all = [...this.conns.values()];
    for (const c of all) c.cut();
    this.log.info(`cut ${all.length} connection(s)`);
    this.emit('cut', all.length);
    return all.length;
  }

  /** Stops forwarding in both directions on every connection, present and future. */
  freeze(): void {
    this.isFrozen = true;
    for (const c of this.conns.values()) c.setFrozen(true);
    this.log.info(`frozen: ${this.conns.size} connection(s) stay open, no byte is forwarded`);
    this.emit('freeze');
  }

  unfreeze(): void {
    this.isFrozen = false;
    for (const c of this.conns.values()) c.setFrozen(false);
    this.log.info('thawed: forwarding again');
    this.emit('unfreeze');
  }

  /** Stops listening and drops every connection: what stopping the seed's proxy did. */
  close(): Promise<void> {
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.conns.values()]) c.destroy();
    return done;
  }

  private accept(client: net.Socket): void {
    client.pause(); // nothing is read until the upstream side exists
    client.on('error', () => {});
    const upstream = net.connect({ host: this.opts.upstreamHost, port: this.opts.upstreamPort });
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
      const conn = new ProxyConnection(this.nextId++, client, upstream, (c) => {
        this.conns.delete(c.id);
        this.log.info(`connection ${c.id} closed (${c.stats.bytesUp} bytes up, ${c.stats.bytesDown} down)`);
        this.emit('close', c.stats);
      });
      this.conns.set(conn.id, conn);
      conn.setFrozen(this.isFrozen);
      this.log.info(`connection ${conn.id} from ${conn.clientAddress}${this.isFrozen ? ' (frozen)' : ''}`);
      this.emit('connection', conn.stats);
    });
  }
}
