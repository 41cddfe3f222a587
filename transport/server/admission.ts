/**
 * Who may take what from the server: per-source limits, so one address cannot lock everyone
 * else out (issue: HELLO-then-drop from one IP filled every session slot in 22 s), and a
 * reserve of open files, so honest clients are told SERVER_FULL instead of being dropped
 * silently at the process's limit.
 *
 * Pure bookkeeping: the server asks before it admits and reports what ended; nothing here
 * touches a socket. Every map is keyed by source and emptied when its count returns to zero,
 * so memory follows what is held, not what was ever seen.
 */
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { RejectCode } from '../protocol/constants';

export interface AdmissionLimits {
  /** Sessions created from one source and still held (streaming or suspended). 0: no limit. */
  sessionsPerSource: number;
  /** New sessions per second from one source, refilled continuously (token bucket). 0: no limit. */
  newSessionsPerSecond: number;
  /** Bucket size: how many new sessions one source may open at once before the rate applies. */
  newSessionBurst: number;
  /** Connections that have not finished HELLO/RESUME, in all and per source. 0: no limit. */
  pendingHandshakes: number;
  pendingHandshakesPerSource: number;
  /** Open files kept free for logs, the inspector and the process itself (see fdHeadroom). */
  reservedFiles: number;
}

/**
 * Every per-source limit off: for one process standing in for many clients (the soak, the
 * benchmark's load generators, tests of other things), never for a server facing a network.
 */
export const NO_SOURCE_LIMITS: Omit<AdmissionLimits, 'reservedFiles'> = {
  sessionsPerSource: 0,
  newSessionsPerSecond: 0,
  newSessionBurst: 1,
  pendingHandshakes: 0,
  pendingHandshakesPerSource: 0,
};

export interface Refusal {
  code: RejectCode;
  reason: string;
  /** For the aggregated log line: what kind of limit, so repeats group together. */
  kind: 'open-files' | 'pending-handshakes' | 'pending-per-source' | 'max-sessions' | 'sessions-per-source' | 'new-session-rate';
}

/**
 * The key a limit is counted under. IPv6 hosts get a whole /64 each, so counting single
 * addresses would let one host rotate through 2^64 of them; IPv4-mapped addresses are IPv4.
 */
export function sourceKey(address: string | undefined): string {
  if (!address) return 'unknown';
  if (address.startsWith('::ffff:') && net.isIPv4(address.slice(7))) return address.slice(7);
  if (!net.isIPv6(address)) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return groups.slice(0, 4).map((g) => parseInt(g || '0', 16).toString(16)).join(':') + '::/64';
}

interface Bucket {
  tokens: number;
  at: number;
}

export class Admission {
  private pendingTotal = 0;
  private readonly pendingBySource = new Map<string, number>();
  private readonly sessionsBySource = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limits: AdmissionLimits,
    /** How many more connections may be opened before the open-file reserve is touched. */
    private readonly fileBudget: () => number = () => Infinity,
    private readonly now: () => number = () => performance.now(),
  ) {}

  get pendingHandshakes(): number {
    return this.pendingTotal;
  }

  /** A new connection, before anything is read from it. Null: admitted (and counted as pending). */
  admitConnection(source: string): Refusal | null {
    if (this.fileBudget() <= 0) {
      return { kind: 'open-files', code: RejectCode.SERVER_FULL, reason: 'server is at its open-file limit; try again later' };
    }
    const l = this.limits;
    if (l.pendingHandshakes > 0 && this.pendingTotal >= l.pendingHandshakes) {
      return { kind: 'pending-handshakes', code: RejectCode.SERVER_FULL, reason: `${l.pendingHandshakes} connections are already waiting for their handshake; try again later` };
    }
    const mine = this.pendingBySource.get(source) ?? 0;
    if (l.pendingHandshakesPerSource > 0 && mine >= l.pendingHandshakesPerSource) {
      return { kind: 'pending-per-source', code: RejectCode.RATE_LIMITED, reason: `${l.pendingHandshakesPerSource} connections from your address are already waiting for their handshake; try again later` };
    }
    this.pendingTotal++;
    this.pendingBySource.set(source, mine + 1);
    return null;
  }

  /** The connection finished its handshake or closed before it. */
  handshakeEnded(source: string): void {
    this.pendingTotal--;
    decrement(this.pendingBySource, source);
  }

  /** A HELLO from `source`: may it create a session? Null: yes (and it is counted). */
  admitSession(source: string): Refusal | null {
    const l = this.limits;
    const held = this.sessionsBySource.get(source) ?? 0;
    if (l.sessionsPerSource > 0 && held >= l.sessionsPerSource) {
      return { kind: 'sessions-per-source', code: RejectCode.RATE_LIMITED, reason: `your address already holds ${held} sessions (the limit per address); finish or drop some first` };
    }
    if (l.newSessionsPerSecond > 0) {
      const t = this.now();
      const b = this.buckets.get(source) ?? { tokens: l.newSessionBurst, at: t };
      b.tokens = Math.min(l.newSessionBurst, b.tokens + ((t - b.at) / 1000) * l.newSessionsPerSecond);
      b.at = t;
      if (b.tokens < 1) {
        this.buckets.set(source, b);
        const waitMs = Math.ceil(((1 - b.tokens) / l.newSessionsPerSecond) * 1000);
        return { kind: 'new-session-rate', code: RejectCode.RATE_LIMITED, reason: `more than ${l.newSessionsPerSecond} new sessions per second from your address; retry in ${waitMs} ms` };
      }
      b.tokens -= 1;
      this.buckets.set(source, b);
    }
    this.sessionsBySource.set(source, held + 1);
    return null;
  }

  /** A session created from `source` was discarded (complete or expired). */
  /**
   * A session created elsewhere (another node, or before a restart) is resumed from `source`:
   * it counts against that source from now on, like one it created here, but is not refused —
   * the client already holds it, and refusing would only make it retry.
   */
  sessionAdopted(source: string): void {
    this.sessionsBySource.set(source, (this.sessionsBySource.get(source) ?? 0) + 1);
  }

  sessionEnded(source: string): void {
    decrement(this.sessionsBySource, source);
  }

  /**
   * Drops buckets that have refilled: a source that has been quiet for burst/rate seconds costs
   * nothing. Called now and then by the server (one timer, not one per source).
   */
  sweep(): void {
    const l = this.limits;
    if (l.newSessionsPerSecond <= 0) return;
    const t = this.now();
    for (const [source, b] of this.buckets) {
      if (b.tokens + ((t - b.at) / 1000) * l.newSessionsPerSecond >= l.newSessionBurst) this.buckets.delete(source);
    }
  }

  /** Sources currently tracked, for tests that check memory follows what is held. */
  get trackedSources(): number {
    return new Set([...this.pendingBySource.keys(), ...this.sessionsBySource.keys(), ...this.buckets.keys()]).size;
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}

/**
 * The process's soft limit of open files, from /proc (Linux). Null where it cannot be read:
 * then no reserve is kept (and the server says so once at start).
 */
export function openFileLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (!m || m[1] === 'unlimited') return null;
    return Number(m[1]);
  } catch {
    return null;
  }
}

/** Files open right now (the listener, stdio, log files, libuv's own). */
export function openFileCount(): number | null {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return null;
  }
}
