/**
 * Every fault of the proxy, through the real proxy, on real sockets: what reaches each end, in
 * which order, and how each end sees a connection end. Lower bounds on delays are correctness
 * (a latency fault that delivers early is broken), not performance assertions.
 *
 * Near 400 lines, on purpose: a table of cases, a few per fault kind, sharing one relay-pair
 * setup (fresh for each case); splitting it by fault would scatter the table and repeat the setup.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { RelayPair, tryConnect, type Ends } from './helpers/relay-pair';
import { nextEvent, waitFor } from './helpers/net';
import { FaultError, type Fault } from '../proxy/faults';

let pair: RelayPair;
beforeEach(async () => {
  pair = await RelayPair.start();
});
afterEach(async () => {
  await pair.close();
});

/** Asserts nothing changes for `ms`: the only way to show bytes are held back is to wait. */
async function stillAfter(ms: number, read: () => number, expected: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(read()).toBe(expected);
}

describe('relay without faults', () => {
  test('a megabyte each way arrives intact and in order', async () => {
    const e = await pair.open();
    const up = randomBytes(1 << 20);
    const down = randomBytes(1 << 20);
    e.client.write(up);
    e.server.write(down);
    await waitFor(() => e.atServer().length === up.length && e.atClient().length === down.length, 'both megabytes', 10_000);
    expect(e.atServer().equals(up)).toBe(true);
    expect(e.atClient().equals(down)).toBe(true);
    const stats = pair.proxy.connection(e.connId)!;
    expect(stats.bytesUp).toBe(up.length);
    expect(stats.bytesDown).toBe(down.length);
  });
});

describe('cut and reset', () => {
  test('cut closes both sides with a FIN', async () => {
    const e = await pair.open();
    const fault = pair.proxy.addFault({ kind: 'cut' });
    expect(fault.kind).toBe('cut');
    await waitFor(() => e.clientEvents.includes('close') && e.serverEvents.includes('close'), 'both ends to close');
    expect(e.clientEvents).toContain('end');
    expect(e.serverEvents).toContain('end');
    expect(e.clientEvents.some((x) => x.startsWith('error'))).toBe(false);
    expect(pair.proxy.connections()).toHaveLength(0);
  });

  test('cut "up" ends the server side first: the server reads end-of-stream', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'cut', direction: 'up' });
    await waitFor(() => e.serverEvents.includes('end'), 'the server to read the end');
  });

  test('cut "down" ends the client side: the client reads end-of-stream', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'cut', direction: 'down' });
    await waitFor(() => e.clientEvents.includes('end'), 'the client to read the end');
  });

  test('reset aborts both sides with an RST (ECONNRESET), not a FIN', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'reset' });
    await waitFor(() => e.clientEvents.includes('close') && e.serverEvents.includes('close'), 'both ends to close');
    expect(e.clientEvents).toContain('error:ECONNRESET');
    expect(e.serverEvents).toContain('error:ECONNRESET');
    expect(e.clientEvents).not.toContain('end');
  });

  test('reset "up" aborts only the server side; the client sees an ordinary close', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'reset', direction: 'up' });
    await waitFor(() => e.clientEvents.includes('close') && e.serverEvents.includes('close'), 'both ends to close');
    expect(e.serverEvents).toContain('error:ECONNRESET');
    expect(e.clientEvents).not.toContain('error:ECONNRESET');
  });

  test('a cut aimed at one connection leaves the others alone', async () => {
    const a = await pair.open();
    const b = await pair.open();
    pair.proxy.addFault({ kind: 'cut', target: a.connId });
    await waitFor(() => a.clientEvents.includes('close'), 'the targeted connection to close');
    b.client.write('still here');
    await waitFor(() => b.atServer().toString() === 'still here', 'the other connection to relay');
    expect(b.clientEvents).toEqual([]);
  });
});

