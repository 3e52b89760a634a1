/**
 * Bounce troubleshooting (docs/BOUNCES.md): every refusal and deferral in the traffic, at the stage it
 * happened, with the reply, the meaning of its enhanced status, its reason class and a one-line explanation;
 * delivery status notifications seen in the traffic, joined to the message they report on when that
 * message is in the capture; and counts grouped by reason class, server, sender domain and recipient domain.
 *
 * Pure functions over sessions; formatting for the terminal is `formatBounceReport`, CSV rows use
 * {@link BOUNCE_COLUMNS} (bounce-sink.ts writes both).
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Endpoint } from '../decode/types.js';
import { addressDomain } from '../model/session-queries.js';
import type {
  CommandRecord,
  FailureStage,
  ReasonClass,
  RecipientRecord,
  ReplyRecord,
  SmtpSession,
  TransactionRecord,
} from '../model/types.js';
import { clip, safeText, table } from '../util/display-text.js';
import { type ColumnSpec, isOutcomeUnknown } from './columns.js';
import { createCsvFormatter } from './csv-format.js';
import { enhancedMeaning, explainReply, reasonOf } from './failure-text.js';
import { formatIsoMicros } from './iso-micros.js';
import { createOutputFile } from './output-file.js';

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
  readonly stage: FailureStage;
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

/** One transaction of the capture that carried the message a DSN reports on. */
export interface DsnHop {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly server: Endpoint;
  readonly queueId: string | null;
}

export interface DsnOriginal {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly mailFrom: string | null;
  readonly queueId: string | null;
  readonly matchedBy: 'message-id' | 'recipient';
  /**
   * Every transaction before the DSN that carried the same Message-ID (the original itself included), oldest
   * first: a message relayed through several servers in the capture has one per hop, and often only the
   * hop into the reporting MTA has a queue id. With `matchedBy: 'recipient'`, the original alone.
   */
  readonly hops: readonly DsnHop[];
}

/** One recipient of a delivery status notification carried in the traffic (MAIL FROM:<>). */
export interface DsnRow {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Who the DSN was sent to (its envelope recipients): the original sender. */
  readonly notified: readonly string[];
  readonly reportingMta: string | null;
  readonly action: string | null;
  readonly status: string | null;
  readonly statusMeaning: string | null;
  readonly diagnosticCode: string | null;
  readonly remoteMta: string | null;
  readonly finalRecipient: string | null;
  readonly originalRecipient: string | null;
  readonly originalMessageId: string | null;
  readonly originalEnvelopeId: string | null;
  readonly severity: Severity;
  readonly reasonClass: ReasonClass | null;
  readonly explanation: string | null;
  /** The transaction the DSN reports on, when it is in the capture. */
  readonly original: DsnOriginal | null;
}

export interface GroupCount {
  readonly key: string;
  readonly count: number;
}

export interface BounceGroups {
  readonly reasonClass: readonly GroupCount[];
  /** `<server ip>` or `<server ip> (<server name>)`. */
  readonly server: readonly GroupCount[];
  readonly senderDomain: readonly GroupCount[];
  readonly recipientDomain: readonly GroupCount[];
}

export interface BounceReport {
  readonly failures: readonly FailureRow[];
  readonly dsns: readonly DsnRow[];
  readonly groups: BounceGroups;
}

// ---------------------------------------------------------------------------------------------------------

const severityOf = (code: number | null): Severity =>
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
    if (stage !== null) rows.push(replyRow(base, 'session', stage, c.reply, null));
  }
  for (const t of session.transactions) rows.push(...transactionFailures(session, t));
  rows.sort((a, b) => a.tsMicros - b.tsMicros);
  return rows;
}

// ---------------------------------------------------------------------------------------------------------
// DSNs

/** `rfc822; bob@example.net` → `bob@example.net` (lower-cased). */
export function dsnAddress(value: string | null): string | null {
  if (value === null) return null;
  const semi = value.indexOf(';');
  const addr = (semi === -1 ? value : value.slice(semi + 1)).trim().replace(/^<|>$/g, '');
  return addr === '' ? null : addr.toLowerCase();
}

const normalizeMessageId = (id: string | null): string | null => {
  if (id === null) return null;
  const v = id.trim().replace(/^<|>$/g, '').trim();
  return v === '' ? null : v;
};

/** `smtp; 550 5.1.1 text` → the code and the text after `smtp;`. */
function parseDiagnostic(diagnostic: string | null): { code: number | null; text: string } {
  if (diagnostic === null) return { code: null, text: '' };
  const semi = diagnostic.indexOf(';');
  const text = (semi === -1 ? diagnostic : diagnostic.slice(semi + 1)).trim();
  const m = /^([245]\d\d)[\s-]/.exec(text);
  return { code: m === null ? null : Number(m[1]), text };
}

