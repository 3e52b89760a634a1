/**
 * Makes text taken from the wire safe to print on a terminal or put in a CSV cell.
 *
 * Replaced, each by a visible escape (the text stays readable, nothing can drive a terminal):
 *  - C0 controls U+0000–U+001F (ESC, CR, LF and TAB included) and DEL U+007F → `\xHH`
 *  - C1 controls U+0080–U+009F (CSI U+009B included) → `\xHH`
 *  - bidirectional formatting controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069) and the
 *    line and paragraph separators U+2028, U+2029 → `\u{HHHH}`
 *
 * HH and HHHH are upper-case hexadecimal code points. The escape is for display: a literal backslash in the
 * input is kept as is, so the mapping is not reversible.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g;
const UNSAFE_TEST = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/;

function escapeChar(ch: string): string {
  const cp = ch.charCodeAt(0);
  const hex = cp.toString(16).toUpperCase();
  return cp <= 0xff ? `\\x${hex.padStart(2, '0')}` : `\\u{${hex.padStart(4, '0')}}`;
}

/** `s` with every control and bidi formatting character replaced by a visible escape (see module doc). */
export function safeText(s: string): string {
  return UNSAFE_TEST.test(s) ? s.replace(UNSAFE, escapeChar) : s;
}