describe('freeze', () => {
  test('holds bytes both ways with both sockets open; thawing delivers them intact', async () => {
    const e = await pair.open();
    const fault = pair.proxy.freeze();
    e.client.write('up-bytes');
    e.server.write('down-bytes');
    await stillAfter(300, () => e.atServer().length + e.atClient().length, 0);
    expect(e.clientEvents).toEqual([]);
    expect(e.serverEvents).toEqual([]);
    expect(pair.proxy.connection(e.connId)!.frozen).toBe(true);
    pair.proxy.removeFault(fault.id);
    await waitFor(() => e.atServer().toString() === 'up-bytes' && e.atClient().toString() === 'down-bytes', 'bytes after the thaw');
  });

  test('one direction only: "up" is held while "down" flows', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'freeze', direction: 'up' });
    e.client.write('held');
    e.server.write('flows');
    await waitFor(() => e.atClient().toString() === 'flows', 'the down direction');
    await stillAfter(200, () => e.atServer().length, 0);
  });

  test('connections opened during a freeze on all are frozen too', async () => {
    pair.proxy.freeze();
    const e = await pair.open();
    e.client.write('x');
    await stillAfter(200, () => e.atServer().length, 0);
    pair.proxy.unfreeze();
    await waitFor(() => e.atServer().toString() === 'x', 'the byte after unfreeze');
  });

  test('a freeze with a duration lifts by itself', async () => {
    const e = await pair.open();
    const fault = pair.proxy.addFault({ kind: 'freeze', durationMs: 150 });
    expect(fault.expiresAt).not.toBeNull();
    const lifted = nextEvent<[Fault, string]>(pair.proxy, 'lifted', 3000);
    e.client.write('later');
    const [f, why] = await lifted;
    expect(f.id).toBe(fault.id);
    expect(why).toBe('expired');
    await waitFor(() => e.atServer().toString() === 'later', 'bytes after the freeze expired');
    expect(pair.proxy.faults()).toHaveLength(0);
  });

  test('a freeze on one connection leaves another flowing', async () => {
    const a = await pair.open();
    const b = await pair.open();
    pair.proxy.addFault({ kind: 'freeze', target: a.connId });
    a.client.write('a');
    b.client.write('b');
    await waitFor(() => b.atServer().toString() === 'b', 'the other connection');
    await stillAfter(100, () => a.atServer().length, 0);
  });
});

describe('latency, bandwidth, slicer', () => {
  test('latency delays every chunk by at least the latency and keeps order under jitter', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'latency', latencyMs: 120, direction: 'down' });
    const t0 = performance.now();
    e.server.write('late');
    await waitFor(() => e.atClient().length === 4, 'the delayed bytes');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(110);

    pair.proxy.clearFaults();
    pair.proxy.addFault({ kind: 'latency', latencyMs: 20, jitterMs: 20 });
    const sent: Buffer[] = [];
    for (let i = 0; i < 50; i++) {
      const b = Buffer.from(`<${i}>`);
      sent.push(b);
      e.client.write(b);
      await new Promise((r) => setImmediate(r));
    }
    const all = Buffer.concat(sent);
    await waitFor(() => e.atServer().length === all.length, 'all jittered chunks');
    expect(e.atServer().equals(all)).toBe(true);
  });

  test('bandwidth paces the bytes at the configured rate, intact', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'bandwidth', bytesPerSec: 4000, direction: 'down' });
    const payload = randomBytes(2000);
    const t0 = performance.now();
    e.server.write(payload);
    await waitFor(() => e.atClient().length === payload.length, 'the paced bytes', 5000);
    // 2000 bytes at 4000 B/s take half a second (less the first piece, released at once).
    expect(performance.now() - t0).toBeGreaterThanOrEqual(400);
    expect(e.atClient().equals(payload)).toBe(true);
  });

  test('slicer forwards one write as many small pieces, intact', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'slicer', sliceBytes: 3, sliceDelayMs: 10, direction: 'down' });
    const payload = Buffer.from('abcdefghijklmnopqrstuvwxyz0123');
    e.server.write(payload);
    await waitFor(() => e.atClient().length === payload.length, 'the sliced bytes');
    expect(e.atClient().equals(payload)).toBe(true);
    expect(e.chunksAtClient()).toBeGreaterThanOrEqual(5);
  });
});

describe('limit', () => {
  test('forwards exactly the byte budget, then closes the connection', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'limit', limitBytes: 10, direction: 'down' });
    e.server.write('0123456789abcdefghijklmno');
    await waitFor(() => e.clientEvents.includes('close'), 'the connection to close');
    expect(e.atClient().toString()).toBe('0123456789');
    expect(e.clientEvents).toContain('end');
  });

  test('counts from when it applies, across several writes', async () => {
    const e = await pair.open();
    e.server.write('before');
    await waitFor(() => e.atClient().length === 6, 'bytes before the limit');
    pair.proxy.addFault({ kind: 'limit', limitBytes: 5 });
    e.server.write('abc');
    await waitFor(() => e.atClient().length === 9, 'bytes under the limit');
    e.server.write('defgh');
    await waitFor(() => e.clientEvents.includes('close'), 'the close');
    expect(e.atClient().toString()).toBe('beforeabcde');
  });
});

