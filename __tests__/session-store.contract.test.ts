/**
 * The session-store contract (transport/server/store/session-store.ts), run unchanged against the
 * embedded memory store and against Redis (a real redis-server on a free port). Real short times
 * for both: every wait polls with a bound, none sleeps hoping.
 */
import Redis from 'ioredis';
import { InMemorySessionStore } from '../transport/server/store/memory-store';
import { openStore } from '../transport/server/store/open-store';
import { RedisSessionStore } from '../transport/server/store/redis-store';
import type { SessionIdentity, SessionRecord, SessionStore } from '../transport/server/store/session-store';
import { freePort, nextEvent } from './helpers/net';
import { redisServerBinary, startRedis, type RedisServer } from '../cluster/redis-process';

const LONG = 60_000;
/** Allowed difference between the store's clock and Date.now() (both the system's, in whole ms). */
const SLACK = 3;

interface Subject {
  readonly name: string;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(tombstoneMs: number): Promise<SessionStore>;
}

let seq = 0;
function identity(): SessionIdentity {
  seq++;
  return { id: (Date.now().toString(16) + seq.toString(16).padStart(8, '0')).padStart(32, '0'), seedHi: 0x12345678 + seq, seedLo: 0x9abcdef0, length: 100 + seq, createdAt: Date.now() };
}

