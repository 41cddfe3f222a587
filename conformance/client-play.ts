/**
 * One client-mode case played out: a scripted server on a fresh port, the client's command run
 * once against it, one script per connection the spec says the client makes, and a verdict
 * from what the client sent and how it exited.
 *
 * Every wait is bounded by ctx.timeoutMs: the first connection, each next one, each frame a
 * script waits for, and the exit after the last script. The first thing that goes wrong ends
 * the case at once (the client is killed), so a failing case costs no more than a passing one.
 */
import { MessageType, SESSION_ID_BYTES } from '../transport/protocol/constants';
import { BODY_SIZE, encode, encodeNumber, type Message } from '../transport/protocol/codec';
import { encodeFrame } from '../transport/protocol/framer';
import { sequenceChecksum, valueAt, type Seed } from '../core/sequence';
import type { ClientCtx, Verdict } from './case';
import { ClientProcess, type Exit } from './client-process';
import { ScriptConn, ScriptedServer, ScriptFailure, skipNothing, type Received } from './scripted-server';

export { ScriptFailure };

/** Length the scripted server picks when HELLO asks for 0 (§3.2: the server chooses). */
export const DEFAULT_LENGTH = 20;
/** The scripts cut, skip and repeat around the middle of the sequence: they need room. */
export const MIN_LENGTH = 4;
/** Heartbeat timings announced in WELCOME unless a case says otherwise: quick beats, a patient timeout. */
export const HEARTBEATS = { intervalMs: 200, timeoutMs: 3000 };
/** After the client exits, how long a connection it opened just before may take to be accepted. */
const SETTLE_MS = 50;

/** What the scripted server knows of the one session a case plays (it survives reconnections). */
export class Session {
  readonly id = Buffer.from('c0nf0rmance-sess'.padEnd(SESSION_ID_BYTES, '-'), 'latin1');
  readonly seed: Seed = { hi: 0x5eed5eed, lo: 0x0c11e47e };
  readonly instance = Buffer.from('1d1d1d1d1d1d1d1d', 'hex');
  /** Protocol version of the session, from the HELLO that started it. */
  version = 0;
  /** Length asked for in HELLO (0: the server chooses). */
  requested = 0;
  length = 0;

  constructor(
    readonly timeoutMs: number,
    readonly heartbeats: { intervalMs: number; timeoutMs: number },
  ) {}

  get checksum(): number {
    return sequenceChecksum(this.seed, this.length);
  }

  /** An index near the middle, with room for a gap after it. */
  get middle(): number {
    return Math.floor(this.length / 2);
  }

  /**
   * The connection's first frame must be a HELLO in a version this server speaks (1 or 2);
   * it fixes the session's version and length.
   */
  async hello(c: ScriptConn, version?: number): Promise<void> {
    const r = await c.next(this.timeoutMs, version ? `HELLO of version ${version}` : 'HELLO', skipNothing);
    const m = r.msg;
    if (m.type !== MessageType.HELLO) {
      throw new ScriptFailure(`connection ${c.n}: expected ${version ? `HELLO of version ${version}` : 'HELLO'} first, got ${describe(r)}`);
    }
    if (m.version !== 1 && m.version !== 2) throw new ScriptFailure(`connection ${c.n}: HELLO of version ${m.version}; the scripted server speaks 1 and 2`);
    const want = version ?? (this.version || m.version);
    if (m.version !== want) throw new ScriptFailure(`connection ${c.n}: HELLO of version ${m.version}, expected ${want}`);
    // A retried HELLO repeats the request (§2.2: "the client connects again and repeats its request").
    if (this.version !== 0 && m.length !== this.requested) throw new ScriptFailure(`connection ${c.n}: HELLO asks for ${m.length} numbers, the first asked for ${this.requested}`);
    this.version = m.version;
    this.requested = m.length;
    this.length = m.length || DEFAULT_LENGTH;
    if (this.length < MIN_LENGTH) throw new ScriptFailure(`the client asked for ${this.length} numbers; this case needs at least ${MIN_LENGTH} (or 0)`);
  }

