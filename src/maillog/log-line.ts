/**
 * One line of any supported mail log, recognised from its content: a syslog-style prefix whose program is
 * Postfix's (`postfix/...`, `postfix-NAME/...`) or Exim's (`exim`, `exim4`), or Exim's own dated main log.
 * Lines of other programs in a shared syslog file are `other-program`; lines with no known prefix, and mail
 * lines whose fields do not parse, are `bad`.
 */

import { parseEximText } from './exim-line.js';
import { type PrefixOptions, parseLogPrefix } from './log-prefix.js';
import { parsePostfixText, postfixProgram } from './postfix-line.js';
import type { LogEvent } from './types.js';

export type LineResult =
  | { readonly kind: 'event'; readonly event: LogEvent }
  | { readonly kind: 'other-program' }
  | { readonly kind: 'bad' };

const OTHER: LineResult = { kind: 'other-program' };
const BAD: LineResult = { kind: 'bad' };

export function parseLogLine(line: string, options: PrefixOptions): LineResult {
  const prefix = parseLogPrefix(line, options);
  if (prefix === null) return BAD;
  const base = { tsMicros: prefix.tsMicros, yearless: prefix.yearless, host: prefix.host, pid: prefix.pid };
  let event: LogEvent | null;
  if (prefix.format === 'exim') {
    event = parseEximText({ ...base, mta: 'exim', instance: 'exim', service: null }, prefix.text);
  } else {
    const program = prefix.program ?? '';
    const postfix = postfixProgram(program);
    if (postfix !== null) {
      event = parsePostfixText({ ...base, mta: 'postfix', ...postfix }, prefix.text);
    } else if (/^exim\d*$/i.test(program)) {
      // Exim through syslog: the text has no stamp of its own.
      event = parseEximText({ ...base, mta: 'exim', instance: program, service: null }, prefix.text);
    } else {
      return OTHER;
    }
  }
  return event === null ? BAD : { kind: 'event', event };
}
