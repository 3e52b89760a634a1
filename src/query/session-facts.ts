/**
 * What the dashboard needs to know about one session to colour, filter, sort and count it, computed once
 * per session object (sessions are immutable, so a WeakMap keyed by the object is a safe cache: a new
 * snapshot of an open session is a new object and gets new facts).
 */

import { addressDomain, isFailedDisposition } from '../model/session-queries.js';
import type { ReasonClass, ReplyRecord, SmtpSession } from '../model/types.js';

/**
 * How a session went, for its colour:
 *  - `delivered`: every recipient (and there was at least one) was delivered;
 *  - `partial`: some recipients or transactions failed, others did not;
 *  - `failed`: everything that was tried failed (a refused greeting, MAIL, RCPT or message);
 *  - `unknown`: nothing decided (no mail tried, or outcomes not captured, or the session still open).
 */
export type SessionOutcome = 'delivered' | 'partial' | 'failed' | 'unknown';

export interface SessionFacts {
  readonly outcome: SessionOutcome;
  /** Recipients delivered. */
  readonly delivered: number;
  /**
   * Failures: refused recipients, plus transactions refused before any recipient (MAIL refused), plus one
   * for a refused greeting, plus failed AUTH attempts when no transaction was tried.
   */
  readonly failed: number;
  readonly recipients: number;
  /** Reason class of every failure counted in `failed` (one entry each; `other` when not classified). */
  readonly reasons: readonly ReasonClass[];
  /** Every reply of the session (greeting first, then command replies in order). */
  readonly replies: readonly ReplyRecord[];
  /** The last reply before QUIT (the reply to QUIT says nothing about the mail); the QUIT reply when alone. */
  readonly lastReply: ReplyRecord | null;
  /** Lower-cased domains of MAIL FROM addresses, and of recipients. */
  readonly senderDomains: readonly string[];
  readonly recipientDomains: readonly string[];
  /** Bytes both ways (payload as reassembled). */
  readonly sizeBytes: number;
  /** Lower-cased text searched by plain filter words. */
  readonly haystack: string;
}

const cache = new WeakMap<SmtpSession, SessionFacts>();

function compute(session: SmtpSession): SessionFacts {
  let delivered = 0;
  let failed = 0;
  let recipients = 0;
  const reasons: ReasonClass[] = [];
  const senderDomains = new Set<string>();
  const recipientDomains = new Set<string>();
  const text: string[] = [session.id, session.client.ip, session.server.ip, session.software, session.end];
  if (session.helo !== null) text.push(session.helo);
  if (session.serverName !== null) text.push(session.serverName);
  for (const a of session.auth) if (a.username !== null) text.push(a.username);

  if (session.greeting !== null && session.greeting.code >= 400) {
    failed++;
    reasons.push('server-unavailable');
  }
  for (const t of session.transactions) {
    if (t.mailFrom !== null) {
      text.push(t.mailFrom);
      const d = addressDomain(t.mailFrom);
      if (d !== null) senderDomains.add(d);
    }
    if (t.message?.subject != null) text.push(t.message.subject);
    if (t.queueId !== null) text.push(t.queueId);
    let transactionFailures = 0;
    for (const r of t.recipients) {
      recipients++;
      text.push(r.address);
      const d = addressDomain(r.address);
      if (d !== null) recipientDomains.add(d);
      if (r.disposition === 'delivered') delivered++;
      else if (isFailedDisposition(r.disposition)) {
        failed++;
        transactionFailures++;
        reasons.push(r.reasonClass ?? 'other');
      }
      if (r.reasonClass !== null) text.push(r.reasonClass);
    }
    if (transactionFailures === 0 && (t.outcome === 'rejected' || t.outcome === 'deferred')) {
      failed++;
      reasons.push(t.reasonClass ?? 'other');
    }
    if (t.reasonClass !== null) text.push(t.reasonClass);
  }
  if (session.transactions.length === 0) {
    for (const a of session.auth) {
      if (a.outcome === 'failure') {
        failed++;
        reasons.push('auth-failed');
      }
    }
  }

  const replies: ReplyRecord[] = [];
  let lastReply: ReplyRecord | null = session.greeting;
  let quitReply: ReplyRecord | null = null;
  if (session.greeting !== null) replies.push(session.greeting);
  for (const c of session.commands) {
    if (c.reply === null) continue;
    replies.push(c.reply);
    if (c.verb === 'QUIT') quitReply = c.reply;
    else lastReply = c.reply;
  }
  lastReply ??= quitReply;
  for (const r of replies) {
    text.push(String(r.code));
    if (r.enhancedStatus !== null) text.push(r.enhancedStatus);
    text.push(r.text);
  }

  let outcome: SessionOutcome;
  const decided = delivered + failed;
  if (failed > 0 && delivered === 0 && decided >= recipients) outcome = 'failed';
  else if (failed > 0) outcome = 'partial';
  else if (delivered > 0 && delivered === recipients) outcome = 'delivered';
  else outcome = 'unknown';

  return {
    outcome,
    delivered,
    failed,
    recipients,
    reasons,
    replies,
    lastReply,
    senderDomains: [...senderDomains],
    recipientDomains: [...recipientDomains],
    sizeBytes: session.flow.c2s.bytes + session.flow.s2c.bytes,
    haystack: text.join('\n').toLowerCase(),
  };
}

export function factsOf(session: SmtpSession): SessionFacts {
  let facts = cache.get(session);
  if (facts === undefined) {
    facts = compute(session);
    cache.set(session, facts);
  }
  return facts;
}
