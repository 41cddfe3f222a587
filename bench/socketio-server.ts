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
  /** When the connection dropped (0 while connected): numbers still go to the room, for recovery to replay. */
  droppedAt: number;
}

/** How long a dropped session may come back; its numbers are kept (by Socket.IO) that long. */
const RECOVERY_WINDOW_MS = 30_000;

export function startSocketIoServer(port: number, intervalMs: number): Promise<http.Server> {
  const httpServer = http.createServer();
  const io = new Server(httpServer, {
    transports: ['websocket'],
    connectionStateRecovery: { maxDisconnectionDuration: RECOVERY_WINDOW_MS, skipMiddlewares: true },
  });
  // By socket id, which a recovered connection keeps: its Socket object is a new one.
  const sessions = new Map<string, IoSession>();
  const pacer = new Pacer<IoSession>(intervalMs, (s) => {
    if (s.droppedAt !== 0 && performance.now() - s.droppedAt > RECOVERY_WINDOW_MS) {
      sessions.delete(s.socket.id);
      return false;
    }
    io.to(s.socket.id).emit('n', s.next, valueAt(s.seed, s.next));
    if (++s.next < s.length) return true;
    sessions.delete(s.socket.id);
    return false;
  });
  io.on('connection', (socket) => {
    const known = socket.recovered ? sessions.get(socket.id) : undefined;
    if (known) {
      // Missed numbers are replayed by Socket.IO itself; the pacer never stopped.
      known.socket = socket;
      known.droppedAt = 0;
    } else {
      const seed = randomBytes(8);
      const length = Number(socket.handshake.auth?.length) || 1000;
      const s: IoSession = { socket, seed: { hi: seed.readUInt32BE(0), lo: seed.readUInt32BE(4) }, length, next: 0, droppedAt: 0 };
      sessions.set(socket.id, s);
      socket.emit('welcome', s.seed.hi, s.seed.lo, length);
      pacer.add(s);
    }
    socket.on('disconnect', (reason) => {
      const s = sessions.get(socket.id);
      if (!s || s.socket !== socket) return;
      // A client that said goodbye is gone; a dropped transport may come back and recover.
      if (reason === 'client namespace disconnect' || reason === 'server namespace disconnect') s.droppedAt = -Infinity;
      else s.droppedAt = performance.now();
    });
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
