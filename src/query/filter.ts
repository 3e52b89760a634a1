/**
 * The session filter language of the dashboard and of --where (docs/DASHBOARD.md): space-separated terms, all of which must match.
 *
 *   word                 the word appears anywhere (addresses, HELO, IPs, reply codes and text, subjects…)
 *   "two words"          a phrase, with quotes
 *   code:550             some reply has this code; code:5xx / code:55x by class; code:5.1.1 enhanced status
 *   reason:greylisted    some failure has this reason class (a prefix is enough: reason:grey)
 *   ip:127.0.0.1         client or server address; a trailing `.` or `:` matches a prefix (ip:10.1.)
 *   domain:example.org   a sender or recipient domain is this domain or below it
 *   from:alice  to:bob   MAIL FROM / RCPT TO address contains the text
 *   helo:mx  server:postfix  end:rst
 *   -term                negation: sessions the term does not match
 *
 * Matching ignores case. A word with a colon whose key is not listed is an ordinary word (so `::1` and
 * `a:b` still search text).
 */

import type { SmtpSession } from '../model/types.js';
import { factsOf } from './session-facts.js';

export type FilterKey =
  | 'text'
  | 'code'
  | 'reason'
  | 'ip'
  | 'domain'
  | 'from'
  | 'to'
  | 'helo'
  | 'server'
  | 'end';

export interface FilterTerm {
  readonly key: FilterKey;
  readonly value: string;
  readonly negated: boolean;
}

export interface Filter {
  readonly source: string;
  readonly terms: readonly FilterTerm[];
}

export type FilterParse =
  | { readonly ok: true; readonly filter: Filter }
  | { readonly ok: false; readonly error: string };

/** The keys of `key:value` terms. */
export const FILTER_KEYS: ReadonlySet<string> = new Set([
  'code',
  'reason',
  'ip',
  'domain',
  'from',
  'to',
  'helo',
  'server',
  'end',
]);

/** The reason classes `reason:` accepts (a prefix of one is enough). */
export const FILTER_REASONS = [
  'mailbox-unknown',
  'mailbox-full',
  'relay-denied',
  'policy-or-spam',
  'greylisted',
  'tls-required',
  'auth-failed',
  'message-too-big',
  'rate-limited',
  'routing-or-dns',
  'server-unavailable',
  'protocol-error',
  'other',
] as const;

/** The empty filter: matches every session. */
export const MATCH_ALL: Filter = { source: '', terms: [] };

/** Splits on spaces, keeping "quoted phrases" (an unclosed quote runs to the end). */
function tokens(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && text[i] === ' ') i++;
    if (i >= text.length) break;
    let token = '';
    while (i < text.length && text[i] !== ' ') {
      if (text[i] === '"') {
        const end = text.indexOf('"', i + 1);
        const stop = end < 0 ? text.length : end;
        token += text.slice(i + 1, stop);
        i = stop + 1;
      } else {
        token += text[i];
        i++;
      }
    }
    if (token !== '') out.push(token);
  }
  return out;
}

function checkValue(key: FilterKey, value: string): string | null {
  if (value === '') return `'${key}:' needs a value`;
  if (key === 'code' && !/^[2-5](?:\d\d|\dx|xx)$/.test(value) && !/^[245]\.\d{1,3}\.\d{1,3}$/.test(value))
    return `'code:' takes a reply code (550), a class (5xx, 55x) or an enhanced status (5.1.1), not '${value}'`;
  if (key === 'reason' && !FILTER_REASONS.some((r) => r.startsWith(value)))
    return `'reason:' takes one of ${FILTER_REASONS.join(', ')}; '${value}' matches none`;
  return null;
}

/** Parses filter text; an error names the bad term. Empty text is the match-all filter. */
export function parseFilter(text: string): FilterParse {
  const terms: FilterTerm[] = [];
  for (const raw of tokens(text.trim())) {
    let token = raw;
    let negated = false;
    if (token.length > 1 && token.startsWith('-')) {
      negated = true;
      token = token.slice(1);
    }
    const colon = token.indexOf(':');
    const maybeKey = colon > 0 ? token.slice(0, colon).toLowerCase() : '';
    if (FILTER_KEYS.has(maybeKey)) {
      const key = maybeKey as FilterKey;
      const value = token.slice(colon + 1).toLowerCase();
      const error = checkValue(key, value);
      if (error !== null) return { ok: false, error };
      terms.push({ key, value, negated });
    } else {
      terms.push({ key: 'text', value: token.toLowerCase(), negated });
    }
  }
  return { ok: true, filter: { source: text.trim(), terms } };
}

function codeMatches(pattern: string, code: number, enhanced: string | null): boolean {
  if (pattern.includes('.')) return enhanced !== null && enhanced === pattern;
  const digits = String(code);
  for (let i = 0; i < 3; i++) {
    const p = pattern[i];
    if (p !== 'x' && p !== digits[i]) return false;
  }
  return true;
}

function ipMatches(pattern: string, ip: string): boolean {
  const lower = ip.toLowerCase();
  if (pattern.endsWith('.') || pattern.endsWith(':')) return lower.startsWith(pattern);
  return lower === pattern;
}

function domainMatches(pattern: string, domain: string): boolean {
  return domain === pattern || domain.endsWith(`.${pattern}`);
}

function termMatches(term: FilterTerm, session: SmtpSession): boolean {
  const v = term.value;
  switch (term.key) {
    case 'text':
      return factsOf(session).haystack.includes(v);
    case 'code':
      return factsOf(session).replies.some((r) => codeMatches(v, r.code, r.enhancedStatus));
    case 'reason':
      return factsOf(session).reasons.some((r) => r.startsWith(v));
    case 'ip':
      return ipMatches(v, session.client.ip) || ipMatches(v, session.server.ip);
    case 'domain': {
      const f = factsOf(session);
      return (
        f.senderDomains.some((d) => domainMatches(v, d)) ||
        f.recipientDomains.some((d) => domainMatches(v, d))
      );
    }
    case 'from':
      return session.transactions.some((t) => t.mailFrom?.toLowerCase().includes(v));
    case 'to':
      return session.transactions.some((t) => t.recipients.some((r) => r.address.toLowerCase().includes(v)));
    case 'helo':
      return session.helo?.toLowerCase().includes(v) === true;
    case 'server':
      return (
        session.software.includes(v) ||
        session.serverName?.toLowerCase().includes(v) ||
        session.server.ip.toLowerCase().includes(v)
      );
    case 'end':
      return session.end.startsWith(v);
  }
}

/** Whether the session matches every term of the filter. */
export function matchesFilter(filter: Filter, session: SmtpSession): boolean {
  for (const term of filter.terms) {
    if (termMatches(term, session) === term.negated) return false;
  }
  return true;
}
