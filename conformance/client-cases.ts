/**
 * Client mode: the cases. Each plays a scripted server against the client under test — one
 * script per connection the spec says the client makes — and judges the client by the frames it
 * sends and by its exit status (conformance/README.md, "Client mode"). Expectations come from
 * docs/PROTOCOL.md, rule by rule; the codec is shared only to write and read frames.
 *
 * Near 470 lines, above the house's ~250, on purpose: it is the table of client cases, one
 * entry per spec rule in the spec's order; splitting it would scatter the table that the README
 * lists and a test holds against it.
 */
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { encode, encodeNumber } from '../transport/protocol/codec';
import { encodeFrame } from '../transport/protocol/framer';
import { Checksum, valueAt } from '../core/sequence';
import type { Case, ClientCtx } from './case';
import { play, ScriptFailure, type Plan, type Script } from './client-play';
import { describe, type Session } from './scripted-session';
import type { ScriptConn } from './scripted-server';

/** The reject-code table of §2 ("may the client resume afterwards?"). */
const REJECT_TABLE = '§2.2';

/** The spec's bound on how long a client waits for WELCOME (§3.13), and the slack we allow past it. */
const WELCOME_WAIT_MS = 10_000;
const WELCOME_WAIT_SLACK_MS = 1_000;
/** How long a WELCOME is held back to see whether the client sends anything else first (§3.13). */
const WELCOME_HOLD_MS = 1_000;
/** Heartbeat timings of the silent-link case, and how late past the timeout the client may notice. */
const SILENT = { intervalMs: 100, timeoutMs: 400 };
const SILENT_SLACK_MS = 600;
const SERVER_NONCE = 0x5eedbeef;

const clientCase = (id: string, rule: string, title: string, plan: (ctx: ClientCtx) => Plan): Case<ClientCtx> => ({
  id,
  rule,
  title,
  run: (ctx) => play(ctx, plan(ctx)),
});

// ---- script pieces -------------------------------------------------------------------------

/** A new session served whole: HELLO, WELCOME, every number, END, ACK 0. */
const whole: Script = async (c, s) => {
  await s.hello(c);
  await s.finish(c, 0);
};

/** A new session whose connection ends after the numbers before `at` (the middle by default). */
const cutAfterHello = (at?: (s: Session) => number): Script => async (c, s) => {
  await s.hello(c);
  s.welcome(c, 0);
  s.numbers(c, 0, at ? at(s) : s.middle);
  c.cut();
};

/** The client resumes at the middle and is served to the end. */
const resumeMiddle: Script = async (c, s) => {
  await s.resume(c, s.middle, 'after the loss in the middle');
  await s.finish(c, s.middle);
};

/**
 * A new session that goes wrong after the numbers before the middle: `trouble` sends the
 * fault; the client must then close the connection (it may not trust it any more).
 */
const troubleInMiddle = (what: string, trouble: (c: ScriptConn, s: Session) => void): Script => async (c, s) => {
  await s.hello(c);
  s.welcome(c, 0);
  s.numbers(c, 0, s.middle);
  trouble(c, s);
  await s.clientCloses(c, what);
};

/** The session's connection must end and no ACK with verdict 0 may have been sent on it. */
const noAckZero = (c: ScriptConn, after: string): string | null =>
  c.frames.some((r) => r.msg.type === MessageType.ACK && r.msg.verdict === 0) ? `connection ${c.n}: the client ACKed 0 after ${after}` : null;

/** A client that stops at a WELCOME it must not accept answers nothing else on that connection (no ACK). */
const noAck = (c: ScriptConn, after: string): string | null => {
  const acks = c.frames.filter((r) => r.msg.type === MessageType.ACK);
  return acks.length > 0 ? `connection ${c.n}: the client sent ${acks.map(describe).join(', ')} after ${after}; it should have stopped there` : null;
};

