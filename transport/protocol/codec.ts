/**
 * Message bodies <-> typed messages. Every decode checks the exact body size of its type (and,
 * for HELLO and RESUME, of its version), so a malformed message is a clear ProtocolError and
 * never a misread field.
 */
import {
  ACK_VERDICT_MISMATCH,
  INSTANCE_ID_BYTES,
  INSTANCE_ID_VERSION,
  LENGTH_PREFIX_BYTES,
  MAX_REASON_BYTES,
  MessageType,
  PROTOCOL_VERSIONS,
  RejectCode,
  SESSION_ID_BYTES,
  unsupportedVersionReason,
} from './constants';
import { encodeFrame } from './framer';

export type Hello = { type: MessageType.HELLO; version: number; length: number };
/** `instanceId` (version 2 on): from the last WELCOME the client got for this session. */
export type Resume = { type: MessageType.RESUME; version: number; sessionId: Buffer; nextIndex: number; instanceId?: Buffer };
export type Welcome = {
  type: MessageType.WELCOME;
  sessionId: Buffer;
  seedHi: number;
  seedLo: number;
  length: number;
  startIndex: number;
  intervalMs: number;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  /** The server process's instance id; present when answering a version-2 request (body 53, else 45). */
  instanceId?: Buffer;
};
export type NumberMsg = { type: MessageType.NUMBER; index: number; value: number };
export type End = { type: MessageType.END; length: number; checksum: number };
export type Heartbeat = { type: MessageType.HEARTBEAT; nonce: number };
export type HeartbeatAck = { type: MessageType.HEARTBEAT_ACK; nonce: number };
export type Reject = { type: MessageType.REJECT; code: RejectCode; reason: string };
export type Ack = { type: MessageType.ACK; verdict: number };

export type Message = Hello | Resume | Welcome | NumberMsg | End | Heartbeat | HeartbeatAck | Reject | Ack;

export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';
  constructor(message: string, readonly code: RejectCode = RejectCode.PROTOCOL_ERROR) {
    super(message);
  }
}

type FixedType = Exclude<MessageType, MessageType.REJECT>;

const V1_SIZE: Readonly<Record<FixedType, number>> = {
  [MessageType.HELLO]: 1 + 1 + 4,
  [MessageType.RESUME]: 1 + 1 + SESSION_ID_BYTES + 4,
  [MessageType.WELCOME]: 1 + SESSION_ID_BYTES + 7 * 4,
  [MessageType.NUMBER]: 1 + 4 + 4,
  [MessageType.END]: 1 + 4 + 4,
  [MessageType.HEARTBEAT]: 1 + 4,
  [MessageType.HEARTBEAT_ACK]: 1 + 4,
  [MessageType.ACK]: 1 + 1,
};

/**
 * Exact body sizes (type byte included) of the fixed-size messages, per protocol version.
 * HELLO and RESUME carry their version; a WELCOME has the size of the version it answers.
 */
export const BODY_SIZE: Readonly<Record<number, Readonly<Record<FixedType, number>>>> = {
  1: V1_SIZE,
  // Version 2 appends the server's instance id to WELCOME and RESUME; nothing else changes.
  2: {
    ...V1_SIZE,
    [MessageType.RESUME]: V1_SIZE[MessageType.RESUME] + INSTANCE_ID_BYTES,
    [MessageType.WELCOME]: V1_SIZE[MessageType.WELCOME] + INSTANCE_ID_BYTES,
  },
};

const WELCOME_SIZES = [...new Set(PROTOCOL_VERSIONS.map((v) => BODY_SIZE[v][MessageType.WELCOME]))];

export const NUMBER_FRAME_BYTES = LENGTH_PREFIX_BYTES + V1_SIZE[MessageType.NUMBER];

