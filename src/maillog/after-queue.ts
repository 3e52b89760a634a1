/**
 * Bounce rows only the MTA log can explain: a recipient the server accepted on the wire that the MTA bounced,
 * expired or still defers later (docs/BOUNCES.md, docs/MAILLOG.md). Stage `after-queue`; the reply is the one
 * the MTA logged (`host X said: 550 5.1.1 ...`), its code taken from that text when it holds one, its
 * enhanced status from the logged `dsn=`.
 */

import type { ReplyRecord, SmtpSession } from '../model/types.js';
import type { FailureRow } from '../report/bounce-failures.js';
import { enhancedMeaning, explainReply, reasonOf } from '../report/failure-text.js';
import { isLaterFailure, recipientFateOf } from './session-log.js';
import type { RecipientFate } from './types.js';

/** `... said: 550 5.1.1 text` → 550 (the first SMTP code after `said:`, else one at the start). */
function loggedCode(reply: string | null): number | null {
  if (reply === null) return null;
  const m =
    /\bsaid:\s*([245]\d{2})\b/.exec(reply) ??
    /^([245]\d{2})\b/.exec(reply) ??
    /\b([45]\d{2})[ -][45]\.\d/.exec(reply);
  return m === null ? null : Number(m[1]);
}

function codeFromDsn(fate: RecipientFate): number | null {
  if (fate.dsn?.startsWith('5')) return 550;
  if (fate.dsn?.startsWith('4')) return 450;
  return null;
}

/** One line: `after queue: bounced by 127.0.0.1[127.0.0.1]:2590 (dsn 5.1.1): host ... said: ...`. */
export function afterQueueText(fate: RecipientFate): string {
  const relay = fate.relay === null || fate.relay === 'none' ? '' : ` by relay ${fate.relay}`;
  const dsn = fate.dsn === null ? '' : ` (dsn ${fate.dsn})`;
  return `after queue: ${fate.status}${relay}${dsn}${fate.reply === null ? '' : `: ${fate.reply}`}`;
}

export function afterQueueFailures(session: SmtpSession): FailureRow[] {
  const rows: FailureRow[] = [];
  for (const t of session.transactions) {
    for (const r of t.recipients) {
      if (r.disposition !== 'delivered') continue;
      const fate = recipientFateOf(session, t.depth, r.index);
      if (!isLaterFailure(fate)) continue;
      const code = loggedCode(fate.reply) ?? codeFromDsn(fate);
      const reply: Pick<ReplyRecord, 'code' | 'enhancedStatus' | 'text'> = {
        code: code ?? 0,
        enhancedStatus: fate.dsn,
        text: fate.reply ?? '',
      };
      const permanent =
        fate.status === 'bounced' || fate.status === 'expired' || fate.status === 'undeliverable';
      rows.push({
        kind: 'recipient',
        sessionId: session.id,
        depth: t.depth,
        recipientIndex: r.index,
        tsMicros: fate.tsMicros,
        stage: 'after-queue',
        severity: permanent ? 'permanent' : 'temporary',
        code,
        enhancedStatus: fate.dsn,
        enhancedMeaning: enhancedMeaning(fate.dsn),
        text: fate.reply,
        reasonClass: code === null ? null : reasonOf(reply, null),
        client: session.client,
        server: session.server,
        serverName: session.serverName,
        mailFrom: t.mailFrom,
        recipient: r.address,
        queueId: fate.queueId,
        messageId: t.message?.messageId ?? null,
        outcomeUnknown: false,
        explanation: `${afterQueueText(fate)}${code === null ? '' : ` — ${explainReply(reply, { stage: null, recipient: r.address, sender: t.mailFrom })}`}`,
      });
    }
  }
  return rows;
}
