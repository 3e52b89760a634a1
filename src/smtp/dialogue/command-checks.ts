/**
 * Anomalies that look at a command against the session so far (docs/SMTP.md, anomaly catalogue): unknown verbs,
 * commands after QUIT, unadvertised pipelining, a BDAT message cut by another command, envelope order.
 */

import { clip } from '../../util/display-text.js';
import { toSmtpVerb } from '../command-parser.js';
import type { SmtpCommand } from '../types.js';
import type { SmtpDialogue } from './dialogue.js';
import { firstWord, other } from './lines.js';
import { endMessage } from './messages.js';

/** Anomalies that look at the command against the session so far. */
export function beforeCommand(
  d: SmtpDialogue,
  verb: SmtpCommand['verb'],
  verbText: string,
  offset: number,
  ts: number,
): void {
  const dir = d.cmdDir;
  const tx = d.tx;
  if (verb === 'UNKNOWN')
    d.anomaly('unknown-command', dir, `unknown command ${clip(verbText, 31)}`, offset, ts);
  if (d.quitSent) d.anomalyOnce('command-after-quit', dir, `${verbText} after QUIT`, offset, ts);
  if (
    d.pipelining === false &&
    d.queue.size > 0 &&
    verb !== 'UNKNOWN' &&
    d.greetingSeen &&
    d.seen(other(dir))
  )
    d.anomalyOnce(
      'unadvertised-pipelining',
      dir,
      `${verb} sent before earlier replies; server did not offer PIPELINING`,
      offset,
      ts,
    );
  if (tx.bdatOpen && verb !== 'BDAT') {
    if (verb !== 'RSET' && verb !== 'QUIT' && verb !== 'NOOP')
      d.anomaly('bdat-missing-last', dir, `${verb} while a BDAT message awaits its LAST chunk`, offset, ts);
    if (verb !== 'NOOP') {
      endMessage(d, false, ts);
      if (d.state === 'bdat') d.setState(tx.open ? 'rcpt' : 'ready', ts);
    }
  }
  switch (verb) {
    case 'MAIL':
    case 'SEND':
    case 'SOML':
    case 'SAML':
      if (tx.open) d.anomaly('nested-mail', dir, `${verb} inside an open transaction`, offset, ts);
      break;
    case 'RCPT':
      if (!tx.open && !tx.unknown) d.anomaly('rcpt-without-mail', dir, 'RCPT without MAIL', offset, ts);
      if (tx.rcpts + 1 > d.opts.maxRecipients && !tx.tooMany) {
        tx.tooMany = true;
        d.anomaly(
          'too-many-recipients',
          dir,
          `more than ${d.opts.maxRecipients} RCPT commands in one transaction`,
          offset,
          ts,
        );
      }
      break;
    case 'DATA':
      if (tx.rcpts === 0 && !tx.unknown)
        d.anomaly('data-without-recipients', dir, 'DATA without any RCPT', offset, ts);
      break;
    case 'HELO':
    case 'EHLO':
    case 'LHLO':
      if (d.heloAccepted)
        d.anomaly('duplicate-helo', dir, `${verb} after an accepted greeting command`, offset, ts);
      break;
    default:
      break;
  }
}

/** Commands that open a session: a capture that starts with one may just have missed the greeting. */
const OPENING_VERBS = new Set(['HELO', 'EHLO', 'LHLO']);

/**
 * The connection's first client line before any greeting: a capture started mid-session (`midstream`), or bytes
 * sent before the greeting with the handshake seen (`junk-before-greeting`). True when the line was consumed
 * (not a command: the command side recovers).
 */
export function firstClientLine(d: SmtpDialogue, text: string, offset: number, ts: number): boolean {
  const verb = toSmtpVerb(firstWord(text));
  if (verb !== null && !d.handshakeSeen && !OPENING_VERBS.has(verb)) {
    d.anomalyOnce(
      'midstream',
      d.cmdDir,
      `no handshake seen and the first client line is ${verb}; the capture starts mid-session`,
      offset,
      ts,
    );
  } else if (verb === null && d.handshakeSeen && !d.replySeen) {
    // The handshake was seen and the server has not spoken: bytes sent before the greeting (an HTTP request,
    // an impatient client), not a capture started mid-session. Read as an unknown command, which the server
    // may answer after its greeting.
    d.anomalyOnce(
      'junk-before-greeting',
      d.cmdDir,
      `client sent ${clip(JSON.stringify(text), 41)} before the server greeting, not a command`,
      offset,
      ts,
    );
  } else if (verb === null) {
    d.anomalyOnce(
      'midstream',
      d.cmdDir,
      'first client line is not a command; the capture starts mid-session',
      offset,
      ts,
    );
    d.mode = 'gap-recovery';
    d.setState('gap-recovery', ts);
    return true;
  }
  return false;
}
