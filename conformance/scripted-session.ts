/**
 * The scripted server's side of the one session a client-mode case plays: what it knows (id,
 * seed, version, length; it survives reconnections) and the moves a script makes with it on a
 * connection — expect a HELLO or a RESUME, send WELCOME, NUMBERs, END, REJECT, read the ACK —
 * each checking the client's frame against docs/PROTOCOL.md. Running the case is client-play's.
 */
import { MessageType, SESSION_ID_BYTES } from '../transport/protocol/constants';
import { BODY_SIZE, encode, encodeNumber, type Message } from '../transport/protocol/codec';
import { encodeFrame } from '../transport/protocol/framer';
import { sequenceChecksum, valueAt, type Seed } from '../core/sequence';
import { ScriptFailure, skipNothing, type Received, type ScriptConn } from './scripted-server';

/** Length the scripted server picks when HELLO asks for 0 (§3.2: the server chooses). */
export const DEFAULT_LENGTH = 20;
/** The scripts cut, skip and repeat around the middle of the sequence: they need room. */
export const MIN_LENGTH = 4;
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
