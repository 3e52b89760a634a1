/**
 * The failures of a session for the bounce report (docs/BOUNCES.md): every refusal and deferral in the
 * traffic, at the stage it happened, with the reply, the meaning of its enhanced status, its reason class and
 * a one-line explanation, and the transactions whose outcome the capture lost. Pure: one session in, its rows
 * out, so the bounce sink computes them as each session closes.
 */

import type { Endpoint } from '../decode/types.js';
import { afterQueueFailures } from '../maillog/after-queue.js';
import { isOutcomeUnknown } from '../model/session-queries.js';
import type {
  CommandRecord,
  FailureStage,
  ReasonClass,
  RecipientRecord,
  ReplyRecord,
  SmtpSession,
  TransactionRecord,
} from '../model/types.js';
import { enhancedMeaning, explainReply, reasonOf } from './failure-text.js';

export type FailureKind = 'session' | 'transaction' | 'recipient';
export type Severity = 'permanent' | 'temporary' | 'unknown';

export const OUTCOME_UNKNOWN_NOTE = 'outcome unknown: possible duplicate delivery if the client retried';

/** One refusal, deferral or lost outcome seen in the traffic. */
export interface FailureRow {
  /** `session`: before any transaction (greeting, HELO, STARTTLS, AUTH); `transaction`: the envelope failed
   * before recipients mattered (MAIL refused, or no recipient to attribute it to); `recipient`: one recipient. */
  readonly kind: FailureKind;
  readonly sessionId: string;
  readonly depth: number | null;
  readonly recipientIndex: number | null;
  readonly tsMicros: number;
  /** `after-queue`: accepted on the wire, failed later by the MTA's log (--maillog, afterQueueFailures). */
  readonly stage: FailureStage | 'after-queue';
  readonly severity: Severity;
  readonly code: number | null;
  readonly enhancedStatus: string | null;
  readonly enhancedMeaning: string | null;
  readonly text: string | null;
  readonly reasonClass: ReasonClass | null;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly serverName: string | null;
  readonly mailFrom: string | null;
  readonly recipient: string | null;
  readonly queueId: string | null;
  readonly messageId: string | null;
  /** The message went out but its final reply was not captured. */
  readonly outcomeUnknown: boolean;
  readonly explanation: string;
}

export const severityOf = (code: number | null): Severity =>
  code === null ? 'unknown' : code >= 500 ? 'permanent' : code >= 400 ? 'temporary' : 'unknown';

const isFailure = (r: ReplyRecord | null): r is ReplyRecord => r !== null && r.code >= 400;

interface RowBase {
  readonly session: SmtpSession;
  readonly transaction: TransactionRecord | null;
}

function replyRow(
  base: RowBase,
  kind: FailureKind,
  stage: FailureStage,
  reply: ReplyRecord,
  recipient: RecipientRecord | null,
): FailureRow {
  const t = base.transaction;
  const reasonClass =
    (recipient?.disposition !== 'delivered' ? recipient?.reasonClass : null) ?? reasonOf(reply, stage);
  return {
    kind,
    sessionId: base.session.id,
    depth: t?.depth ?? null,
    recipientIndex: recipient?.index ?? null,
    tsMicros: reply.tsMicros,
    stage,
    severity: severityOf(reply.code),
    code: reply.code,
    enhancedStatus: reply.enhancedStatus,
    enhancedMeaning: enhancedMeaning(reply.enhancedStatus),
    text: reply.text,
    reasonClass,
    client: base.session.client,
    server: base.session.server,
    serverName: base.session.serverName,
    mailFrom: t?.mailFrom ?? null,
    recipient: recipient?.address ?? null,
    // A refusal at MAIL or RCPT happened before the message was queued: the queue id is other recipients'.
    queueId: stage === 'mail' || stage === 'rcpt' ? null : (t?.queueId ?? null),
    messageId: t?.message?.messageId ?? null,
    outcomeUnknown: false,
    explanation: explainReply(reply, {
      stage,
      recipient: recipient?.address ?? null,
      sender: t?.mailFrom ?? null,
    }),
  };
}

function lostRow(
  base: RowBase,
  kind: FailureKind,
  recipient: RecipientRecord | null,
  tsMicros: number,
  explanation: string,
  outcomeUnknown: boolean,
): FailureRow {
  const t = base.transaction;
  return {
    kind,
    sessionId: base.session.id,
    depth: t?.depth ?? null,
    recipientIndex: recipient?.index ?? null,
    tsMicros,
    stage: t === null ? 'connection' : t.failureStage === 'capture-gap' ? 'capture-gap' : 'connection-lost',
    severity: 'unknown',
    code: null,
    enhancedStatus: null,
    enhancedMeaning: null,
    text: null,
    reasonClass: null,
    client: base.session.client,
    server: base.session.server,
    serverName: base.session.serverName,
    mailFrom: t?.mailFrom ?? null,
    recipient: recipient?.address ?? null,
    queueId: t?.queueId ?? null,
    messageId: t?.message?.messageId ?? null,
    outcomeUnknown,
    explanation,
  };
}

function sessionStage(c: CommandRecord): FailureStage | null {
  switch (c.verb) {
    case 'EHLO':
    case 'HELO':
    case 'LHLO':
      return 'helo';
    case 'STARTTLS':
      return 'starttls';
    case 'AUTH':
    case 'AUTH-RESPONSE':
      return 'auth';
    default:
      return c.reply !== null && c.reply.code === 421 ? 'connection' : null;
  }
}

