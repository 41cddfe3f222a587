/**
 * Length-prefixed framing: a 4-byte big-endian body length, then the body.
 *
 * The decoder is a two-state machine (reading the prefix / reading the body). The announced
 * length is checked against the limit before anything is allocated, so a peer cannot make us
 * reserve memory it names. A body that arrives whole inside one chunk is returned as a
 * zero-copy view; only a body split across chunks is copied, into exactly its own size.
 */
import { LENGTH_PREFIX_BYTES, MAX_FRAME_BODY } from './constants';

export class FrameError extends Error {
  override readonly name = 'FrameError';
  /**
   * Frames the same chunk completed before the bad prefix. They are valid and in order; a
   * caller handles them first, so a bad frame merged into one TCP chunk with good ones loses
   * nothing that came before it.
   */
  frames: Buffer[] = [];
}

export function encodeFrame(body: Buffer): Buffer {
  if (body.length < 1 || body.length > MAX_FRAME_BODY) {
    throw new FrameError(`frame body of ${body.length} bytes is outside 1..${MAX_FRAME_BODY}`);
  }
  const frame = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, LENGTH_PREFIX_BYTES);
  return frame;
}

export class FrameDecoder {
  private readonly header = Buffer.alloc(LENGTH_PREFIX_BYTES);
  private headerFill = 0;
  private body: Buffer | null = null;
  private bodyFill = 0;
  private failed = false;

  constructor(private readonly maxBody: number = MAX_FRAME_BODY) {}

  /** True while a frame has been started but not completed. */
  get pending(): boolean {
    return this.headerFill > 0 || this.body !== null;
  }

  /**
   * Feeds one chunk and returns every body it completes, in order. Throws FrameError on a
   * length of zero or above the limit, carrying the bodies completed before it in `frames`;
   * after that the decoder refuses further input, since the stream cannot be re-synchronised.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.failed) throw new FrameError('decoder already failed');
    const out: Buffer[] = [];
    try {
      this.consume(chunk, out);
    } catch (err) {
      if (err instanceof FrameError) err.frames = out;
      throw err;
    }
    return out;
  }

  /**
   * The reading both ends do (§1): the bodies a chunk completes and, if a bad length prefix came
   * after them, that error too — the frames before it are valid and are handled first, in order,
   * as if they had had a chunk of their own.
   */
  read(chunk: Buffer): { bodies: Buffer[]; error: FrameError | null } {
    try {
      return { bodies: this.push(chunk), error: null };
    } catch (err) {
      if (!(err instanceof FrameError)) throw err;
      return { bodies: err.frames, error: err };
    }
  }

  private consume(chunk: Buffer, out: Buffer[]): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.body === null) {
        // Fast path: a whole prefix (and maybe a whole body) is available in this chunk.
        if (this.headerFill === 0 && chunk.length - pos >= LENGTH_PREFIX_BYTES) {
          const len = this.checkLength(chunk.readUInt32BE(pos));
          pos += LENGTH_PREFIX_BYTES;
          if (chunk.length - pos >= len) {
            out.push(chunk.subarray(pos, pos + len));
            pos += len;
            continue;
          }
          this.startBody(len);
          continue;
        }
        const take = Math.min(LENGTH_PREFIX_BYTES - this.headerFill, chunk.length - pos);
        chunk.copy(this.header, this.headerFill, pos, pos + take);
        this.headerFill += take;
        pos += take;
        if (this.headerFill === LENGTH_PREFIX_BYTES) {
          this.headerFill = 0;
          this.startBody(this.checkLength(this.header.readUInt32BE(0)));
        }
      } else {
        const take = Math.min(this.body.length - this.bodyFill, chunk.length - pos);
        chunk.copy(this.body, this.bodyFill, pos, pos + take);
        this.bodyFill += take;
        pos += take;
        if (this.bodyFill === this.body.length) {
          out.push(this.body);
          this.body = null;
          this.bodyFill = 0;
        }
      }
    }
  }

  /** Call when the stream ends: a half-received frame is an error, not a silent loss. */
  end(): void {
    if (this.pending && !this.failed) {
      const got = this.body ? `${this.bodyFill} of ${this.body.length} body bytes` : `${this.headerFill} of 4 length bytes`;
      this.failed = true;
      throw new FrameError(`stream ended inside a frame (${got})`);
    }
  }

  private checkLength(len: number): number {
    if (len === 0 || len > this.maxBody) {
      this.failed = true;
      throw new FrameError(
        len === 0 ? 'frame length 0 (a body needs at least its type byte)' : `frame length ${len} exceeds the maximum of ${this.maxBody}`,
      );
    }
    return len;
  }

  private startBody(len: number): void {
    this.body = Buffer.allocUnsafe(len);
    this.bodyFill = 0;
  }
}