const fatal = (why: string): Pick<Plan, 'outcome' | 'noMore'> => ({ outcome: 'failure', noMore: `§3.14: ${why} is fatal, no resume` });

/** Checksum of what a client that ignored a change would hold: values of `before` up to `at`, of `after` from there. */
function spliced(s: Session, at: number, length: number, seedAfter = s.seed): number {
  const sum = new Checksum();
  for (let i = 0; i < length; i++) sum.update(valueAt(i < at ? s.seed : seedAfter, i));
  return sum.digest();
}

// ---- the cases -----------------------------------------------------------------------------

const basics: Case<ClientCtx>[] = [
  clientCase('C3.4.1', '§3.4', 'clean run: every number, END; the client ACKs 0 and exits 0', () => ({ scripts: [whole], outcome: 'success' })),
  clientCase('C3.4.2', '§3.4', 'END with a wrong checksum: the client ACKs 1 and exits non-zero', () => ({
    outcome: 'failure',
    noMore: '§3.4: a mismatch is the verdict, the session is over',
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.length);
        s.end(c, { checksum: (s.checksum ^ 0x00010000) >>> 0 });
        const verdict = await s.ack(c);
        if (verdict !== 1) throw new ScriptFailure(`connection ${c.n}: ACK verdict ${verdict} for a wrong checksum (expected 1)`);
      },
    ],
  })),
  clientCase('C3.7.1', '§3.7', 'cut mid-stream: the client RESUMEs at the first index it lacks (v2: with the instance id) and completes', () => ({
    outcome: 'success',
    scripts: [cutAfterHello(), resumeMiddle],
  })),
  clientCase('C3.6.1', '§3.6', 'cut after the last number, before END: RESUME with next index = length, END at once', () => ({
    outcome: 'success',
    scripts: [
      cutAfterHello((s) => s.length),
      async (c, s) => {
        await s.resume(c, s.length, 'after a loss just before END');
        await s.finish(c, s.length);
      },
    ],
  })),
];

const repairs: Case<ClientCtx>[] = [
  clientCase('C3.15.1', '§3.15', 'a gap in the indices: the client closes and RESUMEs at the first missing index', () => ({
    outcome: 'success',
    scripts: [troubleInMiddle('the gap', (c, s) => c.send(encodeNumber(s.middle + 1, valueAt(s.seed, s.middle + 1)))), resumeMiddle],
  })),
  clientCase('C3.15.2', '§3.15', 'a repeated index: the client closes and RESUMEs at the first missing index', () => ({
    outcome: 'success',
    scripts: [troubleInMiddle('the repeat', (c, s) => c.send(encodeNumber(s.middle - 1, valueAt(s.seed, s.middle - 1)))), resumeMiddle],
  })),
  clientCase('C3.15.3', '§3.15', 'END while numbers are missing: the client RESUMEs at the first missing index', () => ({
    outcome: 'success',
    scripts: [troubleInMiddle('END with numbers missing', (c, s) => s.end(c)), resumeMiddle],
  })),
];

