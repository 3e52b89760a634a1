/**
 * The MTA log part of a session's transcript (`smtpscope transcript FILE --maillog LOG`): per joined transaction
 * its queue id and how it was found, each recipient's later fate, the refusals logged under the queue id, and
 * the queue-less refusals matched by client. Every text from a log passes through safeText.
 */

import type { SmtpSession } from '../model/types.js';
import { safeText } from '../util/display-text.js';
import { describeFate, sessionLogOf } from './session-log.js';
import type { LogReject } from './types.js';

function rejectText(r: LogReject): string {
  const code = [r.code === null ? '' : String(r.code), r.enhancedStatus ?? '']
    .filter((x) => x !== '')
    .join(' ');
  return `${r.action} at ${r.stage}${code === '' ? '' : ` ${code}`}: ${r.text}`;
}

/** The lines to print after the transcript, or '' when the logs say nothing about the session. */
export function formatSessionLog(session: SmtpSession): string {
  const log = sessionLogOf(session);
  if (log === null) return '';
  const out: string[] = ['MTA log:'];
  for (const t of log.transactions) {
    const tx = session.transactions.find((x) => x.depth === t.depth);
    let head = `  transaction ${t.depth}: ${t.mta} queue id ${t.queueId} (by ${t.joinedBy})`;
    if (t.senderQueueId !== null) head += `; sent as ${t.senderQueueId}`;
    if (t.notificationFor !== null)
      head += `; notification about ${t.notificationFor.queueId}${t.notificationFor.sessionId === null ? '' : ` (session ${t.notificationFor.sessionId})`}`;
    out.push(safeText(head));
    for (const r of t.recipients) {
      const address = tx?.recipients.find((x) => x.index === r.index)?.address ?? `#${r.index}`;
      out.push(safeText(`    ${address}: ${r.fate === null ? 'no delivery line' : describeFate(r.fate)}`));
    }
    for (const r of t.rejects) out.push(safeText(`    logged ${rejectText(r)}`));
  }
  for (const r of log.rejects) out.push(safeText(`  logged without queue id: ${rejectText(r)}`));
  return out.join('\n');
}
