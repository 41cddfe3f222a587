/** Wire constants: the single source for every number docs/PROTOCOL.md names. */

/**
 * Versions this code speaks, oldest first (PROTOCOL.md §2.1). A server answers each
 * request in the version it came in; a client offers the newest and steps down one version
 * when a server refuses it with UNSUPPORTED_VERSION.
 */
export const PROTOCOL_VERSIONS: readonly number[] = [1, 2];
/** The newest version: what a client offers first. */
export const PROTOCOL_VERSION = PROTOCOL_VERSIONS[PROTOCOL_VERSIONS.length - 1];
/** First version whose WELCOME and RESUME carry the server's instance id. */
export const INSTANCE_ID_VERSION = 2;
/** Random per server process: tells a client whether it still talks to the one that gave it its session. */
export const INSTANCE_ID_BYTES = 8;

/**
 * The reason of an UNSUPPORTED_VERSION rejection (PROTOCOL.md §2.1): it starts with the
 * versions the server speaks, decimal and comma-separated, then ": " and prose, so a client can
 * read them without parsing English: "1,2: protocol version 3 is not supported".
 */
export function unsupportedVersionReason(version: number): string {
  return `${PROTOCOL_VERSIONS.join(',')}: protocol version ${version} is not supported`;
}

/** The versions at the start of an UNSUPPORTED_VERSION reason; empty when it names none. */
export function versionsInReason(reason: string): number[] {
  const m = /^(\d{1,3}(?:,\d{1,3})*)(?::|$)/.exec(reason);
  return m ? m[1].split(',').map(Number) : [];
}

/** Bytes of the length prefix in front of every frame body. */
export const LENGTH_PREFIX_BYTES = 4;
/** Largest body a peer may announce; anything larger is a protocol error, never allocated. */
export const MAX_FRAME_BODY = 1024;
/** Longest human-readable reason carried by a REJECT, in UTF-8 bytes. */
export const MAX_REASON_BYTES = 512;

export const SESSION_ID_BYTES = 16;
export const MIN_LENGTH = 1;
export const MAX_LENGTH = 65535;

export enum MessageType {
  HELLO = 0x01,
  RESUME = 0x02,
  WELCOME = 0x03,
  NUMBER = 0x04,
  END = 0x05,
  HEARTBEAT = 0x06,
  HEARTBEAT_ACK = 0x07,
  REJECT = 0x08,
  ACK = 0x09,
}

export enum RejectCode {
  UNKNOWN_SESSION = 1,
  SESSION_EXPIRED = 2,
  UNSUPPORTED_VERSION = 3,
  BAD_REQUEST = 4,
  SERVER_FULL = 5,
  PROTOCOL_ERROR = 6,
  HANDSHAKE_TIMEOUT = 7,
  SESSION_TAKEN_OVER = 8,
  UNEXPECTED_MESSAGE = 9,
  SLOW_CONSUMER = 10,
  HEARTBEAT_TIMEOUT = 11,
  SHUTTING_DOWN = 12,
  /** A per-address limit (sessions held, new sessions per second, pending handshakes). */
  RATE_LIMITED = 13,
  /** A RESUME (version 2) names a session this server does not hold, issued by another server instance. */
  SERVER_RESTARTED = 14,
  /** The server cannot reach its session store right now; nothing was done, try again. */
  UNAVAILABLE = 15,
}

/**
 * Rejections after which the same session can still be resumed on a new connection; every
 * other code is final for the session (or, on a HELLO, for the request).
 */
export const RESUMABLE_REJECTS: ReadonlySet<RejectCode> = new Set([
  // The client did send HELLO/RESUME; the link held it back (a stalled path, a frozen proxy).
  // The session, if any, is untouched, so the client tries again.
  RejectCode.HANDSHAKE_TIMEOUT,
  RejectCode.SLOW_CONSUMER,
  RejectCode.HEARTBEAT_TIMEOUT,
  RejectCode.SHUTTING_DOWN,
  // Refused before anything was done: the session, if any, is untouched, and the same request
  // later (after the client's backoff) may succeed.
  RejectCode.SERVER_FULL,
  RejectCode.RATE_LIMITED,
  RejectCode.UNAVAILABLE,
]);

export const ACK_VERDICT_MATCH = 0;
export const ACK_VERDICT_MISMATCH = 1;

/**
 * First byte of a TLS handshake record (a ClientHello starts with it). Our own frames start
 * with 0x00 (a length ≤ MAX_FRAME_BODY), so one byte tells a TLS client from a cleartext one.
 */
export const TLS_HANDSHAKE_RECORD = 0x16;
