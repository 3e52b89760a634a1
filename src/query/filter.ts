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
 *
 * A term is matched against a session's {@link FilterFacts}. The HTML report's page evaluates the same language
 * with these very functions: {@link PAGE_FILTER_FUNCTIONS} are written to need nothing but each other,
 * `FILTER_KEYS` and `FILTER_REASONS`, so the page carries their source text (text/html-script.ts).
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

/**
 * What a filter term reads of one session, lower case wherever text is compared: `--where` and the dashboard
 * build it from the session ({@link filterFactsOf}); the HTML report's page holds one per listed session.
 */
export interface FilterFacts {
  /** The searchable text of plain words (query/session-facts.ts `haystack`). */
  readonly text: string;
  /** Every reply: code and enhanced status. */
  readonly replies: readonly (readonly [number, string | null])[];
  readonly reasons: readonly string[];
  readonly clientIp: string;
  readonly serverIp: string;
  readonly senderDomains: readonly string[];
  readonly recipientDomains: readonly string[];
  /** MAIL FROM addresses and recipients. */
  readonly from: readonly string[];
  readonly to: readonly string[];
  readonly helo: string | null;
  readonly software: string;
  readonly serverName: string | null;
  /** The session's end (`quit`, `rst`, ...). */
  readonly end: string;
}

const filterFactsCache = new WeakMap<SmtpSession, FilterFacts>();

/** The facts of a session (computed once per session object, as query/session-facts.ts does). */
export function filterFactsOf(session: SmtpSession): FilterFacts {
  const cached = filterFactsCache.get(session);
  if (cached !== undefined) return cached;
  const f = factsOf(session);
  const from: string[] = [];
  const to: string[] = [];
  for (const t of session.transactions) {
    if (t.mailFrom !== null) from.push(t.mailFrom.toLowerCase());
    for (const r of t.recipients) to.push(r.address.toLowerCase());
  }
  const facts: FilterFacts = {
    text: f.haystack,
    replies: f.replies.map((r) => [r.code, r.enhancedStatus] as const),
    reasons: f.reasons,
    clientIp: session.client.ip.toLowerCase(),
    serverIp: session.server.ip.toLowerCase(),
    senderDomains: f.senderDomains,
    recipientDomains: f.recipientDomains,
    from,
    to,
    helo: session.helo?.toLowerCase() ?? null,
    software: session.software,
    serverName: session.serverName?.toLowerCase() ?? null,
    end: session.end,
  };
  filterFactsCache.set(session, facts);
  return facts;
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
  if (pattern.endsWith('.') || pattern.endsWith(':')) return ip.startsWith(pattern);
  return ip === pattern;
}

function domainMatches(pattern: string, domain: string): boolean {
  return domain === pattern || domain.endsWith(`.${pattern}`);
}

function termMatches(term: FilterTerm, f: FilterFacts): boolean {
  const v = term.value;
  switch (term.key) {
    case 'text':
      return f.text.includes(v);
    case 'code':
      return f.replies.some((r) => codeMatches(v, r[0], r[1]));
    case 'reason':
      return f.reasons.some((r) => r.startsWith(v));
    case 'ip':
      return ipMatches(v, f.clientIp) || ipMatches(v, f.serverIp);
    case 'domain':
      return (
        f.senderDomains.some((d) => domainMatches(v, d)) ||
        f.recipientDomains.some((d) => domainMatches(v, d))
      );
    case 'from':
      return f.from.some((a) => a.includes(v));
    case 'to':
      return f.to.some((a) => a.includes(v));
    case 'helo':
      return f.helo?.includes(v) === true;
    case 'server':
      return f.software.includes(v) || f.serverName?.includes(v) === true || f.serverIp.includes(v);
    case 'end':
      return f.end.startsWith(v);
  }
}

/** Whether facts match every term (the page's entry point; {@link matchesFilter} for a session). */
export function matchFacts(terms: readonly FilterTerm[], facts: FilterFacts): boolean {
  for (const term of terms) {
    if (termMatches(term, facts) === term.negated) return false;
  }
  return true;
}

/** Whether the session matches every term of the filter. */
export function matchesFilter(filter: Filter, session: SmtpSession): boolean {
  return filter.terms.length === 0 || matchFacts(filter.terms, filterFactsOf(session));
}

/**
 * The functions the HTML report's page evaluates the language with, in the order the page defines them (their
 * source text is the page's filter: text/html-script.ts). They use nothing but each other, `FILTER_KEYS` and
 * `FILTER_REASONS`.
 */
export const PAGE_FILTER_FUNCTIONS: readonly ((...args: never[]) => unknown)[] = [
  tokens,
  checkValue,
  parseFilter,
  codeMatches,
  ipMatches,
  domainMatches,
  termMatches,
  matchFacts,
];
