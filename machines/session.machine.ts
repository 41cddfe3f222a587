/**
 * The server-side lifecycle of one session: streaming → suspended → expired, or → complete; and,
 * with several server nodes sharing a store, → handedOver when another node claims it.
 *
 * The machine knows no sockets and no PRNG. It decides *when* things happen (heartbeat timeout,
 * reconnect window, takeover, end of stream); the transport supplies *how* through the named
 * actions below (`sessionMachine.provide({ actions })`, done once per server, not per session).
 * Numbers themselves are paced outside the machine: one event per number for thousands of
 * sessions would put XState on the hot path, so the machine only hears `ALL_SENT` at the end.
 *
 * Guards and delays read only the context and the event, and the context is plain data: an
 * actor can be rebuilt from a stored record on any node (input), and the model-based tests run
 * it on a simulated clock with nothing else. What only the transport knows (when the client was
 * last heard) it answers as events: the heartbeat timer asks (`checkLiveness`), the transport
 * replies LINK_ALIVE with when to ask again, or LINK_SILENT.
 */
import { assign, setup } from 'xstate';

/** Why the machine asks the transport to close a connection it still holds. */
export type CloseReason = 'heartbeat-timeout' | 'taken-over' | 'draining' | 'complete';

export interface SessionInput {
  id: string;
  length: number;
  /** First index to stream on the first connection (0 for a new session). */
  nextIndex: number;
  connectionId: number;
  heartbeatTimeoutMs: number;
  reconnectWindowMs: number;
  /** The store's fencing epoch this node holds the session at (every store write names it); a new session's is 1. */
  epoch?: number;
  /** Resumes so far (a session rebuilt on another node carries its count over). */
  reconnects?: number;
}

export interface SessionContext extends Required<SessionInput> {
  /** The connection streaming now, or the last one while suspended (ids are never reused). */
  connectionId: number;
  /** When the heartbeat timer next asks the transport whether the client was heard. */
  livenessCheckMs: number;
}

export type SessionEvent =
  /** The transport wrote the last number; time for END. */
  | { type: 'ALL_SENT' }
  /** The client acknowledged END. */
  | { type: 'ACK' }
  /** The connection closed (or errored) under the session. */
  | { type: 'DISCONNECTED'; connectionId: number }
  /**
   * A new connection asks to continue at nextIndex (validated by the transport: ≤ length), the
   * store having given this node the session at `epoch`.
   */
  | { type: 'RESUME'; connectionId: number; nextIndex: number; epoch: number }
  /**
   * The transport saw the heartbeat timeout pass while pacing this session (it visits every
   * streaming session once per interval anyway): the link is dead, as if the timer had fired.
   */
  | { type: 'LINK_SILENT' }
  /** The answer to checkLiveness: the client was heard; ask again in `checkInMs`. */
  | { type: 'LINK_ALIVE'; checkInMs: number }
  /**
   * Another node claimed the session (its notice arrived, or a write of ours was refused as
   * stale): let go here without touching the store.
   */
  | { type: 'TAKEN_OVER' }
  /** The server is draining: suspend the session in the store so a client resumes elsewhere. */
  | { type: 'DRAIN' };

export type SessionStateName = 'streaming' | 'suspended' | 'expired' | 'complete' | 'handedOver';

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  delays: {
    heartbeatTimeout: ({ context }) => context.livenessCheckMs,
    reconnectWindow: ({ context }) => context.reconnectWindowMs,
  },
  guards: {
    allSent: ({ context }) => context.nextIndex >= context.length,
    isCurrentConnection: ({ context, event }) =>
      event.type === 'DISCONNECTED' && event.connectionId === context.connectionId,
  },
  actions: {
    /**
     * The heartbeat timer fired: ask the transport whether the client was heard within the
     * timeout. It records heartbeats itself and answers LINK_ALIVE (with the time left until the
     * last one heard is a timeout old) or LINK_SILENT, instead of sending the actor one event per
     * heartbeat (thousands per second at scale): a live link costs one check per timeout period,
     * and a silent one is still caught on time.
     */
    checkLiveness: () => {},
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
    /** Another node holds the session now: forget it here, leaving the store alone. */
    release: () => {},
    adoptConnection: assign(({ context, event }) => {
      if (event.type !== 'RESUME') return {};
      return {
        connectionId: event.connectionId,
        nextIndex: event.nextIndex,
        epoch: event.epoch,
        reconnects: context.reconnects + 1,
        livenessCheckMs: context.heartbeatTimeoutMs,
      };
    }),
    scheduleLivenessCheck: assign(({ event }) => (event.type === 'LINK_ALIVE' ? { livenessCheckMs: Math.max(1, event.checkInMs) } : {})),
    markAllSent: assign(({ context }) => ({ nextIndex: context.length })),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ reconnects: 0, epoch: 1, ...input, livenessCheckMs: input.heartbeatTimeoutMs }),
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
        TAKEN_OVER: { target: 'handedOver', actions: { type: 'closeConnection', params: { reason: 'taken-over' } } },
        DRAIN: { target: 'suspended', actions: { type: 'closeConnection', params: { reason: 'draining' } } },
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
                LINK_ALIVE: { target: 'alive', reenter: true, actions: 'scheduleLivenessCheck' },
                // Pacing stops with the last number: ask now, so the transport gives the exact
                // delay again instead of its backstop (see the server's checkLiveness).
                ALL_SENT: { actions: 'checkLiveness' },
              },
              after: { heartbeatTimeout: { target: 'alive', reenter: true, actions: 'checkLiveness' } },
            },
          },
        },
      },
    },
    suspended: {
      entry: 'suspend',
      after: { reconnectWindow: { target: 'expired' } },
      on: {
        RESUME: { target: 'streaming', actions: 'adoptConnection' },
        TAKEN_OVER: { target: 'handedOver' },
      },
    },
    expired: { type: 'final', entry: 'expire' },
    complete: { type: 'final', entry: 'finish' },
    handedOver: { type: 'final', entry: 'release' },
  },
});

export type SessionMachine = typeof sessionMachine;

/** The top-level state name of a snapshot value, for logs, the store and the inspector. */
export function topState(value: unknown): SessionStateName {
  return (typeof value === 'string' ? value : Object.keys(value as object)[0]) as SessionStateName;
}
