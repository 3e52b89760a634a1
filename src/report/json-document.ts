/**
 * The NDJSON document of one session (docs/JSON.md): Elastic Common Schema names where ECS has a field for
 * the value (`@timestamp`, `event.*`, `source.*`, `destination.*`, `network.*`, `tls.*`, `user.name`,
 * `email.*` inside each transaction, and at the top for the session's last message), everything else under
 * `smtp.*`.
 *
 * Every key is always present (null when unknown) and every field has one JSON type, so the documents load
 * into Elasticsearch or ClickHouse (JSONEachRow) without a per-document schema. Arrays hold one type only.
 */

import { recipientLogDocument, sessionLogRejects, transactionLogDocument } from '../maillog/log-documents.js';
import { finalMeaningOf, recipientMeaningOf } from '../model/reply-meaning.js';
import { isOutcomeUnknown } from '../model/session-queries.js';
import { tlsDecryptionOf } from '../model/tls-decryption.js';
import type {
  CommandRecord,
  MessageSummary,
  RecipientRecord,
  ReplyRecord,
  SmtpSession,
  TransactionRecord,
} from '../model/types.js';
import type { SmtpParams } from '../smtp/types.js';
import type { TlsDecryptionStatus } from '../tls/types.js';
import type { PartHash } from './attachment-hashes.js';
import { anomalyCounts, negotiatedTlsVersion, paramText } from './columns.js';
import { communityId } from './community-id.js';
import { formatIsoMicros } from './iso-micros.js';

export interface ReplyDocument {
  readonly code: number;
  readonly enhanced_status: string | null;
  readonly text: string;
  readonly time: string;
}

const iso = (us: number | null): string | null => (us === null ? null : formatIsoMicros(us));

function reply(r: ReplyRecord | null): ReplyDocument | null {
  return r === null
    ? null
    : { code: r.code, enhanced_status: r.enhancedStatus, text: r.text, time: formatIsoMicros(r.tsMicros) };
}

/** `KEY=value` or `KEY` for each parameter, in the order sent. */
function paramList(params: SmtpParams): string[] {
  return Object.entries(params).map(([k, v]) => (v === true ? k : `${k}=${v}`));
}

const ANGLE = /<([^<>]*)>/;

/** The address part of a header value such as `Alice <alice@example.org>`. */
export function headerAddress(value: string): string {
  const m = ANGLE.exec(value);
  return (m === null ? value : (m[1] ?? '')).trim();
}

function addresses(values: readonly string[]): string[] {
  return values.map(headerAddress).filter((a) => a !== '');
}

function dateIso(date: string | null): string | null {
  if (date === null) return null;
  const ms = Date.parse(date);
  return Number.isNaN(ms) ? null : new Date(ms).toISOString();
}

function email(t: TransactionRecord | null, m: MessageSummary | null, hashes: readonly PartHash[] | null) {
  return {
    from: { address: m === null ? [] : addresses(m.fromAll) },
    to: { address: m === null ? [] : addresses(m.to) },
    cc: { address: m === null ? [] : addresses(m.cc) },
    reply_to: { address: m === null || m.replyTo === null ? [] : addresses([m.replyTo]) },
    subject: m?.subject ?? null,
    message_id: m?.messageId ?? null,
    x_mailer: m?.userAgent ?? null,
    content_type: m?.contentType ?? null,
    origination_timestamp: dateIso(m?.date ?? null),
    local_id: t?.queueId ?? null,
    attachments:
      m === null
        ? []
        : m.parts
            .map((p, i) => ({ p, hash: hashes?.[i] ?? null }))
            .filter(
              ({ p }) =>
                p.disposition === 'attachment' || (p.filename !== null && p.disposition !== 'inline'),
            )
            .map(({ p, hash }) => ({
              file: {
                name: p.filename,
                mime_type: p.contentType,
                size: p.sizeBytes,
                hash: { sha256: hash?.sha256 ?? null },
              },
              // true: hashed whole; false: only part of it was captured or kept (no hash); null: body not hashed.
              hash_complete: hash?.complete ?? null,
            })),
  };
}

function recipient(s: SmtpSession, depth: number, r: RecipientRecord) {
  const meaning = recipientMeaningOf(r);
  return {
    index: r.index,
    address: r.address,
    params: paramList(r.params),
    notify: paramText(r.params, 'NOTIFY'),
    orcpt: paramText(r.params, 'ORCPT'),
    time: formatIsoMicros(r.rcptTsMicros),
    rcpt_reply: reply(r.rcptReply),
    rcpt_latency_us: r.rcptReply === null ? null : r.rcptReply.tsMicros - r.rcptTsMicros,
    final_reply: reply(r.finalReply),
    disposition: r.disposition,
    reason_class: r.reasonClass,
    reply_meaning: meaning?.codeMeaning ?? null,
    reply_status_meaning: meaning?.statusMeaning ?? null,
    mta_log: recipientLogDocument(s, depth, r.index),
  };
}

