import fc from 'fast-check';
import { MAX_FRAME_BODY } from '../transport/protocol/constants';
import { encodeFrame, FrameDecoder, FrameError } from '../transport/protocol/framer';

const body = fc.uint8Array({ minLength: 1, maxLength: MAX_FRAME_BODY }).map((a) => Buffer.from(a));

/** Splits buf at the given cut points (any values; they are folded into range). */
function chunk(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => (buf.length ? c % (buf.length + 1) : 0)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of [...points, buf.length]) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  return out;
}

function decodeAll(chunks: Buffer[]): Buffer[] {
  const d = new FrameDecoder();
  const out = chunks.flatMap((c) => d.push(c));
  d.end();
  return out;
}

describe('FrameDecoder', () => {
  it('decodes any list of frames identically however the stream is chunked', () => {
    fc.assert(
      fc.property(fc.array(body, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 40 }), (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map(encodeFrame));
        const got = decodeAll(chunk(stream, cuts));
        expect(got.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
      }),
      { numRuns: 300 },
    );
  });

  it('decodes byte-at-a-time delivery', () => {
    const bodies = [Buffer.from([1, 2, 3]), Buffer.alloc(MAX_FRAME_BODY, 7), Buffer.from([9])];
    const stream = Buffer.concat(bodies.map(encodeFrame));
    const chunks = [...stream].map((b) => Buffer.from([b]));
    expect(decodeAll(chunks)).toEqual(bodies);
  });

  it('refuses an oversize length from its 4 bytes alone, before any body arrives and without allocating it', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_FRAME_BODY + 1, max: 0xffffffff }), (len) => {
        const header = Buffer.alloc(4);
        header.writeUInt32BE(len);
        const spy = jest.spyOn(Buffer, 'allocUnsafe');
        try {
          expect(() => new FrameDecoder().push(header)).toThrow(FrameError);
          expect(spy.mock.calls.filter(([n]) => n >= len)).toHaveLength(0);
        } finally {
          spy.mockRestore();
        }
      }),
      { numRuns: 100 },
    );
  });

  it('refuses a zero length (a body needs at least its type byte)', () => {
    expect(() => new FrameDecoder().push(Buffer.alloc(4))).toThrow(/length 0/);
  });

  it('a stream cut inside a frame is an error at end(); cut at a frame boundary it is not', () => {
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 5 }), fc.nat(), (bodies, cut) => {
        const frames = bodies.map(encodeFrame);
        const stream = Buffer.concat(frames);
        const boundaries = new Set(frames.reduce<number[]>((acc, f) => [...acc, (acc.at(-1) ?? 0) + f.length], [0]));
        const at = cut % (stream.length + 1);
        const d = new FrameDecoder();
        d.push(stream.subarray(0, at));
        if (boundaries.has(at)) expect(() => d.end()).not.toThrow();
        else expect(() => d.end()).toThrow(/stream ended inside a frame/);
      }),
      { numRuns: 300 },
    );
  });

  it('garbage either decodes into frames or fails with FrameError, never anything else, and never hangs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 10 }), (bytes, cuts) => {
        const d = new FrameDecoder();
        let total = 0;
        try {
          for (const c of chunk(Buffer.from(bytes), cuts)) for (const b of d.push(c)) total += 4 + b.length;
          expect(total).toBeLessThanOrEqual(bytes.length);
        } catch (err) {
          expect(err).toBeInstanceOf(FrameError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('delivers every good frame before a bad prefix, however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(body, { maxLength: 8 }),
        fc.oneof(fc.constant(0), fc.integer({ min: MAX_FRAME_BODY + 1, max: 0xffffffff })),
        fc.array(fc.nat(), { maxLength: 10 }),
        (bodies, badLength, cuts) => {
          const bad = Buffer.alloc(4);
          bad.writeUInt32BE(badLength);
          const stream = Buffer.concat([...bodies.map(encodeFrame), bad, Buffer.from('trailing garbage')]);
          const d = new FrameDecoder();
          const got: Buffer[] = [];
          let error: FrameError | null = null;
          for (const c of chunk(stream, cuts)) {
            try {
              got.push(...d.push(c));
            } catch (err) {
              error = err as FrameError;
              got.push(...error.frames);
              break;
            }
          }
          expect(error).toBeInstanceOf(FrameError);
          expect(got.map((b) => b.toString('hex'))).toEqual(bodies.map((b) => b.toString('hex')));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses further input once it has failed (the stream cannot be re-synchronised)', () => {
    const d = new FrameDecoder();
    expect(() => d.push(Buffer.from([0xff, 0xff, 0xff, 0xff]))).toThrow(FrameError);
    expect(() => d.push(encodeFrame(Buffer.from([1])))).toThrow(/already failed/);
  });

  it('encodeFrame refuses bodies it would not accept itself', () => {
    expect(() => encodeFrame(Buffer.alloc(0))).toThrow(FrameError);
    expect(() => encodeFrame(Buffer.alloc(MAX_FRAME_BODY + 1))).toThrow(FrameError);
  });
});
