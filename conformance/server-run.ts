/**
 * What server-mode cases share: opening sessions, reading what must come next, and checking it
 * against the spec. Every wait is bounded: by ctx.timeoutMs for an answer, plus the intervals
 * of the numbers awaited (read from WELCOME). Every connection a case opens is closed when the
 * case ends, whatever its verdict.
 */
import type { Reject, Welcome } from '../transport/protocol/codec';
import { MessageType, RejectCode } from '../transport/protocol/constants';
import { sequenceChecksum, valueAt, type Seed } from '../core/sequence';
import type { Case, ServerCtx, Verdict } from './case';
import { Mismatch, Peer, describeMsg, type Received } from './peer';
import { SIZES, VERSION_LIST } from './spec';

/** Jitter allowed around a timing bound of the spec: scheduling and the network, not the rule. */
export function slackMs(boundMs: number): number {
  return 250 + boundMs / 10;
}

/** A timer never fires early, but clocks are read at slightly different moments. */
export function earlyToleranceMs(boundMs: number): number {
  return 5 + boundMs / 50;
}

export interface Opened {
  peer: Peer;
  w: Welcome;
  /** The WELCOME's body as received. */
  body: Buffer;
  /** When it arrived (performance.now()). */
  at: number;
  /** When the HELLO or RESUME it answers was written: the last frame the server heard. */
  sentAt: number;
  seed: Seed;
}

export function check(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Mismatch(what);
}

export class ServerRun {
  private readonly peers: Peer[] = [];

  constructor(readonly ctx: ServerCtx) {}

  async connect(): Promise<Peer> {
    const peer = await Peer.connect(this.ctx.host, this.ctx.port, this.ctx.timeoutMs);
    this.peers.push(peer);
    return peer;
  }

  /** The next frame must be a WELCOME of `version`'s size with usable timings. */
  async welcome(peer: Peer, version: number, what: string): Promise<Opened> {
    const r = await peer.next(this.ctx.timeoutMs, `WELCOME (${what})`);
    if (r.msg.type !== MessageType.WELCOME) throw new Mismatch(`expected WELCOME (${what}), got ${describeMsg(r.msg)}`);
    const w = r.msg;
    const size = SIZES[version as 1 | 2].WELCOME;
    check(r.body.length === size, `a WELCOME answering version ${version} has ${size} bytes (§2.1), got ${r.body.length}`);
    check(w.intervalMs > 0 && w.heartbeatIntervalMs > 0 && w.heartbeatTimeoutMs > 0,
      `WELCOME's timings must be non-zero for a client to follow them: interval ${w.intervalMs}, heartbeat ${w.heartbeatIntervalMs} / ${w.heartbeatTimeoutMs} ms`);
    return { peer, w, body: r.body, at: r.at, sentAt: peer.lastSentAt, seed: { hi: w.seedHi, lo: w.seedLo } };
  }

  /** A new connection, HELLO, and its WELCOME (start index 0, the length asked for). */
  async hello(length: number, version = 1): Promise<Opened> {
    const peer = await this.connect();
    peer.hello(length, version);
    const o = await this.welcome(peer, version, `answering HELLO v${version} length ${length}`);
    check(o.w.startIndex === 0, `a new session's WELCOME has start index 0 (§3.2), got ${o.w.startIndex}`);
    if (length !== 0) check(o.w.length === length, `WELCOME's length must be the ${length} asked for (§3.2), got ${o.w.length}`);
    return o;
  }

  /** A new connection, RESUME, and its WELCOME (start index = next, same seed and length). */
  async resume(first: Opened, nextIndex: number, version = 1): Promise<Opened> {
    const peer = await this.connect();
    if (version >= 2) peer.resume(first.w.sessionId, nextIndex, instanceOf(first));
    else peer.resume(first.w.sessionId, nextIndex);
    const o = await this.welcome(peer, version, `answering RESUME v${version} at ${nextIndex}`);
    check(o.w.sessionId.equals(first.w.sessionId), 'the WELCOME of a resume names the same session');
    check(o.w.startIndex === nextIndex, `a resume's WELCOME has start index = next index ${nextIndex} (§3.7), got ${o.w.startIndex}`);
    check(o.w.seedHi === first.w.seedHi && o.w.seedLo === first.w.seedLo && o.w.length === first.w.length,
      'the WELCOME of a resume carries the same seed and length as the first (§3.7)');
    return o;
  }