const fatals: Case<ClientCtx>[] = [
  clientCase('C3.14.1', '§3.14', 'a NUMBER with a wrong value: the client fails, no resume', () => ({
    ...fatal('a wrong value'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.length, { index: s.middle, value: (valueAt(s.seed, s.middle) ^ 1) >>> 0 });
        s.end(c);
        await s.clientCloses(c, 'the wrong value');
      },
    ],
    check: (p) => noAckZero(p.conns[0], 'a wrong value'),
  })),
  clientCase('C3.14.2', '§3.14', 'a resume WELCOME with another seed: the client fails, no resume', () => ({
    ...fatal('a changed seed'),
    scripts: [
      cutAfterHello(),
      async (c, s) => {
        await s.resume(c, s.middle, 'after the loss in the middle');
        const other = { hi: s.seed.hi, lo: (s.seed.lo + 1) >>> 0 };
        s.welcome(c, s.middle, { seedLo: other.lo });
        // Consistent with the new seed, so only the seed check can catch it.
        for (let i = s.middle; i < s.length; i++) c.send(encodeNumber(i, valueAt(other, i)));
        s.end(c, { checksum: spliced(s, s.middle, s.length, other) });
        await s.clientCloses(c, 'a WELCOME with another seed');
      },
    ],
    check: (p) => noAck(p.conns[1], 'a WELCOME with another seed'),
  })),
  clientCase('C3.14.3', '§3.14', 'a resume WELCOME with another length: the client fails, no resume', () => ({
    ...fatal('a changed length'),
    scripts: [
      cutAfterHello(),
      async (c, s) => {
        await s.resume(c, s.middle, 'after the loss in the middle');
        const longer = s.length + 1;
        s.welcome(c, s.middle, { length: longer });
        s.numbers(c, s.middle, longer);
        s.end(c, { length: longer, checksum: spliced(s, 0, longer) });
        await s.clientCloses(c, 'a WELCOME with another length');
      },
    ],
    check: (p) => noAck(p.conns[1], 'a WELCOME with another length'),
  })),
  clientCase('C3.14.4', '§3.14', 'a resume WELCOME whose start index is not the next index asked for: the client fails', () => ({
    ...fatal('a WELCOME at another index'),
    scripts: [
      cutAfterHello(),
      async (c, s) => {
        await s.resume(c, s.middle, 'after the loss in the middle');
        s.welcome(c, s.middle + 1);
        s.numbers(c, s.middle + 1, s.length);
        s.end(c);
        await s.clientCloses(c, 'a WELCOME at another index');
      },
    ],
    check: (p) => noAck(p.conns[1], 'a WELCOME at another index'),
  })),
  clientCase('C3.14.5', '§3.14', 'a new session WELCOME whose start index is not 0: the client fails', () => ({
    ...fatal('a new session not starting at 0'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 1);
        s.numbers(c, 1, s.length);
        s.end(c);
        await s.clientCloses(c, 'a WELCOME at index 1');
      },
    ],
    check: (p) => noAck(p.conns[0], 'a WELCOME at index 1'),
  })),
  clientCase('C3.14.6', '§3.14', 'a WELCOME whose length is not the non-zero length asked for: the client fails', () => ({
    ...fatal('a length other than the one asked for'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        if (s.requested === 0) throw new ScriptFailure('not applicable: the client asked for length 0 (the server chooses); run it with a length');
        s.length = s.requested + 1;
        s.welcome(c, 0);
        s.numbers(c, 0, s.length);
        s.end(c);
        await s.clientCloses(c, `a WELCOME of length ${s.length} to a HELLO of length ${s.requested}`);
      },
    ],
    check: (p) => noAck(p.conns[0], 'a WELCOME of another length'),
  })),
  clientCase('C3.14.7', '§3.14', "END whose length is not the session's: the client fails", () => ({
    ...fatal("an END of another length than the session's"),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.length);
        s.end(c, { length: s.length + 1 });
        await s.clientCloses(c, 'an END of another length');
      },
    ],
    check: (p) => noAckZero(p.conns[0], 'an END of another length'),
  })),
  clientCase('C3.14.8', '§3.14', 'a NUMBER with index ≥ length: the client fails', () => ({
    ...fatal('a NUMBER past the end'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.length);
        c.send(encodeNumber(s.length, valueAt(s.seed, s.length)));
        s.end(c);
        await s.clientCloses(c, 'a NUMBER past the end');
      },
    ],
    check: (p) => noAckZero(p.conns[0], 'a NUMBER past the end'),
  })),
  clientCase('C3.14.9', '§3.14', 'a NUMBER before WELCOME: the client fails', () => ({
    ...fatal('a NUMBER before WELCOME'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        c.send(encodeNumber(0, valueAt(s.seed, 0)));
        s.welcome(c, 0);
        s.numbers(c, 0, s.length);
        s.end(c);
        await s.clientCloses(c, 'a NUMBER before WELCOME');
      },
    ],
    check: (p) => noAckZero(p.conns[0], 'a NUMBER before WELCOME'),
  })),
  clientCase('C3.14.10', '§3.14', 'a client-only type (ACK) from the server: the client fails', () => ({
    ...fatal('a client-only message from the server'),
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.middle);
        c.send(encode({ type: MessageType.ACK, verdict: 0 }));
        s.numbers(c, s.middle, s.length);
        s.end(c);
        await s.clientCloses(c, 'an ACK from the server');
      },
    ],
    check: (p) => noAckZero(p.conns[0], 'an ACK from the server'),
  })),
];

