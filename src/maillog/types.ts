/**
 * MTA log records (docs/MAILLOG.md): what one line of a Postfix or Exim log says, once parsed, and what the
 * join attaches to a captured session. Pure data; the parsers are postfix-line.ts and exim-line.ts, the index
 * log-index.ts, the join session-join.ts.
 *
 * Times are integer microseconds since the Unix epoch. A syslog stamp has no year: `yearless` is then true and
 * the time was made with a reference year; the join moves it by whole years to the one nearest the capture.
 */

export type MtaKind = 'postfix' | 'exim';

/** A client as an MTA logs it: `name[address]` or `name[address]:port` (Postfix), `[address]:port` (Exim). */
export interface LogClient {
  readonly name: string | null;
  readonly address: string;
  /** Only when the MTA logs it (Postfix `smtpd_client_port_logging = yes`, Exim `+incoming_port`). */
  readonly port: number | null;
}

/** Where a line came from: its MTA, the host and program of its syslog prefix, and its time. */
export interface LineOrigin {
  readonly mta: MtaKind;
  readonly tsMicros: number;
  readonly yearless: boolean;
  readonly host: string | null;
  /** Postfix: syslog_name without the service (`postfix`, `postfix-relay`, `postfix/submission`); Exim: `exim`. */
  readonly instance: string;
  /** Postfix service (`smtpd`, `qmgr`, `smtp`...); Exim: null. */
  readonly service: string | null;
  readonly pid: number | null;
}

