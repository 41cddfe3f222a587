/**
 * The client's lifecycle: connecting → handshaking → receiving → verifying → done, with
 * reconnecting (capped exponential backoff with jitter) whenever the link is lost, and failed
 * when the server gives a final answer or the numbers cannot be trusted.
 *
 * The link itself (socket, framing, heartbeats, per-number checks) is the `link` actor, supplied
 * by the transport with `clientMachine.provide({ actors: { link } })`; this file knows no sockets.
 */
import { assign, fromCallback, setup } from 'xstate';

export interface LinkInput {
  /** Resume this session, or start one (null). */
  sessionId: string | null;
  requestedLength: number;
}

export type LinkEvent =
  | { type: 'CONNECTED' }
  | { type: 'WELCOME'; sessionId: string; length: number; startIndex: number }
  | { type: 'END'; serverChecksum: number; localChecksum: number }
  | { type: 'LOST'; reason: string }
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
  /** Source of jitter in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
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
}

export type ClientEvent = LinkEvent;

export function backoffMs(ctx: Pick<ClientContext, 'attempts' | 'baseBackoffMs' | 'maxBackoffMs' | 'random'>): number {
  const ceiling = Math.min(ctx.maxBackoffMs, ctx.baseBackoffMs * 2 ** Math.min(ctx.attempts, 30));
  // "Equal jitter": at least half the ceiling, so retries spread out but never hammer.
  return Math.round(ceiling / 2 + (ceiling / 2) * ctx.random());
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
    reportResume: () => {},
    recordWelcome: assign(({ context, event }) => {
      if (event.type !== 'WELCOME') return {};
      return {
        reconnects: context.sessionId !== null ? context.reconnects + 1 : context.reconnects,
        sessionId: event.sessionId,
        length: event.length,
        attempts: 0,
      };
    }),
    recordLoss: assign(({ context, event }) => ({
      attempts: context.attempts + 1,
      lastLoss:
        event.type === 'LOST' ? event.reason : event.type === 'REJECTED' ? `${event.name}: ${event.reason}` : event.type === 'VIOLATION' ? event.message : null,
      violations: event.type === 'VIOLATION' ? [...context.violations, event.message] : context.violations,
    })),
    recordEnd: assign(({ event }) =>
      event.type === 'END' ? { serverChecksum: event.serverChecksum, localChecksum: event.localChecksum } : {},
    ),
    recordFailure: assign(({ context, event }) => {
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
    baseBackoffMs: input.baseBackoffMs ?? 100,
    random: input.random ?? Math.random,
    sessionId: null,
    length: null,
    attempts: 0,
    reconnects: 0,
    violations: [],
    serverChecksum: null,
    localChecksum: null,
    failure: null,
    lastLoss: null,
  }),
  initial: 'online',
  states: {
    online: {
      invoke: {
        id: 'link',
        src: 'link',
        input: ({ context }) => ({ sessionId: context.sessionId, requestedLength: context.requestedLength }),
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
        LOST: { target: 'reconnecting', actions: ['recordLoss', 'reportLoss'] },
        FAILED: { target: 'failed', actions: 'recordFailure' },
        REJECTED: [
          { guard: 'resumable', target: 'reconnecting', actions: ['recordLoss', 'reportLoss'] },
          { target: 'failed', actions: 'recordFailure' },
        ],
        VIOLATION: [
          { guard: 'fatalViolation', target: 'failed', actions: 'recordFailure' },
          { target: 'reconnecting', actions: ['recordLoss', 'reportLoss'] },
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