interface OriginalCandidate {
  readonly session: SmtpSession;
  readonly transaction: TransactionRecord;
}

function findOriginal(
  byMessageId: ReadonlyMap<string, OriginalCandidate[]>,
  byRecipient: ReadonlyMap<string, OriginalCandidate[]>,
  messageId: string | null,
  recipient: string | null,
  notified: readonly string[],
  beforeMicros: number,
): DsnOriginal | null {
  const pick = (
    list: readonly OriginalCandidate[] | undefined,
    matchedBy: DsnOriginal['matchedBy'],
  ): DsnOriginal | null => {
    if (list === undefined) return null;
    let best: OriginalCandidate | null = null;
    let bestScore = -1;
    for (const c of list) {
      if (c.transaction.startedAt > beforeMicros) continue;
      const senderMatches =
        c.transaction.mailFrom !== null && notified.includes(c.transaction.mailFrom.toLowerCase());
      const score = senderMatches ? 1 : 0;
      if (
        score > bestScore ||
        (score === bestScore && best !== null && c.transaction.startedAt > best.transaction.startedAt)
      ) {
        best = c;
        bestScore = score;
      }
    }
    if (best === null) return null;
    const hopOf = (c: OriginalCandidate): DsnHop => ({
      sessionId: c.session.id,
      depth: c.transaction.depth,
      tsMicros: c.transaction.startedAt,
      server: c.session.server,
      queueId: c.transaction.queueId,
    });
    const hops =
      matchedBy === 'recipient'
        ? [hopOf(best)]
        : list
            .filter((c) => c.transaction.startedAt <= beforeMicros)
            .sort((a, b) => a.transaction.startedAt - b.transaction.startedAt)
            .map(hopOf);
    return {
      sessionId: best.session.id,
      depth: best.transaction.depth,
      tsMicros: best.transaction.startedAt,
      mailFrom: best.transaction.mailFrom,
      queueId: best.transaction.queueId,
      matchedBy,
      hops,
    };
  };
  const id = normalizeMessageId(messageId);
  const byId = id === null ? null : pick(byMessageId.get(id), 'message-id');
  if (byId !== null) return byId;
  return recipient === null ? null : pick(byRecipient.get(recipient), 'recipient');
}

