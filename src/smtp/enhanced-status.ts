/**
 * Enhanced mail system status codes (RFC 3463, the IANA registry kept under RFC 5248, and the
 * extensions that registered details since: RFC 3886, 4468, 4954, 6531, 6710, 7293, 7372, 7505,
 * 8617, 8689). A status is `class.subject.detail`: the class says success (2), persistent
 * transient failure (4) or permanent failure (5); the subject names the area (addressing,
 * mailbox, mail system, network, protocol, content, security); the detail narrows it down.
 * The same subject.detail pair means the same thing under every class, so the tables below are
 * keyed by subject and detail only.
 */

export type EnhancedStatusClass = 'success' | 'persistent-transient' | 'permanent';

export interface EnhancedStatusDescription {
  /** The status as given, e.g. "5.1.1". */
  readonly status: string;
  readonly statusClass: EnhancedStatusClass;
  readonly subjectNumber: number;
  readonly detailNumber: number;
  readonly permanent: boolean;
  readonly transient: boolean;
  /** The subject's area, e.g. "Addressing status". */
  readonly subject: string;
  /** The detail's meaning; for an unregistered detail, the subject's catch-all meaning. */
  readonly detail: string;
  /** Whether subject.detail is a registered pair (false: `detail` fell back to the subject). */
  readonly known: boolean;
}

/** Subject number → [area name, catch-all meaning used for X.S.0 and unregistered details]. */
const SUBJECTS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [0, ['Other or undefined status', 'Other or undefined status: no further detail is given']],
  [1, ['Addressing status', 'Other address status']],
  [2, ['Mailbox status', 'Other or undefined mailbox status']],
  [3, ['Mail system status', 'Other or undefined mail system status']],
  [4, ['Network and routing status', 'Other or undefined network or routing status']],
  [5, ['Mail delivery protocol status', 'Other or undefined protocol status']],
  [6, ['Message content or media status', 'Other or undefined media error']],
  [7, ['Security or policy status', 'Other or undefined security or policy status']],
]);

