/**
 * One AUTH exchange (RFC 4954): the mechanism, the client's responses (kept for the username, redacted in
 * events), and how many responses the mechanism needs when no server reply is seen. Also the base64 evidence used
 * when replies are missing: a line with a character outside the base64 alphabet (`MAIL FROM:<a@b>` has ':' '<'
 * '@' and a space) cannot be an AUTH response.
 */

import type { AuthItem } from '../auth-credentials.js';
import type { SmtpCommand } from '../types.js';

export const MAX_AUTH_ITEMS = 8;

export class AuthExchange {
  readonly items: AuthItem[] = [];
  prompt: string | null = null;
  aborted = false;
  /** The AUTH command or the latest response: what a 334 answers when the queue lost it (a gap). */
  lastStep: SmtpCommand | null;

  constructor(
    readonly mechanism: string,
    /** Responses the mechanism still needs when no server reply is seen (client-only capture). */
    public expectedRemaining: number,
    command: SmtpCommand | null,
  ) {
    this.lastStep = command;
  }

  addResponse(trimmed: string): void {
    if (trimmed === '*') this.aborted = true;
    else if (this.items.length < MAX_AUTH_ITEMS) this.items.push({ data: trimmed, prompt: this.prompt });
    this.expectedRemaining--;
  }
}

export function expectedAuthResponses(mechanism: string, hasInitialResponse: boolean): number {
  switch (mechanism) {
    case 'PLAIN':
    case 'XOAUTH2':
    case 'OAUTHBEARER':
      return hasInitialResponse ? 0 : 1;
    case 'LOGIN':
      return hasInitialResponse ? 1 : 2;
    case 'CRAM-MD5':
      return 1;
    case 'DIGEST-MD5':
      return 2;
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/**
 * Whether a client line can be an AUTH response: base64 (RFC 4648 alphabet, '=' padding), or the `*` that
 * cancels, or empty. Byte checks, no regular expression.
 */
export function couldBeAuthResponse(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const ok =
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x2b || // +
      c === 0x2f || // /
      c === 0x3d || // =
      (c === 0x2a && n === 1); // * alone
    if (!ok) return false;
  }
  return true;
}
