/**
 * EHLO reply → server capabilities (RFC 5321 §4.1.1.1). The first line names the server; each later line is
 * `KEYWORD [params]`. Keywords are case-insensitive; `AUTH=LOGIN PLAIN` (the pre-RFC 2554 form some servers
 * still send) counts as AUTH mechanisms.
 */

import type { Capabilities } from './capabilities.js';

const KNOWN = new Set([
  'SIZE',
  'PIPELINING',
  'CHUNKING',
  '8BITMIME',
  'BINARYMIME',
  'SMTPUTF8',
  'DSN',
  'ENHANCEDSTATUSCODES',
  'STARTTLS',
  'AUTH',
]);

/** Parses the lines (text after the code) of a 250 reply to EHLO or LHLO. */
export function parseEhloCapabilities(lines: readonly string[]): Capabilities {
  const keywords: string[] = [];
  const other: string[] = [];
  const auth: string[] = [];
  let size: number | null = null;
  const seen = new Set<string>();
  for (let i = 1; i < lines.length; i++) {
    const text = (lines[i] as string).trim();
    if (text === '') continue;
    const words = text.split(/[ \t]+/);
    let keyword = (words[0] as string).toUpperCase();
    let params = words.slice(1);
    if (keyword.startsWith('AUTH=')) {
      params = [keyword.slice(5), ...params].filter((w) => w !== '');
      keyword = 'AUTH';
    }
    keywords.push(keyword);
    seen.add(keyword);
    if (keyword === 'AUTH') {
      for (const mechanism of params) {
        const upper = mechanism.toUpperCase();
        if (!auth.includes(upper)) auth.push(upper);
      }
    } else if (keyword === 'SIZE') {
      const value = params[0];
      if (value !== undefined && /^[0-9]{1,15}$/.test(value)) size = Number(value);
    } else if (!KNOWN.has(keyword)) {
      other.push(text);
    }
  }
  return {
    keywords,
    size,
    pipelining: seen.has('PIPELINING'),
    chunking: seen.has('CHUNKING'),
    eightBitMime: seen.has('8BITMIME'),
    binaryMime: seen.has('BINARYMIME'),
    smtpUtf8: seen.has('SMTPUTF8'),
    dsn: seen.has('DSN'),
    enhancedStatusCodes: seen.has('ENHANCEDSTATUSCODES'),
    starttls: seen.has('STARTTLS'),
    authMechanisms: auth,
    other,
  };
}