/** Every DSN recipient carried by a transaction with the null reverse path, joined to its original. */
export function collectDsns(sessions: readonly SmtpSession[]): DsnRow[] {
  const byMessageId = new Map<string, OriginalCandidate[]>();
  const byRecipient = new Map<string, OriginalCandidate[]>();
  const add = (map: Map<string, OriginalCandidate[]>, key: string, c: OriginalCandidate): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [c]);
    else list.push(c);
  };
  for (const session of sessions) {
    for (const transaction of session.transactions) {
      if (transaction.mailFrom === '' || transaction.message?.dsn) continue;
      const c = { session, transaction };
      const id = normalizeMessageId(transaction.message?.messageId ?? null);
      if (id !== null) add(byMessageId, id, c);
      for (const r of transaction.recipients) add(byRecipient, r.address.toLowerCase(), c);
    }
  }
  const rows: DsnRow[] = [];
  for (const session of sessions) {
    for (const t of session.transactions) {
      const dsn = t.message?.dsn ?? null;
      if (t.mailFrom !== '' || dsn === null) continue;
      const notified = t.recipients.map((r) => r.address.toLowerCase());
      for (const r of dsn.recipients) {
        const finalRecipient = dsnAddress(r.finalRecipient);
        const originalRecipient = dsnAddress(r.originalRecipient);
        const diag = parseDiagnostic(r.diagnosticCode);
        const statusClass = r.status === null ? null : Number(r.status.charAt(0));
        const code = diag.code ?? (statusClass === 5 ? 550 : statusClass === 4 ? 450 : null);
        const isFail = code !== null && code >= 400;
        const reply = { code: code ?? 0, enhancedStatus: r.status, text: diag.text };
        rows.push({
          sessionId: session.id,
          depth: t.depth,
          tsMicros: t.startedAt,
          client: session.client,
          server: session.server,
          notified,
          reportingMta: dsn.reportingMta,
          action: r.action,
          status: r.status,
          statusMeaning: enhancedMeaning(r.status),
          diagnosticCode: r.diagnosticCode,
          remoteMta: r.remoteMta,
          finalRecipient,
          originalRecipient,
          originalMessageId: dsn.originalMessageId,
          originalEnvelopeId: dsn.originalEnvelopeId,
          severity: severityOf(code),
          reasonClass: isFail ? reasonOf(reply, null) : null,
          explanation: isFail ? explainReply(reply, { stage: null, recipient: finalRecipient }) : null,
          original: findOriginal(
            byMessageId,
            byRecipient,
            dsn.originalMessageId,
            originalRecipient ?? finalRecipient,
            notified,
            t.startedAt,
          ),
        });
      }
    }
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------

/** The group key of an address's domain ({@link addressDomain}); `(null sender)` for `<>`, `(none)` when absent. */
function domainGroupKey(address: string | null): string {
  if (address === null) return '(none)';
  if (address === '') return '(null sender)';
  return addressDomain(address) ?? '(no domain)';
}

function count(rows: readonly FailureRow[], key: (r: FailureRow) => string): GroupCount[] {
  const counts = new Map<string, number>();
  for (const r of rows) {
    const k = key(r);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts]
    .map(([k, n]) => ({ key: k, count: n }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

export function groupFailures(rows: readonly FailureRow[]): BounceGroups {
  return {
    reasonClass: count(
      rows,
      (r) => r.reasonClass ?? (r.outcomeUnknown ? 'outcome-unknown' : '(unclassified)'),
    ),
    server: count(rows, (r) => (r.serverName === null ? r.server.ip : `${r.server.ip} (${r.serverName})`)),
    senderDomain: count(rows, (r) => domainGroupKey(r.mailFrom)),
    recipientDomain: count(rows, (r) => domainGroupKey(r.recipient)),
  };
}

export function buildBounceReport(failures: readonly FailureRow[], dsns: readonly DsnRow[]): BounceReport {
  return { failures, dsns, groups: groupFailures(failures) };
}

/** The bounce report of a set of sessions. */
export function collectFailures(sessions: readonly SmtpSession[]): BounceReport {
  const failures = sessions.flatMap(sessionFailures).sort((a, b) => a.tsMicros - b.tsMicros);
  return buildBounceReport(failures, collectDsns(sessions));
}

// ---------------------------------------------------------------------------------------------------------
// CSV rows (bounces.csv)

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
      '`connection`, `greeting`, `helo`, `starttls`, `auth`, `mail`, `rcpt`, `data`, `end-of-data`, `connection-lost` or `capture-gap`; empty for `dsn`.',
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

/** The joined original's queue id, else the latest earlier hop's that has one. */
function dsnQueueId(original: DsnOriginal | null): string | null {
  if (original === null) return null;
  if (original.queueId !== null) return original.queueId;
  for (let i = original.hops.length - 1; i >= 0; i--) {
    const q = original.hops[i]?.queueId ?? null;
    if (q !== null) return q;
  }
  return null;
}

function formatHops(hops: readonly DsnHop[]): string {
  return hops
    .map((h) => `${h.sessionId}#${h.depth}${h.queueId === null ? '' : ` queue ${h.queueId}`}`)
    .join(', ');
}

export function bounceCsvRows(report: Pick<BounceReport, 'failures' | 'dsns'>): BounceCsvRow[] {
  return [
    ...report.failures.map((row) => ({ source: 'reply' as const, row })),
    ...report.dsns.map((row) => ({ source: 'dsn' as const, row })),
  ];
}

/** bounces.csv text (header and rows) for a report. */
export function formatBounceCsv(
  report: Pick<BounceReport, 'failures' | 'dsns'>,
  options: { crlf?: boolean } = {},
): string {
  const formatter = createCsvFormatter(BOUNCE_COLUMNS, options.crlf === true ? { crlf: true } : {});
  return (
    formatter.header + formatter.format(bounceCsvRows(report).map((r) => BOUNCE_COLUMNS.map((c) => c.get(r))))
  );
}

/**
 * Writes bounces.csv atomically to `path` (`-`: standard output; an existing directory: `bounces.csv` in it).
 */
export async function writeBounceCsv(
  report: Pick<BounceReport, 'failures' | 'dsns'>,
  path: string,
  options: { stdout?: NodeJS.WritableStream } = {},
): Promise<void> {
  let target = path;
  if (path !== '-') {
    const st = await stat(path).catch(() => null);
    if (st?.isDirectory()) target = join(path, 'bounces.csv');
  }
  const out = createOutputFile(target, {
    append: false,
    header: '',
    ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
  });
  try {
    await out.write(formatBounceCsv(report));
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Terminal text

const MAX_CELL = 48;

const cell = (s: string | null | undefined, width = MAX_CELL): string =>
  s === null || s === undefined || s === '' ? '-' : clip(s, width);
const addr = (s: string | null): string => (s === null ? '-' : s === '' ? '<>' : clip(s, MAX_CELL));
const shortTime = (us: number): string => formatIsoMicros(us).replace('T', ' ').slice(0, 23);

/** The report as aligned plain text; every string from the wire passes through {@link safeText}. */
export function formatBounceReport(report: BounceReport): string {
  const out: string[] = [];
  const failures = report.failures;
  const perm = failures.filter((r) => r.severity === 'permanent').length;
  const temp = failures.filter((r) => r.severity === 'temporary').length;
  const unknown = failures.filter((r) => r.outcomeUnknown).length;
  out.push(
    `Bounce report: ${failures.length} failure${failures.length === 1 ? '' : 's'} (${perm} permanent, ${temp} temporary, ${unknown} outcome unknown); ${report.dsns.length} DSN recipient${report.dsns.length === 1 ? '' : 's'} seen in traffic`,
  );
  if (failures.length > 0) {
    out.push('', 'Failures');
    const rows = failures.map((r) => [
      shortTime(r.tsMicros),
      r.stage,
      r.code === null ? '-' : String(r.code),
      cell(r.enhancedStatus, 12),
      r.kind === 'session' ? '-' : addr(r.mailFrom),
      r.kind === 'recipient' ? addr(r.recipient) : '-',
      cell(r.client.ip),
      cell(r.serverName === null ? r.server.ip : `${r.server.ip} ${r.serverName}`),
      r.reasonClass ?? (r.outcomeUnknown ? 'outcome-unknown' : '-'),
    ]);
    const lines = table([
      ['TIME (UTC)', 'STAGE', 'CODE', 'STATUS', 'FROM', 'RECIPIENT', 'CLIENT', 'SERVER', 'REASON'],
      ...rows,
    ]);
    out.push(lines[0] ?? '');
    failures.forEach((r, i) => {
      out.push(lines[i + 1] ?? '');
      const details: string[] = [];
      if (r.text !== null && r.text !== '')
        details.push(`server said: ${clip(r.text.replace(/\n/g, ' '), 160)}`);
      if (r.enhancedMeaning !== null)
        details.push(`${r.enhancedStatus ?? ''}: ${safeText(r.enhancedMeaning)}`);
      details.push(safeText(r.explanation));
      if (r.queueId !== null) details.push(`queue id ${safeText(r.queueId)}`);
      if (r.outcomeUnknown && !r.explanation.includes(OUTCOME_UNKNOWN_NOTE))
        details.push(`!! ${OUTCOME_UNKNOWN_NOTE}`);
      for (const d of details) out.push(`      ${d}`);
    });
  }
  const groups: [string, readonly GroupCount[]][] = [
    ['By reason class', report.groups.reasonClass],
    ['By server', report.groups.server],
    ['By sender domain', report.groups.senderDomain],
    ['By recipient domain', report.groups.recipientDomain],
  ];
  for (const [title, list] of groups) {
    if (list.length === 0) continue;
    out.push('', title);
    out.push(...table([['COUNT', 'KEY'], ...list.map((g) => [String(g.count), cell(g.key, 80)])]));
  }
  if (report.dsns.length > 0) {
    out.push('', 'DSNs seen in traffic');
    const rows = report.dsns.map((d) => [
      shortTime(d.tsMicros),
      cell(d.action, 10),
      cell(d.status, 12),
      addr(d.finalRecipient),
      cell(d.reportingMta),
      d.original === null
        ? 'not in capture'
        : `${d.original.sessionId} #${d.original.depth} (by ${d.original.matchedBy})`,
    ]);
    const lines = table([
      ['TIME (UTC)', 'ACTION', 'STATUS', 'RECIPIENT', 'REPORTING MTA', 'ORIGINAL'],
      ...rows.map((r) => r.map((c) => safeText(c))),
    ]);
    out.push(lines[0] ?? '');
    report.dsns.forEach((d, i) => {
      out.push(lines[i + 1] ?? '');
      if (d.diagnosticCode !== null) out.push(`      diagnostic: ${clip(d.diagnosticCode, 160)}`);
      if (d.statusMeaning !== null)
        out.push(`      ${safeText(d.status ?? '')}: ${safeText(d.statusMeaning)}`);
      if (d.original !== null && d.original.hops.length > 1)
        out.push(`      same message in: ${safeText(formatHops(d.original.hops))}`);
      else if (d.original !== null && dsnQueueId(d.original) !== null)
        out.push(`      queue id ${safeText(dsnQueueId(d.original) ?? '')}`);
    });
  }
  return `${out.join('\n')}\n`;
}
