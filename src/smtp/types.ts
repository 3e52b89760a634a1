/**
 * SMTP decoder contracts: the events of one connection's two reassembled byte streams, told to an `SmtpHandler`.
 * Shape after Zeek's SMTP analyzer: per-direction line framing, a pending-command FIFO for pipelining,
 * state changes keyed on <command, reply> pairs, explicit gap recovery. See docs/SMTP.md.
 */

import type { CloseReason, Direction, FlowStats } from '../reassembly/types.js';
import type { TlsDecryptionStatus, TlsDecryptorFactory, TlsHello } from '../tls/types.js';

/** Every verb the decoder names; anything else is `UNKNOWN` with the verb text kept verbatim. */
export type SmtpVerb =
  | 'ATRN'
  | 'AUTH'
  | 'BDAT'
  | 'DATA'
  | 'EHLO'
  | 'ETRN'
  | 'EXPN'
  | 'HELO'
  | 'HELP'
  | 'LHLO'
  | 'MAIL'
  | 'NOOP'
  | 'QUIT'
  | 'RCPT'
  | 'RSET'
  | 'SAML'
  | 'SEND'
  | 'SOML'
  | 'STARTTLS'
  | 'TURN'
  | 'VRFY'
  | 'XCLIENT'
  | 'XFORWARD'
  | 'X-EXPS'
  | 'X-LINK2STATE'
  | 'XEXCH50'
  | 'X-ANONYMOUSTLS'
  | 'UNKNOWN';

/** ESMTP parameter values: `KEY=value` → string, bare `KEY` → true. Keys upper-cased. */
export type SmtpParams = Readonly<Record<string, string | true>>;

export interface SmtpCommand {
  /** 0-based position among this session's client lines that were commands (AUTH responses included). */
  readonly seq: number;
  readonly verb: SmtpVerb;
  /** The verb as sent (keeps case and unknown verbs verbatim). */
  readonly verbText: string;
  /** Argument text after the verb (latin1, CRLF stripped); redacted for AUTH secrets unless asked. */
  readonly argument: string;
  /** MAIL FROM / RCPT TO path without angle brackets ('' for the null path <>); null for other verbs. */
  readonly path: string | null;
  readonly params: SmtpParams;
  /** What the line is: a command, or a line of an AUTH exchange (client response to a 334). */
  readonly kind: 'command' | 'auth-response';
  /** Offset of the line's first byte in the client→server stream (of the plaintext stream when encrypted). */
  readonly offset: number;
  readonly tsMicros: number;
  /**
   * The dialogue's transaction this command belongs to (1-based, in the order the decoder opened them): set for
   * MAIL/SEND/SOML/SAML (the transaction it opens, or the open one for a nested MAIL), RCPT, DATA and BDAT, and for
   * NOOP and unknown commands sent inside an open transaction; null for commands outside any transaction (and for
   * a RCPT or BDAT that no transaction can take). The session model follows these ids.
   */
  readonly transaction: number | null;
  /** RCPT: 0-based index among the transaction's RCPT commands; null for other verbs. */
  readonly recipient: number | null;
  /**
   * The command is the first of its transaction (`transaction`), and how that transaction began: `mail` (MAIL, SEND,
   * SOML or SAML outside a transaction), `lost-mail` (a RCPT, DATA or BDAT whose MAIL the capture lost: after a gap
   * or a start mid-session), `no-mail` (DATA or BDAT sent with no MAIL, the envelope known). Null for every other
   * command, a nested MAIL included (it belongs to the open transaction).
   */
  readonly opens: TransactionOpening | null;
  /** The line was sent inside TLS and read from decrypted bytes. */
  readonly encrypted: boolean;
}

/** How a transaction began: see `SmtpCommand.opens`. */
export type TransactionOpening = 'mail' | 'lost-mail' | 'no-mail';

