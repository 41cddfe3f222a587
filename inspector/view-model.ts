/**
 * The inspector's view model: XState's own inspection stream (`@xstate.actor`, `@xstate.event`,
 * `@xstate.snapshot`) reduced to one row per session plus a short event history.
 *
 * Pure: no clock, no sockets. Whatever is not in the inspection event (the time, the index the
 * pacer has reached) comes in as arguments, so the reduction is unit-tested on its own.
 *
 * Rows are keyed by the actor's XState session id ("x:12"), never by the protocol's session id:
 * that id is the only credential a client needs to resume a session, so the inspector shows its
 * first 8 hex digits and nothing more.
 */

export type TopState = 'streaming' | 'suspended' | 'expired' | 'complete' | 'handedOver';

export interface HistoryEntry {
  /** Epoch ms. */
  t: number;
  kind: 'event' | 'state';
  text: string;
}

export interface SessionRow {
  key: string;
  shortId: string;
  state: TopState;
  /** Full state path, e.g. "streaming.progress.ending". */
  detail: string;
  length: number;
  /** Next index to send, as of `indexAt`. */
  index: number;
  indexAt: number;
  /** While streaming, the page extrapolates index = min(length, index + (now − indexAt) / interval). */
  connected: boolean;
  /** Epoch ms when a suspended session expires; null otherwise. */
  deadline: number | null;
  reconnects: number;
  createdAt: number;
  updatedAt: number;
  /** Liveness checks passed (the heartbeat timer re-arming): counted, not kept in the history. */
  livenessChecks: number;
}

export interface ViewModel {
  rows: Map<string, SessionRow>;
  histories: Map<string, HistoryEntry[]>;
  /** Keys changed since the last `takeChanges`. */
  dirty: Set<string>;
  removed: Set<string>;
  /** Finished rows, oldest first, so the oldest are dropped past `keepFinished`. */
  finished: string[];
}

export interface ViewLimits {
  historyPerSession: number;
  keepFinished: number;
}

export const DEFAULT_LIMITS: ViewLimits = { historyPerSession: 60, keepFinished: 2000 };

/** The part of an XState inspection event the reduction reads (structurally typed for tests). */
export interface InspectionLike {
  type: string;
  actorRef: { sessionId: string };
  event?: { type: string; [k: string]: unknown };
  snapshot?: { value?: unknown; status?: string; context?: Record<string, unknown> };
}

/** Facts from outside the machine at the moment of the event. */
export interface Facts {
  now: number;
  /** The session's next index according to the session store, when known; read only on a change. */
  nextIndex?: number | (() => number | undefined);
}

function indexFrom(facts: Facts): number | undefined {
  return typeof facts.nextIndex === 'function' ? facts.nextIndex() : facts.nextIndex;
}

export function createViewModel(): ViewModel {
  return { rows: new Map(), histories: new Map(), dirty: new Set(), removed: new Set(), finished: [] };
}

/** "streaming.progress.ending" and the like, from a snapshot value; parallel regions joined by ",". */
export function statePath(value: unknown): string {
  const paths = (v: unknown): string[] => {
    if (typeof v === 'string') return [v];
    if (!v || typeof v !== 'object') return [];
    return Object.entries(v as Record<string, unknown>).flatMap(([k, sub]) => {
      const rest = paths(sub);
      return rest.length ? rest.map((r) => `${k}.${r}`) : [k];
    });
  };
  return paths(value).join(',');
}

export function topStateOf(value: unknown): TopState {
  return (typeof value === 'string' ? value : Object.keys((value ?? {}) as object)[0]) as TopState;
}

/** Inspection events of the heartbeat timer re-arming: frequent and uninteresting. */
function isLivenessCheck(eventType: string): boolean {
  return eventType.startsWith('xstate.after.') && eventType.includes('heartbeatTimeout');
}

/** The transport's answer to a liveness check ("heard, ask again later"): part of the same check. */
const LIVENESS_ANSWER = 'LINK_ALIVE';

function describeEvent(e: { type: string; [k: string]: unknown }): string {
  if (e.type.startsWith('xstate.after.')) return `after ${e.type.split('.')[2]}`;
  switch (e.type) {
    case 'RESUME':
      return `RESUME at index ${String(e.nextIndex)} (connection ${String(e.connectionId)})`;
    case 'DISCONNECTED':
      return `DISCONNECTED (connection ${String(e.connectionId)})`;
    case 'xstate.init':
      return 'created';
    default:
      return e.type;
  }
}

