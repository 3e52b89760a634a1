/**
 * Text from the wire shown to people: made safe ({@link safeText}, {@link cellText}), measured in terminal
 * columns ({@link displayWidth}), cut and padded ({@link clip}, {@link fitCell}, {@link wrap}) and laid out in
 * columns ({@link table}). The one home of these rules for the terminal text, the dashboard, the CSV cells
 * and the command line.
 *
 * {@link safeText} makes text safe to print on a terminal or put in a CSV cell.
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

/** Zero-width and combining characters (code point ranges, inclusive): drawn as a visible escape instead. */
const NON_SPACING: readonly (readonly [number, number])[] = [
  [0x00ad, 0x00ad],
  [0x0300, 0x036f],
  [0x0483, 0x0489],
  [0x0591, 0x05bd],
  [0x0610, 0x061a],
  [0x064b, 0x065f],
  [0x0670, 0x0670],
  [0x06d6, 0x06dc],
  [0x06df, 0x06e4],
  [0x0900, 0x0903],
  [0x093a, 0x094f],
  [0x0e31, 0x0e31],
  [0x0e34, 0x0e3a],
  [0x0e47, 0x0e4e],
  [0x1160, 0x11ff],
  [0x180b, 0x180f],
  [0x1ab0, 0x1aff],
  [0x1dc0, 0x1dff],
  [0x200b, 0x200d],
  [0x2060, 0x2064],
  [0x20d0, 0x20ff],
  [0x302a, 0x302f],
  [0x3099, 0x309a],
  [0xfe00, 0xfe0f],
  [0xfe20, 0xfe2f],
  [0xfeff, 0xfeff],
  [0xfff9, 0xfffb],
  // Emoji and pictographs: terminals draw them two columns wide, blessed counts one; escaped so the two agree.
  [0x1f000, 0x1faff],
  [0xe0000, 0xe0fff],
];

export function isNonSpacing(cp: number): boolean {
  if (cp < 0xad) return false;
  for (const [lo, hi] of NON_SPACING) {
    if (cp < lo) return false;
    if (cp <= hi) return true;
  }
  return false;
}

/** Wire text made safe for a terminal cell: controls, bidi, zero-width and combining characters escaped. */
export function cellText(s: string): string {
  const safe = safeText(s);
  let out: string | null = null;
  let from = 0;
  for (let i = 0; i < safe.length; i++) {
    const c = safe.charCodeAt(i);
    if (c < 0xad) continue;
    const cp = safe.codePointAt(i) ?? c;
    const size = cp > 0xffff ? 2 : 1;
    if (isNonSpacing(cp)) {
      out = `${(out ?? '') + safe.slice(from, i)}\\u{${cp.toString(16).toUpperCase().padStart(4, '0')}}`;
      from = i + size;
    }
    i += size - 1;
  }
  return out === null ? safe : out + safe.slice(from);
}

/** Columns a code point occupies once {@link cellText} has run (1, or 2 for East Asian wide characters). */
export function codePointWidth(cp: number): 1 | 2 {
  if (cp < 0x1100) return 1;
  if (
    cp <= 0x115f ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x20000 && cp <= 0x2fffd) ||
    (cp >= 0x30000 && cp <= 0x3fffd)
  )
    return 2;
  return 1;
}

/** Width in terminal columns of text that went through {@link cellText}. */
export function displayWidth(s: string): number {
  let width = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x1100) {
      width++;
      continue;
    }
    const cp = s.codePointAt(i) ?? c;
    if (cp > 0xffff) i++;
    width += codePointWidth(cp);
  }
  return width;
}

/** The longest prefix of `s` that fits in `width` columns. */
function cutTo(s: string, width: number): { text: string; width: number } {
  let used = 0;
  let i = 0;
  while (i < s.length) {
    const cp = s.codePointAt(i) ?? 0;
    const w = codePointWidth(cp);
    if (used + w > width) break;
    used += w;
    i += cp > 0xffff ? 2 : 1;
  }
  return { text: s.slice(0, i), width: used };
}

/**
 * Wire text fitted to exactly `width` columns: made safe, cut with a trailing `…` when too long, padded
 * with spaces (on the right, or on the left with `align: 'right'`).
 */
export function fitCell(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  if (width <= 0) return '';
  const safe = cellText(s);
  let text = safe;
  let used = displayWidth(safe);
  if (used > width) {
    const cut = cutTo(safe, width - 1);
    text = `${cut.text}…`;
    used = cut.width + 1;
  }
  const pad = ' '.repeat(width - used);
  return align === 'left' ? text + pad : pad + text;
}

/** Wire text made safe and cut to at most `width` columns (with `…` when cut), not padded. */
export function clip(s: string, width: number): string {
  if (width <= 0) return '';
  const safe = cellText(s);
  if (displayWidth(safe) <= width) return safe;
  return `${cutTo(safe, width - 1).text}…`;
}

/**
 * Wire text made safe and broken into lines of at most `width` columns: at the last space that keeps at
 * least half the line, else hard.
 */
export function wrap(s: string, width: number): string[] {
  const safe = cellText(s);
  if (width <= 0) return [];
  const out: string[] = [];
  let rest = safe;
  while (displayWidth(rest) > width) {
    const cut = cutTo(rest, width);
    if (cut.text.length === 0) break;
    const space = cut.text.lastIndexOf(' ');
    const end = space >= Math.floor(cut.text.length / 2) ? space + 1 : cut.text.length;
    out.push(rest.slice(0, end).trimEnd());
    rest = rest.slice(end);
  }
  out.push(rest);
  return out;
}

/**
 * Rows laid out as left-aligned columns two spaces apart, each line indented by `indent`; the last column is
 * not padded and no line ends in spaces. Widths are terminal columns ({@link displayWidth}); cells are taken
 * as they are (make wire text safe first).
 */
export function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell));
    });
  }
  return rows.map((row) =>
    `${indent}${row.map((cell, i) => (i === row.length - 1 ? cell : pad(cell, widths[i] ?? 0))).join('  ')}`.trimEnd(),
  );
}

function pad(cell: string, width: number): string {
  return cell + ' '.repeat(Math.max(0, width - displayWidth(cell)));
}
