/**
 * The peer a Node.js user would pick for "resume after disconnect": Socket.IO with connection
 * state recovery. Numbers go out at the same pace through the same shared pacer, to the
 * socket's own room so that recovery persists them (a plain socket.emit is not replayed).
 *
 * Run: node dist/bench/socketio-server.js <port> <intervalMs>; prints "listening on <port>".
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Server, type Socket } from 'socket.io';
import { valueAt, type Seed } from '../core/sequence';
import { Pacer } from '../transport/server/pacer';

interface IoSession {
  socket: Socket;
  seed: Seed;
  length: number;
  next: number;
}

export function startSocketIoServer(port: number, intervalMs: number): Promise<http.Server> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ['websocket'],
    connectionStateRecovery: { maxDisconnectionDuration: 30_000, skipMiddlewares: true },
  });
  const pacer = new Pacer<IoSession>(intervalMs, (s) => {
    if (!s.socket.connected) return false;
    io.to(s.socket.id).emit('n', s.next, valueAt(s.seed, s.next));
    return ++s.next < s.length;
  });
  io.on('connection', (socket) => {
    if (socket.recovered) return; // missed numbers are replayed by Socket.IO itself
    const seed = randomBytes(8);
    const length = Number(socket.handshake.auth?.length) || 1000;
    const s: IoSession = { socket, seed: { hi: seed.readUInt32BE(0), lo: seed.readUInt32BE(4) }, length, next: 0 };
    socket.emit('welcome', s.seed.hi, s.seed.lo, length);
    pacer.add(s);
  });
  return new Promise((resolve) => httpServer.listen({ port, host: '127.0.0.1', backlog: 4096 }, () => resolve(httpServer)));
}

if (require.main === module) {
  const [port = '0', interval = '1000'] = process.argv.slice(2);
  // An orderly exit on SIGTERM, so that profiles (--cpu-prof) are written.
  process.on('SIGTERM', () => process.exit(0));
  void startSocketIoServer(Number(port), Number(interval)).then((s) => {
    process.stdout.write(`listening on ${(s.address() as { port: number }).port}\n`);
  });
}
