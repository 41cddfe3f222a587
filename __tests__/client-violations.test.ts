/**
 * The client against a scripted server that breaks the rules on purpose: every invalid number is
 * detected and reported, never silently accepted; repairable ones are repaired by resuming at the
 * first missing index, the rest end in a failure verdict that says why.
 *
 * Just over ~250 lines: a table of cases, one per rule a server can break, over one scripted
 * server; splitting it would scatter the table.
 */
import { ACK_VERDICT_MATCH, ACK_VERDICT_MISMATCH, MessageType, RejectCode } from '../transport/protocol/constants';
import { encodeNumber, type Message } from '../transport/protocol/codec';
import { sequenceChecksum, valueAt } from '../core/sequence';
import { startClient, waitFor } from './helpers/net';
import { LENGTH, ScriptedServer, SEED, type Conn } from './helpers/scripted-server';

let fake: ScriptedServer | null = null;
afterEach(async () => {
  await fake?.close();
  fake = null;
});

async function run(script: (c: Conn) => void, heartbeats?: { intervalMs: number; timeoutMs: number }) {
  fake = new ScriptedServer(script, heartbeats);
  const port = await fake.listen();
  const losses: string[] = [];
  const resumes: number[] = [];
  const client = startClient(port, LENGTH, {
    heartbeatTimeoutMs: 2000,
    // Bounded, so a broken script fails the test instead of leaving a client retrying forever.
    maxReconnects: 5,
    onLoss: (reason) => losses.push(reason),
    onResume: (start) => resumes.push(start),
  });
  const result = await client.result;
  return { result, losses, resumes, conns: fake.conns };
}

const ackOf = (c: Conn) => c.messages.find((m) => m.type === MessageType.ACK) as Extract<Message, { type: MessageType.ACK }> | undefined;

describe('repairable: the client resumes at the first index it has not accepted', () => {
  it('an index gap', async () => {
    const { result, conns, losses } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 2);
        c.send(encodeNumber(3, valueAt(SEED, 3)));
      } else {
        expect(c.first).toMatchObject({ type: MessageType.RESUME, nextIndex: 2 });
        c.welcome(2);
        c.numbers(2, LENGTH);
        c.end();
      }
    });
    expect(losses).toEqual(['index gap: expected 2, got 3']);
    expect(result.violations).toEqual(['index gap: expected 2, got 3']);
    expect(result).toMatchObject({ ok: true, reconnects: 1, received: LENGTH, failure: null });
    expect(conns).toHaveLength(2);
    await waitFor(() => ackOf(conns[1]) !== undefined, 'the ACK');
    expect(ackOf(conns[1])!.verdict).toBe(ACK_VERDICT_MATCH);
  });

  it('an index repeat', async () => {
    const { result, conns } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 3);
        c.numbers(2, 3);
      } else {
        expect(c.first).toMatchObject({ type: MessageType.RESUME, nextIndex: 3 });
        c.welcome(3);
        c.numbers(3, LENGTH);
        c.end();
      }
    });
    expect(result.violations).toEqual(['index repeat: expected 3, got 2 again']);
    expect(result).toMatchObject({ ok: true, reconnects: 1, received: LENGTH });
    expect(conns).toHaveLength(2);
  });

  it('END before the last number', async () => {
    const { result } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 4);
        c.end();
      } else {
        c.welcome(4);
        c.numbers(4, LENGTH);
        c.end();
      }
    });
    expect(result.violations).toEqual([`END after 4 of ${LENGTH} numbers`]);
    expect(result.ok).toBe(true);
  });

  it('malformed bytes from the server (an oversize length prefix)', async () => {
    const { result } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 1);
        c.send(Buffer.from([0xff, 0xff, 0xff, 0xff]));
      } else {
        c.welcome(1);
        c.numbers(1, LENGTH);
        c.end();
      }
    });
    expect(result.violations[0]).toMatch(/malformed data from the server: .*4294967295/);
    expect(result).toMatchObject({ ok: true, reconnects: 1 });
  });

  it('a resumable rejection (SLOW_CONSUMER) is retried', async () => {
    const { result, losses } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 2);
        c.send({ type: MessageType.REJECT, code: RejectCode.SLOW_CONSUMER, reason: 'you stopped reading' });
        c.socket.end();
      } else {
        c.welcome(2);
        c.numbers(2, LENGTH);
        c.end();
      }
    });
    expect(losses).toEqual(['SLOW_CONSUMER: you stopped reading']);
    expect(result).toMatchObject({ ok: true, reconnects: 1, violations: [] });
  });

  it('a server that goes silent without closing is detected by the heartbeat timeout', async () => {
    const { result, losses } = await run(
      (c) => {
        if (c.n === 1) {
          c.welcome(0);
          c.numbers(0, 2);
          // ...and nothing more: no numbers, no heartbeat acks, the socket stays open.
        } else {
          c.welcome(2);
          c.numbers(2, LENGTH);
          c.end();
        }
      },
      { intervalMs: 20, timeoutMs: 150 },
    );
    expect(losses).toHaveLength(1);
    expect(losses[0]).toMatch(/no data from the server for \d+ ms \(heartbeat timeout\)/);
    expect(result).toMatchObject({ ok: true, reconnects: 1 });
  });
});