/** "subject.detail" → meaning, for details other than 0 (X.S.0 is the subject's catch-all). */
const DETAILS: ReadonlyMap<string, string> = new Map([
  // X.1: addressing
  ['1.1', 'Bad destination mailbox address: the mailbox does not exist at the destination'],
  ['1.2', 'Bad destination system address: the destination host or domain does not exist or takes no mail'],
  ['1.3', 'Bad destination mailbox address syntax'],
  ['1.4', 'Destination mailbox address is ambiguous: it matches several mailboxes'],
  ['1.5', 'Destination mailbox address is valid'],
  ['1.6', 'Destination mailbox has moved and no forwarding address is known'],
  ['1.7', "Bad sender's mailbox address syntax"],
  ['1.8', "Bad sender's system address: the sender's domain does not exist or takes no mail"],
  ['1.9', 'Message relayed to a system that does not support delivery status notifications'],
  ['1.10', 'Recipient domain publishes a null MX: it accepts no mail'],
  // X.2: mailbox
  ['2.1', 'Mailbox disabled: it does not accept messages'],
  ['2.2', 'Mailbox full: it is over its storage quota'],
  ['2.3', 'Message length exceeds an administrative limit'],
  ['2.4', 'Mailing list expansion problem'],
  // X.3: mail system
  ['3.1', 'Mail system full: the receiving system has no storage left'],
  ['3.2', 'System not accepting network messages'],
  ['3.3', 'System not capable of the selected features'],
  ['3.4', 'Message too big for the system'],
  ['3.5', 'System incorrectly configured'],
  ['3.6', 'Requested priority was changed'],
  // X.4: network and routing
  ['4.1', 'No answer from the destination host'],
  ['4.2', 'Bad connection: the connection dropped or failed during the transaction'],
  ['4.3', 'Directory server failure: a routing or name lookup could not be completed'],
  ['4.4', 'Unable to route: no route to the destination could be found'],
  ['4.5', 'Mail system congestion: the system is overloaded'],
  ['4.6', 'Routing loop detected'],
  ['4.7', 'Delivery time expired: the message stayed in the queue too long'],
  // X.5: mail delivery protocol
  ['5.1', 'Invalid command'],
  ['5.2', 'Syntax error'],
  ['5.3', 'Too many recipients'],
  ['5.4', 'Invalid command arguments'],
  ['5.5', 'Wrong protocol version'],
  ['5.6', 'Authentication exchange line is too long'],
  // X.6: content and media
  ['6.1', 'Media not supported'],
  ['6.2', 'Conversion required and prohibited'],
  ['6.3', 'Conversion required but not supported'],
  ['6.4', 'Conversion with loss performed'],
  ['6.5', 'Conversion failed'],
  ['6.6', 'Message content not available'],
  ['6.7', 'Non-ASCII addresses not permitted for that sender or recipient'],
  ['6.8', 'UTF-8 reply text required but not permitted by the client'],
  ['6.9', 'UTF-8 header message cannot be transferred to one or more recipients'],
  ['6.10', 'UTF-8 reply text required but not permitted by the client (duplicate registration of X.6.8)'],
  // X.7: security and policy
  ['7.1', 'Delivery not authorized, message refused (a policy decision)'],
  ['7.2', 'Mailing list expansion prohibited'],
  ['7.3', 'Security conversion required but not possible'],
  ['7.4', 'Security features not supported'],
  ['7.5', 'Cryptographic failure'],
  ['7.6', 'Cryptographic algorithm not supported'],
  ['7.7', 'Message integrity failure'],
  ['7.8', 'Authentication credentials invalid'],
  ['7.9', 'Authentication mechanism is too weak'],
  ['7.10', 'Encryption needed'],
  ['7.11', 'Encryption required for the requested authentication mechanism'],
  ['7.12', 'A password transition is needed'],
  ['7.13', 'User account disabled'],
  ['7.14', 'Trust relationship required'],
  ['7.15', 'Priority level is too low'],
  ['7.16', 'Message is too big for the specified priority'],
  ['7.17', 'Mailbox owner has changed'],
  ['7.18', 'Domain owner has changed'],
  ['7.19', 'Required-recipient-valid-since test cannot be completed'],
  ['7.20', 'No passing DKIM signature found'],
  ['7.21', 'No acceptable DKIM signature found'],
  ['7.22', 'No valid author-matched DKIM signature found'],
  ['7.23', 'SPF validation failed'],
  ['7.24', 'SPF validation error'],
  ['7.25', 'Reverse DNS validation failed'],
  ['7.26', 'Multiple authentication checks failed'],
  ['7.27', 'Sender address has a null MX'],
  ['7.28', 'Mail flood detected'],
  ['7.29', 'ARC validation failure'],
  ['7.30', 'REQUIRETLS support required'],
]);

/** Parses one field of 1–3 digits without leading zeros (RFC 3463: "0" or 1-9 then up to 2 digits). */
function readField(text: string, start: number): number {
  const first = text.charCodeAt(start);
  if (first < 0x30 || first > 0x39) return -1;
  if (first === 0x30) {
    const next = text.charCodeAt(start + 1);
    return next >= 0x30 && next <= 0x39 ? -1 : 1;
  }
  let end = start + 1;
  while (end < text.length && end - start < 4) {
    const c = text.charCodeAt(end);
    if (c < 0x30 || c > 0x39) break;
    end++;
  }
  return end - start > 3 ? -1 : end - start;
}

/** Characters allowed right after a status: end of text, white space, or light punctuation. */
function isStatusTerminator(c: number): boolean {
  // NaN (end of text), space, tab, CR, LF, ':', ',', ';', ')'
  return (
    Number.isNaN(c) ||
    c === 0x20 ||
    c === 0x09 ||
    c === 0x0d ||
    c === 0x0a ||
    c === 0x3a ||
    c === 0x2c ||
    c === 0x3b ||
    c === 0x29
  );
}

