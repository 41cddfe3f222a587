/**
 * Runs one client session to its verdict: the client machine with the real TCP link.
 * Output (progress, verdict) is left to the caller through the hooks.
 */
import { createActor, type ActorOptions } from 'xstate';
import { SequenceVerifier } from '../../core/verifier';
import { clientMachine, type ClientContext, type ClientMachine } from '../../machines/client.machine';
import { createLink } from './client-link';
import type { ClientTls } from '../tls-files';

export interface ClientOptions {
  host: string;
  port: number;
  /** Connect with TLS (see tls-files' clientTls); absent: cleartext TCP. */
  tls?: ClientTls | null;
  /** 0: the server chooses. */
  length: number;
  maxBackoffMs: number;
  maxReconnects: number;
  baseBackoffMs?: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  connectTimeoutMs?: number;
  /** Every number accepted in order; `value` is what arrived, for checks independent of the verifier. */
  onNumber?: (index: number, verifier: SequenceVerifier, value: number) => void;
  /** An established connection was lost (reason already escaped where it came from the server). */
  onLoss?: (reason: string, nextIndex: number, ctx: ClientContext) => void;
  /** An attempt that never reached the server (refused, unreachable, timed out); ctx.attempts counts them. */
  onUnreachable?: (address: string, reason: string, ctx: ClientContext) => void;
  /** The server refused our protocol version; the session continues in `fallback`. */
  onFallback?: (version: number, fallback: number, reason: string) => void;
  /** Protocol version to offer first (default: the newest); tests use it to be an older client. */
  version?: number;
  onResume?: (startIndex: number, ctx: ClientContext) => void;
  /** Every state change, for --trace and the tests. */
  onState?: (state: string, ctx: ClientContext) => void;
  inspect?: ActorOptions<ClientMachine>['inspect'];
}

export interface ClientResult {
  ok: boolean;
  sessionId: string | null;
  length: number | null;
  received: number;
  localChecksum: number | null;
  serverChecksum: number | null;
  reconnects: number;
  violations: string[];
  failure: string | null;
  durationMs: number;
}

export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}.${stateName(v)}`)
    .join(',');
}

export function runClient(opts: ClientOptions): { result: Promise<ClientResult>; stop: () => void; verifier: SequenceVerifier } {
  const verifier = new SequenceVerifier();
  const started = Date.now();
  const link = createLink({
    host: opts.host,
    port: opts.port,
    tls: opts.tls,
    verifier,
    connectTimeoutMs: opts.connectTimeoutMs ?? Math.max(2000, opts.heartbeatTimeoutMs),
    heartbeatIntervalMs: opts.heartbeatIntervalMs,
    heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
    onNumber: opts.onNumber && ((i, value) => opts.onNumber!(i, verifier, value)),
  });
  const machine = clientMachine.provide({
    actors: { link },
    actions: {
      reportLoss: ({ context }) => opts.onLoss?.(context.lastLoss ?? 'unknown', verifier.nextIndex, context),
      reportUnreachable: ({ event, context }) => {
        if (event.type === 'UNREACHABLE') opts.onUnreachable?.(event.address, event.reason, context);
      },
      reportFallback: ({ event }) => {
        if (event.type === 'VERSION_REFUSED') opts.onFallback?.(event.version, event.fallback, event.reason);
      },
      reportResume: ({ event, context }) => {
        if (event.type === 'WELCOME') opts.onResume?.(event.startIndex, context);
      },
    },
  });
  const actor = createActor(machine, {
    input: {
      requestedLength: opts.length,
      maxBackoffMs: opts.maxBackoffMs,
      maxReconnects: opts.maxReconnects,
      baseBackoffMs: opts.baseBackoffMs,
      version: opts.version,
    },
    inspect: opts.inspect,
  });
  let last = '';
  const result = new Promise<ClientResult>((resolve) => {
    actor.subscribe({
      next: (snap) => {
        const name = stateName(snap.value);
        if (name !== last) {
          last = name;
          opts.onState?.(name, snap.context);
        }
        if (snap.status !== 'done') return;
        const c = snap.context;
        resolve({
          ok: snap.value === 'done',
          sessionId: c.sessionId,
          length: c.length,
          received: verifier.nextIndex,
          localChecksum: c.localChecksum,
          serverChecksum: c.serverChecksum,
          reconnects: c.reconnects,
          violations: c.violations,
          failure: c.failure,
          durationMs: Date.now() - started,
        });
      },
    });
  });
  actor.start();
  return { result, stop: () => actor.stop(), verifier };
}