async function poll<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(v)})`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

let redis: RedisServer | undefined;
const subjects: Subject[] = [
  {
    name: 'memory',
    setup: async () => {},
    teardown: async () => {},
    open: async (tombstoneMs) => new InMemorySessionStore({ tombstoneMs }),
  },
  {
    name: 'redis',
    setup: async () => {
      redis = await startRedis();
    },
    teardown: async () => {
      await redis?.stop();
    },
    // Each test its own key prefix on the one server, so tests never see each other's keys.
    open: (tombstoneMs) => openStore(redis!.url, { tombstoneMs, prefix: `t${process.pid}-${++seq}`, commandTimeoutMs: 2000 }),
  },
];

describe.each(subjects)('session store contract: $name', (subject) => {
  const opened: SessionStore[] = [];
  const open = async (tombstoneMs = LONG) => {
    const s = await subject.open(tombstoneMs);
    opened.push(s);
    return s;
  };
  beforeAll(() => subject.setup(), 15_000);
  afterAll(() => subject.teardown());
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  test('create → claim → suspend → claim (another node) → complete', async () => {
    const store = await open();
    const who = identity();
    const t0 = Date.now();
    const created = await store.create(who, 'A', 10_000);
    const t1 = Date.now();
    expect(created).toMatchObject({ ...who, state: 'streaming', owner: 'A', epoch: 1, nextIndex: 0, reconnects: 0 });
    expect(created.deadline).toBeGreaterThanOrEqual(t0 + 10_000 - SLACK);
    expect(created.deadline).toBeLessThanOrEqual(t1 + 10_000 + SLACK);
    expect(await store.inspect(who.id)).toEqual(created);

    const c1 = await store.claim(who.id, 'A', 5, 10_000);
    expect(c1).toMatchObject({ kind: 'claimed', previousOwner: 'A', previousState: 'streaming', record: { ...who, state: 'streaming', owner: 'A', epoch: 2, nextIndex: 5, reconnects: 1 } });

    expect(await store.suspend(who.id, 2, 7, 20_000)).toBe('ok');
    const suspended = (await store.inspect(who.id)) as SessionRecord;
    expect(suspended).toMatchObject({ ...who, state: 'suspended', owner: 'A', epoch: 2, nextIndex: 7 });
    expect(suspended.deadline).toBeGreaterThanOrEqual(t0 + 20_000 - SLACK);

    const c2 = await store.claim(who.id, 'B', 7, 10_000);
    expect(c2).toMatchObject({ kind: 'claimed', previousOwner: 'A', previousState: 'suspended', record: { ...who, state: 'streaming', owner: 'B', epoch: 3, nextIndex: 7, reconnects: 2 } });
    expect(await store.inspect(who.id)).toEqual(c2.kind === 'claimed' && c2.record);

    expect(await store.complete(who.id, 3)).toBe('ok');
    expect(await store.claim(who.id, 'C', 0, 10_000)).toEqual({ kind: 'complete' });
    expect(await store.inspect(who.id)).toBe('complete');
  });

  test('a claim past the end is refused without claiming: the owner keeps its epoch and hears nothing', async () => {
    const store = await open();
    const who = identity();
    const created = await store.create(who, 'A', 10_000);
    const told: string[] = [];
    await store.onTakeover('A', (id) => told.push(id));
    expect(await store.claim(who.id, 'B', who.length + 1, 10_000)).toEqual({ kind: 'beyond-end', length: who.length });
    expect(await store.inspect(who.id)).toEqual(created);
    expect(await store.suspend(who.id, 1, 3, 10_000)).toBe('ok');
    expect(told).toEqual([]);
  });

  test("a lease grows with the numbers left to send, counted by the store from the session's length", async () => {
    const store = await open();
    const who = identity();
    const t0 = Date.now();
    const created = await store.create(who, 'A', 1_000, 10);
    expect(created.deadline).toBeGreaterThanOrEqual(t0 + 1_000 + who.length * 10 - SLACK);
    const c = await store.claim(who.id, 'B', 4, 1_000, 10);
    expect(c.kind === 'claimed' && c.record.deadline).toBeGreaterThanOrEqual(t0 + 1_000 + (who.length - 4) * 10 - SLACK);
    expect(c.kind === 'claimed' && c.record.deadline).toBeLessThanOrEqual(Date.now() + 1_000 + (who.length - 4) * 10 + SLACK);
  });

  test('a write with a stale (or future) epoch is lost and changes nothing', async () => {
    const store = await open();
    const who = identity();
    await store.create(who, 'A', 10_000);
    const taken = await store.claim(who.id, 'B', 3, 10_000);
    expect(taken.kind).toBe('claimed');
    const before = await store.inspect(who.id);
    for (const epoch of [1, 3]) {
      expect(await store.suspend(who.id, epoch, 9, 10)).toBe('lost');
      expect(await store.complete(who.id, epoch)).toBe('lost');
      expect(await store.expire(who.id, epoch)).toBe('lost');
    }
    expect(await store.inspect(who.id)).toEqual(before);
    expect(await store.suspend('0'.repeat(32), 1, 0, 10)).toBe('lost');
  });

  test('two claims at once both succeed with distinct epochs; the later owns it, the earlier is fenced out', async () => {
    const store = await open();
    const who = identity();
    await store.create(who, 'A', 10_000);
    const [a, b] = await Promise.all([store.claim(who.id, 'A', 4, 10_000), store.claim(who.id, 'B', 4, 10_000)]);
    if (a.kind !== 'claimed' || b.kind !== 'claimed') throw new Error(`both claims should succeed: ${JSON.stringify([a, b])}`);
    expect(new Set([a.record.epoch, b.record.epoch])).toEqual(new Set([2, 3]));
    const [first, later] = a.record.epoch < b.record.epoch ? [a, b] : [b, a];
    expect(later.previousOwner).toBe(first.record.owner);
    expect((await store.inspect(who.id)) as SessionRecord).toMatchObject({ owner: later.record.owner, epoch: 3 });
    expect(await store.suspend(who.id, first.record.epoch, 4, 10_000)).toBe('lost');
    expect(await store.complete(who.id, first.record.epoch)).toBe('lost');
    expect(await store.suspend(who.id, later.record.epoch, 4, 10_000)).toBe('ok');
  });

  test('a suspended session expires at its deadline with no node alive, then its tombstone goes', async () => {
    const tombstoneMs = 300;
    const store = await open(tombstoneMs);
    const who = identity();
    await store.create(who, 'A', 10_000);
    const t0 = Date.now();
    expect(await store.suspend(who.id, 1, 3, 150)).toBe('ok');
    await poll(() => store.inspect(who.id), (v) => v === 'expired', 'the suspended session to expire');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150 - SLACK);
    expect(await store.claim(who.id, 'B', 3, 10_000)).toEqual({ kind: 'expired' });
    expect(await store.suspend(who.id, 1, 3, 10_000)).toBe('lost');
    await poll(() => store.claim(who.id, 'B', 3, 10_000), (v) => v.kind !== 'expired', 'the tombstone to go');
    expect(await store.claim(who.id, 'B', 3, 10_000)).toEqual({ kind: 'unknown' });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150 + tombstoneMs - SLACK);
  });

  test("a streaming session whose owner died expires when its lease runs out", async () => {
    const store = await open();
    const who = identity();
    const t0 = Date.now();
    await store.create(who, 'A', 150);
    await poll(() => store.inspect(who.id), (v) => v === 'expired', 'the lease to run out');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150 - SLACK);
    expect(await store.claim(who.id, 'B', 0, 10_000)).toEqual({ kind: 'expired' });
    expect(await store.suspend(who.id, 1, 0, 10_000)).toBe('lost');
    expect(await store.inspect(who.id)).toBe('expired');
  });

  test.each(['complete', 'expired'] as const)("a '%s' tombstone is answered for tombstoneMs, then the session is unknown", async (end) => {
    const tombstoneMs = 250;
    const store = await open(tombstoneMs);
    const who = identity();
    await store.create(who, 'A', 10_000);
    const t0 = Date.now();
    expect(await (end === 'complete' ? store.complete(who.id, 1) : store.expire(who.id, 1))).toBe('ok');
    expect(await store.claim(who.id, 'B', 0, 10_000)).toEqual({ kind: end });
    expect(await store.claim(who.id, 'B', 0, 10_000)).toEqual({ kind: end });
    expect(await store.complete(who.id, 1)).toBe('lost');
    expect((await store.counts())[end]).toBe(1);
    await poll(() => store.claim(who.id, 'B', 0, 10_000), (v) => v.kind !== end, `the '${end}' tombstone to go`);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(tombstoneMs - SLACK);
    expect(await store.claim(who.id, 'B', 0, 10_000)).toEqual({ kind: 'unknown' });
    expect(await store.inspect(who.id)).toBeUndefined();
    expect((await store.counts())[end]).toBe(0);
  });

  test('an announced claim by another owner is told to the previous owner; a re-claim by the same owner is not; a claim alone tells nobody', async () => {
    const store = await open();
    const who = identity();
    const toA: unknown[][] = [];
    const toB: unknown[][] = [];
    const offA = await store.onTakeover('A', (...n) => toA.push(n));
    await store.onTakeover('B', (...n) => toB.push(n));
    await store.create(who, 'A', 10_000);
    // What a server does: claim, then announce what it keeps.
    const claimAndTell = async (owner: string, next: number) => {
      const c = await store.claim(who.id, owner, next, 10_000);
      if (c.kind === 'claimed') await store.announceTakeover(who.id, c.previousOwner, owner, c.record.epoch);
      return c;
    };
    expect((await store.claim(who.id, 'C', 1, 10_000)).kind).toBe('claimed'); // epoch 2, by C, not announced
    expect((await claimAndTell('A', 1)).kind).toBe('claimed'); // epoch 3: C had it, A is told nothing
    expect((await claimAndTell('A', 1)).kind).toBe('claimed'); // epoch 4, same owner: no notice
    expect((await claimAndTell('B', 2)).kind).toBe('claimed'); // epoch 5: A hears it
    // Notices on one channel arrive in order, so a notice of the re-claim would have come first.
    await poll(async () => toA.length, (n) => n > 0, 'the takeover notice to A');
    expect(toA).toEqual([[who.id, 'B', 5]]);
    await offA();
    expect((await claimAndTell('A', 3)).kind).toBe('claimed'); // epoch 6: B hears it
    await poll(async () => toB.length, (n) => n > 0, 'the takeover notice to B');
    expect(toB).toEqual([[who.id, 'A', 6]]);
    expect((await claimAndTell('B', 3)).kind).toBe('claimed'); // epoch 7: A unsubscribed
    expect((await claimAndTell('A', 3)).kind).toBe('claimed'); // epoch 8: B hears it
    await poll(async () => toB.length, (n) => n > 1, 'the second takeover notice to B');
    expect(toA).toEqual([[who.id, 'B', 5]]);
  });

  test('counts() holds every state across the store, tombstones included', async () => {
    const store = await open();
    expect(await store.counts()).toEqual({ streaming: 0, suspended: 0, expired: 0, complete: 0 });
    const [streaming, suspended, complete, lapsing] = [identity(), identity(), identity(), identity()];
    await store.create(streaming, 'A', 10_000);
    await store.create(suspended, 'A', 10_000);
    await store.create(complete, 'B', 10_000);
    await store.create(lapsing, 'B', 150);
    expect(await store.suspend(suspended.id, 1, 2, 10_000)).toBe('ok');
    expect(await store.complete(complete.id, 1)).toBe('ok');
    await poll(() => store.counts(), (c) => c.expired === 1, 'the lapsing session to count as expired');
    expect(await store.counts()).toEqual({ streaming: 1, suspended: 1, expired: 1, complete: 1 });
    expect((await store.claim(suspended.id, 'B', 2, 10_000)).kind).toBe('claimed');
    expect(await store.counts()).toEqual({ streaming: 2, suspended: 0, expired: 1, complete: 1 });
  });
});

describe('redis store only', () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function server(appendonly: boolean): Promise<RedisServer> {
    const r = await startRedis({ appendonly });
    cleanup.push(() => r.stop());
    return r;
  }

  async function store(url: string): Promise<RedisSessionStore> {
    const s = (await openStore(url, { commandTimeoutMs: 500, maxReconnectDelayMs: 100 })) as RedisSessionStore;
    cleanup.push(() => s.close());
    return s;
  }

  test('Redis restarted with AOF keeps every record: the session is claimed where it was left', async () => {
    const r = await server(true);
    const s = await store(r.url);
    const who = identity();
    await s.create(who, 'A', 10_000);
    expect(await s.suspend(who.id, 1, 42, 20_000)).toBe('ok');
    const back = nextEvent(s, 'available', 15_000);
    await r.restart();
    await back;
    const c = await s.claim(who.id, 'B', 42, 10_000);
    expect(c).toMatchObject({ kind: 'claimed', previousOwner: 'A', previousState: 'suspended', record: { ...who, epoch: 2, owner: 'B', nextIndex: 42 } });
  }, 30_000);

  test('each record is a key that Redis drops by itself at deadline + tombstoneMs (tombstones at their end)', async () => {
    const r = await server(false);
    const tombstoneMs = 5000;
    const s = (await openStore(r.url, { prefix: 'ttl', tombstoneMs })) as RedisSessionStore;
    cleanup.push(() => s.close());
    const raw = new Redis(r.url);
    cleanup.push(async () => void (await raw.quit()));
    const who = identity();
    const key = `{ttl}:s:${who.id}`;
    const created = await s.create(who, 'A', 10_000);
    expect(await raw.pexpiretime(key)).toBe(created.deadline + tombstoneMs);
    expect(await s.suspend(who.id, 1, 3, 20_000)).toBe('ok');
    expect(await raw.pexpiretime(key)).toBe(((await s.inspect(who.id)) as SessionRecord).deadline + tombstoneMs);
    const t0 = Date.now();
    expect(await s.expire(who.id, 1)).toBe('ok');
    const end = await raw.pexpiretime(key);
    expect(end).toBeGreaterThanOrEqual(t0 + tombstoneMs - SLACK);
    expect(end).toBeLessThanOrEqual(Date.now() + tombstoneMs + SLACK);
    expect(await raw.keys('{ttl}:*')).toEqual(expect.arrayContaining([key, '{ttl}:z:expired']));
  });

  test('one subscriber connection serves every owner the store listens for; close() quits both', async () => {
    const r = await server(false);
    const s = await store(r.url);
    const raw = new Redis(r.url);
    cleanup.push(async () => void (await raw.quit()));
    const ours = async () => String(await raw.client('LIST')).split('\n').filter((l: string) => / name=seqstream /.test(l));
    for (const owner of ['A', 'B', 'C']) await s.onTakeover(owner, () => {});
    const conns = await ours();
    expect(conns).toHaveLength(2);
    expect(conns.filter((l: string) => / sub=3 /.test(l))).toHaveLength(1);
    await s.close();
    await poll(ours, (l) => l.length === 0, 'both connections to go');
  });

  test('Redis down: operations reject within a bound, one "unavailable" per outage, "available" when back', async () => {
    const r = await server(false);
    const s = await store(r.url);
    const events: string[] = [];
    s.on('unavailable', (e: Error) => events.push(`unavailable: ${e.message}`));
    s.on('available', () => events.push('available'));
    expect(s.available).toBe(true);
    await s.create(identity(), 'A', 10_000);

    const down = nextEvent(s, 'unavailable', 5000);
    await r.kill();
    await down;
    expect(s.available).toBe(false);
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      await expect(s.claim(identity().id, 'A', 0, 10_000)).rejects.toThrow(/session store redis:\/\/127\.0\.0\.1:\d+\/0/);
      expect(Date.now() - t0).toBeLessThan(1500);
      await new Promise((res) => setTimeout(res, 100)); // let reconnect attempts fail in between
    }
    const up = nextEvent(s, 'available', 15_000);
    await r.restart();
    await up;
    expect(s.available).toBe(true);
    expect(await s.counts()).toEqual({ streaming: 0, suspended: 0, expired: 0, complete: 0 });
    expect(events.filter((e) => e.startsWith('unavailable'))).toHaveLength(1);
    expect(events.filter((e) => e === 'available')).toHaveLength(1);
  }, 30_000);

  test('openStore: a Redis that does not answer is a clear error naming the URL without its password', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const err = await openStore(`redis://me:s3cret@127.0.0.1:${port}/2`, { connectTimeoutMs: 300 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toMatch(new RegExp(`could not connect to the session store redis://127\\.0\\.0\\.1:${port}/2 within 300 ms`));
    expect(err?.message).not.toContain('s3cret');
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test.each([
    ['foo', /unknown store "foo": use memory, redis:\/\//],
    ['redis://h:99999', /port must be 1..65535/],
    ['redis://h:6379/x', /database must be a number, got "x"/],
    ['redis://u:pw@h:6379/0?tls=1', /no query or fragment/],
    ['redis://:6379', /not a URL|no host/],
  ])('openStore("%s") is refused clearly', async (spec, message) => {
    await expect(openStore(spec)).rejects.toThrow(message);
    await openStore(spec).catch((e: Error) => expect(e.message).not.toContain('pw@'));
  });

  test('without redis-server the harness fails, naming the script that installs it', () => {
    expect(() => redisServerBinary(['/nonexistent'])).toThrow('redis-server is not installed: run `sh scripts/install-services.sh`');
  });

  test('openStore("memory") is the embedded store', async () => {
    const s = await openStore('memory');
    expect(s.shared).toBe(false);
    expect(s).toBeInstanceOf(InMemorySessionStore);
  });
});