describe('refuse', () => {
  test('new connections are refused while open ones keep relaying; lifting listens again on the same port', async () => {
    const e = await pair.open();
    const port = pair.proxy.port;
    const fault = pair.proxy.addFault({ kind: 'refuse' });
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    e.client.write('open one');
    await waitFor(() => e.atServer().toString() === 'open one', 'the open connection to relay');
    pair.proxy.removeFault(fault.id);
    await waitFor(() => pair.proxy.stats().listening, 'the proxy to listen again');
    expect(await tryConnect(port)).toBe('connected');
  });

  test('existing "cut" closes the open connections too; a duration ends the outage by itself', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'refuse', existing: 'cut', durationMs: 200 });
    await waitFor(() => e.clientEvents.includes('close'), 'the open connection to be cut');
    expect(await tryConnect(pair.proxy.port)).toBe('ECONNREFUSED');
    await nextEvent(pair.proxy, 'lifted', 3000);
    await waitFor(() => pair.proxy.stats().listening, 'the proxy to listen again');
    expect(await tryConnect(pair.proxy.port)).toBe('connected');
  });
});

describe('bad fault requests change nothing', () => {
  const bad: [unknown, RegExp][] = [
    [{ kind: 'explode' }, /unknown fault kind "explode"/],
    [{ kind: 'freeze', durationMs: -5 }, /durationMs must be in 1\.\./],
    [{ kind: 'latency', latencyMs: 'slow' }, /latencyMs must be a whole number/],
    [{ kind: 'latency', latency: 100 }, /unknown field "latency"/],
    [{ kind: 'cut', durationMs: 100 }, /cut is instant/],
    [{ kind: 'freeze', direction: 'sideways' }, /direction must be/],
    [{ kind: 'freeze', bytesPerSec: 10 }, /bytesPerSec does not apply to freeze/],
    [{ kind: 'refuse', target: 3 }, /refuse acts on the listening port/],
    [{ kind: 'freeze', target: -1 }, /target must be "all" or a connection id/],
    ['freeze', /a fault is a JSON object/],
  ];
  test.each(bad)('%j is refused with a clear message', async (input, message) => {
    const e = await pair.open();
    expect(() => pair.proxy.addFault(input)).toThrow(message);
    expect(pair.proxy.faults()).toHaveLength(0);
    e.client.write('ok');
    await waitFor(() => e.atServer().toString() === 'ok', 'the relay to keep working');
  });

  test('an unknown connection or fault id is a 404', () => {
    let err: unknown;
    try {
      pair.proxy.addFault({ kind: 'freeze', target: 999 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FaultError);
    expect((err as FaultError).status).toBe(404);
    expect(() => pair.proxy.removeFault(42)).toThrow(/no active fault #42/);
  });
});

test('stats count bytes and faults per connection and in total', async () => {
  const e: Ends = await pair.open();
  pair.proxy.addFault({ kind: 'latency', latencyMs: 1, target: e.connId });
  e.client.write('12345');
  await waitFor(() => e.atServer().length === 5, 'the bytes');
  const c = pair.proxy.connection(e.connId)!;
  expect(c.bytesUp).toBe(5);
  expect(c.faultsApplied).toEqual({ latency: 1 });
  pair.proxy.cutAll();
  await waitFor(() => pair.proxy.connections().length === 0, 'the cut');
  const s = pair.proxy.stats();
  expect(s.bytesUp).toBe(5);
  expect(s.accepted).toBe(1);
  expect(s.injected).toEqual({ latency: 1, cut: 1 });
  // The latency fault aimed at the closed connection went with it.
  expect(pair.proxy.faults()).toHaveLength(0);
});

describe('end of stream and lifted faults (found in review)', () => {
  test('a FIN waits behind the bytes a latency fault holds: all of them arrive, then the end', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'latency', latencyMs: 30, direction: 'up' });
    e.client.end('0123456789');
    await waitFor(() => e.serverEvents.includes('end'), 'the server to read the end');
    expect(e.atServer().toString()).toBe('0123456789');
  });

  test('the same downstream under bandwidth: the server sends then closes, the client gets every byte', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'bandwidth', bytesPerSec: 20_000, direction: 'down' });
    const payload = randomBytes(1000);
    e.server.end(payload);
    await waitFor(() => e.clientEvents.includes('end'), 'the client to read the end');
    expect(e.atClient().equals(payload)).toBe(true);
  });

  test('half-close without faults: the client sends and ends, the server still replies', async () => {
    const e = await pair.open();
    e.server.on('end', () => e.server.end('reply'));
    e.client.end('request');
    await waitFor(() => e.clientEvents.includes('end'), 'the reply and its end');
    expect(e.atServer().toString()).toBe('request');
    expect(e.atClient().toString()).toBe('reply');
  });

  test('lifting a bandwidth fault releases what it had queued at once', async () => {
    const e = await pair.open();
    const slow = pair.proxy.addFault({ kind: 'bandwidth', bytesPerSec: 1000, direction: 'down' });
    const payload = randomBytes(20_000); // 20 s at 1000 B/s
    e.server.write(payload);
    await waitFor(() => e.atClient().length > 0, 'the first paced bytes');
    pair.proxy.removeFault(slow.id);
    await waitFor(() => e.atClient().length === payload.length, 'the rest, right after the fault is lifted', 3000);
    expect(e.atClient().equals(payload)).toBe(true);
  });

  test('a 1-byte slicer over a large write keeps the bytes intact (slices are cut at release, not queued one by one)', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'slicer', sliceBytes: 1, sliceDelayMs: 0, direction: 'down' });
    const payload = randomBytes(3000);
    e.server.write(payload);
    await waitFor(() => e.atClient().length === payload.length, 'every slice', 8000);
    expect(e.atClient().equals(payload)).toBe(true);
  });

  test('a limit forwards no more than its budget even while the other side keeps talking', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'limit', limitBytes: 5, direction: 'down' });
    const chatter = setInterval(() => e.client.writable && e.client.write('x'), 2);
    e.server.write('abcdefghij');
    await waitFor(() => e.clientEvents.includes('close'), 'the close');
    clearInterval(chatter);
    expect(e.atClient().toString()).toBe('abcde');
  });

  test('cut "up" is a half-close: the server reads the end and can still answer', async () => {
    const e = await pair.open();
    // (The test server is not half-open capable, so it answers as it reads the end.)
    e.server.on('end', () => e.server.end('still answering'));
    pair.proxy.addFault({ kind: 'cut', direction: 'up' });
    await waitFor(() => e.serverEvents.includes('end'), 'the server to read the end');
    await waitFor(() => e.atClient().toString() === 'still answering', 'the answer through the half-closed connection');
  });
});

