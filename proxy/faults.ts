/**
 * The proxy's fault model: what a fault ("toxic") is, how a request for one is validated, and
 * which faults act on one direction of one connection. Keys, signals, the HTTP control API and
 * the chaos schedule all build a FaultSpec and hand it to the proxy, so they cannot disagree.
 *
 * Pure code: no sockets, no timers.
 */

export const FAULT_KINDS = ['cut', 'reset', 'freeze', 'latency', 'bandwidth', 'slicer', 'limit', 'refuse'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Instant faults act once on the connections present; the others stay until removed or expired. */
export const INSTANT_KINDS: readonly FaultKind[] = ['cut', 'reset'];

/** up: client → server bytes; down: server → client bytes. */
export type Direction = 'up' | 'down' | 'both';
export type Target = 'all' | number;

export interface FaultSpec {
  kind: FaultKind;
  /** 'all' (default): every connection, present and future; a number: that connection only. */
  target: Target;
  direction: Direction;
  /** The fault lifts by itself after this long; null: until removed. */
  durationMs: number | null;
  /** latency: delay added to every chunk, and ± jitter drawn uniformly per chunk. */
  latencyMs: number;
  jitterMs: number;
  /** bandwidth: bytes per second in each affected direction. */
  bytesPerSec: number;
  /** slicer: forward in pieces of at most this many bytes, this long apart. */
  sliceBytes: number;
  sliceDelayMs: number;
  /** limit: close the connection once this many bytes have gone through (counted from when it applies). */
  limitBytes: number;
  /** refuse: what happens to connections already open. */
  existing: 'keep' | 'cut';
}

export interface Fault extends FaultSpec {
  id: number;
  createdAt: number;
  /** Epoch ms at which it lifts; null: until removed. */
  expiresAt: number | null;
}

/** A request that cannot be carried out; `status` is what the HTTP API answers. */
export class FaultError extends Error {
  override readonly name = 'FaultError';
  constructor(
    message: string,
    readonly status: 400 | 404 | 409 = 400,
  ) {
    super(message);
  }
}

const DEFAULTS: Omit<FaultSpec, 'kind'> = {
  target: 'all',
  direction: 'both',
  durationMs: null,
  latencyMs: 200,
  jitterMs: 0,
  bytesPerSec: 1024,
  sliceBytes: 4,
  sliceDelayMs: 5,
  limitBytes: 1024,
  existing: 'keep',
};

const MAX_DURATION_MS = 24 * 3600 * 1000;
/**
 * A Map, not an object literal: a field name from the request is looked up here, and `key in {}`
 * is true for "toString", "__proto__", "constructor"… (what Object.prototype carries).
 */
const NUMERIC: ReadonlyMap<string, { min: number; max: number; kinds: readonly FaultKind[] }> = new Map([
  ['durationMs', { min: 1, max: MAX_DURATION_MS, kinds: FAULT_KINDS }],
  ['latencyMs', { min: 0, max: 600_000, kinds: ['latency'] }],
  ['jitterMs', { min: 0, max: 600_000, kinds: ['latency'] }],
  ['bytesPerSec', { min: 1, max: 1 << 30, kinds: ['bandwidth'] }],
  ['sliceBytes', { min: 1, max: 1 << 20, kinds: ['slicer'] }],
  ['sliceDelayMs', { min: 0, max: 60_000, kinds: ['slicer'] }],
  ['limitBytes', { min: 0, max: Number.MAX_SAFE_INTEGER, kinds: ['limit'] }],
]);

/**
 * Turns untrusted input (parsed JSON, a key press's preset, a chaos draw) into a FaultSpec, or
 * throws a FaultError that names the field and says exactly what is wrong. Unknown fields are
 * refused rather than ignored: a typo such as "latency" for "latencyMs" must not silently apply
 * the default. Only the input's own fields are read, so nothing its prototype carries (or a
 * polluted Object.prototype) can stand in for one.
 */
export function parseFaultSpec(input: unknown): FaultSpec {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FaultError('a fault is a JSON object such as {"kind":"freeze","durationMs":2000}');
  }
  const raw = input as Record<string, unknown>;
  if (!Object.hasOwn(raw, 'kind')) throw new FaultError(`kind is missing; one of: ${FAULT_KINDS.join(', ')}`);
  const kind = raw.kind;
  if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
    throw new FaultError(`unknown fault kind ${JSON.stringify(kind)}; one of: ${FAULT_KINDS.join(', ')}`);
  }
  const spec: FaultSpec = { kind: kind as FaultKind, ...DEFAULTS };
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'kind') continue;
    if (key === 'target') {
      if (value === 'all') spec.target = 'all';
      else if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) spec.target = value;
      else throw new FaultError(`target must be "all" or a connection id (a positive whole number), got ${JSON.stringify(value)}`);
    } else if (key === 'direction') {
      if (value !== 'up' && value !== 'down' && value !== 'both') throw new FaultError(`direction must be "up", "down" or "both", got ${JSON.stringify(value)}`);
      spec.direction = value;
    } else if (key === 'existing') {
      if (spec.kind !== 'refuse') throw new FaultError(`"existing" applies to refuse only, not to ${spec.kind}`);
      if (value !== 'keep' && value !== 'cut') throw new FaultError(`existing must be "keep" or "cut", got ${JSON.stringify(value)}`);
      spec.existing = value;
    } else if (NUMERIC.has(key)) {
      const rule = NUMERIC.get(key)!;
      if (key === 'durationMs' && value === null) continue;
      if (!rule.kinds.includes(spec.kind)) throw new FaultError(`${key} does not apply to ${spec.kind}`);
      if (typeof value !== 'number' || !Number.isFinite(value) || !Number.isInteger(value)) {
        // JSON's 1e400 parses as Infinity, which JSON.stringify would show as "null".
        throw new FaultError(`${key} must be a whole number, got ${typeof value === 'number' ? String(value) : JSON.stringify(value)}`);
      }
      if (value < rule.min || value > rule.max) throw new FaultError(`${key} must be in ${rule.min}..${rule.max}, got ${value}`);
      (spec as unknown as Record<string, number>)[key] = value;
    } else {
      throw new FaultError(`unknown field ${JSON.stringify(key)} for a ${spec.kind} fault`);
    }
  }
  if (INSTANT_KINDS.includes(spec.kind) && spec.durationMs !== null) {
    throw new FaultError(`${spec.kind} is instant: it takes no durationMs (use refuse or freeze for an outage that lasts)`);
  }
  if (spec.kind === 'refuse' && spec.target !== 'all') {
    throw new FaultError('refuse acts on the listening port, so its target is "all"');
  }
  if (spec.kind === 'refuse' && spec.direction !== 'both') {
    throw new FaultError('refuse has no direction');
  }
  return spec;
}

