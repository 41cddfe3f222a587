/**
 * The number sequence and its checksum, exactly as docs/PROTOCOL.md specifies them.
 *
 * The value at index i is a pure function of (seed, i): resuming at any index costs O(1)
 * and needs no replay. The mixer is "lowbias32" (Chris Wellons' hash-prospector), chosen
 * because it uses only 32-bit xor, shift and multiply, so a client in any language can
 * reproduce it bit for bit.
 */
import { crc32 } from 'node:zlib';

/** A 64-bit seed as two uint32 words, the way it travels on the wire (hi first). */
export interface Seed {
  readonly hi: number;
  readonly lo: number;
}

export function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** value(seed, i) = mix32(mix32((i + seed.lo) mod 2^32) XOR seed.hi) */
export function valueAt(seed: Seed, index: number): number {
  return mix32((mix32((index + seed.lo) >>> 0) ^ seed.hi) >>> 0);
}

/**
 * Order-sensitive checksum: CRC-32 (IEEE 802.3, as zlib's crc32) over the values written
 * as 4-byte big-endian integers in index order. Swapping two values changes it; a sum would not.
 */
export class Checksum {
  private crc = 0;
  private readonly word = Buffer.allocUnsafe(4);

  update(value: number): this {
    this.word.writeUInt32BE(value >>> 0, 0);
    this.crc = crc32(this.word, this.crc);
    return this;
  }

  digest(): number {
    return this.crc >>> 0;
  }
}

/** Checksum of values [0, length) of the seed's sequence. O(length), used once per session. */
export function sequenceChecksum(seed: Seed, length: number): number {
  const buf = Buffer.allocUnsafe(4 * Math.min(length, 16384));
  let crc = 0;
  for (let start = 0; start < length; start += 16384) {
    const end = Math.min(length, start + 16384);
    for (let i = start; i < end; i++) buf.writeUInt32BE(valueAt(seed, i), 4 * (i - start));
    crc = crc32(buf.subarray(0, 4 * (end - start)), crc);
  }
  return crc >>> 0;
}

export function seedToHex(seed: Seed): string {
  return seed.hi.toString(16).padStart(8, '0') + seed.lo.toString(16).padStart(8, '0');
}