function pushHistory(vm: ViewModel, key: string, entry: HistoryEntry, limits: ViewLimits): void {
  let h = vm.histories.get(key);
  if (!h) vm.histories.set(key, (h = []));
  h.push(entry);
  if (h.length > limits.historyPerSession) h.splice(0, h.length - limits.historyPerSession);
}

/**
 * Applies one inspection event. Returns true when a row changed (so the caller knows whether a
 * push to the page is due).
 */
export function applyInspection(vm: ViewModel, ev: InspectionLike, facts: Facts, limits: ViewLimits = DEFAULT_LIMITS): boolean {
  const key = ev.actorRef.sessionId;
  if (ev.type === '@xstate.event' && ev.event) {
    const t = ev.event.type;
    if (isLivenessCheck(t) || t === LIVENESS_ANSWER) return false; // counted on the snapshot that follows
    if (t === 'xstate.init' || !vm.rows.has(key)) return false;
    pushHistory(vm, key, { t: facts.now, kind: 'event', text: describeEvent(ev.event) }, limits);
    return false;
  }
  if (ev.type !== '@xstate.snapshot' || !ev.snapshot?.context) return false;
  const ctx = ev.snapshot.context;
  const state = topStateOf(ev.snapshot.value);
  const prev = vm.rows.get(key);
  const triggeredBy = ev.event?.type ?? '';
  // The hot case (every session, every few seconds): count it and build nothing.
  if (prev && prev.state === state && isLivenessCheck(triggeredBy)) {
    prev.livenessChecks++;
    return false;
  }
  if (prev && prev.state === state && triggeredBy === LIVENESS_ANSWER) return false;
  const detail = statePath(ev.snapshot.value);
  if (!prev) {
    const row: SessionRow = {
      key,
      shortId: String(ctx.id ?? '').slice(0, 8),
      state,
      detail,
      length: Number(ctx.length ?? 0),
      index: indexFrom(facts) ?? Number(ctx.nextIndex ?? 0),
      indexAt: facts.now,
      connected: state === 'streaming',
      deadline: null,
      reconnects: Number(ctx.reconnects ?? 0),
      createdAt: facts.now,
      updatedAt: facts.now,
      livenessChecks: 0,
    };
    vm.rows.set(key, row);
    pushHistory(vm, key, { t: facts.now, kind: 'state', text: `created → ${detail}` }, limits);
    vm.dirty.add(key);
    return true;
  }
  if (prev.state === state && prev.detail === detail && Number(ctx.reconnects ?? 0) === prev.reconnects) return false;
  const row = prev;
  if (row.detail !== detail) pushHistory(vm, key, { t: facts.now, kind: 'state', text: `${row.detail} → ${detail}` }, limits);
  row.index = indexFrom(facts) ?? Number(ctx.nextIndex ?? row.index);
  row.indexAt = facts.now;
  if (state === 'suspended' && row.state !== 'suspended') row.deadline = facts.now + Number(ctx.reconnectWindowMs ?? 0);
  if (state !== 'suspended') row.deadline = null;
  row.state = state;
  row.detail = detail;
  row.connected = state === 'streaming';
  row.reconnects = Number(ctx.reconnects ?? row.reconnects);
  row.updatedAt = facts.now;
  vm.dirty.add(key);
  if (state === 'complete' || state === 'expired' || state === 'handedOver') {
    if (state === 'complete') row.index = row.length;
    vm.finished.push(key);
    while (vm.finished.length > limits.keepFinished) {
      const old = vm.finished.shift()!;
      vm.rows.delete(old);
      vm.histories.delete(old);
      vm.dirty.delete(old);
      vm.removed.add(old);
    }
  }
  return true;
}

export function countsByState(vm: ViewModel): Record<TopState, number> {
  const counts: Record<TopState, number> = { streaming: 0, suspended: 0, expired: 0, complete: 0, handedOver: 0 };
  for (const r of vm.rows.values()) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}

/** The rows changed and removed since the last call: one batch for the page. */
export function takeChanges(vm: ViewModel): { rows: SessionRow[]; removed: string[] } {
  const rows = [...vm.dirty].map((k) => vm.rows.get(k)).filter((r): r is SessionRow => r !== undefined);
  const removed = [...vm.removed];
  vm.dirty.clear();
  vm.removed.clear();
  return { rows: rows.map((r) => ({ ...r })), removed };
}
