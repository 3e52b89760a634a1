/**
 * Views of smtpscope sessions shaped like the peers' records, so that a comparison reads field by field. Each
 * function says which part of the model it maps and how; docs/CONFORMANCE.md repeats the mapping.
 */

import type { ReplyRecord, SmtpSession, TransactionRecord } from '../../../src/model/types.js';

/** `code` + space + the reply's last line, as Zeek writes `last_reply`. */
export function replyLine(reply: ReplyRecord | null): string {
  if (reply === null) return '-';
  const lines = reply.text.split('\n');
  const last = lines[lines.length - 1] ?? '';
  return last === '' ? String(reply.code) : `${reply.code} ${last}`;
}

/** The last reply smtpscope attached to a command of the transaction (or of the session when depth is null). */
export function lastReplyOf(session: SmtpSession, depth: number | null): ReplyRecord | null {
  let last: ReplyRecord | null = null;
  for (const c of session.commands) {
    if ((depth === null || c.transaction === depth) && c.reply !== null) last = c.reply;
  }
  if (depth === null && last === null) last = session.greeting;
  return last;
}

/** Every reply in the session: the greeting and each command's reply, in order. */
export function repliesOf(session: SmtpSession): ReplyRecord[] {
  const out: ReplyRecord[] = [];
  if (session.greeting !== null) out.push(session.greeting);
  for (const c of session.commands) if (c.reply !== null) out.push(c.reply);
  return out;
}

/** Whether any client command or server reply was decoded (an SMTP dialogue, not just a TCP connection). */
export function hasDialogue(session: SmtpSession): boolean {
  return session.commands.length > 0 || session.greeting !== null || session.tls.mode === 'implicit';
}

export function transactionsOf(session: SmtpSession): readonly TransactionRecord[] {
  return session.transactions;
}
