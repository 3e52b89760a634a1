/**
 * EHLO reply → server capabilities (RFC 5321 §4.1.1.1). The first line names the server; each later line is
 * `KEYWORD [params]`. Keywords are case-insensitive; `AUTH=LOGIN PLAIN` (the pre-RFC 2554 form some servers
 * still send) counts as AUTH mechanisms.
 */

import type { Capabilities } from './capabilities.js';

/** What `String.prototype.trim` removes: ECMAScript white space and line terminators. */
function isTrimmed(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** End of the word (run of non-blanks) at `start`, at most `end`. */
function wordEnd(text: string, start: number, end: number): number {
  let i = start;
  while (i < end && !isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** Start of the next word at or after `start` (`end` when none). */
function wordStart(text: string, start: number, end: number): number {
  let i = start;
  while (i < end && isBlank(text.charCodeAt(i))) i++;
  return i;
}

/** `^[0-9]{1,15}$` on `text[start, end)`. */
function isSizeDigits(text: string, start: number, end: number): boolean {
  const n = end - start;
  if (n < 1 || n > 15) return false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const NONE: readonly string[] = Object.freeze([]);

function addOnce(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}

/** The keyword lines (all but the first) of the latest reply parsed, and what they gave. */
let lastLines: readonly string[] | null = null;
let lastCapabilities: Capabilities | null = null;

/** The keyword lines of two EHLO replies are the same text (the first line, the server's name, is not read). */
function sameKeywordLines(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Parses the lines (text after the code) of a 250 reply to EHLO or LHLO. The servers of a capture mostly answer
 * alike: when the keyword lines are those of the latest reply parsed, its result (read-only) is given again.
 */
export function parseEhloCapabilities(lines: readonly string[]): Capabilities {
  const last = lastLines;
  if (last !== null && lastCapabilities !== null && sameKeywordLines(lines, last)) return lastCapabilities;
  const capabilities = parseLines(lines);
  // A copy: a reply's lines may be an array its owner fills again (the decoder's one-line replies).
  lastLines = lines.slice();
  lastCapabilities = capabilities;
  return capabilities;
}

/**
 * Each line is read by index: no split, no word arrays; the arrays of AUTH mechanisms and other keywords are made
 * only when there is one.
 */
function parseLines(lines: readonly string[]): Capabilities {
  const keywords: string[] = [];
  let other: string[] | null = null;
  let auth: string[] | null = null;
  let size: number | null = null;
  let pipelining = false;
  let chunking = false;
  let eightBitMime = false;
  let binaryMime = false;
  let smtpUtf8 = false;
  let dsn = false;
  let enhancedStatusCodes = false;
  let starttls = false;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    let start = 0;
    let end = line.length;
    while (start < end && isTrimmed(line.charCodeAt(start))) start++;
    while (end > start && isTrimmed(line.charCodeAt(end - 1))) end--;
    if (start === end) continue;
    const first = wordEnd(line, start, end);
    const word = line.slice(start, first).toUpperCase();
    // The old form `AUTH=LOGIN PLAIN`: the text after '=' is the first mechanism.
    const oldAuth = word.startsWith('AUTH=');
    const keyword = oldAuth ? 'AUTH' : word;
    keywords.push(keyword);
    switch (keyword) {
      case 'AUTH': {
        const mechanisms: string[] = auth ?? [];
        auth = mechanisms;
        if (oldAuth && word.length > 5) addOnce(mechanisms, word.slice(5));
        for (let w = wordStart(line, first, end); w < end; ) {
          const e = wordEnd(line, w, end);
          addOnce(mechanisms, line.slice(w, e).toUpperCase());
          w = wordStart(line, e, end);
        }
        break;
      }
      case 'SIZE': {
        const w = wordStart(line, first, end);
        const e = wordEnd(line, w, end);
        if (isSizeDigits(line, w, e)) size = Number(line.slice(w, e));
        break;
      }
      case 'PIPELINING':
        pipelining = true;
        break;
      case 'CHUNKING':
        chunking = true;
        break;
      case '8BITMIME':
        eightBitMime = true;
        break;
      case 'BINARYMIME':
        binaryMime = true;
        break;
      case 'SMTPUTF8':
        smtpUtf8 = true;
        break;
      case 'DSN':
        dsn = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        enhancedStatusCodes = true;
        break;
      case 'STARTTLS':
        starttls = true;
        break;
      default:
        if (other === null) other = [];
        other.push(start === 0 && end === line.length ? line : line.slice(start, end));
    }
  }
  return {
    keywords,
    size,
    pipelining,
    chunking,
    eightBitMime,
    binaryMime,
    smtpUtf8,
    dsn,
    enhancedStatusCodes,
    starttls,
    authMechanisms: auth ?? NONE,
    other: other ?? NONE,
  };
}