/** A refusal the MTA logged while receiving (Postfix `reject:`, Exim `rejected RCPT`...). */
export interface LogReject {
  readonly origin: LineOrigin;
  /** Null for Postfix `NOQUEUE` and Exim rejects before a message id existed. */
  readonly queueId: string | null;
  /** `reject`, `milter-reject`, `reject_warning`, `discard`, `hold` (Postfix); `rejected` (Exim). */
  readonly action: string;
  /** `CONNECT`, `HELO`, `MAIL`, `RCPT`, `DATA`, `END-OF-MESSAGE`, `header`, `body`... as logged. */
  readonly stage: string;
  readonly client: LogClient | null;
  readonly code: number | null;
  readonly enhancedStatus: string | null;
  readonly text: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** The fate of one recipient in one delivery attempt. */
export interface LogDelivery {
  readonly origin: LineOrigin;
  readonly queueId: string;
  readonly to: string;
  /** Postfix `orig_to=` / Exim `<original>` when the address was rewritten. */
  readonly origTo: string | null;
  /** `sent`, `bounced`, `deferred`, `expired`, `discarded`, `deliverable`, `undeliverable`, `softbounce`... */
  readonly status: string;
  readonly dsn: string | null;
  /** `host[address]:port`, `none`, `local`...; Exim `H=host [address]`. */
  readonly relay: string | null;
  readonly delaySeconds: number | null;
  /** The parenthesised text: the remote reply (`host X said: 550 ...`) or the local outcome. */
  readonly reply: string | null;
  /** Postfix service or Exim transport that made the attempt (`smtp`, `lmtp`, `local`, `remote_smtp`...). */
  readonly transport: string | null;
}

/** Every parsed line, by what it says. */
export type LogEvent =
  | {
      readonly kind: 'connect' | 'disconnect';
      readonly origin: LineOrigin;
      readonly client: LogClient;
    }
  | {
      readonly kind: 'client';
      readonly origin: LineOrigin;
      readonly queueId: string;
      readonly client: LogClient;
    }
  | { readonly kind: 'reject'; readonly origin: LineOrigin; readonly reject: LogReject }
  | {
      readonly kind: 'message-id';
      readonly origin: LineOrigin;
      readonly queueId: string;
      readonly messageId: string;
    }
  | {
      readonly kind: 'queued';
      readonly origin: LineOrigin;
      readonly queueId: string;
      readonly from: string;
      readonly size: number | null;
      readonly nrcpt: number | null;
      /** Exim arrivals: the client (`H=... [address]:port`). */
      readonly client: LogClient | null;
      /** Exim arrivals: `id=` (the Message-ID). */
      readonly messageId: string | null;
      /** Exim bounce arrivals: `R=` (the message this one reports on). */
      readonly bounceOf: string | null;
    }
  | { readonly kind: 'delivery'; readonly origin: LineOrigin; readonly delivery: LogDelivery }
  | {
      readonly kind: 'notification';
      readonly origin: LineOrigin;
      /** The message the notification reports on. */
      readonly queueId: string;
      /** The notification's own queue id. */
      readonly notificationQueueId: string;
      /** `non-delivery`, `delay`, `delivery status`, `success`... as Postfix words it. */
      readonly notification: string;
    }
  /** Postfix `status=expired, returned to sender` (the sender's, not one recipient's). */
  | { readonly kind: 'expired'; readonly origin: LineOrigin; readonly queueId: string }
  | { readonly kind: 'removed'; readonly origin: LineOrigin; readonly queueId: string }
  /** A line of a known program that carries nothing the join uses (warnings, statistics, TLS notes...). */
  | { readonly kind: 'ignored'; readonly origin: LineOrigin; readonly queueId: string | null };

/** Counters of one or more logs read. */
export interface LogCounters {
  lines: number;
  postfixLines: number;
  eximLines: number;
  /** Lines of other programs in a shared syslog file (cron, kernel...): skipped. */
  otherProgramLines: number;
  /** Lines with no recognisable prefix, or a mail line whose fields do not parse: counted and skipped. */
  badLines: number;
  /** Lines longer than the line limit (cut, then counted bad). */
  longLines: number;
  /** Queue ids dropped from the index when its limit was hit (oldest first). */
  queueIdsEvicted: number;
  /** Delivery attempts of one recipient beyond the per-recipient limit (the first and latest are kept). */
  attemptsDropped: number;
}

export function emptyLogCounters(): LogCounters {
  return {
    lines: 0,
    postfixLines: 0,
    eximLines: 0,
    otherProgramLines: 0,
    badLines: 0,
    longLines: 0,
    queueIdsEvicted: 0,
    attemptsDropped: 0,
  };
}

// ---------------------------------------------------------------------------------------------------------
// What the join attaches to a session.

/** The MTA's later fate of one recipient seen on the wire. */
export interface RecipientFate {
  readonly mta: MtaKind;
  /** Queue id of the message in the log the fate comes from. */
  readonly queueId: string;
  readonly status: string;
  readonly dsn: string | null;
  readonly relay: string | null;
  readonly delaySeconds: number | null;
  readonly reply: string | null;
  /** Time of the deciding log line (year aligned with the capture). */
  readonly tsMicros: number;
  /** Delivery attempts logged for this recipient (deferrals included). */
  readonly attempts: number;
  /** The non-delivery (or delay) notification the MTA generated for this message, if any. */
  readonly notificationQueueId: string | null;
  /** The captured session that carried that notification, when it closed before this session. */
  readonly notificationSessionId: string | null;
}

export type JoinBasis = 'queue-id' | 'message-id' | 'client';

/** One captured transaction joined to one queue id of the log. */
export interface TransactionLog {
  readonly depth: number;
  readonly queueId: string;
  readonly joinedBy: JoinBasis;
  readonly mta: MtaKind;
  /** Fates by wire recipient index (1-based), in wire order; null when the log has no line for that recipient. */
  readonly recipients: readonly { readonly index: number; readonly fate: RecipientFate | null }[];
  /** Refusals the MTA logged under this queue id (its view of the wire refusals). */
  readonly rejects: readonly LogReject[];
  /**
   * A relay leg seen from its other end: the same message's queue id in the log of the MTA that sent it on this
   * connection (found by Message-ID, delivered to this session's server), when the transaction was joined to the
   * receiving MTA's queue id.
   */
  readonly senderQueueId: string | null;
  /** When this transaction carries a notification the MTA generated: the message it reports on. */
  readonly notificationFor: { readonly queueId: string; readonly sessionId: string | null } | null;
}

/** What the MTA logs say about one captured session. */
export interface SessionLog {
  readonly transactions: readonly TransactionLog[];
  /** Refusals logged without a queue id (`NOQUEUE: reject`), matched to the session by its client. */
  readonly rejects: readonly LogReject[];
}
