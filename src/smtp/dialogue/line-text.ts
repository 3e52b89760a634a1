/**
 * Line-level anomalies shared by both sides of the dialogue (docs/SMTP.md, anomaly catalogue): bare LF, lines cut
 * at the length limit, a last line without CRLF, extra or bare CR, NUL bytes.
 */

import type { Direction } from '../../reassembly/types.js';
import type { LineEnding } from '../line-splitter.js';
import type { SmtpDialogue } from './dialogue.js';
import { latin1Range } from './lines.js';

/**
 * Line-level anomalies shared by both sides; returns the text of the line `bytes[start, end)` without a stray
 * trailing CR.
 */
export function lineText(
  d: SmtpDialogue,
  bytes: Uint8Array,
  start: number,
  end: number,
  ending: LineEnding,
  offset: number,
  direction: Direction,
): string {
  const ts = d.tsNow[direction];
  let text = latin1Range(bytes, start, end);
  if (ending === 'lf') d.anomaly('bare-lf', direction, 'line ended by a bare LF', offset, ts);
  else if (ending === 'overflow')
    d.anomaly('line-too-long', direction, `line longer than ${d.opts.maxLineLength} bytes, cut`, offset, ts);
  else if (ending === 'eof' && text !== '' && text !== '\r')
    d.anomaly(
      'unterminated-line',
      direction,
      'last line ended by the end of the connection, no CRLF',
      offset,
      ts,
    );
  if (ending === 'crlf' && text.charCodeAt(text.length - 1) === 13) {
    d.anomaly('extra-cr', direction, 'more than one CR before LF', offset, ts);
    while (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  }
  if (ending === 'eof' && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
  if (text.indexOf('\0') >= 0) d.anomaly('nul-in-line', direction, 'NUL byte in line', offset, ts);
  if (text.indexOf('\r') >= 0) d.anomaly('bare-cr', direction, 'bare CR inside line', offset, ts);
  return text;
}
