/**
 * Peer-supplied text (a REJECT reason, anything quoted from the wire) made safe for a terminal
 * and a log line: every character that a terminal acts on, or that reorders or hides what is
 * shown, is spelled out as a visible escape, so a hostile peer cannot clear the screen, set the
 * window title, return to the start of a line and overwrite a verdict, or flip text with bidi
 * overrides.
 *
 * Escaped: all of C0 (U+0000–U+001F, TAB, CR and LF included: peer text is always one line of
 * ours), DEL, C1 (U+0080–U+009F: 0x9b is a one-byte CSI on some terminals), the bidi
 * embeddings, overrides, isolates and marks (U+061C, U+200E, U+200F, U+202A–U+202E,
 * U+2066–U+2069), the line and paragraph separators U+2028/U+2029, and lone surrogates.
 * C0, DEL and C1 become `\xHH`, the rest `\uHHHH`. Everything else, U+FFFD included, is kept.
 *
 * The output contains no escaped character, and printable ASCII passes unchanged — the
 * backslash too, which makes escapeText idempotent (escaping twice changes nothing) but not
 * injective: the four characters `\x1b` and a real ESC read the same. That is the point for a
 * display; it is not a serialisation.
 */

/** What gets escaped; kept in one place so the docs above and the tests read the same set. */
const UNSAFE =
  /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Marks a cut made by maxLen. */
const ELLIPSIS = '…';

function spell(ch: string): string {
  const code = ch.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Returns `s` with every unsafe character spelled out. With `maxLen`, the result is at most
 * that many UTF-16 units long, cut before an escape or a surrogate pair rather than inside one,
 * and ends in `…` when something was cut.
 */
export function escapeText(s: string, maxLen?: number): string {
  const out = s.replace(UNSAFE, spell);
  if (maxLen === undefined || out.length <= maxLen) return out;
  const budget = maxLen - ELLIPSIS.length;
  if (budget < 0) return '';
  // Whole pieces only: an escape we wrote, a code point (a surrogate pair stays together).
  let kept = '';
  for (const piece of out.match(/\\(?:x[0-9a-f]{2}|u[0-9a-f]{4})|[\s\S]/gu) ?? []) {
    if (kept.length + piece.length > budget) break;
    kept += piece;
  }
  return kept + ELLIPSIS;
}
