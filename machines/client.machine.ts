/**
 * The client's lifecycle: connecting → handshaking → receiving → verifying → done, with
 * reconnecting (capped exponential backoff with jitter) whenever the link is lost, and failed
 * when the server gives a final answer or the numbers cannot be trusted.
 *
 * The link itself (socket, framing, heartbeats, per-number checks) is the `link` actor, supplied
 * by the transport with `clientMachine.provide({ actors: { link } })`; this file knows no sockets.
 */
import { assign, fromCallback, setup } from 'xstate';
import { PROTOCOL_VERSION, RejectCode } from '../transport/protocol/constants';

export interface LinkInput {
  /** Resume this session, or start one (null). */
  sessionId: string | null;
  requestedLength: number;
  /** Protocol version to speak: the newest, until a server refuses it. */
  version: number;
  /** Instance id (hex) from the session's last WELCOME, for a version-2 RESUME. */
  instanceId: string | null;
}

export type LinkEvent =
  | { type: 'CONNECTED' }
  | { type: 'WELCOME'; sessionId: string; length: number; startIndex: number; instanceId?: string | null }
  | { type: 'END'; serverChecksum: number; localChecksum: number }
  /** An established connection (TCP was up) ended. */
  | { type: 'LOST'; reason: string }
  /** No connection at all: refused, unreachable, timed out before TCP was up. */
  | { type: 'UNREACHABLE'; address: string; reason: string }
  /** The server refused our version with UNSUPPORTED_VERSION; `fallback` is the next older one to try. */
  | { type: 'VERSION_REFUSED'; version: number; fallback: number; reason: string }
  | { type: 'REJECTED'; code: number; name: string; reason: string; resumable: boolean }
  /** The numbers broke the rules. Not fatal: resuming from the first missing index repairs it. */
  | { type: 'VIOLATION'; message: string; fatal: boolean }
  /** The link cannot work and retrying will not change that (an untrusted TLS certificate…). */
  | { type: 'FAILED'; reason: string };

export interface ClientInput {
  requestedLength: number;
  maxBackoffMs: number;
  /** Consecutive failed attempts before giving up; 0 means never give up. */
  maxReconnects: number;
  /** Base of the exponential backoff. */
  baseBackoffMs?: number;
  /** Protocol version to offer first (default: the newest). */
  version?: number;
}

export interface ClientContext extends Required<ClientInput> {
  sessionId: string | null;
  length: number | null;
  /** Failed attempts since the last WELCOME; drives the backoff. */
  attempts: number;
  /** Connections lost after a session was established. */
  reconnects: number;
  violations: string[];
  serverChecksum: number | null;
  localChecksum: number | null;
  failure: string | null;
  lastLoss: string | null;
  /** Instance id (hex) of the server that last welcomed us; null before, or in version 1. */
  instanceId: string | null;
  /**
   * Jitter in [0, 1) for the next backoff, drawn by the `drawJitter` action on every loss: the
   * context holds the number, not the random source, so it stays plain serialisable data (a
   * test or a replay provides its own `drawJitter`).
   */
  jitter: number;
}

export type ClientEvent = LinkEvent;

/** First reconnect backoff ceiling; it doubles per failed attempt up to the client's --max-backoff. */
export const DEFAULT_BASE_BACKOFF_MS = 100;

