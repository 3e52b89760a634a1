/**
 * SMTP reply lines (RFC 5321 §4.2): `NNN SP text`, `NNN-text` (continued) or a bare `NNN`. Multi-line replies
 * are assembled here; every code is kept, out-of-range ones are reported by the caller as `invalid-reply`.
 */

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

const ENHANCED = /^[ \t]*([245])\.([0-9]{1,3})\.([0-9]{1,3})(?=$|[ \t])/;

/**
 * RFC 3463 enhanced status at the start of a reply's text: class 2/4/5, subject and detail of 1–3 digits,
 * followed by a space or the end. The class must agree with the reply code's first digit; else null.
 */
export function extractEnhancedStatus(code: number, text: string): string | null {
  const m = ENHANCED.exec(text);
  if (m === null) return null;
  if (Number(m[1]) !== Math.floor(code / 100)) return null;
  return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
}

export interface ReplyAssemblerCallbacks {
  /** Lines kept per reply; later lines are dropped (still consumed). */
  readonly maxReplyLines: number;
  onReply(reply: SmtpReply): void;
  /** A continuation line carried a different code than the first line. */
  onCodeMismatch(expected: number, got: number, offset: number, tsMicros: number): void;
}

export type ReplyLineResult = 'complete' | 'continued' | 'invalid';

export interface ReplyAssembler {
  /**
   * Adds a line. 'invalid': not a reply line; inside an open multi-line reply it is kept as text (RFC 959 style
   * continuation), otherwise dropped.
   */
  pushLine(line: string, offset: number, tsMicros: number): ReplyLineResult;
  /** A multi-line reply is open. */
  readonly open: boolean;
  /** Completes an open reply with the lines seen so far (end of stream). Returns whether one was open. */
  flush(tsMicros: number): boolean;
  reset(): void;
  /** Replies completed from now on were read from decrypted TLS bytes (`SmtpReply.encrypted`). */
  encrypted: boolean;
}

export function createReplyAssembler(callbacks: ReplyAssemblerCallbacks): ReplyAssembler {
  let code = 0;
  let lines: string[] = [];
  let offset = 0;
  let firstTs = 0;
  let isOpen = false;
  let encrypted = false;

  function finish(endTs: number): void {
    const first = lines[0] ?? '';
    const reply: SmtpReply = {
      code,
      enhancedStatus: extractEnhancedStatus(code, first),
      lines,
      offset,
      tsMicros: firstTs,
      endTsMicros: endTs,
      encrypted,
    };
    isOpen = false;
    lines = [];
    callbacks.onReply(reply);
  }

  return {
    pushLine(line: string, lineOffset: number, tsMicros: number): ReplyLineResult {
      const parsed = parseReplyLine(line);
      if (parsed === null) {
        if (!isOpen) return 'invalid';
        if (lines.length < callbacks.maxReplyLines) lines.push(line);
        return 'invalid';
      }
      if (!isOpen) {
        code = parsed.code;
        offset = lineOffset;
        firstTs = tsMicros;
        isOpen = true;
      } else if (parsed.code !== code) {
        callbacks.onCodeMismatch(code, parsed.code, lineOffset, tsMicros);
      }
      if (lines.length < callbacks.maxReplyLines) lines.push(parsed.text);
      if (parsed.continued) return 'continued';
      finish(tsMicros);
      return 'complete';
    },
    get open(): boolean {
      return isOpen;
    },
    flush(tsMicros: number): boolean {
      if (!isOpen) return false;
      finish(tsMicros);
      return true;
    },
    reset(): void {
      isOpen = false;
      lines = [];
    },
    get encrypted(): boolean {
      return encrypted;
    },
    set encrypted(value: boolean) {
      encrypted = value;
    },
  };
}