  /**
   * The connection's first frame must be a RESUME of this session in its version, at
   * `nextIndex`, carrying (version 2) the instance id of the last WELCOME (§2.1, §3.7).
   */
  async resume(c: ScriptConn, nextIndex: number, why: string): Promise<void> {
    const r = await c.next(this.timeoutMs, `RESUME at index ${nextIndex} (${why})`, skipNothing);
    const m = r.msg;
    const got = `connection ${c.n} (${why})`;
    if (m.type !== MessageType.RESUME) throw new ScriptFailure(`${got}: expected RESUME at index ${nextIndex}, got ${describe(r)}`);
    if (m.version !== this.version) throw new ScriptFailure(`${got}: RESUME of version ${m.version}; the session speaks ${this.version}`);
    const size = BODY_SIZE[this.version][MessageType.RESUME];
    if (r.body.length !== size) throw new ScriptFailure(`${got}: RESUME body of ${r.body.length} bytes, version ${this.version} has ${size}`);
    if (!m.sessionId.equals(this.id)) throw new ScriptFailure(`${got}: RESUME of session ${m.sessionId.toString('hex')}, not the one WELCOME gave (${this.id.toString('hex')})`);
    if (m.nextIndex !== nextIndex) throw new ScriptFailure(`${got}: RESUME at index ${m.nextIndex}, expected ${nextIndex}`);
    if (this.version >= 2 && !m.instanceId?.equals(this.instance)) {
      throw new ScriptFailure(`${got}: RESUME carries instance id ${m.instanceId?.toString('hex')}, WELCOME gave ${this.instance.toString('hex')}`);
    }
  }

  /**
   * Sends WELCOME in the session's version. Before it the client may have sent its one HELLO or
   * RESUME and nothing else (§3.13).
   */
  welcome(c: ScriptConn, startIndex: number, over: Partial<Record<'seedHi' | 'seedLo' | 'length', number>> = {}): void {
    const early = c.frames.slice(1);
    if (early.length > 0) throw new ScriptFailure(`connection ${c.n}: before WELCOME the client sent ${early.map(describe).join(', ')} after its request (§3.13: nothing until WELCOME)`);
    c.welcomed = true;
    const welcome: Message = {
      type: MessageType.WELCOME,
      sessionId: this.id,
      seedHi: this.seed.hi,
      seedLo: this.seed.lo,
      length: this.length,
      startIndex,
      intervalMs: 10,
      heartbeatIntervalMs: this.heartbeats.intervalMs,
      heartbeatTimeoutMs: this.heartbeats.timeoutMs,
      ...over,
      ...(this.version >= 2 ? { instanceId: this.instance } : {}),
    };
    c.send(encode(welcome));
  }

  /** NUMBERs from..to-1 in one write; `wrong` replaces the value at one index. */
  numbers(c: ScriptConn, from: number, to: number, wrong?: { index: number; value: number }): void {
    if (to <= from) return;
    const buf = Buffer.concat(Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return encodeNumber(i, wrong?.index === i ? wrong.value : valueAt(this.seed, i));
    }));
    c.send(buf);
  }

  end(c: ScriptConn, over: { length?: number; checksum?: number } = {}): void {
    c.send(encode({ type: MessageType.END, length: over.length ?? this.length, checksum: over.checksum ?? this.checksum }));
  }

  reject(c: ScriptConn, code: number, reason: string): void {
    const text = Buffer.from(reason, 'utf8');
    c.send(encodeFrame(Buffer.concat([Buffer.from([MessageType.REJECT, code]), text])));
  }

  /** The client's ACK after END: its verdict. */
  async ack(c: ScriptConn): Promise<number> {
    const r = await c.next(this.timeoutMs, 'ACK after END');
    if (r.msg.type !== MessageType.ACK) throw new ScriptFailure(`connection ${c.n}: expected ACK after END, got ${describe(r)}`);
    return r.msg.verdict;
  }

  /** Everything from startIndex to the END, then an ACK with verdict 0 (§3.4). */
  async finish(c: ScriptConn, startIndex: number): Promise<void> {
    this.welcome(c, startIndex);
    this.numbers(c, startIndex, this.length);
    this.end(c);
    const verdict = await this.ack(c);
    if (verdict !== 0) throw new ScriptFailure(`connection ${c.n}: ACK verdict ${verdict} for a correct sequence and checksum (expected 0)`);
  }

  /** The client must close this connection (it found the link broken or the session over). */
  async clientCloses(c: ScriptConn, after: string): Promise<void> {
    if (!(await c.closedWithin(this.timeoutMs))) throw new ScriptFailure(`connection ${c.n}: still open ${this.timeoutMs} ms after ${after}`);
  }
}

export function describe(r: Received): string {
  const m = r.msg;
  switch (m.type) {
    case MessageType.HELLO:
      return `HELLO(v${m.version}, length ${m.length})`;
    case MessageType.RESUME:
      return `RESUME(v${m.version}, next ${m.nextIndex})`;
    case MessageType.HEARTBEAT:
    case MessageType.HEARTBEAT_ACK:
      return `${MessageType[m.type]}(${m.nonce})`;
    case MessageType.ACK:
      return `ACK(${m.verdict})`;
    default:
      return MessageType[m.type] ?? `type ${m.type}`;
  }
}