/** Writes one NUMBER frame into buf at offset; the hot path uses this to avoid a body copy. */
export function writeNumberFrame(buf: Buffer, offset: number, index: number, value: number): number {
  buf.writeUInt32BE(V1_SIZE[MessageType.NUMBER], offset);
  buf[offset + 4] = MessageType.NUMBER;
  buf.writeUInt32BE(index, offset + 5);
  buf.writeUInt32BE(value, offset + 9);
  return offset + NUMBER_FRAME_BYTES;
}

export function encodeNumber(index: number, value: number): Buffer {
  const buf = Buffer.allocUnsafe(NUMBER_FRAME_BYTES);
  writeNumberFrame(buf, 0, index, value);
  return buf;
}

/** Encodes a message as a complete frame (length prefix included). */
export function encode(msg: Message): Buffer {
  if (msg.type === MessageType.NUMBER) return encodeNumber(msg.index, msg.value);
  if (msg.type === MessageType.REJECT) {
    let reason: Buffer = Buffer.from(msg.reason, "utf8");
    if (reason.length > MAX_REASON_BYTES) reason = truncateUtf8(reason, MAX_REASON_BYTES);
    const body = Buffer.allocUnsafe(2 + reason.length);
    body[0] = MessageType.REJECT;
    body[1] = msg.code;
    reason.copy(body, 2);
    return encodeFrame(body);
  }
  const body = Buffer.alloc(encodedSize(msg));
  body[0] = msg.type;
  switch (msg.type) {
    case MessageType.HELLO:
      body[1] = msg.version;
      body.writeUInt32BE(msg.length, 2);
      break;
    case MessageType.RESUME:
      body[1] = msg.version;
      checkId(msg.sessionId).copy(body, 2);
      body.writeUInt32BE(msg.nextIndex, 2 + SESSION_ID_BYTES);
      if (msg.version >= INSTANCE_ID_VERSION) checkInstanceId(msg.instanceId).copy(body, 2 + SESSION_ID_BYTES + 4);
      break;
    case MessageType.WELCOME: {
      checkId(msg.sessionId).copy(body, 1);
      let o = 1 + SESSION_ID_BYTES;
      for (const v of [msg.seedHi, msg.seedLo, msg.length, msg.startIndex, msg.intervalMs, msg.heartbeatIntervalMs, msg.heartbeatTimeoutMs]) {
        o = body.writeUInt32BE(v, o);
      }
      if (msg.instanceId) checkInstanceId(msg.instanceId).copy(body, o);
      break;
    }
    case MessageType.END:
      body.writeUInt32BE(msg.length, 1);
      body.writeUInt32BE(msg.checksum, 5);
      break;
    case MessageType.HEARTBEAT:
    case MessageType.HEARTBEAT_ACK:
      body.writeUInt32BE(msg.nonce, 1);
      break;
    case MessageType.ACK:
      body[1] = msg.verdict;
      break;
  }
  return encodeFrame(body);
}

