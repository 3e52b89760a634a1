/**
 * The four tabular levels of a report — sessions, transactions, recipients, commands — as ordered column
 * specs. CSV writes them (csv-sink.ts); other tabular sinks (a database table per level) reuse them.
 * docs/CSV.md documents every column, and a test keeps the two in step.
 *
 * Keys join the levels: `session_id` everywhere, plus `depth` (transaction, 1-based) below sessions.
 * A getter returns the model value: `null` for absent, a number for `int`/`float`, a boolean for `bool`,
 * integer microseconds since the epoch for `time`, and the raw text for `string` (cell safety is the
 * writer's job: see csv-sink.ts).
 */

import { MAILLOG_RECIPIENT_COLUMNS } from '../maillog/log-columns.js';
import { decidingReply, isFailedDisposition, isOutcomeUnknown } from '../model/session-queries.js';
import { tlsDecryptionOf } from '../model/tls-decryption.js';
import type {
  CommandRecord,
  MessageSummary,
  RecipientRecord,
  ReplyRecord,
  SmtpSession,
  TransactionRecord,
} from '../model/types.js';
import type { TlsHello } from '../smtp/types.js';
import { type DsnRow, dsnQueueId, formatHops, parseDiagnostic } from './bounce-dsns.js';
import type { FailureRow } from './bounce-failures.js';
import { explainReply } from './failure-text.js';

export type ColumnType = 'string' | 'int' | 'float' | 'bool' | 'time';
export type CellValue = string | number | boolean | null;

export interface ColumnSpec<Row> {
  /** snake_case, stable: renaming a column is a breaking change. */
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /**
   * The text may hold several lines (a multi-line reply, lines joined by a line feed in the model): a CSV cell
   * joins them with {@link LINE_SEPARATOR}; other writers keep the line feeds.
   */
  readonly lines?: true;
  get(row: Row): CellValue;
}

/** How a CSV cell shows the line breaks of a multi-line reply (docs/CSV.md). */
export const LINE_SEPARATOR = ' | ';

/** The null reverse-path `<>` (what marks a bounce), as a CSV cell shows it; an unknown sender stays empty. */
export const NULL_SENDER = '<>';

/** MAIL FROM as a cell: `<>` for the null path (the model's ''), null (empty) when unknown (midstream). */
export function mailFromCell(mailFrom: string | null): string | null {
  return mailFrom === '' ? NULL_SENDER : mailFrom;
}

export interface TransactionRow {
  readonly session: SmtpSession;
  readonly transaction: TransactionRecord;
}
export interface RecipientRow {
  readonly session: SmtpSession;
  readonly transaction: TransactionRecord;
  readonly recipient: RecipientRecord;
}
export interface CommandRow {
  readonly session: SmtpSession;
  readonly command: CommandRecord;
}

export type LevelName = 'sessions' | 'transactions' | 'recipients' | 'commands';
export const LEVEL_NAMES: readonly LevelName[] = ['sessions', 'transactions', 'recipients', 'commands'];

/** One level with its rows hidden behind `records`, so writers can treat all levels alike. */
export interface Level {
  readonly name: LevelName;
  readonly columns: readonly {
    readonly name: string;
    readonly type: ColumnType;
    readonly description: string;
    readonly lines?: true;
  }[];
  /** The level's rows for one session, each as cells in column order. */
  records(session: SmtpSession): CellValue[][];
}

// ---------------------------------------------------------------------------------------------------------
// Small value helpers (exported for the JSON sink and the bounce report, which show the same values).

const TLS_VERSION = /^(?:TLS|SSL)\s*v?(\d+(?:\.\d+)?)$/i;

/** Negotiated TLS version ("TLS 1.3") from the server hello: the highest version it names. */
export function negotiatedTlsVersion(serverHello: TlsHello | null): string | null {
  if (serverHello === null) return null;
  let best: string | null = null;
  let bestRank = -1;
  for (const v of serverHello.versions) {
    const m = TLS_VERSION.exec(v.trim());
    const rank = m === null ? 0 : (v.trim().toUpperCase().startsWith('SSL') ? 0 : 10) + Number(m[1]);
    if (rank > bestRank) {
      best = v;
      bestRank = rank;
    }
  }
  return best;
}

/** Number of MIME parts that are attachments (disposition attachment, or a file name and not inline). */
export function attachmentCount(message: MessageSummary | null): number {
  if (message === null) return 0;
  let n = 0;
  for (const p of message.parts) {
    if (p.disposition === 'attachment' || (p.filename !== null && p.disposition !== 'inline')) n++;
  }
  return n;
}

/** Anomaly counts by code, in order of first occurrence. */
export function anomalyCounts(session: SmtpSession): { code: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const a of session.anomalies) counts.set(a.code, (counts.get(a.code) ?? 0) + 1);
  return [...counts].map(([code, count]) => ({ code, count }));
}

/** The last reply of the session in time (a command's reply, or the greeting). */
export function lastReply(session: SmtpSession): ReplyRecord | null {
  let last = session.greeting;
  for (const c of session.commands) {
    if (c.reply !== null && (last === null || c.reply.tsMicros >= last.tsMicros)) last = c.reply;
  }
  return last;
}

