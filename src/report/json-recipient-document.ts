/**
 * The per-recipient NDJSON level (`--json-level recipients`, docs/JSON.md): one document per RCPT, with its
 * session and transaction as context, so that a query on "recipient bob AND rejected" matches bob's rejection
 * only. Built from the session document (json-document.ts): the same `@timestamp`-less ECS blocks (`source`,
 * `destination`, `network`, `observer`, `log`, `tls`, `user`), `email` of the recipient's transaction with
 * `email.to.address` the one recipient, and under `smtp` the session's fields without its transactions and
 * commands, `smtp.transaction` without its recipient list, and `smtp.recipient` (the envelope recipient is
 * `smtp.recipient.address`; `email.*` stays what the message headers say).
 */

import type { SmtpSession } from '../model/types.js';
import { formatIsoMicros } from './iso-micros.js';
import { type DocumentContext, NO_DOCUMENT_CONTEXT, toSessionDocument } from './json-document.js';

const FAILED = new Set(['rejected-rcpt', 'deferred-rcpt', 'rejected-data', 'deferred-data']);

export function toRecipientDocuments(s: SmtpSession, context: DocumentContext = NO_DOCUMENT_CONTEXT) {
  const session = toSessionDocument(s, context);
  const { transactions, commands, ...smtpSession } = session.smtp;
  const out = [];
  for (const t of s.transactions) {
    const txDoc = transactions.find((x) => x.depth === t.depth);
    if (txDoc === undefined) continue;
    const { recipients, email, ...transaction } = txDoc;
    for (const r of t.recipients) {
      const recipient = recipients.find((x) => x.index === r.index);
      if (recipient === undefined) continue;
      out.push({
        '@timestamp': formatIsoMicros(r.rcptTsMicros),
        event: {
          ...session.event,
          dataset: 'smtpscope.recipient',
          outcome: FAILED.has(r.disposition)
            ? 'failure'
            : r.disposition === 'delivered'
              ? 'success'
              : 'unknown',
        },
        source: session.source,
        destination: session.destination,
        network: session.network,
        observer: session.observer,
        log: session.log,
        tls: session.tls,
        user: session.user,
        email,
        smtp: { ...smtpSession, commands_count: commands.length, transaction, recipient },
      });
    }
  }
  return out;
}

export type RecipientDocument = ReturnType<typeof toRecipientDocuments>[number];
