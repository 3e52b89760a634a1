/**
 * Sorts a failing SMTP reply into a reason class, and says in one plain sentence what went wrong.
 *
 * Order of evidence (docs/REPLY-CODES.md has the full table):
 * 1. Greylisting, recognised from the text of a 4xx reply (greylisters use several statuses).
 * 2. A specific enhanced status decides (5.1.1, 5.2.2, 5.3.4, 5.7.8, 4.5.3 ...), with two narrow
 *    text overrides that real servers need (X.2.1 used for rate limits, X.4.x for unknown users).
 * 3. Text patterns from well-known MTAs, when the status is absent or generic (X.0.0, X.1.0,
 *    X.7.0, X.7.1, unregistered details ...).
 * 4. The default of a generic status's subject (X.1 addressing, X.4 routing, X.7 policy ...).
 * 5. The reply code, with the stage it answered where the code alone is ambiguous (550, 552, 553, 554).
 */

import { describeEnhancedStatus } from '../smtp/enhanced-status.js';
import type { FailureStage, ReasonClass } from './types.js';

type Rule = readonly [RegExp, ReasonClass];

const GREYLIST_STRONG = /gr[ae]y-?list/;
const GREYLIST_WEAK =
  /(try again|come back|retry|please retry|resend) (later|in a (few|moment))|temporar(il)?y (deferred|rejected)/;
/** Words that make "try again later" mean something other than greylisting. */
const NOT_GREYLIST =
  /rate|too many|busy|resources|connections|spam|block|listed|local (error|problem)|unavailable/;