const liveness: Case<ClientCtx>[] = [
  clientCase('C3.5.1', '§3.5', 'a silent link: the client closes after the heartbeat timeout (+600 ms) and RESUMEs', () => ({
    outcome: 'success',
    heartbeats: SILENT,
    scripts: [
      async (c, s) => {
        await s.hello(c);
        c.answerHeartbeats = false;
        s.welcome(c, 0);
        s.numbers(c, 0, s.middle);
        const bound = SILENT.timeoutMs + SILENT_SLACK_MS;
        if (!(await c.closedWithin(bound))) throw new ScriptFailure(`connection ${c.n}: still open ${bound} ms into a silence (heartbeat timeout ${SILENT.timeoutMs} ms)`);
        const silence = c.closedAt! - c.lastSentAt;
        if (silence > bound) throw new ScriptFailure(`connection ${c.n}: closed after ${silence} ms of silence; the heartbeat timeout is ${SILENT.timeoutMs} ms`);
        // Timers do not fire early: a close before the timeout means the client did not wait for it.
        if (silence < SILENT.timeoutMs - 20) throw new ScriptFailure(`connection ${c.n}: closed after ${silence} ms of silence, before the heartbeat timeout of ${SILENT.timeoutMs} ms`);
      },
      resumeMiddle,
    ],
  })),
  clientCase('C3.13.1', '§3.13', `nothing but HELLO before WELCOME (WELCOME held back ${WELCOME_HOLD_MS} ms; no HEARTBEAT)`, () => ({
    outcome: 'success',
    required: 1,
    scripts: [
      async (c, s) => {
        await s.hello(c);
        await c.hold(WELCOME_HOLD_MS);
        // A client may wait for WELCOME less than the hold (§3.13 bounds it from above only): it then says HELLO again.
        if (c.closed) {
          if (c.frames.length > 1) throw new ScriptFailure(`connection ${c.n}: before WELCOME the client sent ${c.frames.slice(1).map(describe).join(', ')} after its HELLO`);
          return;
        }
        await s.finish(c, 0);
      },
      whole,
    ],
  })),
  clientCase('C3.13.2', '§3.13', `no WELCOME: the client gives up within ${WELCOME_WAIT_MS / 1000} s (+1 s), sends nothing else, and HELLOs again`, () => ({
    outcome: 'success',
    scripts: [
      async (c, s) => {
        await s.hello(c);
        const bound = WELCOME_WAIT_MS + WELCOME_WAIT_SLACK_MS;
        if (!(await c.closedWithin(bound))) throw new ScriptFailure(`connection ${c.n}: still waiting for WELCOME after ${bound} ms`);
        if (c.frames.length > 1) throw new ScriptFailure(`connection ${c.n}: while waiting for WELCOME the client sent ${c.frames.slice(1).map(describe).join(', ')}`);
      },
      whole,
    ],
  })),
  clientCase('C3.21.1', '§3.21', 'a HEARTBEAT from the server: the client answers HEARTBEAT_ACK with the same nonce', (ctx) => ({
    outcome: 'success',
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.welcome(c, 0);
        s.numbers(c, 0, s.middle);
        c.send(encode({ type: MessageType.HEARTBEAT, nonce: SERVER_NONCE }));
        // The client's own HEARTBEATs may come first; its answer must come within the bound.
        const r = await c.next(ctx.timeoutMs, `HEARTBEAT_ACK(${SERVER_NONCE}) to the server's HEARTBEAT`, (f) => f.msg.type === MessageType.HEARTBEAT);
        if (r.msg.type !== MessageType.HEARTBEAT_ACK) throw new ScriptFailure(`connection ${c.n}: expected HEARTBEAT_ACK(${SERVER_NONCE}), got ${describe(r)}`);
        if (r.msg.nonce !== SERVER_NONCE) throw new ScriptFailure(`connection ${c.n}: HEARTBEAT_ACK(${r.msg.nonce}) to HEARTBEAT(${SERVER_NONCE})`);
        s.numbers(c, s.middle, s.length);
        s.end(c);
        const verdict = await s.ack(c);
        if (verdict !== 0) throw new ScriptFailure(`connection ${c.n}: ACK verdict ${verdict}, expected 0`);
      },
    ],
  })),
];

