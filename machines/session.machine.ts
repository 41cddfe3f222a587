/**
 * The server-side lifecycle of one session: streaming → suspended → expired, or → complete.
 *
 * The machine knows no sockets and no PRNG. It decides *when* things happen (heartbeat timeout,
 * reconnect window, takeover, end of stream); the transport supplies *how* through the named
 * actions below (`sessionMachine.provide({ actions })`, done once per server, not per session).
 * Numbers themselves are paced outside the machine: one event per number for thousands of
 * sessions would put XState on the hot path, so the machine only hears `ALL_SENT` at the end.
 */
import { assign, setup } from 'xstate';

/** Why the machine asks the transport to close a connection it still holds. */
export type CloseReason = 'heartbeat-timeout' | 'taken-over' | 'complete';

export interface SessionInput {
  id: string;
  length: number;
  /** First index to stream on the first connection (0 for a new session). */
  nextIndex: number;
  connectionId: number;
  heartbeatTimeoutMs: number;
  reconnectWindowMs: number;
}

export interface SessionContext extends SessionInput {
  /** The connection streaming now, or the last one while suspended (ids are never reused). */
  connectionId: number;
  reconnects: number;
}

export type SessionEvent =
  /** The transport wrote the last number; time for END. */
  | { type: 'ALL_SENT' }
  /** The client acknowledged END. */
  | { type: 'ACK' }
  /** The connection closed (or errored) under the session. */
  | { type: 'DISCONNECTED'; connectionId: number }
  /** A new connection asks to continue at nextIndex (validated by the transport: ≤ length). */
  | { type: 'RESUME'; connectionId: number; nextIndex: number }
  /**
   * The transport saw the heartbeat timeout pass while pacing this session (it visits every
   * streaming session once per interval anyway): the link is dead, as if the timer had fired.
   */
  | { type: 'LINK_SILENT' };

export type SessionStateName = 'streaming' | 'suspended' | 'expired' | 'complete';

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  delays: {
    heartbeatTimeout: ({ context }) => context.heartbeatTimeoutMs,
    reconnectWindow: ({ context }) => context.reconnectWindowMs,
  },
  guards: {
    /**
     * Asked when the heartbeat timer fires: was the client heard from within the timeout?
     * The transport records heartbeats itself and answers here, instead of sending the actor
     * one event per heartbeat (thousands per second at scale); with the `heartbeatTimeout`
     * delay it provides (the time left until the last heartbeat is a timeout old), a live link
     * costs one timer per timeout period and a silent one is still caught on time.
     */
    heardRecently: () => false,
    allSent: ({ context }) => context.nextIndex >= context.length,
    isCurrentConnection: ({ context, event }) =>
      event.type === 'DISCONNECTED' && event.connectionId === context.connectionId,
  },
  actions: {
    /** Attach context.connectionId and pace numbers from context.nextIndex. */
    startStreaming: () => {},
    /** Stop pacing; the connection is left alone (closing it is closeConnection's job). */
    stopStreaming: () => {},
    /** Send END with the checksum on the current connection. */
    sendEnd: () => {},
    /** Close the current connection, telling the client why. */
    closeConnection: (_, _params: { reason: CloseReason }) => {},
    /** The session lost its connection; it may be resumed until the window runs out. */
    suspend: () => {},
    /** The window ran out: the session is gone, and a resume gets "expired". */
    expire: () => {},
    /** The client has everything: the session is gone. */
    finish: () => {},
    adoptConnection: assign(({ context, event }) => {
      if (event.type !== 'RESUME') return {};
      return { connectionId: event.connectionId, nextIndex: event.nextIndex, reconnects: context.reconnects + 1 };
    }),
    markAllSent: assign(({ context }) => ({ nextIndex: context.length })),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ ...input, reconnects: 0 }),
  initial: 'streaming',
  states: {
    streaming: {
      type: 'parallel',
      entry: 'startStreaming',
      exit: 'stopStreaming',
      on: {
        DISCONNECTED: { guard: 'isCurrentConnection', target: 'suspended' },
        // A resume while we still think the old link is up: that link is half-open. The new
        // connection wins; re-entering restarts pacing and the heartbeat timer on it.
        RESUME: {
          target: 'streaming',
          reenter: true,
          actions: [{ type: 'closeConnection', params: { reason: 'taken-over' } }, 'adoptConnection'],
        },
      },
      states: {
        progress: {
          initial: 'sending',
          states: {
            sending: {
              always: { guard: 'allSent', target: 'ending' },
              on: { ALL_SENT: { target: 'ending', actions: 'markAllSent' } },
            },
            ending: {
              entry: 'sendEnd',
              on: {
                ACK: {
                  target: '#session.complete',
                  actions: { type: 'closeConnection', params: { reason: 'complete' } },
                },
              },
            },
          },
        },
        liveness: {
          initial: 'alive',
          states: {
            alive: {
              on: {
                LINK_SILENT: {
                  target: '#session.suspended',
                  actions: { type: 'closeConnection', params: { reason: 'heartbeat-timeout' } },
                },
                // Pacing stops with the last number: re-arm, so the transport can give the
                // exact delay again instead of its backstop (see the server's delays).
                ALL_SENT: { target: 'alive', reenter: true },
              },
              after: {
                heartbeatTimeout: [
                  { guard: 'heardRecently', target: 'alive', reenter: true },
                  {
                    target: '#session.suspended',
                    actions: { type: 'closeConnection', params: { reason: 'heartbeat-timeout' } },
                  },
                ],
              },
            },
          },
        },
      },
    },
    suspended: {
      entry: 'suspend',
      after: { reconnectWindow: { target: 'expired' } },
      on: { RESUME: { target: 'streaming', actions: 'adoptConnection' } },
    },
    expired: { type: 'final', entry: 'expire' },
    complete: { type: 'final', entry: 'finish' },
  },
});

export type SessionMachine = typeof sessionMachine;

/** The top-level state name of a snapshot value, for logs, the store and the inspector. */
export function topState(value: unknown): SessionStateName {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as SessionStateName;
}