export interface SmtpReply {
  readonly code: number;
  /** RFC 3463 enhanced status ("5.1.1") from the first line's text, when present. */
  readonly enhancedStatus: string | null;
  /** Text of each line after the code and separator, enhanced status included as sent. */
  readonly lines: readonly string[];
  readonly offset: number;
  /** Time of the first line. */
  readonly tsMicros: number;
  /** Time of the last line (the reply is complete then). */
  readonly endTsMicros: number;
  /** The reply was sent inside TLS and read from decrypted bytes. */
  readonly encrypted: boolean;
}

/** What a reply answers (in the record form: the handler has a method per kind). */
export type ReplyTarget =
  | { readonly kind: 'greeting' }
  | { readonly kind: 'command'; readonly command: SmtpCommand }
  /** The end of a DATA body or of a BDAT LAST chunk; LMTP gives one per accepted recipient (index). */
  | {
      readonly kind: 'end-of-data';
      readonly mode: 'DATA' | 'BDAT';
      readonly lmtpRecipient: number | null;
      /** The decoder's transaction whose message ended (null when its start was not captured). */
      readonly transaction: number | null;
    }
  | { readonly kind: 'unmatched' };

export type SmtpState =
  | 'connected' // before the greeting
  | 'ready' // after greeting / HELO / EHLO / RSET / end of a transaction
  | 'mail' // MAIL accepted (or sent, optimistically)
  | 'rcpt' // at least one RCPT
  | 'data' // inside a DATA body
  | 'bdat' // inside BDAT chunks
  | 'auth' // inside an AUTH exchange
  | 'tls' // after STARTTLS 220 or on an implicit-TLS port: opaque unless decrypted
  | 'quit' // QUIT sent
  | 'gap-recovery'; // after a gap, until a recognisable command or reply

/** Closed list of anomalies; docs/SMTP.md explains each. */
export type AnomalyCode =
  | 'line-too-long'
  | 'bare-lf'
  | 'bare-cr'
  | 'extra-cr'
  | 'nul-in-line'
  | 'unknown-command'
  | 'invalid-reply'
  | 'reply-code-mismatch'
  | 'unmatched-reply'
  | 'no-greeting'
  | 'command-before-greeting'
  | 'unadvertised-pipelining'
  | 'invalid-pipelined-sequence'
  | 'excessive-pending-commands'
  | 'bdat-bad-argument'
  | 'bdat-chunk-too-large'
  | 'bdat-missing-last'
  | 'data-without-recipients'
  | 'rcpt-without-mail'
  | 'nested-mail'
  | 'duplicate-helo'
  | 'command-after-quit'
  | 'tls-rejected'
  | 'data-rejected'
  | 'content-gap'
  | 'data-after-close'
  | 'one-sided'
  | 'midstream'
  | 'tls-not-tls'
  | 'auth-cleartext'
  | 'too-many-recipients'
  | 'reply-without-command'
  | 'missing-reply'
  | 'unterminated-line'
  | 'junk-before-greeting';

export type { TlsHello } from '../tls/types.js';

/** What a `missing-reply` anomaly says got no reply. */
export type SkippedReply =
  | { readonly kind: 'command'; readonly seq: number }
  | { readonly kind: 'auth-response'; readonly seq: number }
  | { readonly kind: 'end-of-data'; readonly transaction: number | null };

export type AuthOutcome = 'success' | 'failure' | 'aborted' | 'unknown';

/**
 * The record form of one `SmtpHandler` call (`type`: the method's name in kebab case, then its arguments by name).
 * The decoder makes none: tests record them to compare dialogues (test/helpers/smtp-events.ts).
 */
