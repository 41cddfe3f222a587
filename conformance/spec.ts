/**
 * The numbers of docs/PROTOCOL.md that the suite's EXPECTATIONS rest on, restated here on
 * purpose instead of imported from our codec: if our implementation drifts from the spec, the
 * suite must fail against it, not drift along. (Encoding and decoding may use the codec; what a
 * correct answer looks like comes from here and from the rules, case by case.)
 */

/** §1: a body is 1..1024 bytes. */
export const MAX_BODY = 1024;
/** §2, §3.22: a REJECT body is its type, its code and at most 512 bytes of reason. */
export const MAX_REJECT_BODY = 2 + 512;
/** §2 HELLO: lengths a client may ask for (0 = the server chooses in 1..MAX_LENGTH). */
export const MAX_LENGTH = 65535;

/** §2.1: body sizes (type byte included) by protocol version. */
export const SIZES = {
  1: { HELLO: 6, RESUME: 22, WELCOME: 45 },
  2: { HELLO: 6, RESUME: 30, WELCOME: 53 },
} as const;
/** §2.1: the versions this suite speaks. */
export const SUITE_VERSIONS = [1, 2] as const;
/** §2.1 (version 2): the instance id's size, at offset 45 of WELCOME and 22 of RESUME. */
export const INSTANCE_ID_BYTES = 8;
/** §2 WELCOME: the session id's size. */
export const SESSION_ID_BYTES = 16;

/**
 * §2.1: an UNSUPPORTED_VERSION reason starts with the versions the server speaks, decimal,
 * comma-separated, then ': ' and prose, e.g. '1,2: protocol version 3 is not supported'.
 */
export const VERSION_LIST = /^(\d+(?:,\d+)*): /;

/** §3 defaults: the handshake timeout a server uses unless configured otherwise. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 5000;
