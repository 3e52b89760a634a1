/**
 * The session model: what smtpscope knows about one SMTP connection once its events are applied.
 * Reports (CSV, NDJSON, bounces), the dashboard and the summary read only these types.
 * All times are integer microseconds since the Unix epoch (packet time).
 */

import type { Endpoint } from '../decode/types.js';
import type { CloseReason, FlowStats, OrientationBasis } from '../reassembly/types.js';
import type { Capabilities } from '../smtp/capabilities.js';
import type { AnomalyCode, AuthOutcome, SmtpParams, SmtpVerb, TlsHello } from '../smtp/types.js';
import type { TlsDecryptionStatus } from '../tls/types.js';

/** Failure reason classes (docs/REPLY-CODES.md maps every code and enhanced status to one). */
export type ReasonClass =
  | 'mailbox-unknown'
  | 'mailbox-full'
  | 'relay-denied'
  | 'policy-or-spam'
  | 'greylisted'
  | 'tls-required'
  | 'auth-failed'
  | 'message-too-big'
  | 'rate-limited'
  | 'routing-or-dns'
  | 'server-unavailable'
  | 'protocol-error'
  | 'other';

/** A reply as kept in the model (flattened text). */
export interface ReplyRecord {
  readonly code: number;
  readonly enhancedStatus: string | null;
  /** All lines joined with "\n", codes and separators removed. */
  readonly text: string;
  readonly tsMicros: number;
}

/**
 * What a reply's code and enhanced status stand for, from the knowledge base (src/smtp/reply-codes.ts,
 * src/smtp/enhanced-status.ts): the standard meaning, not what the server said.
 */
export interface ReplyMeaning {
  readonly code: number;
  /** Meaning of the code, e.g. 550 "Requested action not taken: mailbox unavailable (...)". */
  readonly codeMeaning: string;
  readonly enhancedStatus: string | null;
  /** Meaning of the enhanced status, e.g. 5.1.1 "Bad destination mailbox address"; null without one. */
  readonly statusMeaning: string | null;
}

/** One command and the reply that answered it (the transcript row). */
export interface CommandRecord {
  /** 0-based position in the session's command list. */
  readonly seq: number;
  readonly verb: SmtpVerb | 'AUTH-RESPONSE' | 'END-OF-DATA';
  readonly verbText: string;
  /** Argument, AUTH secrets redacted unless asked for. */
  readonly argument: string;
  readonly tsMicros: number;
  readonly reply: ReplyRecord | null;
  /** reply.tsMicros - tsMicros, or null without a reply. */
  readonly latencyMicros: number | null;
  /** Transaction depth (1-based) the command belongs to, or null for session-level commands. */
  readonly transaction: number | null;
  /** Whether the command was sent while earlier ones still awaited replies (pipelined). */
  readonly pipelined: boolean;
  /** The command (and its reply) travelled inside TLS and were read from decrypted bytes. Absent: false. */
  readonly encrypted?: boolean;
}

export type RecipientDisposition =
  | 'delivered' // RCPT accepted and the message accepted at end of data
  | 'rejected-rcpt' // RCPT refused with 5xx
  | 'deferred-rcpt' // RCPT refused with 4xx
  | 'rejected-data' // RCPT accepted but the message refused with 5xx (or LMTP per-recipient 5xx)
  | 'deferred-data' // RCPT accepted but the message refused with 4xx
  | 'not-sent' // RCPT accepted, but no message was sent (RSET, QUIT, connection end)
  | 'unknown'; // the deciding reply was not captured

export type FailureStage =
  | 'connection'
  | 'greeting'
  | 'helo'
  | 'starttls'
  | 'auth'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'end-of-data'
  /** Cut before its final reply, the connection having ended (reset, FIN without QUIT, timeout, end of capture). */
  | 'connection-lost'
  /** Cut before its final reply by bytes missing from the capture (a gap), while the connection went on. */
  | 'capture-gap';

export interface RecipientRecord {
  /** 1-based position among the transaction's RCPT commands. */
  readonly index: number;
  readonly address: string;
  readonly params: SmtpParams;
  readonly rcptTsMicros: number;
  readonly rcptReply: ReplyRecord | null;
  /** For LMTP, the per-recipient end-of-data reply; else the transaction's final reply if the RCPT was accepted. */
  readonly finalReply: ReplyRecord | null;
  readonly disposition: RecipientDisposition;
  /** Reason class of the deciding failure reply; null when delivered or unknown. */
  readonly reasonClass: ReasonClass | null;
  /**
   * Meaning of the reply that decided the disposition (the RCPT refusal, else the final reply); null without one.
   * Absent in records built by hand: derive it with `replyMeaning(decidingReply)`.
   */
  readonly meaning?: ReplyMeaning | null;
}