function dsn(m: MessageSummary | null) {
  const d = m?.dsn ?? null;
  if (d === null) return null;
  return {
    reporting_mta: d.reportingMta,
    arrival_date: d.arrivalDate,
    original_envelope_id: d.originalEnvelopeId,
    original_message_id: d.originalMessageId,
    recipients: d.recipients.map((r) => ({
      final_recipient: r.finalRecipient,
      original_recipient: r.originalRecipient,
      action: r.action,
      status: r.status,
      diagnostic_code: r.diagnosticCode,
      remote_mta: r.remoteMta,
    })),
  };
}

export function transactionDocument(
  s: SmtpSession,
  t: TransactionRecord,
  context: DocumentContext = NO_DOCUMENT_CONTEXT,
) {
  const size = paramText(t.mailParams, 'SIZE');
  const meaning = finalMeaningOf(t);
  return {
    depth: t.depth,
    start: formatIsoMicros(t.startedAt),
    end: iso(t.endedAt),
    duration_us: t.endedAt === null ? null : t.endedAt - t.startedAt,
    mail_from: t.mailFrom,
    started_midstream: t.midstream === true,
    mail_params: paramList(t.mailParams),
    mail_size: size !== null && /^\d{1,15}$/.test(size) ? Number(size) : null,
    mail_body: paramText(t.mailParams, 'BODY'),
    mail_smtputf8: paramText(t.mailParams, 'SMTPUTF8') !== null,
    mail_ret: paramText(t.mailParams, 'RET'),
    mail_envid: paramText(t.mailParams, 'ENVID'),
    mail_reply: reply(t.mailReply),
    recipients: t.recipients.map((r) => recipient(s, t.depth, r)),
    mode: t.mode,
    data_reply: reply(t.dataReply),
    size_bytes: t.sizeBytes,
    bdat_chunks: t.bdatChunks,
    message_complete: t.messageComplete,
    final_reply: reply(t.finalReply),
    final_meaning: meaning?.codeMeaning ?? null,
    final_status_meaning: meaning?.statusMeaning ?? null,
    queue_id: t.queueId,
    outcome: t.outcome,
    failure_stage: t.failureStage,
    reason_class: t.reasonClass,
    outcome_unknown: isOutcomeUnknown(t),
    headers_truncated: t.message?.truncated ?? null,
    email: email(t, t.message, context.partHashes?.get(t.depth) ?? null),
    dsn: dsn(t.message),
    mta_log: transactionLogDocument(s, t.depth),
  };
}

function command(c: CommandRecord) {
  return {
    seq: c.seq,
    transaction: c.transaction,
    verb: c.verb,
    verb_text: c.verbText,
    argument: c.argument,
    time: formatIsoMicros(c.tsMicros),
    reply: reply(c.reply),
    latency_us: c.latencyMicros,
    pipelined: c.pipelined,
    encrypted: c.encrypted === true,
  };
}

/** How TLS was decrypted or why not; every field null when no decryption was tried. Never a secret. */
function decryption(status: TlsDecryptionStatus | null) {
  return {
    status: status?.kind ?? null,
    version: status?.kind === 'decrypted' ? status.version : null,
    cipher: status?.kind === 'decrypted' ? status.cipher : null,
    resumed: status?.kind === 'decrypted' ? status.resumed : null,
    detail:
      status === null || status.kind === 'decrypted' || status.kind === 'pending'
        ? null
        : (status.detail ?? null),
  };
}

/** ECS event.outcome: failure when any recipient or transaction failed, success when one was delivered. */
export function sessionOutcome(s: SmtpSession): 'success' | 'failure' | 'unknown' {
  let delivered = false;
  for (const t of s.transactions) {
    if (t.outcome === 'rejected' || t.outcome === 'deferred') return 'failure';
    for (const r of t.recipients) {
      if (r.disposition === 'delivered') delivered = true;
      else if (r.disposition !== 'not-sent' && r.disposition !== 'unknown') return 'failure';
    }
  }
  if (s.greeting !== null && s.greeting.code >= 400) return 'failure';
  return delivered ? 'success' : 'unknown';
}

/** TLS version number and protocol in ECS form: "TLS 1.3" → { version: "1.3", protocol: "tls" }. */
function ecsTlsVersion(name: string | null): { version: string | null; protocol: string | null } {
  if (name === null) return { version: null, protocol: null };
  const m = /^(TLS|SSL)\s*v?(\d+(?:\.\d+)?)$/i.exec(name.trim());
  if (m === null) return { version: name, protocol: null };
  return { version: m[2] ?? null, protocol: (m[1] ?? '').toLowerCase() };
}

/** The session's last transaction that sent a message (the only one, in most sessions), or null. */
function lastMessageTransaction(s: SmtpSession): TransactionRecord | null {
  for (let i = s.transactions.length - 1; i >= 0; i--) {
    const t = s.transactions[i];
    if (t !== undefined && t.message !== null) return t;
  }
  return null;
}

/** Where the session was seen: the sensor's name and the capture file (null when live or not known). */
export interface DocumentContext {
  readonly sensor: string | null;
  readonly captureFile: string | null;
  /** SHA-256 of each MIME part of the message of a transaction (attachment-hashes.ts), by depth. */
  readonly partHashes?: ReadonlyMap<number, readonly PartHash[]>;
}