/** Decodes one frame body. Throws ProtocolError for an unknown type or a wrong size. */
export function decode(body: Buffer): Message {
  if (body.length === 0) throw new ProtocolError('empty frame body');
  const type = body[0] as MessageType;
  if (type === MessageType.REJECT) {
    if (body.length < 2) throw new ProtocolError('REJECT body too short');
    if (body.length - 2 > MAX_REASON_BYTES) throw new ProtocolError(`REJECT reason longer than ${MAX_REASON_BYTES} bytes`);
    return { type, code: body[1] as RejectCode, reason: body.toString('utf8', 2) };
  }
  if ((V1_SIZE as Record<number, number | undefined>)[type] === undefined) {
    throw new ProtocolError(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  }
  const name = MessageType[type];
  if (type === MessageType.HELLO || type === MessageType.RESUME) {
    // The version first: a request of a version we do not speak may have any layout, and its
    // sender needs to hear "unsupported version", not "malformed".
    if (body.length < 2) throw new ProtocolError(`${name} body too short for its version byte`);
    if (!PROTOCOL_VERSIONS.includes(body[1])) throw new ProtocolError(unsupportedVersionReason(body[1]), RejectCode.UNSUPPORTED_VERSION);
    const sizes = BODY_SIZE[body[1]];
    if (body.length !== sizes[type]) throw new ProtocolError(`${name} body must be ${sizes[type]} bytes, got ${body.length} (version ${body[1]})`);
  } else if (type === MessageType.WELCOME) {
    if (!WELCOME_SIZES.includes(body.length)) throw new ProtocolError(`${name} body must be ${WELCOME_SIZES.join(' or ')} bytes, got ${body.length}`);
  } else if (body.length !== V1_SIZE[type]) {
    throw new ProtocolError(`${name} body must be ${V1_SIZE[type]} bytes, got ${body.length}`);
  }
  switch (type) {
    case MessageType.HELLO:
      return { type, version: body[1], length: body.readUInt32BE(2) };
    case MessageType.RESUME: {
      const resume: Resume = {
        type,
        version: body[1],
        sessionId: Buffer.from(body.subarray(2, 2 + SESSION_ID_BYTES)),
        nextIndex: body.readUInt32BE(2 + SESSION_ID_BYTES),
      };
      if (body.length > V1_SIZE[type]) resume.instanceId = Buffer.from(body.subarray(V1_SIZE[type]));
      return resume;
    }
    case MessageType.WELCOME: {
      const o = 1 + SESSION_ID_BYTES;
      const welcome: Welcome = {
        type,
        sessionId: Buffer.from(body.subarray(1, o)),
        seedHi: body.readUInt32BE(o),
        seedLo: body.readUInt32BE(o + 4),
        length: body.readUInt32BE(o + 8),
        startIndex: body.readUInt32BE(o + 12),
        intervalMs: body.readUInt32BE(o + 16),
        heartbeatIntervalMs: body.readUInt32BE(o + 20),
        heartbeatTimeoutMs: body.readUInt32BE(o + 24),
      };
      if (body.length > V1_SIZE[type]) welcome.instanceId = Buffer.from(body.subarray(V1_SIZE[type]));
      return welcome;
    }
    case MessageType.NUMBER:
      return { type, index: body.readUInt32BE(1), value: body.readUInt32BE(5) };
    case MessageType.END:
      return { type, length: body.readUInt32BE(1), checksum: body.readUInt32BE(5) };
    case MessageType.HEARTBEAT:
    case MessageType.HEARTBEAT_ACK:
      return { type, nonce: body.readUInt32BE(1) };
    case MessageType.ACK:
      // §3.18: a verdict is 0 (match) or 1 (mismatch); anything else is not a verdict.
      if (body[1] > ACK_VERDICT_MISMATCH) throw new ProtocolError(`ACK verdict must be 0 or 1, got ${body[1]}`);
      return { type, verdict: body[1] };
  }
}

/** Body size of a fixed-size message as encoded: RESUME by its version, WELCOME by its fields. */
function encodedSize(msg: Exclude<Message, Reject>): number {
  if (msg.type === MessageType.RESUME) return BODY_SIZE[msg.version >= INSTANCE_ID_VERSION ? INSTANCE_ID_VERSION : 1][msg.type];
  if (msg.type === MessageType.WELCOME) return BODY_SIZE[msg.instanceId ? INSTANCE_ID_VERSION : 1][msg.type];
  return V1_SIZE[msg.type];
}

function checkInstanceId(id: Buffer | undefined): Buffer {
  if (id?.length !== INSTANCE_ID_BYTES) throw new ProtocolError(`instance id must be ${INSTANCE_ID_BYTES} bytes`);
  return id;
}

function checkId(id: Buffer): Buffer {
  if (id.length !== SESSION_ID_BYTES) throw new ProtocolError(`session id must be ${SESSION_ID_BYTES} bytes`);
  return id;
}

/** Cuts at a character boundary so a long reason never ends in half a UTF-8 sequence. */
function truncateUtf8(buf: Buffer, max: number): Buffer {
  let end = max;
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  return buf.subarray(0, end);
}

export function describe(msg: Message): string {
  return MessageType[msg.type];
}