/** The AUTH attempt that decided the session: the last one. */
function lastAuth(session: SmtpSession) {
  return session.auth.length === 0 ? null : (session.auth[session.auth.length - 1] ?? null);
}

/** A parameter as text ('' for a bare keyword), or null when absent. */
export function paramText(params: Readonly<Record<string, string | true>>, key: string): string | null {
  const v = params[key];
  return v === undefined ? null : v === true ? '' : v;
}

function paramInt(params: Readonly<Record<string, string | true>>, key: string): number | null {
  const v = params[key];
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

function recipientExplanation(row: RecipientRow): string | null {
  const r = row.recipient;
  if (!isFailedDisposition(r.disposition)) return null;
  const reply = decidingReply(r);
  if (reply === null || reply.code < 400) return null;
  const stage = r.rcptReply !== null && r.rcptReply.code >= 400 ? 'rcpt' : row.transaction.failureStage;
  return explainReply(reply, { stage, recipient: r.address, sender: row.transaction.mailFrom });
}

function allRecipients(session: SmtpSession): RecipientRecord[] {
  return session.transactions.flatMap((t) => t.recipients);
}

const durationOrNull = (start: number, end: number | null): number | null =>
  end === null ? null : end - start;

// ---------------------------------------------------------------------------------------------------------

export const SESSION_COLUMNS: readonly ColumnSpec<SmtpSession>[] = [
  {
    name: 'session_id',
    type: 'string',
    description: 'Id of the connection, unique within a run.',
    get: (s) => s.id,
  },
  {
    name: 'started_at',
    type: 'time',
    description: 'First packet of the connection.',
    get: (s) => s.startedAt,
  },
  {
    name: 'started_at_us',
    type: 'int',
    description: '`started_at` in microseconds since the Unix epoch.',
    get: (s) => s.startedAt,
  },
  {
    name: 'ended_at',
    type: 'time',
    description: 'Last packet of the connection (or when it was closed by a timeout).',
    get: (s) => s.endedAt,
  },
  {
    name: 'ended_at_us',
    type: 'int',
    description: '`ended_at` in microseconds since the Unix epoch.',
    get: (s) => s.endedAt,
  },
  {
    name: 'duration_us',
    type: 'int',
    description: '`ended_at_us - started_at_us`.',
    get: (s) => s.endedAt - s.startedAt,
  },
  {
    name: 'client_ip',
    type: 'string',
    description: 'Client address (dotted IPv4 or RFC 5952 IPv6).',
    get: (s) => s.client.ip,
  },
  { name: 'client_port', type: 'int', description: 'Client TCP port.', get: (s) => s.client.port },
  { name: 'server_ip', type: 'string', description: 'Server address.', get: (s) => s.server.ip },
  { name: 'server_port', type: 'int', description: 'Server TCP port.', get: (s) => s.server.port },
  { name: 'protocol', type: 'string', description: '`smtp` or `lmtp`.', get: (s) => s.protocol },
  {
    name: 'orientation',
    type: 'string',
    description: 'How client and server were told apart: `syn`, `port`, `first-speaker` or `guess`.',
    get: (s) => s.orientation,
  },
  {
    name: 'server_name',
    type: 'string',
    description: 'Host name announced in the greeting.',
    get: (s) => s.serverName,
  },
  {
    name: 'software',
    type: 'string',
    description: 'MTA software guessed from the greeting and replies (`unknown` when not recognised).',
    get: (s) => s.software,
  },
  {
    name: 'helo',
    type: 'string',
    description: 'Argument of the last HELO, EHLO or LHLO.',
    get: (s) => s.helo,
  },
  { name: 'helo_verb', type: 'string', description: '`HELO`, `EHLO` or `LHLO`.', get: (s) => s.heloVerb },
  {
    name: 'capabilities',
    type: 'string',
    description: 'EHLO keywords advertised, upper-cased, space-separated, in order.',
    get: (s) => (s.capabilities === null ? null : s.capabilities.keywords.join(' ')),
  },
  {
    name: 'size_limit',
    type: 'int',
    description: 'SIZE advertised in EHLO, in bytes (0: no limit).',
    get: (s) => s.capabilities?.size ?? null,
  },
  {
    name: 'pipelining',
    type: 'bool',
    description: 'PIPELINING advertised.',
    get: (s) => s.capabilities?.pipelining ?? null,
  },
  {
    name: 'chunking',
    type: 'bool',
    description: 'CHUNKING (BDAT) advertised.',
    get: (s) => s.capabilities?.chunking ?? null,
  },
  { name: 'starttls_offered', type: 'bool', description: 'STARTTLS advertised.', get: (s) => s.tls.offered },
  {
    name: 'starttls_refused',
    type: 'bool',
    description: 'STARTTLS was asked for and refused.',
    get: (s) => s.tls.refused,
  },
  {
    name: 'tls_mode',
    type: 'string',
    description: '`none`, `starttls` or `implicit`.',
    get: (s) => s.tls.mode,
  },
  {
    name: 'tls_version',
    type: 'string',
    description: 'Version chosen in the TLS server hello, such as `TLS 1.3`.',
    get: (s) => negotiatedTlsVersion(s.tls.serverHello),
  },
  {
    name: 'tls_cipher',
    type: 'string',
    description: 'Cipher suite chosen in the TLS server hello.',
    get: (s) => s.tls.serverHello?.cipher ?? null,
  },
  {
    name: 'tls_sni',
    type: 'string',
    description: 'Server name indication sent in the TLS client hello.',
    get: (s) => s.tls.clientHello?.sni ?? null,
  },
  {
    name: 'tls_decryption',
    type: 'string',
    description:
      'How TLS was decrypted with a key log, or why not: `decrypted`, `no-key`, `bad-key`, `unsupported`, `not-tls`, `incomplete` or `pending` (docs/TLS.md); empty when no decryption was tried.',
    get: (s) => tlsDecryptionOf(s.tls)?.kind ?? null,
  },
  {
    name: 'auth_mechanism',
    type: 'string',
    description: 'SASL mechanism of the last AUTH attempt.',
    get: (s) => lastAuth(s)?.mechanism ?? null,
  },
  {
    name: 'auth_user',
    type: 'string',
    description: 'User name of the last AUTH attempt, when the mechanism shows it.',
    get: (s) => lastAuth(s)?.username ?? null,
  },
  {
    name: 'auth_outcome',
    type: 'string',
    description: '`success`, `failure`, `aborted` or `unknown` for the last AUTH attempt.',
    get: (s) => lastAuth(s)?.outcome ?? null,
  },
  { name: 'auth_attempts', type: 'int', description: 'Number of AUTH attempts.', get: (s) => s.auth.length },
  {
    name: 'transactions',
    type: 'int',
    description: 'Mail transactions (MAIL commands) kept in the model.',
    get: (s) => s.transactions.length,
  },
  {
    name: 'recipients',
    type: 'int',
    description: 'RCPT commands across all transactions.',
    get: (s) => allRecipients(s).length,
  },
  {
    name: 'recipients_delivered',
    type: 'int',
    description: 'Recipients with disposition `delivered`.',
    get: (s) => allRecipients(s).filter((r) => r.disposition === 'delivered').length,
  },
  {
    name: 'recipients_failed',
    type: 'int',
    description: 'Recipients refused or deferred at RCPT or at end of data.',
    get: (s) => allRecipients(s).filter((r) => isFailedDisposition(r.disposition)).length,
  },
  {
    name: 'end',
    type: 'string',
    description:
      'How the session ended: `quit`, `quit-unanswered`, `server-421`, `rst`, `fin-without-quit`, `idle-timeout`, `end-of-capture` or `evicted`.',
    get: (s) => s.end,
  },
  {
    name: 'close_reason',
    type: 'string',
    description:
      'Why the TCP connection was closed: `fin`, `rst`, `idle-timeout`, `end-of-capture`, `evicted` or `limit`.',
    get: (s) => s.closeReason,
  },
  {
    name: 'greeting_code',
    type: 'int',
    description: 'Code of the server greeting.',
    get: (s) => s.greeting?.code ?? null,
  },
  {
    name: 'last_reply_code',
    type: 'int',
    description: 'Code of the last reply of the session.',
    get: (s) => lastReply(s)?.code ?? null,
  },
  {
    name: 'last_reply_enhanced',
    type: 'string',
    description: 'Enhanced status of the last reply.',
    get: (s) => lastReply(s)?.enhancedStatus ?? null,
  },
  {
    name: 'last_reply_text',
    type: 'string',
    description: 'Text of the last reply (the lines of a multi-line reply joined by ` | `).',
    lines: true,
    get: (s) => lastReply(s)?.text ?? null,
  },
  {
    name: 'bytes_c2s',
    type: 'int',
    description: 'TCP payload bytes client to server.',
    get: (s) => s.flow.c2s.bytes,
  },
  {
    name: 'bytes_s2c',
    type: 'int',
    description: 'TCP payload bytes server to client.',
    get: (s) => s.flow.s2c.bytes,
  },
  {
    name: 'packets_c2s',
    type: 'int',
    description: 'Packets client to server.',
    get: (s) => s.flow.c2s.packets,
  },
  {
    name: 'packets_s2c',
    type: 'int',
    description: 'Packets server to client.',
    get: (s) => s.flow.s2c.packets,
  },
  {
    name: 'gaps',
    type: 'int',
    description: 'Byte ranges missing from the capture (both directions).',
    get: (s) => s.quality.gaps,
  },
  {
    name: 'gap_bytes',
    type: 'int',
    description: 'Bytes missing from the capture (both directions).',
    get: (s) => s.quality.gapBytes,
  },
  {
    name: 'retransmissions',
    type: 'int',
    description: 'Retransmitted segments (both directions).',
    get: (s) => s.quality.retransmissions,
  },
  {
    name: 'overlaps_differing',
    type: 'int',
    description: 'Overlapping segments whose bytes differed.',
    get: (s) => s.quality.overlapsDiffering,
  },
  {
    name: 'midstream',
    type: 'bool',
    description: 'The capture started after the connection did (no handshake).',
    get: (s) => s.quality.midstream,
  },
  {
    name: 'one_sided',
    type: 'string',
    description: '`c2s-only` or `s2c-only` when one direction was never captured.',
    get: (s) => s.quality.oneSided,
  },
  {
    name: 'anomalies',
    type: 'string',
    description:
      'Anomalies as `code:count`, space-separated, in order of first occurrence (docs/SMTP.md lists the codes).',
    get: (s) => {
      const list = anomalyCounts(s);
      return list.length === 0 ? null : list.map((a) => `${a.code}:${a.count}`).join(' ');
    },
  },
  {
    name: 'anomalies_dropped',
    type: 'int',
    description: 'Anomalies not kept because the per-session limit was hit.',
    get: (s) => s.anomaliesDropped,
  },
  {
    name: 'commands_count',
    type: 'int',
    description: 'Commands sent by the client (AUTH responses and end-of-data included), kept or dropped.',
    get: (s) => s.commands.length + s.commandsDropped,
  },
  {
    name: 'commands_dropped',
    type: 'int',
    description: 'Commands not kept because the per-session limit was hit.',
    get: (s) => s.commandsDropped,
  },
  {
    name: 'roles_swapped',
    type: 'bool',
    description: 'ATRN or TURN swapped the roles of client and server.',
    get: (s) => s.rolesSwapped,
  },
];

export const TRANSACTION_COLUMNS: readonly ColumnSpec<TransactionRow>[] = [
  {
    name: 'session_id',
    type: 'string',
    description: 'Joins `sessions.session_id`.',
    get: (r) => r.session.id,
  },
  {
    name: 'depth',
    type: 'int',
    description: 'Position of the transaction in the session, from 1.',
    get: (r) => r.transaction.depth,
  },
  {
    name: 'started_at',
    type: 'time',
    description: 'Time of the MAIL command.',
    get: (r) => r.transaction.startedAt,
  },
  {
    name: 'started_at_us',
    type: 'int',
    description: '`started_at` in microseconds since the Unix epoch.',
    get: (r) => r.transaction.startedAt,
  },
  {
    name: 'ended_at',
    type: 'time',
    description: 'Time of the reply that ended the transaction.',
    get: (r) => r.transaction.endedAt,
  },
  {
    name: 'ended_at_us',
    type: 'int',
    description: '`ended_at` in microseconds since the Unix epoch.',
    get: (r) => r.transaction.endedAt,
  },
  {
    name: 'duration_us',
    type: 'int',
    description: '`ended_at_us - started_at_us`.',
    get: (r) => durationOrNull(r.transaction.startedAt, r.transaction.endedAt),
  },
  {
    name: 'client_ip',
    type: 'string',
    description: 'Client address (copied from the session for convenience).',
    get: (r) => r.session.client.ip,
  },
  {
    name: 'server_ip',
    type: 'string',
    description: 'Server address (copied from the session).',
    get: (r) => r.session.server.ip,
  },
  {
    name: 'mail_from',
    type: 'string',
    description:
      'Reverse path of MAIL FROM without angle brackets; `<>` for the null path (a bounce); empty when unknown (the capture began after MAIL FROM).',
    get: (r) => mailFromCell(r.transaction.mailFrom),
  },
  {
    name: 'mail_size',
    type: 'int',
    description: 'SIZE parameter of MAIL FROM, in bytes.',
    get: (r) => paramInt(r.transaction.mailParams, 'SIZE'),
  },
  {
    name: 'mail_body',
    type: 'string',
    description: 'BODY parameter (`7BIT`, `8BITMIME`, `BINARYMIME`).',
    get: (r) => paramText(r.transaction.mailParams, 'BODY'),
  },
  {
    name: 'mail_smtputf8',
    type: 'bool',
    description: 'SMTPUTF8 parameter present.',
    get: (r) => paramText(r.transaction.mailParams, 'SMTPUTF8') !== null,
  },
  {
    name: 'mail_ret',
    type: 'string',
    description: 'RET parameter (`FULL` or `HDRS`).',
    get: (r) => paramText(r.transaction.mailParams, 'RET'),
  },
  {
    name: 'mail_envid',
    type: 'string',
    description: 'ENVID parameter, as sent (xtext).',
    get: (r) => paramText(r.transaction.mailParams, 'ENVID'),
  },
  {
    name: 'mail_code',
    type: 'int',
    description: 'Reply code to MAIL FROM.',
    get: (r) => r.transaction.mailReply?.code ?? null,
  },
  {
    name: 'recipients',
    type: 'int',
    description: 'RCPT commands in the transaction.',
    get: (r) => r.transaction.recipients.length,
  },
  {
    name: 'recipients_accepted',
    type: 'int',
    description: 'RCPT commands answered 2xx.',
    get: (r) => r.transaction.recipients.filter((x) => x.rcptReply !== null && x.rcptReply.code < 300).length,
  },
  {
    name: 'recipients_refused',
    type: 'int',
    description: 'RCPT commands answered 4xx or 5xx.',
    get: (r) =>
      r.transaction.recipients.filter((x) => x.rcptReply !== null && x.rcptReply.code >= 400).length,
  },
  {
    name: 'recipients_delivered',
    type: 'int',
    description: 'Recipients with disposition `delivered`.',
    get: (r) => r.transaction.recipients.filter((x) => x.disposition === 'delivered').length,
  },
  {
    name: 'mode',
    type: 'string',
    description: '`DATA` or `BDAT`; empty when no message was sent.',
    get: (r) => r.transaction.mode,
  },
  {
    name: 'data_code',
    type: 'int',
    description: 'Reply code to DATA (354 or a refusal).',
    get: (r) => r.transaction.dataReply?.code ?? null,
  },
  {
    name: 'size_bytes',
    type: 'int',
    description: 'Message size seen on the wire after dot-unstuffing (DATA) or as chunk octets (BDAT).',
    get: (r) => r.transaction.sizeBytes,
  },
  { name: 'bdat_chunks', type: 'int', description: 'BDAT chunks.', get: (r) => r.transaction.bdatChunks },
  {
    name: 'message_complete',
    type: 'bool',
    description: 'The whole message body was captured.',
    get: (r) => r.transaction.messageComplete,
  },
  {
    name: 'final_code',
    type: 'int',
    description: 'Code of the reply at end of data.',
    get: (r) => r.transaction.finalReply?.code ?? null,
  },
  {
    name: 'final_enhanced',
    type: 'string',
    description: 'Enhanced status of the reply at end of data.',
    get: (r) => r.transaction.finalReply?.enhancedStatus ?? null,
  },
  {
    name: 'final_text',
    type: 'string',
    description: 'Text of the reply at end of data (lines joined by ` | `).',
    lines: true,
    get: (r) => r.transaction.finalReply?.text ?? null,
  },
  {
    name: 'queue_id',
    type: 'string',
    description: 'Queue id the server gave in its reply at end of data.',
    get: (r) => r.transaction.queueId,
  },
  {
    name: 'outcome',
    type: 'string',
    description: '`accepted`, `rejected`, `deferred`, `aborted`, `incomplete` or `unknown`.',
    get: (r) => r.transaction.outcome,
  },
  {
    name: 'failure_stage',
    type: 'string',
    description:
      'Where a failed transaction failed: `mail`, `rcpt`, `data`, `end-of-data`, `connection-lost` (the connection ended first), `capture-gap` (a gap in the capture hid the final reply) (and session stages).',
    get: (r) => r.transaction.failureStage,
  },
  {
    name: 'reason_class',
    type: 'string',
    description: 'Reason class of the failure (docs/BOUNCES.md lists the classes).',
    get: (r) => r.transaction.reasonClass,
  },
  {
    name: 'outcome_unknown',
    type: 'bool',
    description: 'A message was sent but the final reply was not captured: a retry may deliver it twice.',
    get: (r) => isOutcomeUnknown(r.transaction),
  },
  {
    name: 'subject',
    type: 'string',
    description: 'Subject header, encoded words decoded.',
    get: (r) => r.transaction.message?.subject ?? null,
  },
  {
    name: 'header_from',
    type: 'string',
    description: 'From header.',
    get: (r) => r.transaction.message?.from ?? null,
  },
  {
    name: 'message_id',
    type: 'string',
    description: 'Message-ID header.',
    get: (r) => r.transaction.message?.messageId ?? null,
  },
  {
    name: 'date',
    type: 'string',
    description: 'Date header, as sent.',
    get: (r) => r.transaction.message?.date ?? null,
  },
  {
    name: 'x_mailer',
    type: 'string',
    description: 'User-Agent or X-Mailer header.',
    get: (r) => r.transaction.message?.userAgent ?? null,
  },
  {
    name: 'attachments',
    type: 'int',
    description: 'MIME parts that are attachments.',
    get: (r) => (r.transaction.message === null ? null : attachmentCount(r.transaction.message)),
  },
  {
    name: 'is_dsn',
    type: 'bool',
    description: 'The message is a delivery status notification (RFC 3464).',
    get: (r) => (r.transaction.message?.dsn ?? null) !== null,
  },
  {
    name: 'headers_truncated',
    type: 'bool',
    description: 'The header summary was made from a prefix of the message.',
    get: (r) => r.transaction.message?.truncated ?? null,
  },
];

export const RECIPIENT_COLUMNS: readonly ColumnSpec<RecipientRow>[] = [
  {
    name: 'session_id',
    type: 'string',
    description: 'Joins `sessions.session_id`.',
    get: (r) => r.session.id,
  },
  { name: 'depth', type: 'int', description: 'Joins `transactions.depth`.', get: (r) => r.transaction.depth },
  {
    name: 'index',
    type: 'int',
    description: 'Position of the RCPT command in the transaction, from 1.',
    get: (r) => r.recipient.index,
  },
  {
    name: 'address',
    type: 'string',
    description: 'Forward path of RCPT TO without angle brackets.',
    get: (r) => r.recipient.address,
  },
  {
    name: 'notify',
    type: 'string',
    description: 'NOTIFY parameter (`NEVER` or a list of `SUCCESS`, `FAILURE`, `DELAY`).',
    get: (r) => paramText(r.recipient.params, 'NOTIFY'),
  },
  {
    name: 'orcpt',
    type: 'string',
    description: 'ORCPT parameter, as sent.',
    get: (r) => paramText(r.recipient.params, 'ORCPT'),
  },
  {
    name: 'mail_from',
    type: 'string',
    description: 'Reverse path of the transaction (copied for convenience).',
    get: (r) => mailFromCell(r.transaction.mailFrom),
  },
  {
    name: 'rcpt_at',
    type: 'time',
    description: 'Time of the RCPT command.',
    get: (r) => r.recipient.rcptTsMicros,
  },
  {
    name: 'rcpt_at_us',
    type: 'int',
    description: '`rcpt_at` in microseconds since the Unix epoch.',
    get: (r) => r.recipient.rcptTsMicros,
  },
  {
    name: 'rcpt_code',
    type: 'int',
    description: 'Reply code to RCPT.',
    get: (r) => r.recipient.rcptReply?.code ?? null,
  },
  {
    name: 'rcpt_enhanced',
    type: 'string',
    description: 'Enhanced status of the reply to RCPT.',
    get: (r) => r.recipient.rcptReply?.enhancedStatus ?? null,
  },
  {
    name: 'rcpt_text',
    type: 'string',
    description: 'Text of the reply to RCPT (lines joined by ` | `).',
    lines: true,
    get: (r) => r.recipient.rcptReply?.text ?? null,
  },
  {
    name: 'rcpt_latency_us',
    type: 'int',
    description: 'Microseconds from the RCPT command to its reply.',
    get: (r) =>
      r.recipient.rcptReply === null ? null : r.recipient.rcptReply.tsMicros - r.recipient.rcptTsMicros,
  },
  {
    name: 'final_code',
    type: 'int',
    description: 'Code of the end-of-data reply that applies to this recipient.',
    get: (r) => r.recipient.finalReply?.code ?? null,
  },
  {
    name: 'final_enhanced',
    type: 'string',
    description: 'Enhanced status of that reply.',
    get: (r) => r.recipient.finalReply?.enhancedStatus ?? null,
  },
  {
    name: 'disposition',
    type: 'string',
    description:
      '`delivered`, `rejected-rcpt`, `deferred-rcpt`, `rejected-data`, `deferred-data`, `not-sent` or `unknown`.',
    get: (r) => r.recipient.disposition,
  },
  {
    name: 'reason_class',
    type: 'string',
    description: 'Reason class of the deciding failure reply.',
    get: (r) => r.recipient.reasonClass,
  },
  {
    name: 'explanation',
    type: 'string',
    description: 'One-line explanation of the failure, for failed recipients.',
    get: recipientExplanation,
  },
  // MTA log correlation (--maillog, docs/MAILLOG.md): empty without it or when the logs say nothing.
  ...MAILLOG_RECIPIENT_COLUMNS,
];

export const COMMAND_COLUMNS: readonly ColumnSpec<CommandRow>[] = [
  {
    name: 'session_id',
    type: 'string',
    description: 'Joins `sessions.session_id`.',
    get: (r) => r.session.id,
  },
  {
    name: 'seq',
    type: 'int',
    description: 'Position of the command in the session, from 0.',
    get: (r) => r.command.seq,
  },
  {
    name: 'depth',
    type: 'int',
    description:
      'Transaction the command belongs to (joins `transactions.depth`); empty for session commands.',
    get: (r) => r.command.transaction,
  },
  {
    name: 'verb',
    type: 'string',
    description:
      'Verb, upper-case; `UNKNOWN` for unrecognised ones, `AUTH-RESPONSE` for lines of an AUTH exchange, `END-OF-DATA` for the end of a message.',
    get: (r) => r.command.verb,
  },
  { name: 'verb_text', type: 'string', description: 'The verb as sent.', get: (r) => r.command.verbText },
  {
    name: 'argument',
    type: 'string',
    description: 'Argument; AUTH secrets are redacted unless they were asked for.',
    get: (r) => r.command.argument,
  },
  { name: 'sent_at', type: 'time', description: 'Time of the command.', get: (r) => r.command.tsMicros },
  {
    name: 'sent_at_us',
    type: 'int',
    description: '`sent_at` in microseconds since the Unix epoch.',
    get: (r) => r.command.tsMicros,
  },
  { name: 'reply_code', type: 'int', description: 'Reply code.', get: (r) => r.command.reply?.code ?? null },
  {
    name: 'reply_enhanced',
    type: 'string',
    description: 'Enhanced status of the reply.',
    get: (r) => r.command.reply?.enhancedStatus ?? null,
  },
  {
    name: 'reply_text',
    type: 'string',
    description: 'Reply text (the lines of a multi-line reply joined by ` | `).',
    lines: true,
    get: (r) => r.command.reply?.text ?? null,
  },
  {
    name: 'reply_at',
    type: 'time',
    description: 'Time of the reply.',
    get: (r) => r.command.reply?.tsMicros ?? null,
  },
  {
    name: 'reply_at_us',
    type: 'int',
    description: '`reply_at` in microseconds since the Unix epoch.',
    get: (r) => r.command.reply?.tsMicros ?? null,
  },
  {
    name: 'latency_us',
    type: 'int',
    description: 'Microseconds from the command to its reply.',
    get: (r) => r.command.latencyMicros,
  },
  {
    name: 'pipelined',
    type: 'bool',
    description: 'Sent while earlier commands still awaited replies.',
    get: (r) => r.command.pipelined,
  },
  {
    name: 'encrypted',
    type: 'bool',
    description:
      'Sent inside TLS and read from decrypted bytes (`--tls-keylog`, docs/TLS.md); `false` for commands in clear.',
    get: (r) => r.command.encrypted === true,
  },
];

function defineLevel<Row>(
  name: LevelName,
  columns: readonly ColumnSpec<Row>[],
  rows: (session: SmtpSession) => readonly Row[],
): Level {
  return {
    name,
    columns: columns.map(({ name: n, type, description, lines }) => ({
      name: n,
      type,
      description,
      ...(lines === undefined ? {} : { lines }),
    })),
    records(session) {
      const out: CellValue[][] = [];
      for (const row of rows(session)) {
        const cells = new Array<CellValue>(columns.length);
        for (let i = 0; i < columns.length; i++) cells[i] = columns[i]!.get(row);
        out.push(cells);
      }
      return out;
    },
  };
}

export const LEVELS: Readonly<Record<LevelName, Level>> = {
  sessions: defineLevel('sessions', SESSION_COLUMNS, (s) => [s]),
  transactions: defineLevel('transactions', TRANSACTION_COLUMNS, (s) =>
    s.transactions.map((transaction) => ({ session: s, transaction })),
  ),
  recipients: defineLevel('recipients', RECIPIENT_COLUMNS, (s) =>
    s.transactions.flatMap((transaction) =>
      transaction.recipients.map((recipient) => ({ session: s, transaction, recipient })),
    ),
  ),
  commands: defineLevel('commands', COMMAND_COLUMNS, (s) =>
    s.commands.map((command) => ({ session: s, command })),
  ),
};

// ---------------------------------------------------------------------------------------------------------
// The bounce level (bounces.csv, `smtpscope bounces --csv`; docs/BOUNCES.md): not one of LEVEL_NAMES, which
// every analysis writes; the bounce sink writes it.

/** One row of bounces.csv: a failure seen in the traffic, or a DSN recipient. */
export type BounceCsvRow =
  | { readonly source: 'reply'; readonly row: FailureRow }
  | { readonly source: 'dsn'; readonly row: DsnRow };

const f = <T>(r: BounceCsvRow, onFailure: (x: FailureRow) => T, onDsn: (x: DsnRow) => T): T =>
  r.source === 'reply' ? onFailure(r.row) : onDsn(r.row);

export const BOUNCE_COLUMNS: readonly ColumnSpec<BounceCsvRow>[] = [
  {
    name: 'source',
    type: 'string',
    description:
      '`reply`: a refusal seen in the traffic; `dsn`: a recipient of a delivery status notification seen in the traffic.',
    get: (r) => r.source,
  },
  {
    name: 'time',
    type: 'time',
    description: "Time of the deciding reply (for `dsn`: of the DSN's MAIL command).",
    get: (r) => r.row.tsMicros,
  },
  {
    name: 'time_us',
    type: 'int',
    description: '`time` in microseconds since the Unix epoch.',
    get: (r) => r.row.tsMicros,
  },
  {
    name: 'session_id',
    type: 'string',
    description: 'Joins `sessions.session_id` (for `dsn`: the session carrying the DSN).',
    get: (r) => r.row.sessionId,
  },
  {
    name: 'depth',
    type: 'int',
    description: 'Joins `transactions.depth`; empty for session-level failures.',
    get: (r) => r.row.depth,
  },
  {
    name: 'recipient_index',
    type: 'int',
    description: 'Joins `recipients.index`, for recipient rows.',
    get: (r) =>
      f(
        r,
        (x) => x.recipientIndex,
        () => null,
      ),
  },
  {
    name: 'kind',
    type: 'string',
    description: '`session`, `transaction`, `recipient` or `dsn`.',
    get: (r) =>
      f(
        r,
        (x) => x.kind,
        () => 'dsn',
      ),
  },
  {
    name: 'stage',
    type: 'string',
    description:
      '`connection`, `greeting`, `helo`, `starttls`, `auth`, `mail`, `rcpt`, `data`, `end-of-data`, `connection-lost`, `capture-gap` or `after-queue` (with `--maillog`: accepted on the wire, failed later); empty for `dsn`.',
    get: (r) =>
      f(
        r,
        (x) => x.stage,
        () => null,
      ),
  },
  {
    name: 'severity',
    type: 'string',
    description: '`permanent` (5xx), `temporary` (4xx) or `unknown`.',
    get: (r) => r.row.severity,
  },
  {
    name: 'code',
    type: 'int',
    description: 'Reply code (for `dsn`: the code in the Diagnostic-Code field).',
    get: (r) =>
      f(
        r,
        (x) => x.code,
        (x) => parseDiagnostic(x.diagnosticCode).code,
      ),
  },
  {
    name: 'enhanced',
    type: 'string',
    description: 'Enhanced status code (for `dsn`: the Status field).',
    get: (r) =>
      f(
        r,
        (x) => x.enhancedStatus,
        (x) => x.status,
      ),
  },
  {
    name: 'enhanced_meaning',
    type: 'string',
    description: 'Meaning of the enhanced status code (RFC 3463 and the IANA registry).',
    get: (r) =>
      f(
        r,
        (x) => x.enhancedMeaning,
        (x) => x.statusMeaning,
      ),
  },
  {
    name: 'text',
    type: 'string',
    description: 'Server reply text (for `dsn`: the Diagnostic-Code field).',
    get: (r) =>
      f(
        r,
        (x) => x.text,
        (x) => x.diagnosticCode,
      ),
  },
  {
    name: 'reason_class',
    type: 'string',
    description: 'Reason class (see the list above).',
    get: (r) => r.row.reasonClass,
  },
  { name: 'client_ip', type: 'string', description: 'Client address.', get: (r) => r.row.client.ip },
  { name: 'client_port', type: 'int', description: 'Client port.', get: (r) => r.row.client.port },
  { name: 'server_ip', type: 'string', description: 'Server address.', get: (r) => r.row.server.ip },
  { name: 'server_port', type: 'int', description: 'Server port.', get: (r) => r.row.server.port },
  {
    name: 'server_name',
    type: 'string',
    description: 'Host name from the server greeting (for `dsn`: the Remote-MTA field).',
    get: (r) =>
      f(
        r,
        (x) => x.serverName,
        (x) => x.remoteMta,
      ),
  },
  {
    name: 'mail_from',
    type: 'string',
    description:
      "Envelope sender; empty for `<>` (for `dsn`: the original sender — the joined transaction's, else the DSN's recipients).",
    get: (r) =>
      f(
        r,
        (x) => x.mailFrom,
        (x) => x.original?.mailFrom ?? (x.notified.join(' ') || null),
      ),
  },
  {
    name: 'recipient',
    type: 'string',
    description: 'The recipient that failed (for `dsn`: the Final-Recipient address).',
    get: (r) =>
      f(
        r,
        (x) => x.recipient,
        (x) => x.finalRecipient,
      ),
  },
  {
    name: 'queue_id',
    type: 'string',
    description:
      'Queue id the server gave the message at end of data; empty for a refusal at MAIL or RCPT (the message was not queued for it) and when the reply named none (for `dsn`: of the joined original, else of the latest earlier hop of the same message that has one).',
    get: (r) =>
      f(
        r,
        (x) => x.queueId,
        (x) => dsnQueueId(x.original),
      ),
  },
  {
    name: 'message_id',
    type: 'string',
    description: 'Message-ID of the message (for `dsn`: the original Message-ID it reports on).',
    get: (r) =>
      f(
        r,
        (x) => x.messageId,
        (x) => x.originalMessageId,
      ),
  },
  {
    name: 'outcome_unknown',
    type: 'bool',
    description:
      'The message was sent but its final reply was not captured: possible duplicate delivery if the client retried.',
    get: (r) =>
      f(
        r,
        (x) => x.outcomeUnknown,
        () => false,
      ),
  },
  {
    name: 'explanation',
    type: 'string',
    description: 'One-line explanation.',
    get: (r) => r.row.explanation,
  },
  {
    name: 'dsn_action',
    type: 'string',
    description: 'Action field of the DSN (`failed`, `delayed`, `delivered`, `relayed`, `expanded`).',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => x.action,
      ),
  },
  {
    name: 'dsn_reporting_mta',
    type: 'string',
    description: 'Reporting-MTA field of the DSN.',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => x.reportingMta,
      ),
  },
  {
    name: 'original_session_id',
    type: 'string',
    description: 'For `dsn`: session of the original transaction, when in the capture.',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => x.original?.sessionId ?? null,
      ),
  },
  {
    name: 'original_depth',
    type: 'int',
    description: 'For `dsn`: depth of the original transaction.',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => x.original?.depth ?? null,
      ),
  },
  {
    name: 'matched_by',
    type: 'string',
    description: 'For `dsn`: how the original was found, `message-id` or `recipient`.',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => x.original?.matchedBy ?? null,
      ),
  },
  {
    name: 'original_hops',
    type: 'string',
    description:
      'For `dsn`: every transaction in the capture that carried the original Message-ID, oldest first, as `session_id#depth` with ` queue QUEUEID` when it had one, separated by `, `.',
    get: (r) =>
      f(
        r,
        () => null,
        (x) => (x.original === null ? null : formatHops(x.original.hops)),
      ),
  },
];

/** The rows of bounces.csv for a set of failures and DSNs: the failures, then the DSN recipients. */
export function bounceCsvRows(report: {
  readonly failures: readonly FailureRow[];
  readonly dsns: readonly DsnRow[];
}): BounceCsvRow[] {
  return [
    ...report.failures.map((row) => ({ source: 'reply' as const, row })),
    ...report.dsns.map((row) => ({ source: 'dsn' as const, row })),
  ];
}