export type SmtpEvent =
  | { readonly type: 'command'; readonly command: SmtpCommand }
  | { readonly type: 'reply'; readonly reply: SmtpReply; readonly to: ReplyTarget }
  | { readonly type: 'state'; readonly from: SmtpState; readonly to: SmtpState; readonly tsMicros: number }
  /**
   * A message starts (354 to DATA, or the first BDAT chunk). `transaction`: the dialogue's transaction it belongs to
   * (as on commands); null for BDAT chunks sent with no transaction to take them (the server refuses them).
   */
  | {
      readonly type: 'message-start';
      readonly mode: 'DATA' | 'BDAT';
      readonly transaction: number | null;
      readonly tsMicros: number;
    }
  /** Unstuffed body bytes (DATA) or chunk octets (BDAT). Valid during the call only. */
  | { readonly type: 'message-bytes'; readonly bytes: Uint8Array }
  | {
      readonly type: 'message-end';
      /** As on message-start. */
      readonly transaction: number | null;
      readonly sizeBytes: number;
      /** False when a gap or the end of the connection cut the body. */
      readonly complete: boolean;
      /**
       * The message reached its end-of-data mark (the final dot, or the octets of BDAT LAST), so its final reply is
       * due; false when a gap, another command, a refused chunk or the end of the connection cut it off before.
       */
      readonly awaitsReply: boolean;
      readonly tsMicros: number;
    }
  | {
      readonly type: 'bdat-chunk';
      /** As on message-start. */
      readonly transaction: number | null;
      readonly sizeBytes: number;
      readonly last: boolean;
      readonly tsMicros: number;
    }
  | { readonly type: 'tls-start'; readonly mode: 'starttls' | 'implicit'; readonly tsMicros: number }
  | { readonly type: 'tls-hello'; readonly hello: TlsHello; readonly tsMicros: number }
  | { readonly type: 'tls-bytes'; readonly direction: Direction; readonly length: number }
  | {
      readonly type: 'auth';
      readonly mechanism: string;
      readonly username: string | null;
      /** Only present when the user asked for secrets with an explicit flag. */
      readonly secret: string | null;
      readonly outcome: AuthOutcome;
      readonly tsMicros: number;
    }
  | { readonly type: 'roles-swapped'; readonly tsMicros: number }
  /**
   * A SOCKS4/5 or HTTP CONNECT exchange came before the SMTP dialogue (docs/SMTP.md, "Proxy preambles"): the
   * protocol, the target `host:port` the client asked for, and whether the proxy accepted (null: not seen).
   */
  | {
      readonly type: 'proxy';
      readonly protocol: 'socks4' | 'socks5' | 'http-connect';
      readonly target: string | null;
      readonly accepted: boolean | null;
      readonly tsMicros: number;
    }
  /** Each change of the TLS decryption status (only when a key log was given: `tlsDecryptors`). */
  | { readonly type: 'tls-decryption'; readonly status: TlsDecryptionStatus; readonly tsMicros: number }
  | {
      readonly type: 'gap';
      readonly direction: Direction;
      readonly length: number;
      readonly tsMicros: number;
    }
  | {
      readonly type: 'anomaly';
      readonly code: AnomalyCode;
      readonly direction: Direction | null;
      readonly detail: string;
      /** Offset in the direction's stream, when the anomaly is tied to bytes. */
      readonly offset: number | null;
      readonly tsMicros: number;
      /**
       * `missing-reply`: what was left without a reply (a command by its seq, an AUTH response, or the end of a
       * message), so that readers need not parse `detail`; null for other anomalies.
       */
      readonly skipped: SkippedReply | null;
    }
  | {
      readonly type: 'closed';
      readonly reason: CloseReason;
      readonly tsMicros: number;
      readonly stats: FlowStats;
    };

/**
 * What the decoder tells about one connection, as calls: one method per kind of event, in the order the events
 * happen (the decoder calls it directly; no event object is made). The session model implements it
 * (src/model/session-builder.ts). Arguments are the fields of the `SmtpEvent` of the same kind (its record form,
 * kept for tests and tools). Valid during the call only: `messageBytes` views, and every `SmtpReply` with its
 * `lines` (the decoder fills one reply object again for each reply): a handler copies what it keeps. Commands are
 * the handler's to keep.
 */