  /**
   * The next frame that is not a NUMBER or heartbeat must be REJECT `code`; nothing may follow
   * it, and the server closes the connection (§2: "the sender closes the connection after it").
   */
  async rejected(peer: Peer, code: RejectCode, why: string, boundMs = this.ctx.timeoutMs): Promise<Received & { msg: Reject }> {
    const r = await peer.nextOf(MessageType.REJECT, boundMs, `REJECT ${RejectCode[code]} (${why})`);
    check(r.msg.code === code, `expected REJECT ${RejectCode[code]} (${why}), got ${describeMsg(r.msg)}`);
    await peer.waitClosed(this.ctx.timeoutMs, 'the server to close the connection after its REJECT');
    check(peer.unread === 0, `nothing may follow a REJECT; got ${describeMsg(peer.received[peer.received.length - 1].msg)}`);
    return r;
  }

  /** The server closes without a REJECT (after an ACK, say); at most heartbeat answers first. */
  async closedQuietly(peer: Peer, why: string): Promise<void> {
    await peer.waitClosed(this.ctx.timeoutMs, `the server to close the connection (${why})`);
    for (;;) {
      if (peer.unread === 0) return;
      const r = await peer.next(0, 'nothing');
      check(r.msg.type === MessageType.HEARTBEAT_ACK || r.msg.type === MessageType.HEARTBEAT, `expected only a close (${why}), got ${describeMsg(r.msg)}`);
    }
  }

  /** The next `count` NUMBERs, from `from`, in order and with the seed's values (§3.3, §4). */
  async numbers(o: Opened, from: number, count: number): Promise<Received[]> {
    const out: Received[] = [];
    const bound = this.ctx.timeoutMs + count * o.w.intervalMs;
    const deadline = performance.now() + bound;
    for (let i = from; i < from + count; i++) {
      const r = await o.peer.next(Math.max(0, deadline - performance.now()), `NUMBER ${i}`);
      if (r.msg.type === MessageType.HEARTBEAT_ACK || r.msg.type === MessageType.HEARTBEAT) {
        i--;
        continue;
      }
      if (r.msg.type !== MessageType.NUMBER) throw new Mismatch(`expected NUMBER ${i}, got ${describeMsg(r.msg)}`);
      check(r.msg.index === i, `numbers arrive exactly in order (§3.3): expected index ${i}, got ${r.msg.index}`);
      const want = valueAt(o.seed, i);
      check(r.msg.value === want, `NUMBER ${i} must be value(seed, ${i}) = 0x${hex(want)} (§4), got 0x${hex(r.msg.value)}`);
      out.push(r);
    }
    return out;
  }

  /** The next frame (heartbeat answers aside) is END with the session's length and checksum (§3.4, §5). */
  async end(o: Opened, boundMs = this.ctx.timeoutMs + o.w.intervalMs): Promise<Received> {
    for (;;) {
      const r = await o.peer.next(boundMs, 'END');
      if (r.msg.type === MessageType.HEARTBEAT_ACK || r.msg.type === MessageType.HEARTBEAT) continue;
      if (r.msg.type !== MessageType.END) throw new Mismatch(`expected END, got ${describeMsg(r.msg)}`);
      check(r.msg.length === o.w.length, `END carries the session's length ${o.w.length}, got ${r.msg.length}`);
      const want = sequenceChecksum(o.seed, o.w.length);
      check(r.msg.checksum === want, `END's checksum must be 0x${hex(want)} (§5), got 0x${hex(r.msg.checksum)}`);
      return r;
    }
  }

  /** Stays silent for a duration the case is about (a deliberate pause, not a wait for a state). */
  pause(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  closeAll(): void {
    for (const p of this.peers) p.destroy();
  }
}

/** The instance id of a version-2 WELCOME (§2.1). */
export function instanceOf(o: Opened): Buffer {
  check(o.w.instanceId !== undefined, 'a version-2 WELCOME carries an instance id');
  return o.w.instanceId;
}

/** The versions an UNSUPPORTED_VERSION reason names at its start (§2.1). */
export function versionsIn(reason: string): number[] {
  const m = VERSION_LIST.exec(reason);
  if (!m) throw new Mismatch(`UNSUPPORTED_VERSION's reason starts with the versions spoken, as "1,2: ..." (§2.1); got ${JSON.stringify(reason)}`);
  return m[1].split(',').map(Number);
}

export function hex(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

export type Body = (run: ServerRun, ctx: ServerCtx) => Promise<void | string | Verdict>;

/** A server case: its body throws on the first difference, returns a detail or a verdict otherwise. */
export function serverCase(id: string, rule: string, title: string, body: Body): Case<ServerCtx> {
  return {
    id,
    rule,
    title,
    async run(ctx) {
      const run = new ServerRun(ctx);
      try {
        const out = await body(run, ctx);
        if (out && typeof out === 'object') return out;
        return { pass: true, ...(out ? { detail: out } : {}) };
      } finally {
        run.closeAll();
      }
    },
  };
}

export function skipped(detail: string): Verdict {
  return { pass: true, skipped: true, detail };
}