export interface MimePart {
  readonly contentType: string;
  readonly filename: string | null;
  readonly sizeBytes: number;
  readonly disposition: 'attachment' | 'inline' | null;
}

/** Per-recipient fields of a delivery status notification (RFC 3464). */
export interface DsnRecipient {
  readonly finalRecipient: string | null;
  readonly originalRecipient: string | null;
  readonly action: string | null;
  readonly status: string | null;
  readonly diagnosticCode: string | null;
  readonly remoteMta: string | null;
}

export interface DsnReport {
  readonly reportingMta: string | null;
  readonly arrivalDate: string | null;
  readonly originalEnvelopeId: string | null;
  readonly originalMessageId: string | null;
  readonly recipients: readonly DsnRecipient[];
}

/** What the message headers and MIME structure say, from the first bytes of the body. */
export interface MessageSummary {
  /** The first From: address (the author a one-line view shows). */
  readonly from: string | null;
  /** Every From: address, in order (RFC 5322 allows several authors, with a Sender:). */
  readonly fromAll: readonly string[];
  readonly to: readonly string[];
  readonly cc: readonly string[];
  readonly replyTo: string | null;
  /** Encoded words decoded. */
  readonly subject: string | null;
  readonly date: string | null;
  readonly messageId: string | null;
  readonly inReplyTo: string | null;
  /** Received headers in header order (newest first). */
  readonly received: readonly string[];
  readonly userAgent: string | null;
  readonly contentType: string | null;
  readonly parts: readonly MimePart[];
  /** Present when the message is a delivery status notification. */
  readonly dsn: DsnReport | null;
  /** The summary was made from a prefix of the message (keep limit hit). */
  readonly truncated: boolean;
}

export type TransactionOutcome =
  | 'accepted' // final reply 2xx
  | 'rejected' // refused with 5xx at any stage of the transaction
  | 'deferred' // refused with 4xx
  | 'aborted' // RSET / QUIT / new MAIL before a message was sent
  | 'incomplete' // cut by a gap, the end of the capture or a lost connection before the final reply
  | 'unknown'; // client-only capture: no replies to judge by

export interface TransactionRecord {
  /** 1-based within the session (Zeek trans_depth). */
  readonly depth: number;
  readonly mailFrom: string | null;
  readonly mailParams: SmtpParams;
  readonly mailReply: ReplyRecord | null;
  readonly recipients: readonly RecipientRecord[];
  readonly mode: 'DATA' | 'BDAT' | null;
  /** Reply to DATA (354 or a refusal); null for BDAT or when not captured. */
  readonly dataReply: ReplyRecord | null;
  readonly sizeBytes: number | null;
  readonly bdatChunks: number;
  /** The message body was fully seen. */
  readonly messageComplete: boolean;
  readonly finalReply: ReplyRecord | null;
  /**
   * Meaning of the final reply's code and enhanced status; null without a final reply. Absent in records built by
   * hand: derive it with `replyMeaning(finalReply)`.
   */
  readonly finalMeaning?: ReplyMeaning | null;
  readonly queueId: string | null;
  readonly outcome: TransactionOutcome;
  readonly failureStage: FailureStage | null;
  readonly reasonClass: ReasonClass | null;
  readonly message: MessageSummary | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /**
   * The capture missed the transaction's start (its MAIL): it was picked up midstream or after a gap, from a RCPT,
   * a message end or a 354 reply; `mailFrom` is then null (sender unknown). Absent in records built by hand: false.
   */
  readonly midstream?: boolean;
}

/** Moved to the SMTP layer (src/smtp/capabilities.ts), which parses it; re-exported for the model's readers. */
export type { Capabilities } from '../smtp/capabilities.js';

export type TlsMode = 'none' | 'starttls' | 'implicit';

export interface TlsInfo {
  readonly mode: TlsMode;
  /** STARTTLS was advertised in EHLO. */
  readonly offered: boolean;
  /** STARTTLS was asked for and refused (454/501...). */
  readonly refused: boolean;
  readonly clientHello: TlsHello | null;
  readonly serverHello: TlsHello | null;
  readonly bytes: { readonly c2s: number; readonly s2c: number };
  /**
   * The EHLO reply read inside TLS (a decrypted session, or clear text after an accepted STARTTLS); the session's
   * `capabilities` stay the clear-text ones, so `offered` says what was offered before TLS. Absent: none.
   */
  readonly capabilities?: Capabilities | null;
  /** A 220 accepted STARTTLS but the dialogue went on in clear text (a broken server, a decrypted capture). */
  readonly clearTextAfterStarttls?: boolean;
  /** How TLS was decrypted, when a key log was given (`--tls-keylog`); absent or null: no decryption tried. */
  readonly decryption?: TlsDecryptionStatus | null;
}

