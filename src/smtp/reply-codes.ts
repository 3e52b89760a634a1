/**
 * SMTP reply codes (RFC 5321 and the extensions that added codes: AUTH RFC 4954, ODMR RFC 2645,
 * ETRN RFC 1985, checkpoint/restart RFC 1845, 521/556 RFC 7504, RFC 5248 examples). The first
 * digit gives the class; the table gives the usual meaning. Servers put their own text after the
 * code, so the meaning here is what the code stands for, not what a given server said.
 */

export type ReplyCodeClass =
  | 'positive-preliminary'
  | 'positive-completion'
  | 'positive-intermediate'
  | 'transient-negative'
  | 'permanent-negative'
  | 'unknown';

export interface ReplyCodeDescription {
  readonly code: number;
  readonly class: ReplyCodeClass;
  readonly meaning: string;
  /** Whether the code is in the table (false: the meaning comes from the class digit alone). */
  readonly known: boolean;
}

const MEANINGS: ReadonlyMap<number, string> = new Map([
  [211, 'System status or system help reply'],
  [214, 'Help message for a human reader'],
  [220, 'Service ready (the greeting; after STARTTLS: ready to start TLS)'],
  [221, 'Service closing the transmission channel'],
  [235, 'Authentication succeeded'],
  [250, 'Requested mail action okay, completed'],
  [251, 'User not local; the server will forward the message'],
  [252, 'Cannot verify the user, but the server will accept the message and attempt delivery'],
  [253, 'ODMR: messages are pending for the requested node; starting (ATRN accepted)'],
  [334, 'Authentication challenge: the server waits for the next line of the AUTH exchange'],
  [354, 'Start mail input; end the message with a line holding a single dot'],
  [355, 'Checkpoint/restart: the octet offset is the transaction offset'],
  [421, 'Service not available, closing the transmission channel'],
  [422, 'The recipient has exceeded their storage quota (non-standard, used by a few servers)'],
  [432, 'A password transition is needed'],
  [
    450,
    'Requested mail action not taken: mailbox unavailable (busy or temporarily blocked); for ATRN: request refused',
  ],
  [451, 'Requested action aborted: local error in processing (for ATRN: cannot process the request now)'],
  [452, 'Requested action not taken: insufficient system storage (also used for too many recipients)'],
  [453, 'ODMR: there is no mail waiting'],
  [454, 'Temporary failure: TLS not available for now, or temporary authentication failure'],
  [455, 'Server unable to accommodate the parameters'],
  [458, 'ETRN: unable to queue messages for the node'],
  [459, 'ETRN: node not allowed'],
  [500, 'Syntax error, command unrecognized (also: command line too long)'],
  [501, 'Syntax error in parameters or arguments'],
  [502, 'Command not implemented'],
  [503, 'Bad sequence of commands'],
  [504, 'Command parameter not implemented'],
  [521, 'Host does not accept mail'],
  [523, 'Encryption needed (RFC 5248 example, with 5.7.10)'],
  [525, 'User account disabled (RFC 5248 example, with 5.7.13)'],
  [530, 'Authentication required (or: must issue a STARTTLS command first)'],
  [534, 'Authentication mechanism is too weak'],
  [535, 'Authentication credentials invalid'],
  [538, 'Encryption required for the requested authentication mechanism'],
  [550, 'Requested action not taken: mailbox unavailable (not found, no access, or refused by policy)'],
  [551, 'User not local; please try the forward-path given'],
  [552, 'Requested mail action aborted: exceeded storage allocation'],
  [553, 'Requested action not taken: mailbox name not allowed (bad syntax)'],
  [554, 'Transaction failed (as a greeting: no SMTP service here)'],
  [555, 'MAIL FROM or RCPT TO parameters not recognized or not implemented'],
  [556, 'Domain does not accept mail'],
]);

const CLASS_MEANINGS: Readonly<Record<Exclude<ReplyCodeClass, 'unknown'>, string>> = {
  'positive-preliminary': 'Positive preliminary reply: the command was accepted, another reply will follow',
  'positive-completion': 'Positive completion reply: the requested action succeeded',
  'positive-intermediate': 'Positive intermediate reply: the server waits for more input',
  'transient-negative': 'Transient negative reply: the action was not taken, a later retry may succeed',
  'permanent-negative': 'Permanent negative reply: the action was not taken and should not be retried as is',
};

/** The class given by the first digit; codes outside 100–599 are `unknown`. */
export function replyCodeClass(code: number): ReplyCodeClass {
  if (!Number.isInteger(code) || code < 100 || code > 599) return 'unknown';
  switch (Math.floor(code / 100)) {
    case 1:
      return 'positive-preliminary';
    case 2:
      return 'positive-completion';
    case 3:
      return 'positive-intermediate';
    case 4:
      return 'transient-negative';
    default:
      return 'permanent-negative';
  }
}

/** Descriptions of the codes 100–599 made so far, by code − 100: one frozen object per code, shared. */
const DESCRIBED: (ReplyCodeDescription | undefined)[] = new Array(500).fill(undefined);

/** Describes a reply code; codes not in the table are described by their class digit. */
export function describeReplyCode(code: number): ReplyCodeDescription {
  const slot = Number.isInteger(code) && code >= 100 && code <= 599 ? code - 100 : -1;
  if (slot < 0) return makeDescription(code);
  let description = DESCRIBED[slot];
  if (description === undefined) {
    description = Object.freeze(makeDescription(code));
    DESCRIBED[slot] = description;
  }
  return description;
}

function makeDescription(code: number): ReplyCodeDescription {
  const cls = replyCodeClass(code);
  const meaning = cls === 'unknown' ? undefined : MEANINGS.get(code);
  if (meaning !== undefined) return { code, class: cls, meaning, known: true };
  if (cls === 'unknown') return { code, class: cls, meaning: 'Not a valid SMTP reply code', known: false };
  return { code, class: cls, meaning: CLASS_MEANINGS[cls], known: false };
}

/** Every code in the table, ascending (for documentation and tests). */
export function knownReplyCodes(): readonly number[] {
  return [...MEANINGS.keys()].sort((a, b) => a - b);
}
