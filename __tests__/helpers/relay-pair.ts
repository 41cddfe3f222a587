/**
 * A plain TCP server behind the fault proxy, for byte-level fault tests: each test opens a
 * client through the proxy and gets both ends (the client socket and the server's socket),
 * so it can write on one and watch what reaches the other.
 */
import net from 'node:net';
import { RelayProxy } from '../../proxy/proxy';
import { waitFor } from './net';

export interface Ends {
  client: net.Socket;
  server: net.Socket;
  /** Bytes received so far by each end. */
  atClient: () => Buffer;
  atServer: () => Buffer;
  /** Chunks ('data' events) received by each end. */
  chunksAtClient: () => number;
  clientEvents: string[];
  serverEvents: string[];
  connId: number;
}

export class RelayPair {
  readonly proxy: RelayProxy;
  private readonly upstream: net.Server;
  private readonly pending: ((s: net.Socket) => void)[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(upstream: net.Server, proxy: RelayProxy) {
    this.upstream = upstream;
    this.proxy = proxy;
  }

  static async start(): Promise<RelayPair> {
    let pair: RelayPair | null = null;
    const upstream = net.createServer((s) => {
      pair!.sockets.add(s);
      s.on('error', () => {});
      const take = pair!.pending.shift();
      if (take) take(s);
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
    const proxy = new RelayProxy({ listenHost: '127.0.0.1', listenPort: 0, upstreamHost: '127.0.0.1', upstreamPort: (upstream.address() as net.AddressInfo).port });
    pair = new RelayPair(upstream, proxy);
    await proxy.listen();
    return pair;
  }

  /** Opens a client through the proxy and waits until the proxy relays it to the server. */
  async open(): Promise<Ends> {
    const serverSide = new Promise<net.Socket>((resolve) => this.pending.push(resolve));
    const before = new Set(this.proxy.connections().map((c) => c.id));
    const client = net.connect({ host: '127.0.0.1', port: this.proxy.port });
    this.sockets.add(client);
    const clientEvents: string[] = [];
    client.on('error', (e: NodeJS.ErrnoException) => clientEvents.push(`error:${e.code}`));
    client.on('end', () => clientEvents.push('end'));
    client.on('close', () => clientEvents.push('close'));
    const server = await serverSide;
    const serverEvents: string[] = [];
    server.on('error', (e: NodeJS.ErrnoException) => serverEvents.push(`error:${e.code}`));
    server.on('end', () => serverEvents.push('end'));
    server.on('close', () => serverEvents.push('close'));
    const atClient: Buffer[] = [];
    const atServer: Buffer[] = [];
    client.on('data', (c: Buffer) => atClient.push(c));
    server.on('data', (c: Buffer) => atServer.push(c));
    await waitFor(() => this.proxy.connections().some((c) => !before.has(c.id)), 'the proxy to register the connection');
    const connId = this.proxy.connections().find((c) => !before.has(c.id))!.id;
    return {
      client,
      server,
      atClient: () => Buffer.concat(atClient),
      atServer: () => Buffer.concat(atServer),
      chunksAtClient: () => atClient.length,
      clientEvents,
      serverEvents,
      connId,
    };
  }

  async close(): Promise<void> {
    await this.proxy.close();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.upstream.close(() => r()));
  }
}

/** Connect and report how it went: 'connected' or the error code (ECONNREFUSED…). */
export function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}
