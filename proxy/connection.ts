/**
 * One relayed connection: the client's socket, the upstream socket, and the two pipes between
 * them (up: client → server, down: server → client). It carries out the faults that act on one
 * connection (cut, reset, the toxics of its pipes) and knows nothing of the listener or of the
 * book of faults; the proxy tells it which faults apply.
 */
import type net from 'node:net';
import { toxicsFor, type Direction, type Fault, type FaultKind } from './faults';
import { RelayPipe } from './relay-pipe';

export interface ConnectionStats {
  id: number;
  clientAddress: string;
  ageMs: number;
  bytesUp: number;
  bytesDown: number;
  /** Bytes held back by a toxic, not yet forwarded. */
  queuedUp: number;
  queuedDown: number;
  frozen: boolean;
  /** Faults that have acted on this connection, by kind, since it opened. */
  faultsApplied: Partial<Record<FaultKind, number>>;
}

export class ProxyConnection {
  readonly createdAt = Date.now();
  readonly clientAddress: string;
  readonly up: RelayPipe;
  readonly down: RelayPipe;
  readonly faultsApplied: Partial<Record<FaultKind, number>> = {};
  private closed = false;

  constructor(
    readonly id: number,
    private readonly client: net.Socket,
    private readonly upstream: net.Socket,
    private readonly onClose: (conn: ProxyConnection) => void,
    random: () => number,
  ) {
    this.clientAddress = `${client.remoteAddress}:${client.remotePort}`;
    this.up = new RelayPipe(client, upstream, () => this.closeAfterLimit(), random);
    this.down = new RelayPipe(upstream, client, () => this.closeAfterLimit(), random);
    // Both sockets are half-open capable: a FIN travels through its pipe after the bytes before
    // it, and the connection ends when both sockets have closed. Errors (ECONNRESET, EPIPE…)
    // end this connection only, at once.
    let closedSockets = 0;
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      s.on('close', (hadError: boolean) => {
        closedSockets++;
        if (hadError || closedSockets === 2) return this.destroy();
        // Nothing can reach a closed socket any more; the other direction may still drain.
        (s === client ? this.down : this.up).stop();
      });
    }
  }

  get stats(): ConnectionStats {
    return {
      id: this.id,
      clientAddress: this.clientAddress,
      ageMs: Date.now() - this.createdAt,
      bytesUp: this.up.bytes,
      bytesDown: this.down.bytes,
      queuedUp: this.up.queued,
      queuedDown: this.down.queued,
      frozen: this.up.frozen || this.down.frozen,
      faultsApplied: { ...this.faultsApplied },
    };
  }

  applyFaults(active: readonly Fault[]): void {
    this.up.setToxics(toxicsFor(active, this.id, 'up'));
    this.down.setToxics(toxicsFor(active, this.id, 'down'));
  }

  noteFault(kind: FaultKind): void {
    this.faultsApplied[kind] = (this.faultsApplied[kind] ?? 0) + 1;
  }

  /**
   * FIN. Both directions: both sockets are closed now. One direction: a half-close, so the peer
   * on that side reads end-of-stream while the other direction still flows ('up': the server
   * sees the client's side end; 'down': the client sees the server's side end).
   */
  cut(direction: Direction = 'both'): void {
    if (direction === 'both') return this.destroy();
    // Nothing more goes that way, and the FIN goes now, ahead of anything queued.
    const pipe = direction === 'up' ? this.up : this.down;
    pipe.stop();
    (direction === 'up' ? this.upstream : this.client).end();
  }

  /**
   * RST. 'both' aborts both sockets; 'up' aborts the server's side (the client then sees an
   * ordinary close); 'down' aborts the client's side.
   */
  reset(direction: Direction = 'both'): void {
    if (direction !== 'down') this.upstream.resetAndDestroy();
    if (direction !== 'up') this.client.resetAndDestroy();
    this.destroy();
  }

  /**
   * For a used-up limit: nothing more is forwarded either way; FIN both ways once the last
   * permitted bytes are written (end() flushes first); a peer that never closes is dropped.
   */
  private closeAfterLimit(): void {
    this.up.stop();
    this.down.stop();
    this.client.end();
    this.upstream.end();
    setTimeout(() => this.destroy(), 5000).unref();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.up.stop();
    this.down.stop();
    this.client.destroy();
    this.upstream.destroy();
    this.onClose(this);
  }
}