/**
 * Finds an enhanced status code at the start of reply text (after optional spaces), e.g.
 * "5.1.1 <bob@example.org>: Recipient address rejected" → "5.1.1". The class must be 2, 4 or 5;
 * subject and detail are 0–999 without leading zeros. Returns null when the text does not start
 * with one. Allocation-free apart from the returned substring.
 */
export function parseEnhancedStatus(text: string): string | null {
  let i = 0;
  while (i < text.length && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  const start = i;
  const cls = text.charCodeAt(i);
  if (cls !== 0x32 && cls !== 0x34 && cls !== 0x35) return null;
  if (text.charCodeAt(i + 1) !== 0x2e) return null;
  i += 2;
  const subjectLength = readField(text, i);
  if (subjectLength < 0) return null;
  i += subjectLength;
  if (text.charCodeAt(i) !== 0x2e) return null;
  i++;
  const detailLength = readField(text, i);
  if (detailLength < 0) return null;
  i += detailLength;
  if (!isStatusTerminator(text.charCodeAt(i))) return null;
  return text.slice(start, i);
}

/**
 * Describes a status such as "5.1.1": its class, the subject's area and the detail's meaning.
 * Unregistered details fall back to the subject's catch-all meaning (`known: false`); an
 * unregistered subject gets a generic description. Returns null when `status` is not of the
 * `class.subject.detail` form.
 */
export function describeEnhancedStatus(status: string): EnhancedStatusDescription | null {
  const known = DESCRIBED.get(status);
  if (known !== undefined) return known;
  const description = makeDescription(status);
  if (DESCRIBED.size < MAX_DESCRIBED)
    DESCRIBED.set(status, description === null ? null : Object.freeze(description));
  return description;
}

/**
 * Statuses described so far, each with its one frozen description (or null), shared by every reply that carries
 * it. Bounded: past MAX_DESCRIBED distinct texts (real traffic has a few dozen) the others are described anew.
 */
const DESCRIBED = new Map<string, EnhancedStatusDescription | null>();
const MAX_DESCRIBED = 1024;

function makeDescription(status: string): EnhancedStatusDescription | null {
  const parsed = parseEnhancedStatus(status);
  if (parsed === null || parsed.length !== status.trim().length) return null;
  const firstDot = parsed.indexOf('.');
  const secondDot = parsed.indexOf('.', firstDot + 1);
  const classDigit = parsed.charCodeAt(0) - 0x30;
  const subjectNumber = Number(parsed.slice(firstDot + 1, secondDot));
  const detailNumber = Number(parsed.slice(secondDot + 1));
  const statusClass: EnhancedStatusClass =
    classDigit === 2 ? 'success' : classDigit === 4 ? 'persistent-transient' : 'permanent';
  const subjectEntry = SUBJECTS.get(subjectNumber);
  const subject = subjectEntry ? subjectEntry[0] : `Unregistered subject ${subjectNumber}`;
  const fallback = subjectEntry ? subjectEntry[1] : `Unregistered status in subject ${subjectNumber}`;
  let detail = fallback;
  let known = subjectEntry !== undefined && detailNumber === 0;
  if (detailNumber !== 0) {
    const meaning = DETAILS.get(`${subjectNumber}.${detailNumber}`);
    if (meaning !== undefined) {
      detail = meaning;
      known = true;
    }
  }
  return {
    status: parsed,
    statusClass,
    subjectNumber,
    detailNumber,
    permanent: classDigit === 5,
    transient: classDigit === 4,
    subject,
    detail,
    known,
  };
}

/** Every registered subject.detail pair this module knows (for documentation and tests). */
export function registeredEnhancedStatusDetails(): readonly string[] {
  const out: string[] = [];
  for (const subject of SUBJECTS.keys()) out.push(`${subject}.0`);
  for (const key of DETAILS.keys()) out.push(key);
  return out;
}