describe('not repairable: a failure verdict that says why', () => {
  it('a value that is not the sequence', async () => {
    const { result, conns } = await run((c) => {
      c.welcome(0);
      c.numbers(0, 2);
      c.send(encodeNumber(2, (valueAt(SEED, 2) ^ 1) >>> 0));
    });
    expect(result.ok).toBe(false);
    expect(result.failure).toBe(`value mismatch at index 2: the sequence says ${valueAt(SEED, 2)}, got ${(valueAt(SEED, 2) ^ 1) >>> 0}`);
    expect(conns).toHaveLength(1);
  });

  it('a value mismatch after a resume', async () => {
    const { result } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 3);
        c.socket.destroy();
      } else {
        c.welcome(3);
        c.send(encodeNumber(3, 0));
      }
    });
    expect(result.ok).toBe(false);
    expect(result.failure).toMatch(/^value mismatch at index 3/);
    expect(result.reconnects).toBe(1);
  });

  it('a resume at an index other than the one asked for', async () => {
    const { result } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 3);
        c.socket.destroy();
      } else {
        c.welcome(1);
      }
    });
    expect(result).toMatchObject({ ok: false, failure: 'the server resumed at index 1, but we need 3' });
  });

  it('a resume with a different seed', async () => {
    const { result } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 3);
        c.socket.destroy();
      } else {
        c.welcome(3, { seedLo: (SEED.lo ^ 1) >>> 0 });
      }
    });
    expect(result).toMatchObject({ ok: false, failure: 'the server changed the session (seed or length) on resume' });
  });

  it('§3.14: a WELCOME with another length than the one asked for', async () => {
    const { result, conns } = await run((c) => c.welcome(0, { length: LENGTH + 1 }));
    expect(result).toMatchObject({ ok: false, failure: `the server welcomed us with ${LENGTH + 1} numbers, but we asked for ${LENGTH}` });
    expect(conns).toHaveLength(1);
  });

  it('§3.14: an END whose length is not the session length', async () => {
    const { result, conns } = await run((c) => {
      c.welcome(0);
      c.numbers(0, LENGTH);
      c.send({ type: MessageType.END, length: LENGTH + 5, checksum: sequenceChecksum(SEED, LENGTH) });
    });
    expect(result).toMatchObject({ ok: false, failure: `END says ${LENGTH + 5} numbers, but the session has ${LENGTH}` });
    expect(conns).toHaveLength(1);
  });

  it('a number beyond the announced length', async () => {
    const { result } = await run((c) => {
      c.welcome(0);
      c.numbers(0, LENGTH + 1);
    });
    expect(result).toMatchObject({ ok: false, failure: `index ${LENGTH} is beyond the announced length ${LENGTH}` });
  });

  it('a wrong checksum: failure verdict, and the ACK tells the server', async () => {
    const { result, conns } = await run((c) => {
      c.welcome(0);
      c.numbers(0, LENGTH);
      c.end(0xdeadbeef);
    });
    const ours = sequenceChecksum(SEED, LENGTH);
    expect(result.ok).toBe(false);
    expect(result.failure).toBe(`checksum mismatch: ours 0x${ours.toString(16).padStart(8, '0')}, server's 0xdeadbeef`);
    expect(result).toMatchObject({ localChecksum: ours, serverChecksum: 0xdeadbeef });
    await waitFor(() => ackOf(conns[0]) !== undefined, 'the ACK');
    expect(ackOf(conns[0])!.verdict).toBe(ACK_VERDICT_MISMATCH);
  });

  it.each([
    [RejectCode.SESSION_EXPIRED, 'the reconnect window of 30000 ms ran out'],
    [RejectCode.UNKNOWN_SESSION, 'no such session'],
  ])('a final rejection of the resume (%s)', async (code, reason) => {
    const { result, conns } = await run((c) => {
      if (c.n === 1) {
        c.welcome(0);
        c.numbers(0, 2);
        c.socket.destroy();
      } else {
        c.send({ type: MessageType.REJECT, code, reason });
        c.socket.end();
      }
    });
    expect(result.ok).toBe(false);
    expect(result.failure).toBe(`rejected by the server (${RejectCode[code]}): ${reason}`);
    expect(conns).toHaveLength(2);
  });

  it('a server that sends what only clients send', async () => {
    const { result } = await run((c) => {
      c.welcome(0);
      c.send({ type: MessageType.HELLO, version: 1, length: 1 });
    });
    expect(result).toMatchObject({ ok: false, failure: 'the server sent HELLO, which only clients send' });
  });
});
