/**
 * smtpscope against Zeek's smtp.log. Zeek writes one row per transaction (`trans_depth`, 1-based per
 * connection); a connection with no MAIL still gets one row (helo, last_reply, tls). Mapping:
 * - row ↔ session with the same client and server port; within a connection the rows are taken in log order and
 *   the k-th row ↔ the k-th transaction (rule `zeek-trans-depth-order`: Zeek's `trans_depth` counts the messages
 *   delivered so far plus one, so several rows of one connection can share a depth; no transaction: a
 *   session-level row);
 * - helo ↔ session.helo; mailfrom ↔ transaction.mailFrom (Zeek keeps the first address, without brackets or
 *   parameters); rcptto (a set) ↔ the set of recipient addresses (ORCPT and other parameters not part of it);
 * - last_reply ↔ code and last line of the last reply to a command of the transaction (session-level row: last
 *   reply of the session);
 * - from, to ↔ the addresses of the From and To headers (display names dropped on both sides); subject,
 *   msg_id ↔ the message summary as decoded; tls ↔ STARTTLS or implicit TLS seen.
 */

import type { SmtpSession } from '../../../src/model/types.js';
import { bareAddress, type Finding, finding, setValue } from './finding.js';
import { lastReplyOf, replyLine } from './session-views.js';
import { type ZeekRow, zeekList } from './zeek-log.js';

export function compareZeek(
  capture: string,
  rows: readonly ZeekRow[],
  sessions: readonly SmtpSession[],
): Finding[] {
  const out: Finding[] = [];
  /** Rows seen so far per connection: the row's place among its connection's rows. */
  const seen = new Map<string, number>();
  for (const row of rows) {
    const connection = `${row['id.orig_h'] ?? ''}:${row['id.orig_p'] ?? ''}>${row['id.resp_p'] ?? ''}`;
    const depth = (seen.get(connection) ?? 0) + 1;
    seen.set(connection, depth);
    const session = sessions.find(
      (s) =>
        String(s.client.port) === row['id.orig_p'] &&
        String(s.server.port) === row['id.resp_p'] &&
        s.client.ip === row['id.orig_h'],
    );
    const at = `${row['id.orig_p'] ?? '?'}#${depth}`;
    if (session === undefined) {
      out.push(finding(capture, 'zeek', `${at}.session`, 'absent', 'present', { lostSession: true }));
      continue;
    }
    const tx = session.transactions[depth - 1] ?? null;
    if (tx === null && session.transactions.length > 0) {
      out.push(
        finding(
          capture,
          'zeek',
          `${at}.trans_depth`,
          `${session.transactions.length} transactions`,
          `row ${depth} (trans_depth ${row['trans_depth'] ?? '-'})`,
        ),
      );
      continue;
    }
    const msg = tx?.message ?? null;
    out.push(finding(capture, 'zeek', `${at}.helo`, session.helo ?? '-', row['helo'] ?? '-'));
    out.push(finding(capture, 'zeek', `${at}.mailfrom`, tx?.mailFrom ?? '-', row['mailfrom'] ?? '-'));
    out.push(
      finding(
        capture,
        'zeek',
        `${at}.rcptto`,
        setValue(tx?.recipients.map((r) => r.address) ?? []),
        setValue(zeekList(row['rcptto'])),
      ),
    );
    out.push(
      finding(
        capture,
        'zeek',
        `${at}.last_reply`,
        replyLine(lastReplyOf(session, tx === null ? null : tx.depth)),
        row['last_reply'] ?? '-',
      ),
    );
    const zeekFrom = row['from'] ?? '-';
    out.push(
      finding(
        capture,
        'zeek',
        `${at}.from`,
        msg?.from == null ? '-' : bareAddress(msg.from),
        zeekFrom === '-' ? '-' : bareAddress(zeekFrom),
      ),
    );
    out.push(
      finding(
        capture,
        'zeek',
        `${at}.to`,
        setValue((msg?.to ?? []).map(bareAddress)),
        setValue(zeekList(row['to']).map(bareAddress)),
      ),
    );
    out.push(finding(capture, 'zeek', `${at}.subject`, msg?.subject ?? '-', row['subject'] ?? '-'));
    out.push(finding(capture, 'zeek', `${at}.msg_id`, msg?.messageId ?? '-', row['msg_id'] ?? '-'));
    out.push(
      finding(capture, 'zeek', `${at}.tls`, session.tls.mode === 'none' ? 'F' : 'T', row['tls'] ?? '-'),
    );
  }
  return out;
}
