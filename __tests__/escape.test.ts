/** escapeText: what a hostile peer's text can still do to a terminal or a log line (nothing). */
import fc from 'fast-check';
import { escapeText } from '../core/escape';

/** Every character a terminal acts on or that reorders text; none may survive. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Strings rich in the dangerous ranges, not just whatever fc.string happens to draw. */
const hostile = fc.string({
  unit: fc.oneof(
    fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x7f, max: 0x9f }).map((c) => String.fromCharCode(c)),
    fc.constantFrom('\u061c', '\u200e', '\u200f', '\u2028', '\u2029', '\u202a', '\u202e', '\u2066', '\u2069', '\ufffd', '\ud800', '\udfff', '\\', 'x'),
    fc.string({ unit: 'grapheme', maxLength: 1 }),
    fc.string({ unit: 'binary', maxLength: 1 }),
  ),
  maxLength: 60,
});

describe('escapeText', () => {
  it('leaves no control, bidi or lone-surrogate character in its output', () => {
    fc.assert(
      fc.property(hostile, (s) => {
        expect(escapeText(s)).not.toMatch(UNSAFE);
      }),
    );
  });

  it('passes printable ASCII through unchanged', () => {
    fc.assert(fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (s) => expect(escapeText(s)).toBe(s)));
  });

  it('keeps safe non-ASCII text (letters, emoji, U+FFFD) as it is', () => {
    expect(escapeText('café ✓ 🚀 \ufffd Привет')).toBe('café ✓ 🚀 \ufffd Привет');
  });

  it('is idempotent: escaping twice changes nothing (its output is all safe)', () => {
    fc.assert(fc.property(hostile, (s) => expect(escapeText(escapeText(s))).toBe(escapeText(s))));
  });

  it('spells each unsafe character out, so the text stays readable', () => {
    expect(escapeText('\x1b[2J\x1b]0;pwned\x07\x0d\x0a\x09\x7f\x9b\u202eabc\u2066\ud800')).toBe(
      String.raw`\x1b[2J\x1b]0;pwned\x07\x0d\x0a\x09\x7f\x9b\u202eabc\u2066\ud800`,
    );
  });

  it('with maxLen, never exceeds it and never cuts inside an escape or a surrogate pair', () => {
    fc.assert(
      fc.property(hostile, fc.integer({ min: 0, max: 80 }), (s, max) => {
        const full = escapeText(s);
        const cut = escapeText(s, max);
        expect(cut.length).toBeLessThanOrEqual(max);
        if (full.length <= max) return expect(cut).toBe(full);
        if (max === 0) return expect(cut).toBe('');
        expect(cut.endsWith('…')).toBe(true);
        const kept = cut.slice(0, -1);
        // What is kept is a prefix of the full escape made of whole pieces.
        expect(full.startsWith(kept)).toBe(true);
        expect(kept).not.toMatch(/\\(x[0-9a-f]?|u[0-9a-f]{0,3})$/);
        expect(kept).not.toMatch(/[\ud800-\udbff]$/);
      }),
    );
  });
});