export interface ProxyInfo {
  readonly protocol: 'socks4' | 'socks5' | 'http-connect';
  readonly target: string | null;
  readonly accepted: boolean | null;
}

export interface AuthInfo {
  readonly mechanism: string;
  readonly username: string | null;
  readonly secret: string | null;
  readonly outcome: AuthOutcome;
  readonly tsMicros: number;
}

export type SessionEnd =
  | 'quit' // QUIT answered 221
  | 'quit-unanswered' // QUIT sent, no 221 captured
  | 'server-421' // server closed with 421
  | 'rst'
  | 'fin-without-quit'
  | 'idle-timeout'
  | 'end-of-capture'
  | 'evicted';

export type MtaSoftware =
  | 'postfix'
  | 'exim'
  | 'sendmail'
  | 'exchange'
  | 'qmail'
  | 'gmail'
  | 'haraka'
  | 'opensmtpd'
  | 'microsoft-365'
  | 'smtp-server'
  | 'courier'
  | 'mdaemon'
  | 'zimbra'
  | 'unknown';

export interface CaptureQuality {
  readonly midstream: boolean;
  readonly oneSided: 'c2s-only' | 's2c-only' | null;
  readonly gaps: number;
  readonly gapBytes: number;
  readonly retransmissions: number;
  readonly overlapsDiffering: number;
}

export interface AnomalyRecord {
  readonly code: AnomalyCode;
  readonly direction: 'c2s' | 's2c' | null;
  readonly detail: string;
  readonly offset: number | null;
  readonly tsMicros: number;
}

/**
 * The side that answered after an ATRN/TURN role swap (the former client, acting as server), with the
 * session's own fields: its greeting (the first reply after the swap), name, software and capabilities, and
 * the HELO/EHLO the former server sent after the swap.
 */
export type SwappedSide = Pick<
  SmtpSession,
  'greeting' | 'serverName' | 'software' | 'helo' | 'heloVerb' | 'capabilities'
>;

export interface SmtpSession {
  /** Stable id within a run (the flow id). */
  readonly id: string;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly orientation: OrientationBasis;
  readonly protocol: 'smtp' | 'lmtp';
  readonly startedAt: number;
  readonly endedAt: number;
  readonly end: SessionEnd;
  readonly closeReason: CloseReason;
  readonly greeting: ReplyRecord | null;
  /** Host name the server announced in its greeting. */
  readonly serverName: string | null;
  readonly software: MtaSoftware;
  readonly helo: string | null;
  readonly heloVerb: 'HELO' | 'EHLO' | 'LHLO' | null;
  readonly capabilities: Capabilities | null;
  readonly tls: TlsInfo;
  readonly auth: readonly AuthInfo[];
  readonly transactions: readonly TransactionRecord[];
  readonly commands: readonly CommandRecord[];
  /** Commands dropped from `commands` because the per-session limit was hit. */
  readonly commandsDropped: number;
  /**
   * Replies that answer no command in the capture (sent before it started, lost in a gap, or captured before
   * their command), in order; kept so that what the server said is never lost (no more of them than the command
   * limit; beyond it they are counted in `commandsDropped`).
   */
  readonly unmatchedReplies: readonly ReplyRecord[];
  readonly anomalies: readonly AnomalyRecord[];
  readonly anomaliesDropped: number;
  readonly quality: CaptureQuality;
  readonly flow: FlowStats;
  /**
   * A SOCKS4/5 or HTTP CONNECT exchange before the SMTP dialogue: the protocol, the target the client asked for
   * (`host:port`) and whether the proxy accepted (null: its answer was not seen). Absent: no proxy.
   */
  readonly proxy?: ProxyInfo;
  /** Roles swapped by ATRN/TURN during the session. */
  readonly rolesSwapped: boolean;
  /**
   * After a role swap, the other side's greeting, HELO and capabilities; `greeting`, `serverName`, `software`,
   * `helo` and `capabilities` above stay those of the first server. Null without a swap (absent in records built by
   * hand).
   */
  readonly swapped?: SwappedSide | null;
}
