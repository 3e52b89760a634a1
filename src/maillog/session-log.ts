/**
 * A captured session with what the MTA logs say about it. The join (session-join.ts) runs after the session
 * closed and hands the sinks a copy of it with a `maillog` field; sinks read it through these accessors, so a
 * session without logs reads as null everywhere.
 */

import type { SmtpSession } from '../model/types.js';
import type { RecipientFate, SessionLog, TransactionLog } from './types.js';

export type SessionWithLog = SmtpSession & { readonly maillog: SessionLog };

export function withSessionLog(session: SmtpSession, log: SessionLog): SessionWithLog {
  return { ...session, maillog: log };
}

export function sessionLogOf(session: SmtpSession): SessionLog | null {
  const log = (session as Partial<SessionWithLog>).maillog;
  return log === undefined ? null : log;
}

export function transactionLogOf(session: SmtpSession, depth: number): TransactionLog | null {
  return sessionLogOf(session)?.transactions.find((t) => t.depth === depth) ?? null;
}

export function recipientFateOf(session: SmtpSession, depth: number, index: number): RecipientFate | null {
  return transactionLogOf(session, depth)?.recipients.find((r) => r.index === index)?.fate ?? null;
}

/** A fate that is a failure after the queue: the MTA bounced, expired or still defers the recipient. */
export function isLaterFailure(fate: RecipientFate | null): fate is RecipientFate {
  return (
    fate !== null && ['bounced', 'expired', 'deferred', 'undeliverable', 'softbounce'].includes(fate.status)
  );
}

/** One line for people: `bounced by relay 127.0.0.1[127.0.0.1]:2590 (dsn 5.1.1): host ... said: 550 ...`. */
export function describeFate(fate: RecipientFate): string {
  const relay = fate.relay === null || fate.relay === 'none' ? '' : ` via ${fate.relay}`;
  const dsn = fate.dsn === null ? '' : ` (dsn ${fate.dsn})`;
  const tries = fate.attempts > 1 ? `, ${fate.attempts} attempts` : '';
  const reply = fate.reply === null ? '' : `: ${fate.reply}`;
  const ndr =
    fate.notificationQueueId === null
      ? ''
      : `; notification ${fate.notificationQueueId}${fate.notificationSessionId === null ? '' : ` (session ${fate.notificationSessionId})`}`;
  return `${fate.status}${relay}${dsn}${tries} [${fate.queueId}]${reply}${ndr}`;
}
