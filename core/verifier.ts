/**
 * What a receiver checks per number: exact order from the start index, and (since WELCOME
 * carries the seed) each value against the sequence; plus the running checksum. Plain code,
 * not machine events: at short intervals and many clients this runs tens of thousands of
 * times per second.
 */
import { Checksum, valueAt, type Seed } from './sequence';

export type Violation =
  | { kind: 'gap'; expected: number; got: number }
  | { kind: 'repeat'; expected: number; got: number }
  | { kind: 'value'; index: number; expected: number; got: number }
  | { kind: 'overrun'; index: number; length: number };

export function describeViolation(v: Violation): string {
  switch (v.kind) {
    case 'gap':
      return `index gap: expected ${v.expected}, got ${v.got}`;
    case 'repeat':
      return `index repeat: expected ${v.expected}, got ${v.got} again`;
    case 'value':
      return `value mismatch at index ${v.index}: the sequence says ${v.expected}, got ${v.got}`;
    case 'overrun':
      return `index ${v.index} is beyond the announced length ${v.length}`;
  }
}

export class SequenceVerifier {
  private readonly sum = new Checksum();
  /** Index of the next number we need: what a RESUME asks for. */
  nextIndex = 0;
  seed: Seed | null = null;
  length = 0;

  /** Called on every WELCOME; the sequence's identity must not change between connections. */
  begin(seed: Seed, length: number, startIndex: number): string | null {
    if (this.seed && (this.seed.hi !== seed.hi || this.seed.lo !== seed.lo || this.length !== length)) {
      return 'the server changed the session (seed or length) on resume';
    }
    if (startIndex !== this.nextIndex) return `the server resumed at index ${startIndex}, but we need ${this.nextIndex}`;
    this.seed = seed;
    this.length = length;
    return null;
  }

  accept(index: number, value: number): Violation | null {
    if (index !== this.nextIndex) {
      return index > this.nextIndex ? { kind: 'gap', expected: this.nextIndex, got: index } : { kind: 'repeat', expected: this.nextIndex, got: index };
    }
    if (index >= this.length) return { kind: 'overrun', index, length: this.length };
    const expected = valueAt(this.seed!, index);
    if (value !== expected) return { kind: 'value', index, expected, got: value };
    this.sum.update(value);
    this.nextIndex = index + 1;
    return null;
  }

  get complete(): boolean {
    return this.seed !== null && this.nextIndex === this.length;
  }

  get checksum(): number {
    return this.sum.digest();
  }
}
