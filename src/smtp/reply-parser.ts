/**
 * SMTP reply lines (RFC 5321 §4.2): `NNN SP text`, `NNN-text` (continued) or a bare `NNN`. Multi-line replies
 * are assembled here; every code is kept, out-of-range ones are reported by the caller as `invalid-reply`.
 */

import { latin1Range, replyCodeAt } from './dialogue/lines.js';
import type { SmtpReply } from './types.js';

export interface ReplyLine {
  readonly code: number;
  readonly continued: boolean;
  readonly text: string;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Parses one reply line; null when it does not start with three digits followed by SP, '-', TAB or the end. */
export function parseReplyLine(line: string): ReplyLine | null {
  if (line.length < 3) return null;
  const a = line.charCodeAt(0);
  const b = line.charCodeAt(1);
  const c = line.charCodeAt(2);
  if (!isDigit(a) || !isDigit(b) || !isDigit(c)) return null;
  const code = (a - 48) * 100 + (b - 48) * 10 + (c - 48);
  if (line.length === 3) return { code, continued: false, text: '' };
  const sep = line[3];
  if (sep === '-') return { code, continued: true, text: line.slice(4) };
  if (sep === ' ' || sep === '\t') return { code, continued: false, text: line.slice(4) };
  return null;
}

/** RFC 5321 §4.2: first digit 2–5, second 0–5. Other codes are kept but flagged. */
export function isValidReplyCode(code: number): boolean {
  const first = Math.floor(code / 100);
  const second = Math.floor(code / 10) % 10;
  return first >= 2 && first <= 5 && second <= 5;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/** End of the run of 1 to 3 digits at `start`, or -1 when there is none or it is longer. */
function digitsEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length && i - start < 4 && isDigit(text.charCodeAt(i))) i++;
  const n = i - start;
  return n === 0 || n > 3 ? -1 : i;
}

