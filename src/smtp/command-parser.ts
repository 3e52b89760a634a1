/**
 * Parses one SMTP command line (CRLF already stripped, latin1 text) into verb, argument, MAIL/RCPT path and
 * ESMTP parameters. Pure; never throws. Tolerant the way real servers are: `MAIL FROM:<a@b>`, `MAIL FROM: <a@b>`,
 * `MAIL FROM : <a@b>`, `MAIL FROM:a@b`, lower-case verbs, source routes.
 */

import type { SmtpParams, SmtpVerb } from './types.js';

export interface ParsedCommand {
  readonly verb: SmtpVerb;
  /** The verb as sent. */
  readonly verbText: string;
  /** Text after the verb and the spaces that follow it. */
  readonly argument: string;
  /** MAIL FROM / RCPT TO path without brackets ('' for `<>`); null for other verbs or when absent. */
  readonly path: string | null;
  readonly params: SmtpParams;
  /** MAIL/RCPT whose argument does not start with FROM: / TO:. */
  readonly malformedPath: boolean;
}

const VERBS: ReadonlySet<string> = new Set<SmtpVerb>([
  'ATRN',
  'AUTH',
  'BDAT',
  'DATA',
  'EHLO',
  'ETRN',
  'EXPN',
  'HELO',
  'HELP',
  'LHLO',
  'MAIL',
  'NOOP',
  'QUIT',
  'RCPT',
  'RSET',
  'SAML',
  'SEND',
  'SOML',
  'STARTTLS',
  'TURN',
  'VRFY',
  'XCLIENT',
  'XFORWARD',
  'X-EXPS',
  'X-LINK2STATE',
  'XEXCH50',
  'X-ANONYMOUSTLS',
]);

/** Parameters whose values are xtext (RFC 3461 §4, RFC 4954 §5) and are decoded. */
const XTEXT_PARAMS: ReadonlySet<string> = new Set(['ORCPT', 'ENVID', 'AUTH']);

/** Maps a verb token to an SmtpVerb (case-insensitive), or null when unknown. */
export function toSmtpVerb(token: string): SmtpVerb | null {
  const upper = token.toUpperCase();
  return VERBS.has(upper) ? (upper as SmtpVerb) : null;
}

/** Decodes RFC 3461 xtext: `+XX` (two upper- or lower-case hex digits) is one byte; anything else is kept. */
export function decodeXtext(text: string): string {
  if (text.indexOf('+') < 0) return text;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '+' && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

/** Parses `KEY[=VALUE]` words separated by spaces. Keys are upper-cased; xtext values decoded. */
export function parseEsmtpParams(text: string): SmtpParams {
  const params: Record<string, string | true> = {};
  for (const word of text.split(/[ \t]+/)) {
    if (word === '') continue;
    const eq = word.indexOf('=');
    if (eq < 0) {
      params[word.toUpperCase()] = true;
      continue;
    }
    const key = word.slice(0, eq).toUpperCase();
    const raw = word.slice(eq + 1);
    params[key] = XTEXT_PARAMS.has(key) ? decodeXtext(raw) : raw;
  }
  return params;
}

/** Strips an RFC 5321 source route: `@a,@b:user@host` → `user@host`. */
function stripSourceRoute(path: string): string {
  if (!path.startsWith('@')) return path;
  const colon = path.indexOf(':');
  return colon < 0 ? path : path.slice(colon + 1);
}

/**
 * Parses the part after `FROM`/`TO`: optional spaces, ':', optional spaces, then `<path>` or a bare address,
 * then parameters. Returns null when there is no colon.
 */
function parsePathArgument(rest: string): { path: string | null; params: SmtpParams } | null {
  let i = 0;
  while (isSpace(rest[i])) i++;
  if (rest[i] !== ':') return null;
  i++;
  while (isSpace(rest[i])) i++;
  if (i >= rest.length) return { path: null, params: {} };
  let path: string;
  let end: number;
  if (rest[i] === '<') {
    let j = i + 1;
    let quoted = false;
    for (; j < rest.length; j++) {
      const c = rest[j];
      if (c === '\\' && quoted) j++;
      else if (c === '"') quoted = !quoted;
      else if (c === '>' && !quoted) break;
    }
    path = rest.slice(i + 1, Math.min(j, rest.length));
    end = Math.min(j + 1, rest.length);
  } else {
    let j = i;
    while (j < rest.length && !isSpace(rest[j])) j++;
    path = rest.slice(i, j);
    end = j;
  }
  return { path: stripSourceRoute(path.trim()), params: parseEsmtpParams(rest.slice(end)) };
}

const NO_PARAMS: SmtpParams = Object.freeze({});

/** Parses a command line. Never throws; an empty or unknown verb gives `UNKNOWN` with `verbText` kept. */
export function parseCommandLine(line: string): ParsedCommand {
  let start = 0;
  while (isSpace(line[start])) start++;
  let end = start;
  while (end < line.length && !isSpace(line[end])) end++;
  const verbText = line.slice(start, end);
  let argStart = end;
  const verb = toSmtpVerb(verbText);
  while (isSpace(line[argStart])) argStart++;
  const argument = line.slice(argStart);
  if (verb === null) {
    return { verb: 'UNKNOWN', verbText, argument, path: null, params: NO_PARAMS, malformedPath: false };
  }
  if (verb === 'MAIL' || verb === 'RCPT' || verb === 'SEND' || verb === 'SOML' || verb === 'SAML') {
    const keyword = verb === 'RCPT' ? 'TO' : 'FROM';
    if (argument.slice(0, keyword.length).toUpperCase() === keyword) {
      const parsed = parsePathArgument(argument.slice(keyword.length));
      if (parsed !== null) {
        return { verb, verbText, argument, path: parsed.path, params: parsed.params, malformedPath: false };
      }
    }
    return { verb, verbText, argument, path: null, params: NO_PARAMS, malformedPath: true };
  }
  return { verb, verbText, argument, path: null, params: NO_PARAMS, malformedPath: false };
}

/** Result of checking a BDAT argument (`<size> [LAST]`). */
export type BdatArgument =
  | { readonly ok: true; readonly size: number; readonly last: boolean }
  | { readonly ok: false; readonly reason: string };

/** Validates `BDAT <chunk-size> [LAST]`: size is 1–15 decimal digits; nothing else may follow. */
export function parseBdatArgument(argument: string): BdatArgument {
  const words = argument.split(/[ \t]+/).filter((w) => w !== '');
  const sizeText = words[0];
  if (sizeText === undefined) return { ok: false, reason: 'no chunk size' };
  if (!/^[0-9]+$/.test(sizeText))
    return { ok: false, reason: `chunk size not a number: ${sizeText.slice(0, 40)}` };
  if (sizeText.length > 15) return { ok: false, reason: `chunk size too long: ${sizeText.slice(0, 40)}` };
  const size = Number(sizeText);
  if (words.length === 1) return { ok: true, size, last: false };
  if (words.length === 2 && (words[1] as string).toUpperCase() === 'LAST')
    return { ok: true, size, last: true };
  return { ok: false, reason: `junk after chunk size: ${words.slice(1).join(' ').slice(0, 40)}` };
}