export const NO_DOCUMENT_CONTEXT: DocumentContext = { sensor: null, captureFile: null };

export function toSessionDocument(s: SmtpSession, context: DocumentContext = NO_DOCUMENT_CONTEXT) {
  const lastMessage = lastMessageTransaction(s);
  const lastAuth = s.auth.length === 0 ? null : (s.auth[s.auth.length - 1] ?? null);
  const tlsVersion = ecsTlsVersion(negotiatedTlsVersion(s.tls.serverHello));
  const caps = s.capabilities;
  return {
    '@timestamp': formatIsoMicros(s.startedAt),
    event: {
      kind: 'event',
      category: ['network', 'email'],
      type: ['connection', 'protocol'],
      module: 'smtpscope',
      dataset: 'smtpscope.session',
      start: formatIsoMicros(s.startedAt),
      end: formatIsoMicros(s.endedAt),
      duration: (s.endedAt - s.startedAt) * 1000,
      outcome: sessionOutcome(s),
    },
    source: { ip: s.client.ip, port: s.client.port, bytes: s.flow.c2s.bytes, packets: s.flow.c2s.packets },
    destination: {
      ip: s.server.ip,
      port: s.server.port,
      domain: s.serverName,
      bytes: s.flow.s2c.bytes,
      packets: s.flow.s2c.packets,
    },
    network: {
      transport: 'tcp',
      protocol: s.protocol,
      bytes: s.flow.c2s.bytes + s.flow.s2c.bytes,
      packets: s.flow.c2s.packets + s.flow.s2c.packets,
      community_id: communityId(s.client, s.server),
    },
    observer: { name: context.sensor },
    log: { file: { path: context.captureFile } },
    tls: {
      established: s.tls.mode !== 'none',
      version: tlsVersion.version,
      version_protocol: tlsVersion.protocol,
      cipher: s.tls.serverHello?.cipher ?? null,
      next_protocol: s.tls.serverHello?.alpn[0] ?? null,
      client: {
        server_name: s.tls.clientHello?.sni ?? null,
        supported_versions: s.tls.clientHello?.versions ?? [],
      },
      decryption: decryption(tlsDecryptionOf(s.tls)),
    },
    user: { name: lastAuth?.username ?? null },
    email: email(
      lastMessage,
      lastMessage?.message ?? null,
      lastMessage === null ? null : (context.partHashes?.get(lastMessage.depth) ?? null),
    ),
    smtp: {
      session_id: s.id,
      start_us: s.startedAt,
      end_us: s.endedAt,
      protocol: s.protocol,
      orientation: s.orientation,
      server_name: s.serverName,
      software: s.software,
      greeting: reply(s.greeting),
      helo: s.helo,
      helo_verb: s.heloVerb,
      capabilities: {
        keywords: caps?.keywords ?? [],
        size: caps?.size ?? null,
        pipelining: caps?.pipelining ?? null,
        chunking: caps?.chunking ?? null,
        eight_bit_mime: caps?.eightBitMime ?? null,
        binary_mime: caps?.binaryMime ?? null,
        smtputf8: caps?.smtpUtf8 ?? null,
        dsn: caps?.dsn ?? null,
        enhanced_status_codes: caps?.enhancedStatusCodes ?? null,
        starttls: caps?.starttls ?? null,
        auth_mechanisms: caps?.authMechanisms ?? [],
        other: caps?.other ?? [],
      },
      tls: {
        mode: s.tls.mode,
        offered: s.tls.offered,
        refused: s.tls.refused,
        bytes_c2s: s.tls.bytes.c2s,
        bytes_s2c: s.tls.bytes.s2c,
      },
      auth: s.auth.map((a) => ({
        mechanism: a.mechanism,
        username: a.username,
        secret: a.secret,
        outcome: a.outcome,
        time: formatIsoMicros(a.tsMicros),
      })),
      end: s.end,
      close_reason: s.closeReason,
      quality: {
        midstream: s.quality.midstream,
        one_sided: s.quality.oneSided,
        gaps: s.quality.gaps,
        gap_bytes: s.quality.gapBytes,
        retransmissions: s.quality.retransmissions,
        overlaps_differing: s.quality.overlapsDiffering,
      },
      anomalies: anomalyCounts(s),
      anomalies_dropped: s.anomaliesDropped,
      roles_swapped: s.rolesSwapped,
      // A proxy preamble before the dialogue (docs/SMTP.md, "Proxy preambles"), null without one.
      proxy:
        s.proxy === undefined
          ? null
          : { protocol: s.proxy.protocol, target: s.proxy.target, accepted: s.proxy.accepted },
      messages: s.transactions.filter((t) => t.message !== null).length,
      email_depth: lastMessage?.depth ?? null,
      transactions: s.transactions.map((t) => transactionDocument(s, t, context)),
      commands: s.commands.map(command),
      commands_dropped: s.commandsDropped,
      // Replies that answer no command in the capture (docs/JSON.md).
      unmatched_replies: s.unmatchedReplies.map(reply),
      mta_log_rejects: sessionLogRejects(s),
    },
  };
}

export type SessionDocument = ReturnType<typeof toSessionDocument>;