/** The digits `text[start, end)` as a number. */
function digitsValue(text: string, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

/**
 * Enhanced status texts made so far, by their value (class, subject, detail as one number): most replies of a
 * capture carry a few statuses (2.0.0, 2.1.0, 2.1.5), so each is made once instead of once per reply. Bounded.
 */
const STATUS_TEXTS = new Map<number, string>();
const MAX_STATUS_TEXTS = 1024;

/**
 * RFC 3463 enhanced status at the start of a reply's text: class 2/4/5, subject and detail of 1–3 digits,
 * followed by a space or the end. The class must agree with the reply code's first digit; else null.
 * Read by character codes: no match array or intermediate string; each status's text is made once (STATUS_TEXTS).
 */
export function extractEnhancedStatus(code: number, text: string): string | null {
  const length = text.length;
  let i = 0;
  while (i < length && isBlank(text.charCodeAt(i))) i++;
  const cls = text.charCodeAt(i);
  if (cls !== 50 && cls !== 52 && cls !== 53) return null;
  if (text.charCodeAt(i + 1) !== 46) return null;
  const subjectStart = i + 2;
  const subjectEnd = digitsEnd(text, subjectStart);
  if (subjectEnd < 0 || text.charCodeAt(subjectEnd) !== 46) return null;
  const detailStart = subjectEnd + 1;
  const detailEnd = digitsEnd(text, detailStart);
  if (detailEnd < 0 || (detailEnd < length && !isBlank(text.charCodeAt(detailEnd)))) return null;
  if (cls - 48 !== Math.floor(code / 100)) return null;
  const subject = digitsValue(text, subjectStart, subjectEnd);
  const detail = digitsValue(text, detailStart, detailEnd);
  const key = ((cls - 48) * 1000 + subject) * 1000 + detail;
  const known = STATUS_TEXTS.get(key);
  if (known !== undefined) return known;
  // Leading zeros dropped: the text of the numbers.
  const status = `${cls - 48}.${subject}.${detail}`;
  if (STATUS_TEXTS.size < MAX_STATUS_TEXTS) STATUS_TEXTS.set(key, status);
  return status;
}

export interface ReplyAssemblerCallbacks {
  /** Lines kept per reply; later lines are dropped (still consumed). */
  readonly maxReplyLines: number;
  onReply(reply: SmtpReply): void;
  /** A continuation line carried a different code than the first line. */
  onCodeMismatch(expected: number, got: number, offset: number, tsMicros: number): void;
}

export type ReplyLineResult = 'complete' | 'continued' | 'invalid';

/** The code of a reply line (three digits then SP, '-', TAB or the end), or -1: `parseReplyLine` without objects. */
function replyLineCode(line: string): number {
  if (line.length < 3) return -1;
  const a = line.charCodeAt(0);
  const b = line.charCodeAt(1);
  const c = line.charCodeAt(2);
  if (!isDigit(a) || !isDigit(b) || !isDigit(c)) return -1;
  if (line.length > 3) {
    const sep = line.charCodeAt(3);
    if (sep !== 0x2d && sep !== 0x20 && sep !== 0x09) return -1;
  }
  return (a - 48) * 100 + (b - 48) * 10 + (c - 48);
}

/** No lines (a reply whose lines were all past the limit cannot happen; a flushed empty reply can). */
const NO_LINES: readonly string[] = Object.freeze([]);

/** The one reply object a reusing assembler fills again for each reply. */
class ReusedReply implements SmtpReply {
  code = 0;
  enhancedStatus: string | null = null;
  lines: readonly string[] = NO_LINES;
  offset = 0;
  tsMicros = 0;
  endTsMicros = 0;
  encrypted = false;
}

/**
 * Assembles multi-line replies. A class with fixed fields: one per connection, no per-instance closures.
 *
 * With `reuse`, the reply handed to `onReply` is one object filled again for each reply, and a one-line reply's
 * `lines` one array: both are valid during the call only (the SMTP dialogue's replies; the handler copies what it
 * keeps). A reply of two or more lines has an array of its own. Without it, each reply is a new object.
 */
export class ReplyAssembler {
  private code = 0;
  /** The reply's first line, kept alone until a second comes: most replies have one line. */
  private first = '';
  /** Every line kept so far once there are two or more; null before. */
  private more: string[] | null = null;
  /** Lines kept so far (at most `maxReplyLines`). */
  private count = 0;
  private offset = 0;
  private firstTs = 0;
  private isOpen = false;
  /** Replies completed from now on were read from decrypted TLS bytes (`SmtpReply.encrypted`). */
  encrypted = false;
  private readonly maxLines: number;
  /** The reused reply; null when every reply is a new object. */
  private readonly reused: ReusedReply | null;
  /** The reused reply's `lines` when it has one line: one array, its line replaced for each reply. */
  private readonly single: string[] = [''];
  /** The reused reply is being handed out (a reply completed inside that call gets an object of its own). */
  private delivering = false;

  constructor(
    private readonly callbacks: ReplyAssemblerCallbacks,
    reuse = false,
  ) {
    this.maxLines = callbacks.maxReplyLines;
    this.reused = reuse ? new ReusedReply() : null;
  }

  private finish(endTs: number): void {
    const code = this.code;
    const enhancedStatus = extractEnhancedStatus(code, this.count === 0 ? '' : this.first);
    const reused = this.reused;
    if (reused === null || this.delivering) {
      const reply: SmtpReply = {
        code,
        enhancedStatus,
        lines: this.more ?? (this.count === 0 ? [] : [this.first]),
        offset: this.offset,
        tsMicros: this.firstTs,
        endTsMicros: endTs,
        encrypted: this.encrypted,
      };
      this.isOpen = false;
      this.more = null;
      this.count = 0;
      this.callbacks.onReply(reply);
      return;
    }
    reused.code = code;
    reused.enhancedStatus = enhancedStatus;
    if (this.more !== null) reused.lines = this.more;
    else if (this.count === 0) reused.lines = NO_LINES;
    else {
      this.single[0] = this.first;
      reused.lines = this.single;
    }
    reused.offset = this.offset;
    reused.tsMicros = this.firstTs;
    reused.endTsMicros = endTs;
    reused.encrypted = this.encrypted;
    this.isOpen = false;
    this.more = null;
    this.count = 0;
    this.delivering = true;
    try {
      this.callbacks.onReply(reused);
    } finally {
      this.delivering = false;
      reused.lines = NO_LINES;
    }
  }

  /**
   * Adds a line. 'invalid': not a reply line; inside an open multi-line reply it is kept as text (RFC 959 style
   * continuation), otherwise dropped.
   */
  pushLine(line: string, lineOffset: number, tsMicros: number): ReplyLineResult {
    const code = replyLineCode(line);
    if (code < 0) {
      if (this.isOpen) this.keep(line);
      return 'invalid';
    }
    const continued = line.length > 3 && line.charCodeAt(3) === 0x2d;
    return this.accept(code, continued, line.length === 3 ? '' : line.slice(4), lineOffset, tsMicros);
  }

  /**
   * `pushLine` for the line `bytes[start, end)`, read on the bytes: only the text kept is made into a string
   * (the text after the code, or the whole line when an open reply keeps a line that is not a reply line).
   */
  pushRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    lineOffset: number,
    tsMicros: number,
  ): ReplyLineResult {
    const code = replyCodeAt(bytes, start, end);
    if (code < 0) {
      if (this.isOpen) this.keep(latin1Range(bytes, start, end));
      return 'invalid';
    }
    const continued = end - start > 3 && bytes[start + 3] === 0x2d;
    const text = end - start === 3 ? '' : latin1Range(bytes, start + 4, end);
    return this.accept(code, continued, text, lineOffset, tsMicros);
  }

  private accept(
    code: number,
    continued: boolean,
    text: string,
    lineOffset: number,
    tsMicros: number,
  ): ReplyLineResult {
    if (!this.isOpen) {
      this.code = code;
      this.offset = lineOffset;
      this.firstTs = tsMicros;
      this.isOpen = true;
    } else if (code !== this.code) {
      this.callbacks.onCodeMismatch(this.code, code, lineOffset, tsMicros);
    }
    this.keep(text);
    if (continued) return 'continued';
    this.finish(tsMicros);
    return 'complete';
  }

  /** A multi-line reply is open. */
  get open(): boolean {
    return this.isOpen;
  }

  /** Completes an open reply with the lines seen so far (end of stream). Returns whether one was open. */
  flush(tsMicros: number): boolean {
    if (!this.isOpen) return false;
    this.finish(tsMicros);
    return true;
  }

  reset(): void {
    this.isOpen = false;
    this.more = null;
    this.count = 0;
  }

  private keep(text: string): void {
    const count = this.count;
    if (count >= this.maxLines) return;
    this.count = count + 1;
    if (count === 0) this.first = text;
    else if (this.more === null) this.more = [this.first, text];
    else this.more.push(text);
  }
}

export function createReplyAssembler(callbacks: ReplyAssemblerCallbacks): ReplyAssembler {
  return new ReplyAssembler(callbacks);
}
