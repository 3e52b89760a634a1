/**
 * The MTA log fields of the NDJSON documents (docs/JSON.md, docs/MAILLOG.md): per recipient its later fate,
 * per transaction the queue id it was joined to, per session the queue-less refusals. Null without `--maillog`
 * or when the logs say nothing, so every document keeps the same keys.
 */

import type { SmtpSession } from '../model/types.js';
import { formatIsoMicros } from '../report/iso-micros.js';
import { recipientFateOf, sessionLogOf, transactionLogOf } from './session-log.js';
import type { LogReject } from './types.js';

function reject(r: LogReject, referenceMicros: number) {
  return {
    stage: r.stage,
    action: r.action,
    code: r.code,
    enhanced_status: r.enhancedStatus,
    text: r.text,
    from: r.from,
    to: r.to,
    queue_id: r.queueId,
    // Yearless stamps: shown in the capture's year (the join's alignment is per session).
    time: formatIsoMicros(alignedTime(r.origin.tsMicros, r.origin.yearless, referenceMicros)),
  };
}

function alignedTime(ts: number, yearless: boolean, reference: number): number {
  if (!yearless) return ts;
  const d = new Date(ts / 1000);
  d.setUTCFullYear(new Date(reference / 1000).getUTCFullYear());
  return d.getTime() * 1000 + (ts % 1000);
}

export function recipientLogDocument(session: SmtpSession, depth: number, index: number) {
  const f = recipientFateOf(session, depth, index);
  if (f === null) return null;
  return {
    mta: f.mta,
    queue_id: f.queueId,
    status: f.status,
    dsn: f.dsn,
    relay: f.relay,
    delay_s: f.delaySeconds,
    reply: f.reply,
    time: formatIsoMicros(f.tsMicros),
    attempts: f.attempts,
    notification_queue_id: f.notificationQueueId,
    notification_session_id: f.notificationSessionId,
  };
}

export function transactionLogDocument(session: SmtpSession, depth: number) {
  const t = transactionLogOf(session, depth);
  if (t === null) return null;
  return {
    mta: t.mta,
    queue_id: t.queueId,
    joined_by: t.joinedBy,
    sender_queue_id: t.senderQueueId,
    rejects: t.rejects.map((r) => reject(r, session.startedAt)),
    notification_for_queue_id: t.notificationFor?.queueId ?? null,
    notification_for_session_id: t.notificationFor?.sessionId ?? null,
  };
}

export function sessionLogRejects(session: SmtpSession) {
  return (sessionLogOf(session)?.rejects ?? []).map((r) => reject(r, session.startedAt));
}
