/**
 * Line-level anomalies shared by both sides of the dialogue (docs/SMTP.md, anomaly catalogue): bare LF, lines cut
 * at the length limit, a last line without CRLF, extra or bare CR, NUL bytes. Checked on the bytes, so that a
 * side can make only the strings it keeps (a reply keeps the text after its code, not the whole line).
 */

import type { Direction } from '../../reassembly/types.js';
import type { LineEnding } from '../line-splitter.js';
import type { SmtpDialogue } from './dialogue.js';
import { latin1Range } from './lines.js';

const NUL = 0;
const CR = 13;
/** `strayBytes`: a NUL byte is in the range. */
const HAS_NUL = 1;
/** `strayBytes`: a CR is in the range. */
const HAS_CR = 2;

/** Which of NUL and CR occur in `bytes[start, end)` (HAS_NUL, HAS_CR bits): one pass over the line. */
function strayBytes(bytes: Uint8Array, start: number, end: number): number {
  let found = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i] as number;
    if (b === NUL) found |= HAS_NUL;
    else if (b === CR) found |= HAS_CR;
  }
  return found;
}

/**
 * Line-level anomalies shared by both sides; returns the end of the line `bytes[start, end)` without a stray
 * trailing CR (several before a CRLF's LF, or one before the end of the connection).
 */
export function lineEnd(
  d: SmtpDialogue,
  bytes: Uint8Array,
  start: number,
  end: number,
  ending: LineEnding,
  offset: number,
  direction: Direction,
): number {
  const ts = d.tsOf(direction);
  let stop = end;
  if (ending === 'lf') d.anomaly('bare-lf', direction, 'line ended by a bare LF', offset, ts);
  else if (ending === 'overflow')
    d.anomaly('line-too-long', direction, `line longer than ${d.opts.maxLineLength} bytes, cut`, offset, ts);
  else if (ending === 'eof' && end > start && !(end - start === 1 && bytes[start] === 13))
    d.anomaly(
      'unterminated-line',
      direction,
      'last line ended by the end of the connection, no CRLF',
      offset,
      ts,
    );
  if (ending === 'crlf' && stop > start && bytes[stop - 1] === 13) {
    d.anomaly('extra-cr', direction, 'more than one CR before LF', offset, ts);
    while (stop > start && bytes[stop - 1] === 13) stop--;
  }
  if (ending === 'eof' && stop > start && bytes[stop - 1] === 13) stop--;
  const stray = strayBytes(bytes, start, stop);
  if ((stray & HAS_NUL) !== 0) d.anomaly('nul-in-line', direction, 'NUL byte in line', offset, ts);
  if ((stray & HAS_CR) !== 0) d.anomaly('bare-cr', direction, 'bare CR inside line', offset, ts);
  return stop;
}

/** `lineEnd`'s checks, then the line's text without a stray trailing CR. */
export function lineText(
  d: SmtpDialogue,
  bytes: Uint8Array,
  start: number,
  end: number,
  ending: LineEnding,
  offset: number,
  direction: Direction,
): string {
  return latin1Range(bytes, start, lineEnd(d, bytes, start, end, ending, offset, direction));
}