export type Script = (c: ScriptConn, s: Session) => Promise<void>;

export interface Plan {
  /** One script per connection the spec says the client makes, in order; one more is a failure. */
  scripts: Script[];
  /** Connections that must happen (default: all the scripts); the rest are allowed, not required. */
  required?: number;
  /** What the client must end with: exit 0 (it verified the whole sequence) or a failure status. */
  outcome: 'success' | 'failure';
  /** Timings announced in WELCOME (default HEARTBEATS). */
  heartbeats?: { intervalMs: number; timeoutMs: number };
  /** Why a further connection is wrong, for the detail (e.g. "§3.14: a changed seed is fatal"). */
  noMore?: string;
  /** A last check on everything recorded, once the client has exited as expected; a string fails the case. */
  check?: (p: Played) => string | null;
}

export interface Played {
  exit: Exit | null;
  conns: ScriptConn[];
  session: Session;
}

/** Plays the plan and judges it. */
export async function play(ctx: ClientCtx, plan: Plan): Promise<Verdict> {
  const session = new Session(ctx.timeoutMs, plan.heartbeats ?? HEARTBEATS);
  const problems: string[] = [];
  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const problem = (p: string) => {
    problems.push(p);
    stop();
  };
  const timers = new Set<NodeJS.Timeout>();
  let over = false;
  // A script still running when the case ends must not arm a timer that outlives it.
  const within = (ms: number, check: () => void) => {
    if (!over) timers.add(setTimeout(check, ms));
  };
  let client: ClientProcess | null = null;

  const server = new ScriptedServer((conn) => {
    const script = plan.scripts[conn.n - 1];
    if (!script) {
      const first = conn.next(SETTLE_MS * 4, 'a first frame', skipNothing).then(describe, () => 'nothing yet');
      void first.then((f) => problem(`the client opened connection ${conn.n} (first frame: ${f}); it should not have${plan.noMore ? ` (${plan.noMore})` : ''}`));
      return;
    }
    script(conn, session).then(
      () => {
        // Each script ends where the spec says the client acts next: connect again, or exit.
        const next = conn.n + 1;
        if (next <= (plan.required ?? plan.scripts.length)) {
          within(ctx.timeoutMs, () => {
            if (server.conns.length < next) problem(`the client did not open connection ${next} within ${ctx.timeoutMs} ms after connection ${conn.n}`);
          });
        } else {
          within(ctx.timeoutMs, () => {
            if (!client?.exit) problem(`the client did not exit within ${ctx.timeoutMs} ms after the last step`);
          });
        }
      },
      (err: unknown) => problem(err instanceof ScriptFailure ? err.message : `script error: ${(err as Error)?.stack ?? String(err)}`),
    );
  }, problem);

  try {
    client = new ClientProcess(ctx.command, await server.listen());
    within(ctx.timeoutMs, () => {
      if (server.conns.length === 0 && !client?.exit) problem(`the client did not connect within ${ctx.timeoutMs} ms`);
    });
    await Promise.race([client.exited, stopped]);
    if (client.exit) await new Promise((r) => setTimeout(r, SETTLE_MS));
  } finally {
    over = true;
    for (const t of timers) clearTimeout(t);
    client?.kill();
    await server.close();
  }
  // (Assigned in the try block; TypeScript cannot see that through the closures above.)
  const ran = client as ClientProcess | null;
  const exit = ran?.exit ?? null;
  const tail = ran?.output ? `; client output: ${ran.output}` : '';
  if (exit?.error) return { pass: false, detail: exit.error };
  if (problems.length > 0) return { pass: false, detail: problems[0] + tail };
  if (exit === null) return { pass: false, detail: `the client was killed: it did not exit${tail}` };
  const status = exit.code !== null ? `status ${exit.code}` : `signal ${exit.signal}`;
  if (plan.outcome === 'success' && exit.code !== 0) {
    return { pass: false, detail: `the client exited with ${status}, expected 0 (it received every number and the checksum matched)${tail}` };
  }
  if (plan.outcome === 'failure' && exit.code === 0) return { pass: false, detail: `the client exited with status 0, expected a failure status${tail}` };
  const required = plan.required ?? plan.scripts.length;
  if (server.conns.length < required) {
    return { pass: false, detail: `the client exited (${status}) after ${server.conns.length} connection(s); the case expects ${required}${tail}` };
  }
  const late = plan.check?.({ exit, conns: server.conns, session });
  if (late) return { pass: false, detail: late + tail };
  return { pass: true, detail: `exit ${status}, ${server.conns.length} connection(s)` };
}
