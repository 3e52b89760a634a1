/**
 * One line per finished session, printed as sessions close during a live run without the dashboard
 * (`smtpscope -i eth0 --no-tui`, or a capture piped in), like tcpdump's running output:
 *
 *   18:14:19.218572 C000002 127.0.0.1:35242 -> 127.0.0.1:25 quit: 1 message(s), 2 delivered, 2 failed: nosuchuser@localhost 550 5.1.1, greylist@sink.test 450 4.2.0
 *
 * Time of the session's start (UTC, as the packet time), id, client, server, how it ended, then what became of
 * its mail, and each failure (recipient, or the stage for a refusal before any recipient, with the code and
 * status). Wire text goes through safeText; a line holds at most {@link MAX_FAILURES_SHOWN} failures.
 */

import type { Sink } from '../model/sink.js';
import type { ReplyRecord, SmtpSession } from '../model/types.js';
import { safeText } from '../util/display-text.js';
import { endpoint, isoMicros } from './format.js';
import { endDescription } from './session-end.js';

export const MAX_FAILURES_SHOWN = 5;

/** "550 5.1.1", "554", or "?" without a reply. */
function replyCode(reply: ReplyRecord | null): string {
  if (reply === null) return '?';
  return reply.enhancedStatus === null ? String(reply.code) : `${reply.code} ${reply.enhancedStatus}`;
}

export function sessionLine(s: SmtpSession): string {
  const time = isoMicros(s.startedAt).slice(11, 26);
  let delivered = 0;
  const failures: string[] = [];
  for (const t of s.transactions) {
    for (const r of t.recipients) {
      if (r.disposition === 'delivered') delivered++;
      else if (r.reasonClass !== null) {
        const reply = r.disposition.endsWith('-rcpt') ? r.rcptReply : r.finalReply;
        failures.push(
          `${r.address} ${reply === null ? '?' : `${reply.code}${reply.enhancedStatus === null ? '' : ` ${reply.enhancedStatus}`}`}`,
        );
      }
    }
    if (
      t.reasonClass !== null &&
      t.failureStage !== 'rcpt' &&
      !t.recipients.some((r) => r.reasonClass !== null)
    ) {
      const reply = t.finalReply ?? t.dataReply ?? t.mailReply;
      failures.push(`${t.failureStage ?? 'transaction'} ${replyCode(reply)}`);
    }
  }
  for (const a of s.auth) if (a.outcome === 'failure') failures.push(`auth ${a.mechanism}`);
  const parts = [`${s.transactions.length} message(s)`, `${delivered} delivered`];
  let tail = '';
  if (failures.length > 0) {
    const shown = failures.slice(0, MAX_FAILURES_SHOWN).join(', ');
    const more =
      failures.length > MAX_FAILURES_SHOWN ? ` and ${failures.length - MAX_FAILURES_SHOWN} more` : '';
    tail = `, ${failures.length} failed: ${shown}${more}`;
  }
  return safeText(
    `${time} ${s.id} ${endpoint(s.client)} -> ${endpoint(s.server)} ${endDescription(s)}: ${parts.join(', ')}${tail}`,
  );
}

/** A sink that writes {@link sessionLine} for every session as it closes. */
export function createSessionLineSink(write: (line: string) => void): Sink {
  return {
    name: 'session-lines',
    sessionClosed(session) {
      write(`${sessionLine(session)}\n`);
    },
    async close() {},
  };
}