export function backoffMs(ctx: Pick<ClientContext, 'attempts' | 'baseBackoffMs' | 'maxBackoffMs' | 'jitter'>): number {
  const ceiling = Math.min(ctx.maxBackoffMs, ctx.baseBackoffMs * 2 ** Math.min(ctx.attempts, 30));
  // "Equal jitter": at least half the ceiling, so retries spread out but never hammer.
  return Math.round(ceiling / 2 + (ceiling / 2) * ctx.jitter);
}

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    input: {} as ClientInput,
    events: {} as ClientEvent,
  },
  actors: {
    link: fromCallback<{ type: 'NONE' }, LinkInput>(() => () => {}),
  },
  delays: {
    backoff: ({ context }) => backoffMs(context),
  },
  guards: {
    gaveUp: ({ context }) => context.maxReconnects > 0 && context.attempts >= context.maxReconnects,
    resumable: ({ event }) => event.type === 'REJECTED' && event.resumable,
    fatalViolation: ({ event }) => event.type === 'VIOLATION' && event.fatal,
    checksumsMatch: ({ context }) => context.serverChecksum !== null && context.serverChecksum === context.localChecksum,
  },
  actions: {
    /** Hooks for the program's output (progress, verdict); no-ops in the machine itself. */
    reportLoss: () => {},
    reportUnreachable: () => {},
    reportResume: () => {},
    reportFallback: () => {},
    /** Steps down one version, for the rest of the session (its RESUMEs too). Not a failed attempt. */
    recordFallback: assign(({ event }) => (event.type === 'VERSION_REFUSED' ? { version: event.fallback } : {})),
    recordWelcome: assign(({ context, event }) => {
      if (event.type !== 'WELCOME') return {};
      return {
        reconnects: context.sessionId !== null ? context.reconnects + 1 : context.reconnects,
        sessionId: event.sessionId,
        length: event.length,
        instanceId: event.instanceId ?? null,
        attempts: 0,
      };
    }),
    drawJitter: assign({ jitter: () => Math.random() }),
    recordLoss: assign(({ context, event }) => ({
      attempts: context.attempts + 1,
      lastLoss:
        event.type === 'LOST'
          ? event.reason
          : event.type === 'UNREACHABLE'
            ? `cannot connect to ${event.address} (${event.reason})`
            : event.type === 'REJECTED' ? `${event.name}: ${event.reason}` : event.type === 'VIOLATION' ? event.message : null,
      violations: event.type === 'VIOLATION' ? [...context.violations, event.message] : context.violations,
    })),
    recordEnd: assign(({ event }) =>
      event.type === 'END' ? { serverChecksum: event.serverChecksum, localChecksum: event.localChecksum } : {},
    ),
    recordFailure: assign(({ context, event }) => {
      if (event.type === 'REJECTED' && event.code === RejectCode.SERVER_RESTARTED) {
        // Said plainly, as the user needs it: nothing will bring this session back.
        return { failure: `the server restarted and did not keep session ${(context.sessionId ?? '').slice(0, 8)}` };
      }
      if (event.type === 'REJECTED') return { failure: `rejected by the server (${event.name}): ${event.reason}` };
      if (event.type === 'VIOLATION') return { failure: event.message, violations: [...context.violations, event.message] };
      if (event.type === 'FAILED') return { failure: event.reason };
      return { failure: `gave up after ${context.attempts} failed attempt(s); last: ${context.lastLoss ?? 'unknown'}` };
    }),
    recordMismatch: assign(({ context }) => ({
      failure: `checksum mismatch: ours ${hex(context.localChecksum)}, server's ${hex(context.serverChecksum)}`,
    })),
  },
}).createMachine({
  id: 'client',
  context: ({ input }) => ({
    requestedLength: input.requestedLength,
    maxBackoffMs: input.maxBackoffMs,
    maxReconnects: input.maxReconnects,
    baseBackoffMs: input.baseBackoffMs ?? DEFAULT_BASE_BACKOFF_MS,
    jitter: 0.5,
    sessionId: null,
    length: null,
    attempts: 0,
    reconnects: 0,
    violations: [],
    serverChecksum: null,
    localChecksum: null,
    failure: null,
    lastLoss: null,
    version: input.version ?? PROTOCOL_VERSION,
    instanceId: null,
  }),
  initial: 'online',
  states: {
    online: {
      invoke: {
        id: 'link',
        src: 'link',
        input: ({ context }) => ({
          sessionId: context.sessionId,
          requestedLength: context.requestedLength,
          version: context.version,
          instanceId: context.instanceId,
        }),
      },
      initial: 'connecting',
      states: {
        connecting: { on: { CONNECTED: 'handshaking' } },
        handshaking: {
          on: { WELCOME: { target: 'receiving', actions: ['recordWelcome', 'reportResume'] } },
        },
        receiving: {
          on: { END: { target: '#client.verifying', actions: 'recordEnd' } },
        },
      },
      on: {
        LOST: { target: 'reconnecting', actions: ['recordLoss', 'drawJitter', 'reportLoss'] },
        UNREACHABLE: { target: 'reconnecting', actions: ['recordLoss', 'drawJitter', 'reportUnreachable'] },
        // At once, with a new link: the server answered, it only wants an older version.
        VERSION_REFUSED: { target: 'online', reenter: true, actions: ['recordFallback', 'reportFallback'] },
        FAILED: { target: 'failed', actions: 'recordFailure' },
        REJECTED: [
          { guard: 'resumable', target: 'reconnecting', actions: ['recordLoss', 'drawJitter', 'reportLoss'] },
          { target: 'failed', actions: 'recordFailure' },
        ],
        VIOLATION: [
          { guard: 'fatalViolation', target: 'failed', actions: 'recordFailure' },
          { target: 'reconnecting', actions: ['recordLoss', 'drawJitter', 'reportLoss'] },
        ],
      },
    },
    reconnecting: {
      always: { guard: 'gaveUp', target: 'failed', actions: 'recordFailure' },
      after: { backoff: 'online' },
    },
    verifying: {
      always: [{ guard: 'checksumsMatch', target: 'done' }, { target: 'failed', actions: 'recordMismatch' }],
    },
    done: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type ClientMachine = typeof clientMachine;

function hex(n: number | null): string {
  return n === null ? 'none' : '0x' + n.toString(16).padStart(8, '0');
}
