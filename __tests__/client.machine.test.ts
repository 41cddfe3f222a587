/**
 * The client machine alone, with a fake link and simulated time: backoff growth and cap, which
 * answers are final, giving up, and the verdict. No sockets, no real delays.
 */
import { assign, createActor, fromCallback, SimulatedClock } from 'xstate';
import { backoffMs, clientMachine, type LinkEvent, type LinkInput } from '../machines/client.machine';
import { stateName } from '../transport/client/client';
import { RejectCode } from '../transport/protocol/constants';

function harness(input: { maxBackoffMs?: number; maxReconnects?: number; baseBackoffMs?: number; random?: () => number } = {}) {
  const clock = new SimulatedClock();
  const links: LinkInput[] = [];
  let sendBack: ((e: LinkEvent) => void) | null = null;
  const link = fromCallback<{ type: 'NONE' }, LinkInput>(({ input, sendBack: sb }) => {
    links.push(input);
    sendBack = sb as (e: LinkEvent) => void;
    return () => {
      sendBack = null;
    };
  });
  const random = input.random ?? (() => 0.5);
  const machine = clientMachine.provide({ actors: { link }, actions: { drawJitter: assign({ jitter: () => random() }) } });
  const actor = createActor(machine, {
    clock,
    input: {
      requestedLength: 10,
      maxBackoffMs: input.maxBackoffMs ?? 1000,
      maxReconnects: input.maxReconnects ?? 0,
      baseBackoffMs: input.baseBackoffMs ?? 100,
    },
  });
  actor.start();
  const send = (e: LinkEvent) => {
    if (!sendBack) throw new Error(`no live link to send ${e.type} from (state ${state()})`);
    sendBack(e);
  };
  const state = () => stateName(actor.getSnapshot().value);
  const welcome = (startIndex = 0) => {
    send({ type: 'CONNECTED' });
    send({ type: 'WELCOME', sessionId: 'ab'.repeat(16), length: 10, startIndex });
  };
  return { actor, clock, links, send, state, welcome, ctx: () => actor.getSnapshot().context };
}

describe('backoff', () => {
  it('doubles from the base, is capped, and jitter keeps it within [ceiling/2, ceiling]', () => {
    const ctx = { baseBackoffMs: 100, maxBackoffMs: 1000 };
    const ceilings = [0, 1, 2, 3, 4, 5, 40].map((attempts) => backoffMs({ ...ctx, attempts, jitter: 0.999999 }));
    expect(ceilings).toEqual([100, 200, 400, 800, 1000, 1000, 1000]);
    for (const attempts of [0, 3, 10]) {
      const ceiling = Math.min(1000, 100 * 2 ** attempts);
      expect(backoffMs({ ...ctx, attempts, jitter: 0 })).toBe(ceiling / 2);
    }
  });

  it('the machine waits exactly the backoff before reconnecting, growing with each failed attempt', () => {
    const h = harness({ random: () => 0 });
    h.welcome();
    // Each loss before the next WELCOME is one more failed attempt n, and the wait is half the
    // ceiling min(1000, 100·2^n) with the jitter at 0: 100, 200, 400, then capped at 500.
    const waits = [100, 200, 400, 500, 500];
    for (const wait of waits) {
      h.send({ type: 'LOST', reason: 'cut' });
      expect(h.state()).toBe('reconnecting');
      h.clock.increment(wait - 1);
      expect(h.state()).toBe('reconnecting');
      h.clock.increment(1);
      expect(h.state()).toBe('online.connecting');
    }
    expect(h.links).toHaveLength(1 + waits.length);
    // Every reconnection resumes the session it had, never starts a new one.
    expect(h.links.slice(1).every((l) => l.sessionId === 'ab'.repeat(16))).toBe(true);
    expect(h.links[0].sessionId).toBeNull();
  });

  it('a WELCOME resets the backoff and counts one reconnect', () => {
    const h = harness({ random: () => 0 });
    h.welcome();
    h.send({ type: 'LOST', reason: 'cut' });
    h.clock.increment(100);
    h.send({ type: 'LOST', reason: 'refused' });
    h.clock.increment(200);
    h.welcome(3);
    expect(h.ctx()).toMatchObject({ attempts: 0, reconnects: 1 });
    h.send({ type: 'LOST', reason: 'cut' });
    h.clock.increment(99);
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(1);
    expect(h.state()).toBe('online.connecting');
  });
});

describe('giving up', () => {
  it('reconnects forever by default', () => {
    const h = harness({ maxBackoffMs: 10, baseBackoffMs: 10 });
    for (let i = 0; i < 200; i++) {
      h.send({ type: 'LOST', reason: 'refused' });
      h.clock.increment(10);
    }
    expect(h.state()).toBe('online.connecting');
    expect(h.ctx().attempts).toBe(200);
  });

  it('with maxReconnects, fails after that many consecutive failed attempts, naming the last error', () => {
    const h = harness({ maxReconnects: 3, maxBackoffMs: 10, baseBackoffMs: 10 });
    h.welcome();
    for (let i = 0; i < 2; i++) {
      h.send({ type: 'LOST', reason: `attempt ${i}` });
      h.clock.increment(10);
    }
    h.send({ type: 'LOST', reason: 'ECONNREFUSED' });
    expect(h.state()).toBe('failed');
    expect(h.ctx().failure).toBe('gave up after 3 failed attempt(s); last: ECONNREFUSED');
    expect(h.actor.getSnapshot().status).toBe('done');
  });
});