describe('second review', () => {
  test('a one-way cut while that way is frozen still lets the connection close and go away', async () => {
    const e = await pair.open();
    const freeze = pair.proxy.addFault({ kind: 'freeze', direction: 'up' });
    e.client.write(Buffer.alloc(1000));
    pair.proxy.addFault({ kind: 'cut', direction: 'up' });
    await waitFor(() => e.serverEvents.includes('end'), 'the server to read the end');
    e.client.end();
    pair.proxy.removeFault(freeze.id);
    await waitFor(() => pair.proxy.connections().length === 0, 'the connection to be removed');
  });

  test('slowing the bandwidth does not charge pieces already sent at the old rate', async () => {
    const e = await pair.open();
    pair.proxy.addFault({ kind: 'bandwidth', bytesPerSec: 1 << 20, direction: 'down' });
    e.server.write(Buffer.alloc(200_000));
    await waitFor(() => e.atClient().length === 200_000, 'the fast bytes');
    pair.proxy.addFault({ kind: 'bandwidth', bytesPerSec: 1000, direction: 'down' });
    e.server.write('x');
    // One byte at 1000 B/s: milliseconds, not the ~50 s a re-charged 52 KB piece would take.
    await waitFor(() => e.atClient().length === 200_001, 'the next byte', 2000);
  });

  test('a refuse added in the tick its predecessor is lifted still refuses; close() right after lifting stops listening', async () => {
    const first = pair.proxy.addFault({ kind: 'refuse' });
    pair.proxy.removeFault(first.id);
    pair.proxy.addFault({ kind: 'refuse' });
    await new Promise((r) => setTimeout(r, 20));
    expect(await tryConnect(pair.proxy.port)).toBe('ECONNREFUSED');
    pair.proxy.clearFaults();
    const port = pair.proxy.port;
    await pair.proxy.close();
    await new Promise((r) => setTimeout(r, 20));
    expect(await tryConnect(port)).toBe('ECONNREFUSED');
    expect(pair.proxy.stats().listening).toBe(false);
  });
});
