import fc from 'fast-check';
import { BODY_SIZE, decode, encode, ProtocolError, type Message } from '../transport/protocol/codec';
import { MAX_REASON_BYTES, MessageType, PROTOCOL_VERSIONS, RejectCode } from '../transport/protocol/constants';
import { FrameDecoder } from '../transport/protocol/framer';

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u8 = fc.integer({ min: 0, max: 255 });
const id = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a));
const instance = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a));
const welcomeV1 = {
  type: fc.constant(MessageType.WELCOME as const),
  sessionId: id,
  seedHi: u32,
  seedLo: u32,
  length: u32,
  startIndex: u32,
  intervalMs: u32,
  heartbeatIntervalMs: u32,
  heartbeatTimeoutMs: u32,
};

const message: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant(MessageType.HELLO as const), version: fc.constantFrom(...PROTOCOL_VERSIONS), length: u32 }),
  fc.record({ type: fc.constant(MessageType.RESUME as const), version: fc.constant(1), sessionId: id, nextIndex: u32 }),
  fc.record({ type: fc.constant(MessageType.RESUME as const), version: fc.constant(2), sessionId: id, nextIndex: u32, instanceId: instance }),
  fc.record(welcomeV1),
  fc.record({ ...welcomeV1, instanceId: instance }),
  fc.record({ type: fc.constant(MessageType.NUMBER as const), index: u32, value: u32 }),
  fc.record({ type: fc.constant(MessageType.END as const), length: u32, checksum: u32 }),
  fc.record({ type: fc.constant(MessageType.HEARTBEAT as const), nonce: u32 }),
  fc.record({ type: fc.constant(MessageType.HEARTBEAT_ACK as const), nonce: u32 }),
  fc.record({ type: fc.constant(MessageType.REJECT as const), code: fc.constantFrom(...Object.values(RejectCode).filter((v): v is RejectCode => typeof v === 'number')), reason: fc.string({ maxLength: 100, unit: 'grapheme' }) }),
  // §3.18: a verdict is 0 or 1; other values are a protocol error (tested below).
  fc.record({ type: fc.constant(MessageType.ACK as const), verdict: fc.integer({ min: 0, max: 1 }) }),
);

const roundTrip = (m: Message) => decode(new FrameDecoder().push(encode(m))[0]);

describe('codec', () => {
  it('every message survives encode → frame → decode unchanged', () => {
    fc.assert(fc.property(message, (m) => expect(roundTrip(m)).toEqual(m)), { numRuns: 1000 });
  });

  it('§3.18: an ACK verdict other than 0 or 1 is a protocol error', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 255 }), (verdict) => {
        expect(() => decode(Buffer.from([MessageType.ACK, verdict]))).toThrow(/ACK verdict must be 0 or 1/);
      }),
    );
  });

  it('a long reason is cut to 512 bytes at a character boundary, never mid-character', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 200, maxLength: 600, unit: 'grapheme' }), (reason) => {
        const got = roundTrip({ type: MessageType.REJECT, code: RejectCode.BAD_REQUEST, reason });
        if (got.type !== MessageType.REJECT) throw new Error('not a REJECT');
        expect(Buffer.byteLength(got.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
        // A prefix of the original characters: no character was split into a replacement char.
        expect(reason.startsWith(got.reason)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('unknown types are protocol errors that name the type', () => {
    const known = new Set(Object.values(MessageType));
    fc.assert(
      fc.property(u8.filter((t) => !known.has(t)), fc.uint8Array({ maxLength: 20 }), (t, rest) => {
        expect(() => decode(Buffer.from([t, ...rest]))).toThrow(new ProtocolError(`unknown message type 0x${t.toString(16).padStart(2, '0')}`));
      }),
    );
  });

  it('a known type with the wrong body size for its version is a protocol error, never a misread field', () => {
    // [version, type, every size allowed]: a WELCOME has no version byte, so either size is fine.
    const fixed = PROTOCOL_VERSIONS.flatMap((v) =>
      Object.entries(BODY_SIZE[v]).map(([t, n]) => {
        const type = Number(t);
        return [v, type, type === MessageType.WELCOME ? PROTOCOL_VERSIONS.map((w) => BODY_SIZE[w][type]) : [n]] as const;
      }),
    );
    fc.assert(
      fc.property(fc.constantFrom(...fixed), fc.integer({ min: 2, max: 60 }), ([version, type, sizes], len) => {
        fc.pre(!sizes.includes(len));
        const body = Buffer.alloc(len);
        body[0] = type;
        body[1] = version;
        expect(() => decode(body)).toThrow(ProtocolError);
      }),
      { numRuns: 300 },
    );
  });

  it('a HELLO or RESUME of a version not spoken is UNSUPPORTED_VERSION whatever its size, checked before the size', () => {
    fc.assert(
      fc.property(fc.constantFrom(MessageType.HELLO, MessageType.RESUME), u8.filter((v) => !PROTOCOL_VERSIONS.includes(v)), fc.integer({ min: 2, max: 60 }), (type, version, len) => {
        const body = Buffer.alloc(len);
        body[0] = type;
        body[1] = version;
        let caught: unknown;
        try {
          decode(body);
        } catch (err) {
          caught = err;
        }
        expect(caught).toBeInstanceOf(ProtocolError);
        expect(caught).toMatchObject({ code: RejectCode.UNSUPPORTED_VERSION, message: `1,2: protocol version ${version} is not supported` });
      }),
    );
  });

  it('an empty body and a REJECT without its code are protocol errors', () => {
    expect(() => decode(Buffer.alloc(0))).toThrow(ProtocolError);
    expect(() => decode(Buffer.from([MessageType.REJECT]))).toThrow(ProtocolError);
  });
});
