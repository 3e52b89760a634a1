/**
 * The receiving server's queue id from the reply that accepted a message, so a captured
 * transaction can be matched with the server's logs. Each rule matches one server family's
 * wording; the first that matches wins. Text is the reply text (enhanced status included or not).
 */

/** Optional leading enhanced status ("2.0.0", "2.0.0:") before the server's own words. */
const STATUS = String.raw`(?:[245]\.\d{1,3}\.\d{1,3}:?\s+)?`;
const ACCEPTED_FOR_DELIVERY = new RegExp(
  String.raw`^\s*${STATUS}([0-9A-Za-z]+)\s+Message accepted for delivery`,
  'i',
);

// The patterns are made once (a literal inside a function is a new object at each call); none has the g or y flag,
// so they keep no state between calls.
const POSTFIX = /\bqueued as:?\s+<?([0-9A-Za-z][0-9A-Za-z._@-]*[0-9A-Za-z])>?/i;
const EXIM = /\bid=([0-9A-Za-z]+-[0-9A-Za-z]+-[0-9A-Za-z]+)\b/;
const OK_ID =
  /^\s*(?:[245]\.\d{1,3}\.\d{1,3}:?\s+)?OK\b.*?\bid=<?([0-9A-Za-z][0-9A-Za-z._@-]*[0-9A-Za-z])>?/i;
const EXCHANGE = /queued mail for delivery/i;
const ANGLE_ID = /<([^<>\s]+)>/;
const GMAIL = /\bOK\s+\d+\s+(\S+)\s+-\s+gsmtp\b/i;
const QMAIL = /^\s*ok\s+\d+\s+qp\s+(\d+)\b/i;
const HARAKA = /\bmessage queued \(([^()\s]+)\)/i;

const RULES: readonly ((text: string) => string | null)[] = [
  // Postfix "Ok: queued as 4XyZ9k1Lm2z3", smtp-server with a custom message "Message queued as abc123".
  (text) => POSTFIX.exec(text)?.[1] ?? null,
  // Exim "OK id=1Mugho-0003Dg-Un" (and the longer ids of Exim 4.97+).
  (text) => EXIM.exec(text)?.[1] ?? null,
  // Any other "id=ID" after OK, e.g. an smtp-server (Node) application answering "250 OK id=1hEC046C01".
  (text) => OK_ID.exec(text)?.[1] ?? null,
  // Microsoft Exchange and Microsoft 365: "<id@host> [InternalId=...] Queued mail for delivery".
  (text) => (EXCHANGE.test(text) ? (ANGLE_ID.exec(text)?.[1] ?? null) : null),
  // Sendmail "x9ABC123456789 Message accepted for delivery", OpenSMTPD "2.0.0: 0a1b2c3d Message accepted for delivery".
  (text) => ACCEPTED_FOR_DELIVERY.exec(text)?.[1] ?? null,
  // Gmail "OK  1589291234 a1si123456qkh.123 - gsmtp": the id after the Unix time.
  (text) => GMAIL.exec(text)?.[1] ?? null,
  // qmail "ok 1589291234 qp 4567": the qmail-queue process number, as qmail logs it.
  (text) => {
    const match = QMAIL.exec(text);
    return match ? `qp ${match[1]}` : null;
  },
  // Haraka "Message Queued (8A2B1C3D-...)".
  (text) => HARAKA.exec(text)?.[1] ?? null,
];

/**
 * Queue id in an accepting reply's text, or null when none of the known formats matches.
 * Formats: Postfix / smtp-server "queued as ID", Exim "id=ID", "OK ... id=ID" (smtp-server applications), Exchange and Microsoft 365
 * "<ID> ... Queued mail for delivery", Sendmail and OpenSMTPD "ID Message accepted for delivery",
 * Gmail "OK time ID - gsmtp", qmail "ok time qp N" (returned as "qp N"), Haraka "Message Queued (ID)".
 */
export function parseQueueId(replyText: string): string | null {
  for (let i = 0; i < RULES.length; i++) {
    const id = (RULES[i] as (text: string) => string | null)(replyText);
    if (id !== null && id.length > 0) return id;
  }
  return null;
}
