/**
 * What each message of a connection does once it is accepted: the first (HELLO or RESUME) goes
 * to the handshake, which waits for the store, and what arrives meanwhile waits for it, in
 * order; afterwards HEARTBEAT, HEARTBEAT_ACK and ACK go to the session's runtime and actor, and
 * anything else, or anything malformed, is refused on that connection only.
 */
import { shortId, type Logger } from '../../core/logger';
import { escapeText } from '../../core/escape';
import type { RepeatedLog } from '../../core/repeated-log';
import { MessageType, RejectCode } from '../protocol/constants';
import { ProtocolError, type Message } from '../protocol/codec';
import type { Handshake } from './handshake';
import type { ServerConnection } from './server-connection';
import type { SessionRuntime } from './session-runtime';

/**
 * Messages a connection may send between its HELLO/RESUME and the store's answer (heartbeats,
 * mostly): kept and handled in order after it; more is not a client following the protocol.
 */
const MAX_DEFERRED = 64;

export class Dispatch {
  constructor(
    private readonly handshake: Handshake,
    /** The live sessions by id (the server's one map). */
    private readonly sessions: ReadonlyMap<string, SessionRuntime>,
    private readonly log: Logger,
    /** Peer-caused warnings, aggregated per source and period. */
    private readonly noisy: RepeatedLog,
    /** Numbers go out at least once per heartbeat interval, so they double as heartbeat acks. */
    private readonly numbersProveLiveness: boolean,
  ) {}

  message(conn: ServerConnection, msg: Message): void {
    if (conn.sessionId === null) {
      // The store answers first: what comes meanwhile (heartbeats) is handled after, in order.
      if (conn.awaitingStore) {
        const waiting = (conn.deferred ??= []);
        if (waiting.length >= MAX_DEFERRED) return this.unexpected(conn, msg, `more than ${MAX_DEFERRED} messages before WELCOME`);
        waiting.push(msg);
        return;
      }
      if (msg.type === MessageType.HELLO) return this.handshaking(conn, this.handshake.hello(conn, msg));
      if (msg.type === MessageType.RESUME) return this.handshaking(conn, this.handshake.resume(conn, msg));
      return this.unexpected(conn, msg, 'expected HELLO or RESUME first');
    }
    const id = conn.sessionId;
    const session = this.sessions.get(id);
    session?.heardFrom(conn);
    switch (msg.type) {
      case MessageType.HEARTBEAT:
        // A session streaming at least once per heartbeat interval already proves the link
        // alive with every number; an ACK on top would be a third of all writes at the default
        // settings (PROTOCOL.md §5). Otherwise (after END, slow intervals, taken over) answer.
        if (session?.pacedOn(conn) && this.numbersProveLiveness) return;
        conn.send({ type: MessageType.HEARTBEAT_ACK, nonce: msg.nonce });
        return;
      case MessageType.HEARTBEAT_ACK:
        return;
      case MessageType.ACK: {
        // An actor that failed is stopped: it would ignore the ACK, as if the session were gone.
        const snapshot = session?.snapshot();
        if (!session || snapshot?.status !== 'active' || !snapshot.matches({ streaming: { progress: 'ending' } })) {
          return this.unexpected(conn, msg, 'ACK before END');
        }
        if (msg.verdict !== 0) this.log.warn('client reports a checksum mismatch', { session: shortId(id) });
        session.send({ type: 'ACK' });
        return;
      }
      default:
        return this.unexpected(conn, msg, 'the session is already established');
    }
  }

  private handshaking(conn: ServerConnection, done: Promise<void>): void {
    conn.awaitingStore = done
      .catch((err: Error) => {
        this.log.error(`handshake failed: ${err.message}`);
        conn.reject(RejectCode.UNAVAILABLE, 'the server could not complete the handshake; try again');
      })
      .finally(() => {
        conn.awaitingStore = null;
        const waiting = conn.deferred ?? [];
        conn.deferred = null;
        for (const msg of waiting) if (!conn.closed) this.message(conn, msg);
      });
  }

  protocolError(c: ServerConnection, err: Error): void {
    // Frames before the bad one are answered first (PROTOCOL.md §3), a pending handshake too.
    if (c.awaitingStore) return void c.awaitingStore.then(() => this.protocolError(c, err));
    if (c.closed) return;
    // A ProtocolError may carry a more precise code (UNSUPPORTED_VERSION); its text may quote the peer.
    this.noisy.note('warn', 'protocol error', c.source, `protocol error from ${c.remote}: ${escapeText(err.message)}`, sessionMeta(c));
    c.reject(err instanceof ProtocolError ? err.code : RejectCode.PROTOCOL_ERROR, err.message);
  }

  private unexpected(conn: ServerConnection, msg: Message, why: string): void {
    const text = `unexpected ${MessageType[msg.type]}: ${why}`;
    this.noisy.note('warn', 'unexpected message', conn.source, `${text} (from ${conn.remote})`, sessionMeta(conn));
    conn.reject(RejectCode.UNEXPECTED_MESSAGE, text);
  }
}

/** The session a connection belongs to, for log lines about it. */
export function sessionMeta(conn: ServerConnection): Record<string, unknown> {
  return conn.sessionId ? { session: shortId(conn.sessionId) } : {};
}
