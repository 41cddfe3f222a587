import fc from 'fast-check';
import { Checksum, sequenceChecksum, valueAt } from '../core/sequence';
import { SequenceVerifier } from '../core/verifier';

const seed = fc.record({ hi: fc.integer({ min: 0, max: 0xffffffff }), lo: fc.integer({ min: 0, max: 0xffffffff }) });

describe('sequence', () => {
  it('the value at i depends only on (seed, i): computing out of order gives the same values', () => {
    fc.assert(
      fc.property(seed, fc.array(fc.integer({ min: 0, max: 65534 }), { minLength: 1, maxLength: 50 }), (s, indices) => {
        const forward = new Map(indices.map((i) => [i, valueAt(s, i)]));
        for (const i of [...indices].reverse()) expect(valueAt(s, i)).toBe(forward.get(i));
      }),
    );
  });

  it('values are uint32', () => {
    fc.assert(fc.property(seed, fc.nat(65534), (s, i) => {
      const v = valueAt(s, i);
      expect(Number.isInteger(v) && v >= 0 && v <= 0xffffffff).toBe(true);
    }));
  });

  it('different seeds give different sequences', () => {
    fc.assert(
      fc.property(seed, seed, (a, b) => {
        fc.pre(a.hi !== b.hi || a.lo !== b.lo);
        const va = [0, 1, 2, 3].map((i) => valueAt(a, i));
        const vb = [0, 1, 2, 3].map((i) => valueAt(b, i));
        expect(va).not.toEqual(vb);
      }),
    );
  });

  it('the checksum is order-sensitive: swapping two different values changes it', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 2, maxLength: 30 }), fc.nat(), fc.nat(), (values, a, b) => {
        const i = a % values.length;
        const j = b % values.length;
        fc.pre(values[i] !== values[j]);
        const swapped = [...values];
        [swapped[i], swapped[j]] = [swapped[j], swapped[i]];
        const sum = (vs: number[]) => vs.reduce((c, v) => c.update(v), new Checksum()).digest();
        expect(sum(swapped)).not.toBe(sum(values));
      }),
    );
  });

  it('the incremental checksum equals the whole-sequence one', () => {
    fc.assert(
      fc.property(seed, fc.integer({ min: 1, max: 40000 }), (s, n) => {
        const c = new Checksum();
        for (let i = 0; i < n; i++) c.update(valueAt(s, i));
        expect(c.digest()).toBe(sequenceChecksum(s, n));
      }),
      { numRuns: 20 },
    );
  });
});

describe('SequenceVerifier', () => {
  const s = { hi: 1, lo: 2 };
  it('accepts the exact sequence and ends with its checksum', () => {
    const v = new SequenceVerifier();
    expect(v.begin(s, 5, 0)).toBeNull();
    for (let i = 0; i < 5; i++) expect(v.accept(i, valueAt(s, i))).toBeNull();
    expect(v.complete).toBe(true);
    expect(v.checksum).toBe(sequenceChecksum(s, 5));
  });

  it('reports gaps, repeats, wrong values and overruns, and does not advance on them', () => {
    const v = new SequenceVerifier();
    v.begin(s, 3, 0);
    expect(v.accept(1, valueAt(s, 1))).toEqual({ kind: 'gap', expected: 0, got: 1 });
    expect(v.accept(0, 123)).toEqual({ kind: 'value', index: 0, expected: valueAt(s, 0), got: 123 });
    expect(v.accept(0, valueAt(s, 0))).toBeNull();
    expect(v.accept(0, valueAt(s, 0))).toEqual({ kind: 'repeat', expected: 1, got: 0 });
    expect(v.nextIndex).toBe(1);
    v.accept(1, valueAt(s, 1));
    v.accept(2, valueAt(s, 2));
    expect(v.accept(3, valueAt(s, 3))).toEqual({ kind: 'overrun', index: 3, length: 3 });
  });

  it('refuses a resume that starts elsewhere than it needs, or changes the session', () => {
    const v = new SequenceVerifier();
    v.begin(s, 10, 0);
    v.accept(0, valueAt(s, 0));
    expect(v.begin(s, 10, 2)).toMatch(/resumed at index 2, but we need 1/);
    expect(v.begin({ hi: 9, lo: 9 }, 10, 1)).toMatch(/changed the session/);
    expect(v.begin(s, 10, 1)).toBeNull();
  });
});