/** What one direction of one connection must do now: the result of every matching fault. */
export interface PipeToxics {
  frozen: boolean;
  latencyMs: number;
  jitterMs: number;
  /** 0: unlimited. */
  bytesPerSec: number;
  /** 0: no slicing. */
  sliceBytes: number;
  sliceDelayMs: number;
  /** The limit fault in force (its id tells the pipe when to restart counting), or null. */
  limit: { faultId: number; bytes: number } | null;
}

export const NO_TOXICS: PipeToxics = Object.freeze({
  frozen: false,
  latencyMs: 0,
  jitterMs: 0,
  bytesPerSec: 0,
  sliceBytes: 0,
  sliceDelayMs: 0,
  limit: null,
});

export function faultMatches(f: FaultSpec, connId: number, dir: 'up' | 'down'): boolean {
  return (f.target === 'all' || f.target === connId) && (f.direction === 'both' || f.direction === dir);
}

/**
 * Folds the active faults (oldest first) into one direction's toxics. Of several faults of one
 * kind, the most recent wins: adding "latency 500" over "latency 100" means 500, and removing it
 * goes back to 100. Freeze is a flag, so any freeze freezes.
 */
export function toxicsFor(faults: readonly Fault[], connId: number, dir: 'up' | 'down'): PipeToxics {
  let t: PipeToxics | null = null;
  for (const f of faults) {
    if (!faultMatches(f, connId, dir)) continue;
    t ??= { ...NO_TOXICS };
    switch (f.kind) {
      case 'freeze':
        t.frozen = true;
        break;
      case 'latency':
        t.latencyMs = f.latencyMs;
        t.jitterMs = f.jitterMs;
        break;
      case 'bandwidth':
        t.bytesPerSec = f.bytesPerSec;
        break;
      case 'slicer':
        t.sliceBytes = f.sliceBytes;
        t.sliceDelayMs = f.sliceDelayMs;
        break;
      case 'limit':
        t.limit = { faultId: f.id, bytes: f.limitBytes };
        break;
      default:
        break; // cut, reset, refuse do not shape a pipe
    }
  }
  return t ?? NO_TOXICS;
}

/** One line for logs and the status line: "latency 200±50ms down #3 (4.2 s left)". */
export function describeFault(f: Fault, now = Date.now()): string {
  const what =
    f.kind === 'latency'
      ? `latency ${f.latencyMs}${f.jitterMs ? `±${f.jitterMs}` : ''}ms`
      : f.kind === 'bandwidth'
        ? `bandwidth ${f.bytesPerSec} B/s`
        : f.kind === 'slicer'
          ? `slicer ${f.sliceBytes} B/${f.sliceDelayMs}ms`
          : f.kind === 'limit'
            ? `limit ${f.limitBytes} B`
            : f.kind === 'refuse'
              ? `refuse (existing: ${f.existing})`
              : f.kind;
  const dir = f.direction === 'both' ? '' : ` ${f.direction}`;
  const target = f.target === 'all' ? '' : ` conn #${f.target}`;
  const left = f.expiresAt === null ? '' : ` (${Math.max(0, (f.expiresAt - now) / 1000).toFixed(1)} s left)`;
  return `#${f.id} ${what}${dir}${target}${left}`;
}