export interface SmtpHandler {
  command(command: SmtpCommand): void;
  /** A reply; the record's target (`ReplyTarget`) is which of these four is called. The greeting: */
  greeting(reply: SmtpReply): void;
  /** The reply to a command (or to an AUTH response). */
  reply(reply: SmtpReply, command: SmtpCommand): void;
  /** The reply to the end of a message (DATA's final dot, BDAT LAST); LMTP gives one per accepted recipient. */
  endOfDataReply(
    reply: SmtpReply,
    mode: 'DATA' | 'BDAT',
    lmtpRecipient: number | null,
    transaction: number | null,
  ): void;
  /** A reply that answers nothing the capture shows. */
  unmatchedReply(reply: SmtpReply): void;
  state(from: SmtpState, to: SmtpState, tsMicros: number): void;
  messageStart(mode: 'DATA' | 'BDAT', transaction: number | null, tsMicros: number): void;
  messageBytes(bytes: Uint8Array): void;
  messageEnd(
    transaction: number | null,
    sizeBytes: number,
    complete: boolean,
    awaitsReply: boolean,
    tsMicros: number,
  ): void;
  bdatChunk(transaction: number | null, sizeBytes: number, last: boolean, tsMicros: number): void;
  tlsStart(mode: 'starttls' | 'implicit', tsMicros: number): void;
  tlsHello(hello: TlsHello, tsMicros: number): void;
  tlsBytes(direction: Direction, length: number): void;
  auth(
    mechanism: string,
    username: string | null,
    secret: string | null,
    outcome: AuthOutcome,
    tsMicros: number,
  ): void;
  rolesSwapped(tsMicros: number): void;
  proxy(
    protocol: 'socks4' | 'socks5' | 'http-connect',
    target: string | null,
    accepted: boolean | null,
    tsMicros: number,
  ): void;
  tlsDecryption(status: TlsDecryptionStatus, tsMicros: number): void;
  gap(direction: Direction, length: number, tsMicros: number): void;
  anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    tsMicros: number,
    skipped: SkippedReply | null,
  ): void;
  closed(reason: CloseReason, tsMicros: number, stats: FlowStats): void;
}

export interface SmtpDecoderOptions {
  /** Longest command or reply line kept; longer lines are cut and flagged `line-too-long`. */
  readonly maxLineLength: number;
  /** Commands awaiting a reply before the queue is cleared and `excessive-pending-commands` flagged. */
  readonly maxPendingCommands: number;
  /** The connection is TLS from its first byte (port 465). */
  readonly implicitTls: boolean;
  /** LMTP (port 24 or LHLO seen). */
  readonly lmtp: boolean;
  /** Keep AUTH secrets (passwords, tokens) in events. Off by default. */
  readonly revealSecrets: boolean;
  /**
   * Client bytes held while a DATA, STARTTLS or AUTH step awaits the reply that decides what they are; past
   * this the decoder assumes a positive reply.
   */
  readonly maxHeldBytes: number;
  /** Lines kept per multi-line reply; later lines are consumed but not kept. */
  readonly maxReplyLines: number;
  /** BDAT chunks larger than this are flagged `bdat-chunk-too-large` (their octets are still skipped, never buffered). */
  readonly maxBdatChunkBytes: number;
  /** RCPT commands per transaction before `too-many-recipients` is flagged. */
  readonly maxRecipients: number;
  /** Bytes buffered per direction to read a TLS ClientHello / ServerHello. */
  readonly maxTlsHelloBytes: number;
  /**
   * Decrypts the connection once TLS starts (STARTTLS accepted, or implicit TLS), when a key log is loaded; null:
   * TLS stays opaque (bytes counted, hellos read).
   */
  readonly tlsDecryptors: TlsDecryptorFactory | null;
}
