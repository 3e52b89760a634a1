/**
 * Whether a line, seen while resynchronising after a gap, is a command rather than body text: an upper-case verb
 * with the shape of its arguments (`MAIL FROM:`, `RCPT TO:`, one HELO word, no argument for DATA...).
 */

import { parseBdatArgument, parseCommandLine } from '../command-parser.js';
import { words } from './lines.js';

const RESYNC_NO_ARGUMENT = new Set(['DATA', 'RSET', 'QUIT', 'STARTTLS', 'TURN']);

export function looksLikeCommand(text: string): boolean {
  const parsed = parseCommandLine(text);
  if (parsed.verb === 'UNKNOWN' || parsed.verbText !== parsed.verb) return false;
  const count = parsed.argument === '' ? 0 : words(parsed.argument).length;
  switch (parsed.verb) {
    case 'MAIL':
    case 'RCPT':
      return !parsed.malformedPath && parsed.path !== null;
    case 'HELO':
    case 'EHLO':
    case 'LHLO':
      return count === 1;
    case 'BDAT':
      return parseBdatArgument(parsed.argument).ok;
    case 'AUTH':
      return count >= 1 && count <= 2;
    case 'VRFY':
    case 'EXPN':
    case 'ETRN':
    case 'ATRN':
    case 'NOOP':
    case 'HELP':
      return count <= 1;
    default:
      return RESYNC_NO_ARGUMENT.has(parsed.verb) && count === 0;
  }
}