const MAILBOX_UNKNOWN_TEXT =
  /user unknown|unknown user|no such (user|mailbox|recipient|address|account)|(mailbox|user|recipient|address|account) (does not|doesn't|does no longer) exist|(mailbox|recipient|user|account) (not found|unknown)|unknown (recipient|mailbox|address|local part)|invalid (recipient|mailbox)|recipnotfound|recipientnotfound|not a valid (recipient|mailbox|user)|undeliverable address|address (is )?(not|no longer) (valid|in use)|account (is |has been )?(disabled|deactivated|suspended|inactive)|mailbox (is )?(disabled|inactive|unavailable)|no mailbox here|recipient address rejected: access denied/;

/** Text rules, first match wins; used when the status is absent or generic. */
const TEXT_RULES: readonly Rule[] = [
  [
    /relay(ing)? (access )?(is )?(denied|not permitted|prohibited|not allowed)|not (permitted|allowed|authori[sz]ed) to relay|unable to relay|we do not relay|no relaying|relay not permitted/,
    'relay-denied',
  ],
  [/tls (is )?(not available|unavailable|currently unavailable)/, 'server-unavailable'],
  [
    /starttls|tls (is )?required|requires? tls|encryption (is )?(required|needed)|must use tls|secure connection required/,
    'tls-required',
  ],
  [
    /authenticat(ion|e)? (failed|failure|unsuccessful|required|credentials)|auth(entication)? (is )?required|invalid (credentials|login|username or password)|username and password not accepted|incorrect (password|authentication)|bad (username|password)|login (denied|failed)|not authenticated|password transition/,
    'auth-failed',
  ],
  [
    /message (size )?(exceeds|too (big|large))|(size|length) exceeds|exceeds? (the )?(fixed |maximum |permitted )*(message )?size|too (big|large) for|message size|size limit|maximum (message )?size/,
    'message-too-big',
  ],
  [
    /mailbox (is )?full|over ?quota|quota exceeded|exceeded (its |the |storage )?(quota|storage)|mailbox size limit|out of storage|disk quota|insufficient (storage|space) for (user|mailbox)/,
    'mailbox-full',
  ],
  [
    /too many (recipients|connections|messages|concurrent|sessions|mails|rcpt)|rate.?limit|throttl|slow down|sending rate|unusual rate|at a rate|exceeded (the )?(rate|limit|sending limit)|connection limit|limit exceeded|too fast|too frequent/,
    'rate-limited',
  ],
  [
    /spam|junk|bulk mail|unsolicited|blocked|block ?list|black ?list|spamhaus|spamcop|barracuda|sorbs|uceprotect|\brbl\b|dnsbl|\bdbl\b|listed (at|in|on|by)|reputation|banned|\bpolic(y|ies)\b|content (rejected|filter)|rejected by (content|filter)|virus|malware|phish|client host rejected|sender address rejected|helo command rejected|sender verif|reverse dns|ptr record|\bspf\b|\bdkim\b|dmarc|access denied|denied by|prohibit/,
    'policy-or-spam',
  ],
  [MAILBOX_UNKNOWN_TEXT, 'mailbox-unknown'],
  [
    /host (or domain name )?not found|domain (name )?not found|name service error|no mx|mx (record|lookup)|unroute?able|mail loop|loops back to myself|routing loop|no route to|dns (error|lookup|failure|problem)|nxdomain|hop count exceeded|unable to route|does not accept mail/,
    'routing-or-dns',
  ],
  [
    /service (is )?(temporarily )?(not available|unavailable)|temporar(il)?y (unavailable|failure|problem|local|system)|local (error|problem)|try (again )?later|shutting down|server (is )?busy|system (is )?busy|insufficient system|resources? (temporarily )?unavailable|out of memory|queue (is )?full|closing (transmission|connection)|timeout|timed out|maintenance/,
    'server-unavailable',
  ],
  [
    /syntax error|command not (recognized|recognised|implemented)|unrecogni[sz]ed command|bad sequence|parameter not implemented|unknown command|invalid command|line too long|bad command|need (fully-qualified|fqdn)|invalid argument|protocol error/,
    'protocol-error',
  ],
];

function textClass(lowerText: string): ReasonClass | null {
  for (const [pattern, cls] of TEXT_RULES) {
    if (pattern.test(lowerText)) return cls;
  }
  return null;
}

/** Classes of specific (decisive) subject.detail pairs. Pairs not listed are generic. */
const STATUS_CLASSES: ReadonlyMap<string, ReasonClass> = new Map([
  ['1.1', 'mailbox-unknown'],
  ['1.2', 'routing-or-dns'],
  ['1.3', 'mailbox-unknown'],
  ['1.4', 'mailbox-unknown'],
  ['1.5', 'other'],
  ['1.6', 'mailbox-unknown'],
  ['1.7', 'policy-or-spam'],
  ['1.8', 'policy-or-spam'],
  ['1.9', 'other'],
  ['2.1', 'mailbox-unknown'],
  ['2.2', 'mailbox-full'],
  ['2.3', 'message-too-big'],
  ['2.4', 'other'],
  ['3.1', 'server-unavailable'],
  ['3.3', 'protocol-error'],
  ['3.4', 'message-too-big'],
  ['3.5', 'server-unavailable'],
  ['3.6', 'other'],
  ['4.1', 'routing-or-dns'],
  ['4.2', 'routing-or-dns'],
  ['4.3', 'routing-or-dns'],
  ['4.4', 'routing-or-dns'],
  ['4.5', 'server-unavailable'],
  ['4.6', 'routing-or-dns'],
  ['4.7', 'routing-or-dns'],
  ['5.1', 'protocol-error'],
  ['5.2', 'protocol-error'],
  ['5.3', 'rate-limited'],
  ['5.4', 'protocol-error'],
  ['5.5', 'protocol-error'],
  ['5.6', 'protocol-error'],
  ['6.1', 'other'],
  ['6.2', 'other'],
  ['6.3', 'other'],
  ['6.4', 'other'],
  ['6.5', 'other'],
  ['6.6', 'other'],
  ['6.7', 'protocol-error'],
  ['6.8', 'protocol-error'],
  ['6.9', 'protocol-error'],
  ['6.10', 'protocol-error'],
  ['7.2', 'policy-or-spam'],
  // 7.3 (security conversion) is left generic: Exchange answers failed logins with 535 5.7.3.
  ['7.4', 'other'],
  ['7.5', 'other'],
  ['7.6', 'other'],
  ['7.7', 'other'],
  ['7.8', 'auth-failed'],
  ['7.9', 'auth-failed'],
  ['7.10', 'tls-required'],
  ['7.11', 'tls-required'],
  ['7.12', 'auth-failed'],
  ['7.14', 'auth-failed'],
  ['7.15', 'policy-or-spam'],
  ['7.16', 'message-too-big'],
  ['7.17', 'mailbox-unknown'],
  ['7.18', 'mailbox-unknown'],
  ['7.19', 'other'],
  ['7.20', 'policy-or-spam'],
  ['7.21', 'policy-or-spam'],
  ['7.22', 'policy-or-spam'],
  ['7.23', 'policy-or-spam'],
  ['7.24', 'policy-or-spam'],
  ['7.25', 'policy-or-spam'],
  ['7.26', 'policy-or-spam'],
  ['7.27', 'policy-or-spam'],
  ['7.28', 'rate-limited'],
  ['7.29', 'policy-or-spam'],
  ['7.30', 'tls-required'],
]);

function statusClass(
  subject: number,
  detail: number,
  lowerText: string,
  stage: FailureStage | undefined,
): ReasonClass | null {
  const key = `${subject}.${detail}`;
  // Gmail answers rate limits per mailbox with 4.2.1; Microsoft rejects unknown recipients with 5.4.1.
  if (key === '2.1' && /\brate\b|too many/.test(lowerText)) return 'rate-limited';
  if (subject === 4 && MAILBOX_UNKNOWN_TEXT.test(lowerText)) return 'mailbox-unknown';
  // X.7.13 is "user account disabled": the client's login when authenticating, else the recipient's mailbox.
  if (key === '7.13') return stage === 'auth' ? 'auth-failed' : 'mailbox-unknown';
  return STATUS_CLASSES.get(key) ?? null;
}

/**
 * The classes a reply's text may choose for a generic status of a subject, where the subject itself says what
 * the reply is about. X.2 (mailbox status, RFC 3463 section 3.3) names the recipient's mailbox: a text that
 * reads like a server-wide or network problem ("temporarily busy", "try again later") does not move it there.
 * The other subjects are used loosely by real servers (Sendmail's 5.3.0 for spam, 4.3.2 for rate limits,
 * Gmail's 5.6.0 for mail loops): their text still decides.
 */
const SUBJECT_CLASSES: ReadonlyMap<number, ReadonlySet<ReasonClass>> = new Map([
  [
    2,
    new Set<ReasonClass>([
      'mailbox-unknown',
      'mailbox-full',
      'message-too-big',
      'rate-limited',
      'policy-or-spam',
    ]),
  ],
]);

function fitsSubject(cls: ReasonClass, subject: number): boolean {
  return SUBJECT_CLASSES.get(subject)?.has(cls) ?? true;
}

function subjectDefault(
  subject: number,
  detail: number,
  code: number,
  stage: FailureStage | undefined,
): ReasonClass | null {
  switch (subject) {
    case 1:
      return detail === 10 ? 'routing-or-dns' : 'mailbox-unknown';
    case 2:
      return 'other';
    case 3:
      return 'server-unavailable';
    case 4:
      return 'routing-or-dns';
    case 5:
      return 'protocol-error';
    case 6:
      return 'other';
    case 7:
      if (code === 530 || code === 534 || code === 535 || code === 432) return 'auth-failed';
      if (code === 538 || code === 523) return 'tls-required';
      if (code === 454) return stage === 'auth' ? 'auth-failed' : 'server-unavailable';
      if (code === 421) return 'server-unavailable';
      return 'policy-or-spam';
    default:
      return null;
  }
}

function codeClass(code: number, stage: FailureStage | undefined): ReasonClass {
  switch (code) {
    case 421:
    case 451:
    case 452:
      return 'server-unavailable';
    case 432:
    case 525:
    case 530:
    case 534:
    case 535:
      return 'auth-failed';
    case 454:
      return stage === 'auth' ? 'auth-failed' : 'server-unavailable';
    case 455:
    case 500:
    case 501:
    case 502:
    case 503:
    case 504:
    case 555:
      return 'protocol-error';
    case 523:
    case 538:
      return 'tls-required';
    case 550:
      return stage === 'mail' || stage === 'data' || stage === 'end-of-data'
        ? 'policy-or-spam'
        : 'mailbox-unknown';
    case 551:
      return 'mailbox-unknown';
    case 552:
      return stage === 'rcpt' ? 'mailbox-full' : 'message-too-big';
    case 553:
      return stage === 'mail' ? 'policy-or-spam' : 'mailbox-unknown';
    case 554:
      return stage === 'greeting' || stage === 'connection' ? 'server-unavailable' : 'other';
    case 521:
    case 556:
      return 'routing-or-dns';
    default:
      return 'other';
  }
}

/**
 * Reason class of a failing reply, or null for anything that is not a failure (1xx, 2xx, 3xx,
 * or a number outside the reply-code range). `text` is the reply text (all lines); `stage` is
 * what the reply answered, when known.
 */
export function classifyFailure(
  code: number,
  enhancedStatus: string | null,
  text: string,
  stage?: FailureStage,
): ReasonClass | null {
  if (!Number.isInteger(code) || code < 400 || code > 599) return null;
  const lowerText = text.toLowerCase();
  const transient = code < 500;
  const status = enhancedStatus === null ? null : describeEnhancedStatus(enhancedStatus);

  // 1. Greylisting.
  if (transient && GREYLIST_STRONG.test(lowerText)) return 'greylisted';
  if (
    (code === 450 || code === 451) &&
    (status === null ||
      status.status === '4.7.1' ||
      status.status === '4.2.0' ||
      status.status === '4.7.0') &&
    GREYLIST_WEAK.test(lowerText) &&
    !NOT_GREYLIST.test(lowerText)
  ) {
    return 'greylisted';
  }

  // 2. A specific enhanced status.
  if (status !== null) {
    const byStatus = statusClass(status.subjectNumber, status.detailNumber, lowerText, stage);
    if (byStatus !== null) return byStatus;
  }

  // 3. Text of well-known servers, when it agrees with the subject of the status (RFC 3463): the text of a
  //    450 4.2.0 "Mailbox temporarily busy" is about the mailbox (X.2), not about the server being down.
  const byText = textClass(lowerText);
  if (byText !== null && (status === null || fitsSubject(byText, status.subjectNumber))) return byText;

  // 4. The subject of a generic status.
  if (status !== null) {
    const bySubject = subjectDefault(status.subjectNumber, status.detailNumber, code, stage);
    if (bySubject !== null) return bySubject;
  }

  // 5. The code.
  return codeClass(code, stage);
}

export interface ExplainContext {
  readonly stage?: FailureStage | undefined;
  /** The recipient the reply refused, when it concerns one. */
  readonly recipient?: string | null | undefined;
  /** The envelope sender, when the reply concerns it. */
  readonly sender?: string | null | undefined;
}

function mailboxPhrase(recipient: string | null | undefined): string {
  return recipient ? `the mailbox ${recipient}` : 'the recipient mailbox';
}

/** The first clause (no final punctuation) and the rest of the sentence (from its punctuation on). */
type Sentence = readonly [string, string];

function sentenceFor(cls: ReasonClass, transient: boolean, context: ExplainContext): Sentence {
  const mailbox = mailboxPhrase(context.recipient);
  const retry = transient ? ' The refusal is temporary, so the sender may retry.' : '';
  switch (cls) {
    case 'mailbox-unknown':
      return [
        `The receiving server does not know ${mailbox}`,
        `.${transient ? ' It said so with a temporary code, so the sender may retry.' : ''}`,
      ];
    case 'mailbox-full':
      return [`${capitalise(mailbox)} is full or over its quota`, `.${retry}`];
    case 'relay-denied':
      return [
        context.recipient
          ? `The server refuses to relay mail to ${context.recipient}`
          : 'The server refuses to relay mail to this recipient',
        ': it is not a destination the server serves, and the client may not relay through it.',
      ];
    case 'policy-or-spam':
      return [
        context.stage === 'mail'
          ? `The receiving server refused the sender${context.sender ? ` ${context.sender}` : ''} by policy`
          : 'The receiving server refused the message by policy',
        `, for example by spam filtering, a block list or a sender check.${retry}`,
      ];
    case 'greylisted':
      return [
        'The receiving server greylisted the message',
        ': it asks the sender to try again later, which a normal mail server does on its own.',
      ];
    case 'tls-required':
      return ['The server requires an encrypted (TLS) connection before it goes on', '.'];
    case 'auth-failed':
      return [
        'Authentication failed or is required',
        `: the server did not accept the client's login.${retry}`,
      ];
    case 'message-too-big':
      return ['The message is larger than the receiving server accepts', `.${retry}`];
    case 'rate-limited':
      return [
        'The server is limiting the sender',
        ': too many connections, messages or recipients in a short time. Retrying later at a lower rate may work.',
      ];
    case 'routing-or-dns':
      return [
        'The mail could not be routed to its destination',
        `: a name lookup, MX or network problem.${retry}`,
      ];
    case 'server-unavailable':
      return [
        'The receiving server is not available or had a local problem',
        `.${transient ? ' The sender may retry later.' : ''}`,
      ];
    case 'protocol-error':
      return [
        'The server did not accept the command as sent',
        ': a syntax error, an unsupported command, or commands in the wrong order.',
      ];
    case 'other':
      return [`The receiving server refused the ${stageNoun(context.stage)}`, `.${retry}`];
  }
}

function stageNoun(stage: FailureStage | undefined): string {
  switch (stage) {
    case 'mail':
      return 'sender';
    case 'rcpt':
      return 'recipient';
    case 'data':
    case 'end-of-data':
      return 'message';
    case 'helo':
      return 'greeting from the client';
    case 'connection':
    case 'greeting':
      return 'connection';
    case 'starttls':
      return 'request to start TLS';
    case 'auth':
      return 'login';
    default:
      return 'request';
  }
}

function capitalise(text: string): string {
  return text.length === 0 ? text : text.charAt(0).toUpperCase() + text.slice(1);
}

/**
 * One plain-language sentence for a failing reply, with the enhanced status (or the code when
 * there is none) in parentheses after the main clause, e.g.
 * `The receiving server does not know the mailbox alice@example.org (5.1.1).`
 * For a reply that is not a failure, says so.
 */
export function explainFailure(
  code: number,
  enhancedStatus: string | null,
  text: string,
  context: ExplainContext = {},
): string {
  const reference = enhancedStatus ?? String(code);
  const cls = classifyFailure(code, enhancedStatus, text, context.stage);
  if (cls === null) return `The reply ${reference} is not a failure.`;
  if (
    cls === 'other' &&
    enhancedStatus !== null &&
    describeEnhancedStatus(enhancedStatus)?.subjectNumber === 2
  ) {
    // X.2.X is about the mailbox itself (RFC 3463): it exists, but does not take mail now.
    const mailbox = capitalise(mailboxPhrase(context.recipient));
    return code < 500
      ? `${mailbox} is not taking mail right now (${reference}): busy, locked or otherwise unavailable. The refusal is temporary, so the sender may retry.`
      : `${mailbox} does not accept mail (${reference}).`;
  }
  const [head, tail] = sentenceFor(cls, code < 500, context);
  return `${head} (${reference})${tail}`;
}
