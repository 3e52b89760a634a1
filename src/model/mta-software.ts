/**
 * Which mail server software answered, judged only from what its greeting and EHLO reply say.
 * Rules claim a product only when the text names it or carries a phrase that product alone
 * uses; a bare "host ESMTP" banner (qmail's default, and many others) stays `unknown`.
 */

import type { MtaSoftware } from './types.js';

type Rule = readonly [RegExp, MtaSoftware];

/** Greeting rules, most specific first. */
const GREETING_RULES: readonly Rule[] = [
  // Microsoft 365 front ends announce their host under outlook.com / exchangelabs.com.
  [/\.outlook\.com\b|\.exchangelabs\.com\b|\.outlook\.office365\.com\b/i, 'microsoft-365'],
  [/\bMicrosoft ESMTP MAIL Service\b|\bMicrosoft Exchange\b/i, 'exchange'],
  [/\bgsmtp\b|\bmx\.google\.com\b|\bsmtp\.gmail\.com\b/i, 'gmail'],
  [/\bPostfix\b/i, 'postfix'],
  [/\bExim\b/i, 'exim'],
  [/\bSendmail\b/i, 'sendmail'],
  [/\bHaraka\b/i, 'haraka'],
  [/\bOpenSMTPD\b/i, 'opensmtpd'],
  [/\bqmail\b/i, 'qmail'],
  [/\bCourier\b/i, 'courier'],
  [/\bMDaemon\b/i, 'mdaemon'],
  [/\bZimbra\b/i, 'zimbra'],
];

/** EHLO reply rules (lines without codes), used when the greeting names nothing. */
const EHLO_RULES: readonly Rule[] = [
  [/\.outlook\.com\b|\.exchangelabs\.com\b/i, 'microsoft-365'],
  // Exchange-only extension keywords.
  [/^(X-EXPS|XEXCH50|X-LINK2STATE|X-ANONYMOUSTLS)\b/i, 'exchange'],
  [/\.google\.com at your service\b/i, 'gmail'],
  [/\bHaraka\b/i, 'haraka'],
  // nodemailer's smtp-server answers EHLO with "<name> Nice to meet you, <client>" by default.
  [/\bNice to meet you, /, 'smtp-server'],
  [/\bPostfix\b/i, 'postfix'],
  [/\bExim\b/i, 'exim'],
  [/\bSendmail\b/i, 'sendmail'],
  [/\bOpenSMTPD\b/i, 'opensmtpd'],
  [/\bMDaemon\b/i, 'mdaemon'],
];

function firstMatch(rules: readonly Rule[], text: string): MtaSoftware | null {
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as Rule;
    if (rule[0].test(text)) return rule[1];
  }
  return null;
}

/**
 * The latest question and answer of each function below: the sessions of a capture mostly come from a few servers
 * that greet alike, so the next session's server asks the same question (the greeting text is compared, then each
 * EHLO line). One entry each, copies of what was asked.
 */
let lastGreeting: string | null = null;
let lastEhloLines: readonly string[] | null = null;
let lastSoftware: MtaSoftware = 'unknown';
let lastNameText: string | null = null;
let lastName: string | null = null;

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Guesses the server software from the greeting text (without the 220 code, lines joined with
 * "\n") and the EHLO reply lines (without codes). Returns `unknown` unless the text identifies it.
 */
export function guessMtaSoftware(greetingText: string | null, ehloLines: readonly string[]): MtaSoftware {
  const lines = lastEhloLines;
  if (lines !== null && greetingText === lastGreeting && sameLines(ehloLines, lines)) return lastSoftware;
  const software = guess(greetingText, ehloLines);
  lastGreeting = greetingText;
  lastEhloLines = ehloLines.slice();
  lastSoftware = software;
  return software;
}

function guess(greetingText: string | null, ehloLines: readonly string[]): MtaSoftware {
  if (greetingText !== null) {
    const byGreeting = firstMatch(GREETING_RULES, greetingText);
    if (byGreeting !== null) return byGreeting;
  }
  for (const line of ehloLines) {
    const byEhlo = firstMatch(EHLO_RULES, line);
    if (byEhlo !== null) return byEhlo;
  }
  return 'unknown';
}

const HOST_NAME =
  /^(?=.{1,253}\.?$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const ADDRESS_LITERAL = /^\[(?:\d{1,3}(?:\.\d{1,3}){3}|IPv6:[0-9A-Fa-f:.]+)\]$/;
const ENHANCED_STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
const SPACE = /\s/;
const LETTER = /[A-Za-z]/;
const DOTTED_QUAD = /^\d{1,3}(\.\d{1,3}){3}$/;
const LOWER_LABEL = /^[a-z0-9-]+$/;
const DIGIT_OR_HYPHEN = /[0-9-]/;
/** Single words that open banners but are not host names. */
const NOT_HOST_WORDS = new Set([
  'esmtp',
  'smtp',
  'lmtp',
  'welcome',
  'ready',
  'service',
  'hello',
  'hi',
  'mail',
  'server',
  'microsoft',
  'the',
  'this',
  'no',
  'ok',
  'go',
  'ahead',
]);

/**
 * The host name the server announced: the first word of its greeting, when it looks like a
 * domain name (a dotted name, "localhost"-style single label, or an address literal such as
 * "[192.0.2.1]"). A leading enhanced status is skipped. Null when the first word is not a name.
 */
export function serverNameFromGreeting(text: string): string | null {
  if (text === lastNameText) return lastName;
  const name = nameFromGreeting(text);
  lastNameText = text;
  lastName = name;
  return name;
}

function nameFromGreeting(text: string): string | null {
  const lineEnd = text.indexOf('\n');
  const line = (lineEnd < 0 ? text : text.slice(0, lineEnd)).trim();
  // The first word (what split(/\s+/)[0] gives, without the array); the second only after an enhanced status.
  const space = line.search(SPACE);
  let word = space < 0 ? line : line.slice(0, space);
  if (ENHANCED_STATUS.test(word)) word = line.split(/\s+/)[1] ?? '';
  if (word.length === 0) return null;
  if (ADDRESS_LITERAL.test(word)) return word;
  if (!HOST_NAME.test(word)) return null;
  if (word.includes('.')) {
    // A dotted name needs a letter somewhere unless it is a dotted quad.
    return LETTER.test(word) || DOTTED_QUAD.test(word) ? word : null;
  }
  if (NOT_HOST_WORDS.has(word.toLowerCase())) return null;
  // A single label: accept lower-case names (localhost, mailhub) and names with digits or hyphens.
  return LOWER_LABEL.test(word) || DIGIT_OR_HYPHEN.test(word) ? word : null;
}