describe('rejections', () => {
  it.each([RejectCode.SESSION_EXPIRED, RejectCode.UNKNOWN_SESSION, RejectCode.UNSUPPORTED_VERSION, RejectCode.BAD_REQUEST])(
    'code %s is final',
    (code) => {
      const h = harness();
      h.welcome();
      h.send({ type: 'REJECTED', code, name: RejectCode[code], reason: 'because', resumable: false });
      expect(h.state()).toBe('failed');
      expect(h.ctx().failure).toBe(`rejected by the server (${RejectCode[code]}): because`);
    },
  );

  it('a resumable rejection reconnects', () => {
    const h = harness();
    h.welcome();
    h.send({ type: 'REJECTED', code: RejectCode.SLOW_CONSUMER, name: 'SLOW_CONSUMER', reason: 'slow', resumable: true });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().lastLoss).toBe('SLOW_CONSUMER: slow');
  });

  it('a non-fatal violation reconnects and is recorded; a fatal one fails', () => {
    const h = harness();
    h.welcome();
    h.send({ type: 'VIOLATION', message: 'index gap: expected 2, got 3', fatal: false });
    expect(h.state()).toBe('reconnecting');
    h.clock.increment(1000);
    h.welcome(2);
    h.send({ type: 'VIOLATION', message: 'value mismatch at index 4', fatal: true });
    expect(h.state()).toBe('failed');
    expect(h.ctx().violations).toEqual(['index gap: expected 2, got 3', 'value mismatch at index 4']);
    expect(h.ctx().failure).toBe('value mismatch at index 4');
  });
});

describe('verdict', () => {
  it('equal checksums: done', () => {
    const h = harness();
    h.welcome();
    h.send({ type: 'END', serverChecksum: 0x1234, localChecksum: 0x1234 });
    expect(h.state()).toBe('done');
    expect(h.ctx().failure).toBeNull();
  });

  it('different checksums: failed, with both in the message', () => {
    const h = harness();
    h.welcome();
    h.send({ type: 'END', serverChecksum: 0x1234, localChecksum: 0xabcd });
    expect(h.state()).toBe('failed');
    expect(h.ctx().failure).toBe("checksum mismatch: ours 0x0000abcd, server's 0x00001234");
  });

  it('END is only accepted while receiving', () => {
    const h = harness();
    h.send({ type: 'CONNECTED' });
    h.send({ type: 'END', serverChecksum: 1, localChecksum: 1 });
    expect(h.state()).toBe('online.handshaking');
  });
});

describe('honest restarts and honest waiting', () => {
  it('a refused version: a new link at once in the older version, not counted as a failed attempt; the session keeps it', () => {
    const h = harness();
    expect(h.links[0]).toMatchObject({ version: 2, sessionId: null, instanceId: null });
    h.send({ type: 'CONNECTED' });
    h.send({ type: 'VERSION_REFUSED', version: 2, fallback: 1, reason: 'this server speaks 1' });
    expect(h.state()).toBe('online.connecting');
    expect(h.links).toHaveLength(2);
    expect(h.links[1]).toMatchObject({ version: 1, sessionId: null });
    expect(h.ctx().attempts).toBe(0);
    h.welcome();
    h.send({ type: 'LOST', reason: 'cut' });
    h.clock.increment(1000);
    expect(h.links[2]).toMatchObject({ version: 1, sessionId: 'ab'.repeat(16) });
  });

  it('the instance id of the last WELCOME goes into the next RESUME', () => {
    const h = harness();
    h.send({ type: 'CONNECTED' });
    h.send({ type: 'WELCOME', sessionId: 'ab'.repeat(16), length: 10, startIndex: 0, instanceId: '0123456789abcdef' });
    h.send({ type: 'LOST', reason: 'cut' });
    h.clock.increment(1000);
    expect(h.links[1]).toMatchObject({ version: 2, sessionId: 'ab'.repeat(16), instanceId: '0123456789abcdef' });
  });

  it('SERVER_RESTARTED is final and says plainly that the session is gone', () => {
    const h = harness();
    h.welcome();
    h.send({ type: 'LOST', reason: 'cut' });
    h.clock.increment(1000);
    h.send({ type: 'CONNECTED' });
    h.send({ type: 'REJECTED', code: RejectCode.SERVER_RESTARTED, name: 'SERVER_RESTARTED', reason: 'whatever the server says', resumable: false });
    expect(h.state()).toBe('failed');
    expect(h.ctx().failure).toBe('the server restarted and did not keep session abababab');
  });

  it('a connection that never came up is a failed attempt named "cannot connect", not a lost connection', () => {
    const h = harness({ maxReconnects: 2, baseBackoffMs: 10, maxBackoffMs: 10 });
    h.send({ type: 'UNREACHABLE', address: '127.0.0.1:9', reason: 'ECONNREFUSED' });
    expect(h.state()).toBe('reconnecting');
    expect(h.ctx().lastLoss).toBe('cannot connect to 127.0.0.1:9 (ECONNREFUSED)');
    h.clock.increment(10);
    h.send({ type: 'UNREACHABLE', address: '127.0.0.1:9', reason: 'ECONNREFUSED' });
    expect(h.ctx().failure).toBe('gave up after 2 failed attempt(s); last: cannot connect to 127.0.0.1:9 (ECONNREFUSED)');
  });
});

describe('the context', () => {
  it('is plain serialisable data at every step (no functions): a snapshot can be persisted and restored', () => {
    const h = harness();
    const plain = () => expect(JSON.parse(JSON.stringify(h.ctx()))).toEqual(h.ctx());
    plain();
    h.welcome();
    plain();
    h.send({ type: 'LOST', reason: 'test' });
    plain();
    expect(typeof h.ctx().jitter).toBe('number');
  });
});