/** A malformed frame in the middle of the stream: the client closes and RESUMEs at the middle (§3.16). */
const malformed = (id: string, rule: string, title: string, frame: Buffer): Case<ClientCtx> =>
  clientCase(id, rule, title, () => ({
    outcome: 'success',
    scripts: [troubleInMiddle(title, (c) => c.send(frame)), resumeMiddle],
  }));

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const malformedFrames: Case<ClientCtx>[] = [
  malformed('C3.16.1', '§3.16', 'a length prefix over 1024: the client closes and RESUMEs', Buffer.concat([u32(1025), Buffer.alloc(16)])),
  malformed('C3.16.2', '§3.16', 'a length prefix of 0: the client closes and RESUMEs', Buffer.concat([u32(0), Buffer.alloc(16)])),
  malformed('C3.16.3', '§3.16', 'an unknown message type (0x0a): the client closes and RESUMEs', encodeFrame(Buffer.from([0x0a, 0, 0, 0, 0]))),
  malformed('C3.16.4', '§3.16', 'a NUMBER body of the wrong size (8 bytes): the client closes and RESUMEs', encodeFrame(Buffer.from([MessageType.NUMBER, 0, 0, 0, 0, 0, 0, 0]))),
  // A final code, so a client that does not check the size fails the case instead of resuming by luck.
  malformed('C3.22.1', '§3.22', 'a REJECT body over 514 bytes (code 1): the client treats it as malformed and RESUMEs',
    encodeFrame(Buffer.concat([Buffer.from([MessageType.REJECT, RejectCode.UNKNOWN_SESSION]), Buffer.alloc(513, 'x')]))),
];

// ---- reject codes --------------------------------------------------------------------------

/** Where a REJECT comes: in answer to HELLO, to a RESUME after a cut, or in the middle of the stream. */
type When = 'hello' | 'resume' | 'stream';

const rejectScripts = (code: number, when: When, reason: string): Script[] => {
  const reject = (c: ScriptConn, s: Session) => {
    s.reject(c, code, reason);
    c.cut();
  };
  if (when === 'hello') return [async (c, s) => (await s.hello(c), reject(c, s))];
  if (when === 'stream') return [troubleInMiddle(`REJECT ${code}`, reject)];
  return [cutAfterHello(), async (c, s) => (await s.resume(c, s.middle, 'after the loss in the middle'), reject(c, s))];
};

/** After a resumable REJECT the client repeats its request on a new connection and completes. */
function resumable(code: RejectCode, when: When): Case<ClientCtx> {
  const retry: Script = when === 'hello' ? whole : resumeMiddle;
  return clientCase(`C2.2.${code}`, REJECT_TABLE, `REJECT ${RejectCode[code]} (${code}) on ${label(when)} is resumable: the client repeats its request`, () => ({
    outcome: 'success',
    scripts: [...rejectScripts(code, when, `conformance: ${RejectCode[code]}`), retry],
  }));
}

