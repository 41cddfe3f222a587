/**
 * The server cases are not vacuous: a small server that follows the spec as far as these cases
 * look passes them, and the same server with one rule broken fails the case for that rule,
 * saying what differed.
 */
import net from 'node:net';
import { runCases } from '../conformance/case';
import { serverCases } from '../conformance/server-cases';
import { decode, encode, encodeNumber, type Message } from '../transport/protocol/codec';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';
import { sequenceChecksum, valueAt } from '../core/sequence';

interface Faults {
  /** The first NUMBER one interval after WELCOME instead of at once (§3.19). */
  firstNumberLate?: boolean;
  /** END's checksum off by one (§5). */
  badChecksum?: boolean;
  /** Every number at once instead of one per interval (§3.2). */
  burst?: boolean;
  /** A silent client is never cut (§3.5). */
  neverTimesOut?: boolean;
  /** HELLO's size checked before its version (§2.1). */
  sizeBeforeVersion?: boolean;
  /** A REJECT without closing the connection (§2). */
  rejectStaysOpen?: boolean;
}

const TIMING = { intervalMs: 20, heartbeatIntervalMs: 40, heartbeatTimeoutMs: 200 };

/** Just enough of a server for the cases below: HELLO, RESUME, paced numbers, END, heartbeat timeout. */
async function miniServer(faults: Faults): Promise<{ port: number; close(): Promise<void> }> {
  const sessions = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const decoder = new FrameDecoder();
    let heardAt = performance.now();
    let started = false;
    const reject = (code: RejectCode, reason: string) => {
      socket.write(encode({ type: MessageType.REJECT, code, reason }));
      if (!faults.rejectStaysOpen) socket.end();
    };
    const stream = (sessionId: Buffer, length: number, start: number) => {
      const seed = { hi: 7, lo: 11 };
      socket.write(encode({ type: MessageType.WELCOME, sessionId, seedHi: seed.hi, seedLo: seed.lo, length, startIndex: start, ...TIMING }));
      let next = start;
      const tick = () => {
        if (!faults.neverTimesOut && performance.now() - heardAt >= TIMING.heartbeatTimeoutMs) {
          clearInterval(timer);
          return reject(RejectCode.HEARTBEAT_TIMEOUT, 'silent');
        }
        if (next < length) socket.write(encodeNumber(next, valueAt(seed, next++)));
        while (faults.burst && next < length) socket.write(encodeNumber(next, valueAt(seed, next++)));
        if (next === length) {
          next++;
          socket.write(encode({ type: MessageType.END, length, checksum: (sequenceChecksum(seed, length) + (faults.badChecksum ? 1 : 0)) >>> 0 }));
        }
      };
      const timer = setInterval(tick, TIMING.intervalMs);
      timers.add(timer);
      socket.on('close', () => clearInterval(timer));
      if (!faults.firstNumberLate) tick();
    };
    const onMessage = (body: Buffer) => {
      heardAt = performance.now();
      if (started) return;
      if (body[0] === MessageType.HELLO && faults.sizeBeforeVersion && body.length !== 6) return reject(RejectCode.PROTOCOL_ERROR, 'HELLO is 6 bytes');
      let msg: Message;
      try {
        msg = decode(body);
      } catch (err) {
        const code = (err as { code?: RejectCode }).code ?? RejectCode.PROTOCOL_ERROR;
        return reject(code, code === RejectCode.UNSUPPORTED_VERSION ? '1,2: not this version' : 'malformed');
      }
      started = true;
      if (msg.type === MessageType.HELLO) {
        const id = Buffer.alloc(16);
        id.writeUInt32BE(sessions.size + 1);
        sessions.set(id.toString('hex'), msg.length);
        return stream(id, msg.length, 0);
      }
      const length = msg.type === MessageType.RESUME ? sessions.get(msg.sessionId.toString('hex')) : undefined;
      if (msg.type === MessageType.RESUME && length !== undefined) return stream(msg.sessionId, length, msg.nextIndex);
      reject(RejectCode.UNEXPECTED_MESSAGE, 'HELLO or a known RESUME first');
    };
    socket.on('data', (chunk) => {
      try {
        for (const body of decoder.push(chunk)) onMessage(body);
      } catch {
        reject(RejectCode.PROTOCOL_ERROR, 'bad frame');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

async function verdicts(faults: Faults, ids: string[]) {
  const fake = await miniServer(faults);
  try {
    const cases = serverCases.filter((c) => ids.includes(c.id));
    expect(cases.map((c) => c.id)).toEqual(ids);
    const results = await runCases(cases, { host: '127.0.0.1', port: fake.port, timeoutMs: 1000 });
    return Object.fromEntries(results.map((r) => [r.id, r.pass ? 'pass' : r.detail]));
  } finally {
    await fake.close();
  }
}

const IDS = ['S1.1', 'S2.1.6', 'S3.1.1', 'S3.3.1', 'S3.5.3', 'S3.19.1'];

it('a server keeping these rules passes the cases for them', async () => {
  expect(await verdicts({}, IDS)).toEqual(Object.fromEntries(IDS.map((id) => [id, 'pass'])));
});

it.each([
  ['the first NUMBER one interval late', 'S3.19.1', { firstNumberLate: true }, /least gap WELCOME → NUMBER 0 over 5 sessions: \d+\.\d ms; at once means under half the 20 ms interval/],
  ['a wrong checksum in END', 'S3.3.1', { badChecksum: true }, /END's checksum must be 0x[0-9a-f]{8} \(§5\), got/],
  ['every number at once', 'S3.3.1', { burst: true }, /one number per interval/],
  ['a silent client never cut', 'S3.5.3', { neverTimesOut: true }, /REJECT HEARTBEAT_TIMEOUT .*nothing within/],
  ['HELLO size checked before version', 'S2.1.6', { sizeBeforeVersion: true }, /expected REJECT UNSUPPORTED_VERSION .*got REJECT PROTOCOL_ERROR/],
  ['a REJECT that leaves the connection open', 'S3.1.1', { rejectStaysOpen: true }, /still open/],
] as const)('%s fails %s', async (_what, id, faults, detail) => {
  const got = await verdicts(faults, [id]);
  expect(got[id]).toMatch(detail);
});