function transactionStageReply(t: TransactionRecord): ReplyRecord | null {
  switch (t.failureStage) {
    case 'mail':
      return t.mailReply;
    case 'data':
      return t.dataReply;
    case 'end-of-data':
      return t.finalReply;
    default:
      return isFailure(t.finalReply)
        ? t.finalReply
        : isFailure(t.dataReply)
          ? t.dataReply
          : isFailure(t.mailReply)
            ? t.mailReply
            : null;
  }
}

function transactionFailures(session: SmtpSession, t: TransactionRecord): FailureRow[] {
  const base: RowBase = { session, transaction: t };
  const rows: FailureRow[] = [];
  // MAIL refused: the envelope failed as a whole.
  if (isFailure(t.mailReply)) {
    rows.push(replyRow(base, 'transaction', 'mail', t.mailReply, null));
    return rows;
  }
  for (const r of t.recipients) {
    if (isFailure(r.rcptReply)) rows.push(replyRow(base, 'recipient', 'rcpt', r.rcptReply, r));
  }
  const accepted = t.recipients.filter((r) => r.rcptReply === null || r.rcptReply.code < 400);
  const failedAfterRcpt = t.outcome === 'rejected' || t.outcome === 'deferred';
  if (failedAfterRcpt && t.failureStage !== 'rcpt') {
    const stage: FailureStage = t.failureStage ?? (isFailure(t.dataReply) ? 'data' : 'end-of-data');
    const txReply = transactionStageReply(t);
    let any = false;
    for (const r of accepted) {
      const reply = stage === 'data' ? t.dataReply : isFailure(r.finalReply) ? r.finalReply : txReply;
      if (isFailure(reply)) {
        rows.push(replyRow(base, 'recipient', stage, reply, r));
        any = true;
      }
    }
    if (!any && isFailure(txReply)) rows.push(replyRow(base, 'transaction', stage, txReply, null));
  } else if (t.outcome === 'rejected' || t.outcome === 'deferred') {
    // failure stage rcpt: every recipient refused; the RCPT rows already say so. Add a row only if none did.
    if (rows.length === 0) {
      const reply = transactionStageReply(t);
      if (reply !== null) rows.push(replyRow(base, 'transaction', 'rcpt', reply, null));
    }
  } else if (t.outcome === 'accepted') {
    // LMTP: one end-of-data reply per recipient, some of which may refuse.
    for (const r of accepted) {
      if (isFailure(r.finalReply)) rows.push(replyRow(base, 'recipient', 'end-of-data', r.finalReply, r));
    }
  } else if (t.outcome === 'incomplete' || t.outcome === 'unknown') {
    const unknown = isOutcomeUnknown(t);
    const at = t.endedAt ?? session.endedAt;
    const explanation = unknown
      ? t.failureStage === 'capture-gap'
        ? `A gap in the capture hid the end of the message or the server's final reply; the connection went on (${OUTCOME_UNKNOWN_NOTE}).`
        : t.messageComplete
          ? `The message was sent but the server's final reply was not captured (${OUTCOME_UNKNOWN_NOTE}).`
          : `The message was being sent when the capture lost the connection; the final reply was not captured (${OUTCOME_UNKNOWN_NOTE}).`
      : 'The connection was lost before the message was sent: nothing was delivered for this transaction.';
    if (t.outcome === 'unknown' && !unknown) return rows;
    const targets = accepted.length > 0 ? accepted : [null];
    for (const r of targets)
      rows.push(lostRow(base, r === null ? 'transaction' : 'recipient', r, at, explanation, unknown));
  }
  return rows;
}

/** The user name of the AUTH attempt sent at `tsMicros` (the last one sent by then), when the dialogue showed it. */
function authUser(session: SmtpSession, tsMicros: number): string | null {
  const sent = session.auth.filter((a) => a.tsMicros <= tsMicros);
  return (sent[sent.length - 1] ?? session.auth[0])?.username ?? null;
}

/** Failures of one session, in time order. */
export function sessionFailures(session: SmtpSession): FailureRow[] {
  const rows: FailureRow[] = [];
  const base: RowBase = { session, transaction: null };
  if (isFailure(session.greeting)) rows.push(replyRow(base, 'session', 'greeting', session.greeting, null));
  else if (
    session.greeting === null &&
    !session.quality.midstream &&
    session.quality.oneSided === null &&
    session.commands.length === 0 &&
    (session.end === 'rst' || session.end === 'fin-without-quit' || session.end === 'idle-timeout')
  ) {
    rows.push(
      lostRow(
        base,
        'session',
        null,
        session.endedAt,
        `The connection ended (${session.end}) before the server sent a greeting.`,
        false,
      ),
    );
  }
  for (const c of session.commands) {
    if (c.transaction !== null || !isFailure(c.reply)) continue;
    const stage = sessionStage(c);
    if (stage === null) continue;
    const row = replyRow(base, 'session', stage, c.reply, null);
    // A refused login names the user it was for (the secret is never kept here).
    const user = stage === 'auth' ? authUser(session, c.tsMicros) : null;
    rows.push(user === null ? row : { ...row, explanation: `Login as ${user}: ${row.explanation}` });
  }
  for (const t of session.transactions) rows.push(...transactionFailures(session, t));
  rows.push(...afterQueueFailures(session));
  rows.sort((a, b) => a.tsMicros - b.tsMicros);
  return rows;
}