/** After a final REJECT the client exits non-zero and does not connect again. */
function final(id: string, rule: string, code: number, name: string, when: When): Case<ClientCtx> {
  return clientCase(id, rule, `REJECT ${name} (${code}) on ${label(when)} is final: the client exits non-zero, no reconnect`, () => ({
    outcome: 'failure',
    noMore: `${rule}: ${name} is final`,
    scripts: rejectScripts(code, when, `conformance: ${name}`),
  }));
}

function label(when: When): string {
  return when === 'hello' ? 'HELLO' : when === 'resume' ? 'RESUME' : 'the stream';
}

const rejects: Case<ClientCtx>[] = [
  final('C2.2.1', REJECT_TABLE, RejectCode.UNKNOWN_SESSION, 'UNKNOWN_SESSION', 'resume'),
  final('C2.2.2', REJECT_TABLE, RejectCode.SESSION_EXPIRED, 'SESSION_EXPIRED', 'resume'),
  final('C2.2.4', REJECT_TABLE, RejectCode.BAD_REQUEST, 'BAD_REQUEST', 'hello'),
  resumable(RejectCode.SERVER_FULL, 'hello'),
  final('C2.2.6', REJECT_TABLE, RejectCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR', 'hello'),
  resumable(RejectCode.HANDSHAKE_TIMEOUT, 'hello'),
  final('C2.2.8', REJECT_TABLE, RejectCode.SESSION_TAKEN_OVER, 'SESSION_TAKEN_OVER', 'stream'),
  final('C2.2.9', REJECT_TABLE, RejectCode.UNEXPECTED_MESSAGE, 'UNEXPECTED_MESSAGE', 'hello'),
  resumable(RejectCode.SLOW_CONSUMER, 'stream'),
  resumable(RejectCode.HEARTBEAT_TIMEOUT, 'stream'),
  resumable(RejectCode.SHUTTING_DOWN, 'stream'),
  resumable(RejectCode.RATE_LIMITED, 'resume'),
  final('C2.2.14', REJECT_TABLE, RejectCode.SERVER_RESTARTED, 'SERVER_RESTARTED', 'resume'),
  final('C3.16.5', '§3.16', 200, 'code 200, unknown', 'hello'),
];

// ---- versions ------------------------------------------------------------------------------

const versions: Case<ClientCtx>[] = [
  clientCase('C2.1.1', '§2.1', 'UNSUPPORTED_VERSION "1: …" to a v2 HELLO: the client speaks v1 (HELLO, 45-byte WELCOME, 22-byte RESUME) and completes', () => ({
    outcome: 'success',
    scripts: [
      async (c, s) => {
        await s.hello(c, 2);
        s.reject(c, RejectCode.UNSUPPORTED_VERSION, '1: protocol version 2 is not supported');
        c.cut();
      },
      async (c, s) => {
        await s.hello(c, 1); // the same request, in the version the client now shares with the server
        s.welcome(c, 0);
        s.numbers(c, 0, s.middle);
        c.cut();
      },
      resumeMiddle,
    ],
  })),
  clientCase('C2.1.2', '§2.1', 'UNSUPPORTED_VERSION "3: …" (no version in common): the client fails, no retry', () => ({
    outcome: 'failure',
    noMore: '§2.1: no version in common is a final failure',
    scripts: [
      async (c, s) => {
        await s.hello(c);
        s.reject(c, RejectCode.UNSUPPORTED_VERSION, `3: protocol version ${s.version} is not supported`);
        c.cut();
      },
    ],
  })),
];

export const clientCases: Case<ClientCtx>[] = [...basics, ...repairs, ...fatals, ...liveness, ...malformedFrames, ...rejects, ...versions];
