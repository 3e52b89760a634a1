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

/** No lower-case ASCII letter and nothing outside ASCII: `toUpperCase` would not change it. */
function isUpperAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || c > 0x7f) return false;
  }
  return true;
}

/** The verbs by length, for `upperVerbAt`. */
const VERBS_BY_LENGTH: readonly (readonly SmtpVerb[])[] = (() => {
  const out: SmtpVerb[][] = [];
  for (const verb of VERBS) {
    while (out.length <= verb.length) out.push([]);
    (out[verb.length] as SmtpVerb[]).push(verb as SmtpVerb);
  }
  return out;
})();

/**
 * The verb written exactly (in upper case) as `line[start, end)`, or null: the verb's own constant string is then
 * the verb text, so that a line sent as most are makes no string for its verb.
 */
function upperVerbAt(line: string, start: number, end: number): SmtpVerb | null {
  const candidates = VERBS_BY_LENGTH[end - start];
  if (candidates === undefined) return null;
  for (const verb of candidates) {
    let i = 0;
    while (i < verb.length && line.charCodeAt(start + i) === verb.charCodeAt(i)) i++;
    if (i === verb.length) return verb;
  }
  return null;
}

/** Maps a verb token to an SmtpVerb (case-insensitive), or null when unknown. */
export function toSmtpVerb(token: string): SmtpVerb | null {
  // A verb sent in upper case (nearly all) is looked up as it is: `toUpperCase` makes a new string every time.
  const upper = isUpperAscii(token) ? token : token.toUpperCase();
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

function isBlankCode(c: number): boolean {
  return c === 0x20 || c === 0x09;
}

/**
 * Parses `KEY[=VALUE]` words separated by spaces, from `start` on. Keys are upper-cased; xtext values decoded.
 * No words: the shared empty (frozen) parameters.
 */
export function parseEsmtpParams(text: string, start = 0): SmtpParams {
  let params: Record<string, string | true> | null = null;
  const length = text.length;
  let i = start;
  for (;;) {
    while (i < length && isBlankCode(text.charCodeAt(i))) i++;
    if (i >= length) break;
    const wordStart = i;
    let eq = -1;
    while (i < length && !isBlankCode(text.charCodeAt(i))) {
      if (eq < 0 && text.charCodeAt(i) === 0x3d) eq = i;
      i++;
    }
    if (params === null) params = {};
    if (eq < 0) {
      params[text.slice(wordStart, i).toUpperCase()] = true;
      continue;
    }
    const key = text.slice(wordStart, eq).toUpperCase();
    const raw = text.slice(eq + 1, i);
    params[key] = XTEXT_PARAMS.has(key) ? decodeXtext(raw) : raw;
  }
  return params ?? NO_PARAMS;
}

/** Strips an RFC 5321 source route: `@a,@b:user@host` → `user@host`. */
function stripSourceRoute(path: string): string {
  if (!path.startsWith('@')) return path;
  const colon = path.indexOf(':');
  return colon < 0 ? path : path.slice(colon + 1);
}

/** Where the path starts in `rest` after `FROM`/`TO`: past spaces, ':' and spaces; -1 when there is no colon. */
function pathStart(rest: string, from: number): number {
  let i = from;
  while (isSpace(rest[i])) i++;
  if (rest[i] !== ':') return -1;
  i++;
  while (isSpace(rest[i])) i++;
  return i;
}

/** End of a `<path>` that starts at `i` (the index of its '>', or the end of `rest` when it has none). */
function bracketEnd(rest: string, i: number): number {
  let j = i + 1;
  let quoted = false;
  for (; j < rest.length; j++) {
    const c = rest[j];
    if (c === '\\' && quoted) j++;
    else if (c === '"') quoted = !quoted;
    else if (c === '>' && !quoted) break;
  }
  return Math.min(j, rest.length);
}

/** `argument` starts with `keyword` (upper case), in any case. */
function startsWithKeyword(argument: string, keyword: string): boolean {
  if (argument.length < keyword.length) return false;
  for (let i = 0; i < keyword.length; i++) {
    let c = argument.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    if (c !== keyword.charCodeAt(i)) return false;
  }
  return true;
}

const NO_PARAMS: SmtpParams = Object.freeze({});

/** A parsed command line with writable fields: `readCommandLine` fills one again and again (no object per line). */
export class CommandLine implements ParsedCommand {
  verb: SmtpVerb = 'UNKNOWN';
  verbText = '';
  argument = '';
  path: string | null = null;
  params: SmtpParams = NO_PARAMS;
  malformedPath = false;

  set(
    verb: SmtpVerb,
    verbText: string,
    argument: string,
    path: string | null,
    params: SmtpParams,
    malformedPath: boolean,
  ): this {
    this.verb = verb;
    this.verbText = verbText;
    this.argument = argument;
    this.path = path;
    this.params = params;
    this.malformedPath = malformedPath;
    return this;
  }
}

/** Parses a command line. Never throws; an empty or unknown verb gives `UNKNOWN` with `verbText` kept. */
export function parseCommandLine(line: string): ParsedCommand {
  return readCommandLine(line, new CommandLine());
}

/** `parseCommandLine` into `into` (overwritten; valid until its next use). */
export function readCommandLine(line: string, into: CommandLine): CommandLine {
  let start = 0;
  while (isSpace(line[start])) start++;
  let end = start;
  while (end < line.length && !isSpace(line[end])) end++;
  const exact = upperVerbAt(line, start, end);
  const verbText = exact ?? (start === 0 && end === line.length ? line : line.slice(start, end));
  let argStart = end;
  const verb = exact ?? toSmtpVerb(verbText);
  while (isSpace(line[argStart])) argStart++;
  const argument = argStart === 0 ? line : line.slice(argStart);
  if (verb === null) {
    return into.set('UNKNOWN', verbText, argument, null, NO_PARAMS, false);
  }
  if (verb === 'MAIL' || verb === 'RCPT' || verb === 'SEND' || verb === 'SOML' || verb === 'SAML') {
    const keyword = verb === 'RCPT' ? 'TO' : 'FROM';
    const i = startsWithKeyword(argument, keyword) ? pathStart(argument, keyword.length) : -1;
    if (i >= argument.length) return into.set(verb, verbText, argument, null, NO_PARAMS, false);
    if (i >= 0) {
      // MAIL FROM / RCPT TO: `<path>` (up to its '>', quoted parts skipped) or a bare address, then parameters.
      let path: string;
      let paramsStart: number;
      if (argument[i] === '<') {
        const j = bracketEnd(argument, i);
        path = argument.slice(i + 1, j);
        paramsStart = Math.min(j + 1, argument.length);
      } else {
        let j = i;
        while (j < argument.length && !isSpace(argument[j])) j++;
        path = argument.slice(i, j);
        paramsStart = j;
      }
      return into.set(
        verb,
        verbText,
        argument,
        stripSourceRoute(path.trim()),
        parseEsmtpParams(argument, paramsStart),
        false,
      );
    }
    return into.set(verb, verbText, argument, null, NO_PARAMS, true);
  }
  return into.set(verb, verbText, argument, null, NO_PARAMS, false);
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
