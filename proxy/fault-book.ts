/**
 * The proxy's book of faults: each fault injected gets an id and is counted; an instant one (cut,
 * reset) acts once on the connections present; a lasting one (freeze, latency, bandwidth, slicer,
 * limit, refuse) stays in the book, acts on present and future connections that match, and lifts
 * when removed, when its connection closes, or when its duration runs out (its expiry timer).
 *
 * The listener is the proxy's: the book only tells it when a refuse starts or may have ended.
 */
import type { Logger } from '../core/logger';
import type { ProxyConnection } from './connection';
import { describeFault, FaultError, INSTANT_KINDS, parseFaultSpec, type Fault, type FaultKind, type FaultSpec } from './faults';

/** What the book needs of the proxy that owns it. */
export interface FaultBookHost {
  /** The connections open now. */
  readonly conns: ReadonlyMap<number, ProxyConnection>;
  readonly log: Logger;
  /** A fault closed every connection: one still connecting upstream must not survive it. */
  cutConnecting(): void;
  /** A refuse fault went on: stop accepting. */
  stopListening(): void;
  /** A refuse fault lifted: accept again unless another refuse (or close()) still forbids it. */
  resumeListening(): void;
  /** The proxy's 'fault' and 'lifted' events. */
  emit(event: 'fault' | 'lifted', ...args: unknown[]): void;
}

export type LiftReason = 'removed' | 'expired';

export class FaultBook {
  private readonly active: Fault[] = [];
  private readonly expiryTimers = new Map<number, NodeJS.Timeout>();
  private nextFaultId = 1;
  /** Faults injected since start, by kind. */
  readonly injected: Partial<Record<FaultKind, number>> = {};

  constructor(private readonly host: FaultBookHost) {}

  get size(): number {
    return this.active.length;
  }

  /** True while any refuse fault is active: the proxy must not listen. */
  get refusing(): boolean {
    return this.active.some((f) => f.kind === 'refuse');
  }

  /** True while a freeze on every connection, both directions, is active. */
  get frozen(): boolean {
    return this.active.some((f) => f.kind === 'freeze' && f.target === 'all' && f.direction === 'both');
  }

  list(): Fault[] {
    return this.active.map((f) => ({ ...f }));
  }

  /**
   * Adds a fault from untrusted input (validated by parseFaultSpec). Throws FaultError (400/404)
   * and changes nothing when the request cannot be carried out.
   */
  add(input: unknown): Fault {
    const { conns, log } = this.host;
    const spec: FaultSpec = parseFaultSpec(input);
    if (spec.target !== 'all' && !conns.has(spec.target)) {
      throw new FaultError(`no connection #${spec.target} (see the connection list)`, 404);
    }
    const now = Date.now();
    const fault: Fault = { ...spec, id: this.nextFaultId++, createdAt: now, expiresAt: spec.durationMs === null ? null : now + spec.durationMs };
    this.injected[fault.kind] = (this.injected[fault.kind] ?? 0) + 1;
    const targets = spec.target === 'all' ? [...conns.values()] : [conns.get(spec.target)!];
    if (INSTANT_KINDS.includes(fault.kind)) {
      if (spec.target === 'all') this.host.cutConnecting();
      for (const c of targets) {
        c.noteFault(fault.kind);
        if (fault.kind === 'cut') c.cut(fault.direction);
        else c.reset(fault.direction);
      }
      log.info(`${fault.kind}${fault.direction === 'both' ? '' : ' ' + fault.direction}: ${targets.length} connection(s)`);
      this.host.emit('fault', fault, targets.length);
      return fault;
    }
    this.active.push(fault);
    if (fault.expiresAt !== null) {
      this.expiryTimers.set(
        fault.id,
        setTimeout(() => this.lift(fault.id, 'expired'), spec.durationMs!),
      );
    }
    if (fault.kind === 'refuse') {
      this.host.stopListening();
      if (fault.existing === 'cut') {
        this.host.cutConnecting();
        for (const c of targets) c.destroy();
      }
    } else {
      for (const c of targets) {
        c.noteFault(fault.kind);
        c.applyFaults(this.active);
      }
    }
    log.info(`fault on: ${describeFault(fault, now)}`);
    this.host.emit('fault', fault, targets.length);
    return fault;
  }

  /** Throws FaultError 404 when there is no active fault with that id. */
  remove(id: number): Fault {
    const f = this.lift(id, 'removed');
    if (!f) throw new FaultError(`no active fault #${id}`, 404);
    return f;
  }

  /** Lifts every active fault that matches; returns how many. */
  liftWhere(matches: (f: Fault) => boolean): number {
    const ids = this.active.filter(matches).map((f) => f.id);
    for (const id of ids) this.lift(id, 'removed');
    return ids.length;
  }

  lift(id: number, why: LiftReason): Fault | undefined {
    const i = this.active.findIndex((f) => f.id === id);
    if (i < 0) return undefined;
    const [fault] = this.active.splice(i, 1);
    const timer = this.expiryTimers.get(id);
    if (timer) clearTimeout(timer);
    this.expiryTimers.delete(id);
    if (fault.kind === 'refuse') {
      this.host.resumeListening();
    } else {
      for (const c of this.host.conns.values()) c.applyFaults(this.active);
    }
    this.host.log.info(`fault ${why}: ${describeFault({ ...fault, expiresAt: null })}`);
    this.host.emit('lifted', fault, why);
    return fault;
  }

  /** A new connection gets every fault that acts on all; returns the kinds, for its log line. */
  admit(conn: ProxyConnection): FaultKind[] {
    const shaping = this.active.filter((f) => f.target === 'all' && f.kind !== 'refuse');
    for (const f of shaping) conn.noteFault(f.kind);
    conn.applyFaults(this.active); // this also starts reading the client, unless frozen
    return shaping.map((f) => f.kind);
  }

  /** The proxy is closing: every fault and timer goes, with no event and nothing reapplied. */
  drop(): void {
    for (const t of this.expiryTimers.values()) clearTimeout(t);
    this.expiryTimers.clear();
    this.active.length = 0;
  }
}
