/**
 * Message bodies <-> typed messages. Every decode checks the exact body size of its type, so a
 * malformed message is a clear ProtocolError and never a misread field.
 */
import {
  LENGTH_PREFIX_BYTES,
  MAX_REASON_BYTES,
  MessageType,
  RejectCode,
  SESSION_ID_BYTES,
} from './constants';
import { encodeFrame } from './framer';

export type Hello = { type: MessageType.HELLO; version: number; length: number };
export type Resume = { type: MessageType.RESUME; version: number; sessionId: Buffer; nextIndex: number };
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

/** Exact body sizes (type byte included) of the fixed-size messages. */
export const BODY_SIZE: Readonly<Record<Exclude<MessageType, MessageType.REJECT>, number>> = {
  [MessageType.HELLO]: 1 + 1 + 4,
  [MessageType.RESUME]: 1 + 1 + SESSION_ID_BYTES + 4,
  [MessageType.WELCOME]: 1 + SESSION_ID_BYTES + 7 * 4,
  [MessageType.NUMBER]: 1 + 4 + 4,
  [MessageType.END]: 1 + 4 + 4,
  [MessageType.HEARTBEAT]: 1 + 4,
  [MessageType.HEARTBEAT_ACK]: 1 + 4,
  [MessageType.ACK]: 1 + 1,
};

export const NUMBER_FRAME_BYTES = LENGTH_PREFIX_BYTES + BODY_SIZE[MessageType.NUMBER];

/** Writes one NUMBER frame into buf at offset; the hot path uses this to avoid a body copy. */
export function writeNumberFrame(buf: Buffer, offset: number, index: number, value: number): number {
  buf.writeUInt32BE(BODY_SIZE[MessageType.NUMBER], offset);
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
  const body = Buffer.alloc(BODY_SIZE[msg.type]);
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
      break;
    case MessageType.WELCOME: {
      checkId(msg.sessionId).copy(body, 1);
      let o = 1 + SESSION_ID_BYTES;
      for (const v of [msg.seedHi, msg.seedLo, msg.length, msg.startIndex, msg.intervalMs, msg.heartbeatIntervalMs, msg.heartbeatTimeoutMs]) {
        o = body.writeUInt32BE(v, o);
      }
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
  const expected = (BODY_SIZE as Record<number, number | undefined>)[type];
  if (expected === undefined) throw new ProtocolError(`unknown message type 0x${type.toString(16).padStart(2, '0')}`);
  if (body.length !== expected) {
    throw new ProtocolError(`${MessageType[type]} body must be ${expected} bytes, got ${body.length}`);
  }
  switch (type) {
    case MessageType.HELLO:
      return { type, version: body[1], length: body.readUInt32BE(2) };
    case MessageType.RESUME:
      return {
        type,
        version: body[1],
        sessionId: Buffer.from(body.subarray(2, 2 + SESSION_ID_BYTES)),
        nextIndex: body.readUInt32BE(2 + SESSION_ID_BYTES),
      };
    case MessageType.WELCOME: {
      const o = 1 + SESSION_ID_BYTES;
      return {
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
    }
    case MessageType.NUMBER:
      return { type, index: body.readUInt32BE(1), value: body.readUInt32BE(5) };
    case MessageType.END:
      return { type, length: body.readUInt32BE(1), checksum: body.readUInt32BE(5) };
    case MessageType.HEARTBEAT:
    case MessageType.HEARTBEAT_ACK:
      return { type, nonce: body.readUInt32BE(1) };
    case MessageType.ACK:
      return { type, verdict: body[1] };
  }
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
