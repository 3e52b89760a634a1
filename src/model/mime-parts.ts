/**
 * A byte-level walk over a message's MIME structure: each entity's header fields, and for leaf
 * parts their body range, type, file name, disposition and decoded size. Bodies are never
 * decoded or copied (base64 and quoted-printable sizes are counted), so a 256 KiB message is
 * walked in well under a millisecond. Works on a truncated prefix: an unterminated multipart
 * ends where the bytes end.
 */

import { decodeWords } from 'postal-mime';
import { indexOfByte, indexOfBytes } from '../util/find-byte.js';

/** MIME nesting deeper than this is not entered (the deeper entity is listed as one part). */
export const MIME_MAX_DEPTH = 32;
/** At most this many leaf parts are listed. */
export const MIME_MAX_PARTS = 200;
/** At most this many header fields are read per entity. */
export const MIME_MAX_HEADER_FIELDS = 1000;

export interface HeaderField {
  /** Lower-cased name. */
  readonly key: string;
  /** Unfolded value (line breaks removed, folding white space kept), not decoded. */
  readonly value: string;
}

export interface LeafPart {
  /** Lower-cased type/subtype; "text/plain" when absent (RFC 2045 default). */
  readonly contentType: string;
  readonly filename: string | null;
  /** Content-Disposition token, lower-cased, or null without the header. */
  readonly disposition: string | null;
  /** Lower-cased Content-Transfer-Encoding, "7bit" when absent. */
  readonly transferEncoding: string;
  /** Body bytes [start, end) in the walked buffer (the line break before a boundary excluded). */
  readonly bodyStart: number;
  readonly bodyEnd: number;
  /** Size of the body after transfer decoding. */
  readonly decodedSize: number;
}

export interface MimeStructure {
  /** Top-level header fields in order. */
  readonly headers: readonly HeaderField[];
  readonly parts: readonly LeafPart[];
  /** Some nesting or the part limit was hit. */
  readonly limited: boolean;
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** Index just past the header block's blank line, and the end of the header text. */
function headerEnd(bytes: Uint8Array, start: number, end: number): { textEnd: number; bodyStart: number } {
  if (start < end && (bytes[start] === 0x0a || (bytes[start] === 0x0d && bytes[start + 1] === 0x0a))) {
    // No header at all: the body starts after the empty first line.
    return { textEnd: start, bodyStart: bytes[start] === 0x0a ? start + 1 : start + 2 };
  }
  let i = indexOfByte(bytes, 0x0a, start);
  while (i >= 0 && i < end) {
    const next = i + 1;
    if (next >= end) break;
    if (bytes[next] === 0x0a) return { textEnd: i, bodyStart: next + 1 };
    if (bytes[next] === 0x0d && bytes[next + 1] === 0x0a) return { textEnd: i, bodyStart: next + 2 };
    i = indexOfByte(bytes, 0x0a, next);
  }
  return { textEnd: end, bodyStart: end };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Header bytes as text: UTF-8 when they are valid UTF-8 (SMTPUTF8 headers), else Latin-1, which keeps every
 * byte; raw 8-bit bytes in headers are most often windows-1252 (Outlook), which the C1 repair in
 * message-summary.ts then turns into curly quotes, dashes and the euro sign. Decided per line, so one
 * field in a legacy charset does not spoil a UTF-8 one.
 */
function decodeHeaderBytes(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if ((bytes[i] ?? 0) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return latin1.decode(bytes);
  const lines: string[] = [];
  let from = 0;
  while (from <= bytes.length) {
    const nl = bytes.indexOf(0x0a, from);
    const to = nl === -1 ? bytes.length : nl;
    const line = bytes.subarray(from, to);
    try {
      lines.push(strictUtf8.decode(line));
    } catch {
      lines.push(latin1.decode(line));
    }
    if (nl === -1) break;
    from = nl + 1;
  }
  return lines.join('\n');
}

/** Reads unfolded header fields (bytes as UTF-8 where valid, else Latin-1: see decodeHeaderBytes). */
export function readHeaderFields(bytes: Uint8Array, start: number, end: number): HeaderField[] {
  const text = decodeHeaderBytes(bytes.subarray(start, end));
  const fields: HeaderField[] = [];
  for (const line of text.split(/\r?\n/)) {
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      const last = fields.length - 1;
      const previous = fields[last];
      if (previous !== undefined)
        fields[last] = { key: previous.key, value: previous.value + line.replace(/\r$/, '') };
      continue;
    }
    if (fields.length >= MIME_MAX_HEADER_FIELDS) break;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({
      key: line.slice(0, colon).trim().toLowerCase(),
      value: line
        .slice(colon + 1)
        .replace(/\r$/, '')
        .trim(),
    });
  }
  return fields;
}

function fieldValue(fields: readonly HeaderField[], key: string): string | null {
  for (const field of fields) if (field.key === key) return field.value;
  return null;
}

interface Structured {
  readonly value: string;
  readonly params: ReadonlyMap<string, string>;
}

/** Splits "type/sub; a=1; b="x;y"" into a lower-cased value and parameters (RFC 2231 continuations joined). */
export function parseStructuredValue(raw: string): Structured {
  const params = new Map<string, string>();
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') quoted = !quoted;
    else if (c === '\\' && quoted && i + 1 < raw.length) {
      current += raw[++i];
      continue;
    }
    if (c === ';' && !quoted) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  const value = (parts[0] ?? '')
    .replace(/\([^)]*\)/g, '')
    .trim()
    .toLowerCase();
  const extended = new Map<string, { charset: string; pieces: string[] }>();
  for (const part of parts.slice(1)) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim().toLowerCase();
    let paramValue = part.slice(eq + 1).trim();
    if (paramValue.startsWith('"') && paramValue.endsWith('"') && paramValue.length >= 2)
      paramValue = paramValue.slice(1, -1);
    const continuation = /^([^*]+)\*(\d+)?(\*)?$/.exec(name);
    if (continuation === null) {
      params.set(name, paramValue);
      continue;
    }
    // RFC 2231: name*=charset'lang'%XX..., name*0=..., name*1*=...
    const base = continuation[1]!;
    const index = continuation[2] === undefined ? 0 : Number(continuation[2]);
    const encoded = continuation[3] !== undefined || continuation[2] === undefined;
    let entry = extended.get(base);
    if (entry === undefined) {
      entry = { charset: 'utf-8', pieces: [] };
      extended.set(base, entry);
    }
    let piece = paramValue;
    if (encoded && index === 0) {
      const match = /^([^']*)'[^']*'(.*)$/.exec(piece);
      if (match !== null) {
        entry.charset = match[1] || 'utf-8';
        piece = match[2]!;
      }
    }
    entry.pieces[index] = encoded ? piece : piece.replace(/%/g, '%25');
  }
  for (const [name, entry] of extended) {
    params.set(name, percentDecode(entry.pieces.join(''), entry.charset));
  }
  return { value, params };
}

function percentDecode(text: string, charset: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of new TextEncoder().encode(text[i]!)) bytes.push(b);
    }
  }
  const data = Uint8Array.from(bytes);
  try {
    return new TextDecoder(charset.trim().toLowerCase()).decode(data);
  } catch {
    return utf8.decode(data);
  }
}

/** Whether a byte may end a base64 line without being data: padding, white space or a line break. */
function isBase64LineTail(c: number | undefined): boolean {
  return c === 0x0d || c === 0x0a || c === 0x3d || c === 0x20 || c === 0x09;
}

/**
 * Number of decoded bytes of a base64 body, 6 bits per data character, from line lengths: each line is its
 * data characters followed by optional padding (`=`), white space and CR, so its data length is its length
 * without that tail. Line ends are found with a native search, and after the first line the next line end is
 * looked for first where a line of the same length would end (encoders write lines of one length, the last one
 * shorter): a body is measured without reading its bytes one by one. When that guess lands on a later line
 * end (a short last line followed by blank lines), the blank lines are part of the tail.
 *
 * For a body whose lines all have one length but the last (every encoder's output), this is
 * `Buffer.from(body, 'base64').length`. Bytes outside the alphabet inside a line are counted as data, and so
 * are the line breaks between a short line and data lines after it (the byte walk this replaced skipped both;
 * a decoder skips or stops at them, so the decoded size of a malformed body is an estimate either way).
 */
export function base64Size(bytes: Uint8Array, start: number, end: number): number {
  let count = 0;
  let lineStart = start;
  let width = 0;
  while (lineStart < end) {
    let lineEnd = lineStart + width;
    if (width === 0 || lineEnd >= end || bytes[lineEnd] !== 0x0a) {
      lineEnd = indexOfByte(bytes, 0x0a, lineStart);
      if (lineEnd < 0 || lineEnd > end) lineEnd = end;
      width = lineEnd - lineStart;
    }
    let stop = lineEnd;
    while (stop > lineStart && isBase64LineTail(bytes[stop - 1])) stop--;
    count += stop - lineStart;
    lineStart = lineEnd + 1;
  }
  return Math.floor((count * 6) / 8);
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

/**
 * Number of decoded bytes of a quoted-printable body: "=XX" is one byte, "=" before a line end (after optional
 * white space) none, any other byte one. The `=` signs are found with a native search; the bytes between them
 * count as they are.
 */
export function quotedPrintableSize(bytes: Uint8Array, start: number, end: number): number {
  let size = 0;
  let i = start;
  while (i < end) {
    const eq = indexOfByte(bytes, 0x3d, i);
    if (eq < 0 || eq >= end) {
      size += end - i;
      break;
    }
    size += eq - i;
    i = eq + 1;
    if (eq + 2 < end && isHex(bytes[eq + 1]) && isHex(bytes[eq + 2])) {
      size++;
      i = eq + 3;
      continue;
    }
    // Soft line break: "=" then optional white space then CRLF or LF.
    let j = eq + 1;
    while (j < end && (bytes[j] === 0x20 || bytes[j] === 0x09)) j++;
    if (j >= end) {
      i = j;
    } else if (bytes[j] === 0x0d && bytes[j + 1] === 0x0a) {
      i = j + 2;
    } else if (bytes[j] === 0x0a) {
      i = j + 1;
    } else {
      size++; // a stray "=" is kept as is
    }
  }
  return size;
}

function decodedSize(encoding: string, bytes: Uint8Array, start: number, end: number): number {
  if (encoding === 'base64') return base64Size(bytes, start, end);
  if (encoding === 'quoted-printable') return quotedPrintableSize(bytes, start, end);
  return end - start;
}

/** Byte offsets of boundary lines ("--b" or "--b--") within [start, end). */
function findBoundaries(
  bytes: Uint8Array,
  start: number,
  end: number,
  boundary: Uint8Array,
): { lineStart: number; afterLine: number; closing: boolean }[] {
  const found: { lineStart: number; afterLine: number; closing: boolean }[] = [];
  const dashes = new Uint8Array(boundary.length + 2);
  dashes[0] = 0x2d;
  dashes[1] = 0x2d;
  dashes.set(boundary, 2);
  // Hits must start before `end` (a boundary may run past it, as a line may); the search stops there.
  const window = bytes.subarray(0, Math.min(bytes.length, end + dashes.length - 1));
  let from = start;
  while (from < end) {
    // A native search for "--boundary"; only a hit at the start of a line counts.
    const lineStart = indexOfBytes(window, dashes, from);
    if (lineStart < 0 || lineStart >= end) break;
    if (lineStart > start && bytes[lineStart - 1] !== 0x0a) {
      from = lineStart + 1;
      continue;
    }
    let lineEnd = indexOfByte(bytes, 0x0a, lineStart);
    if (lineEnd < 0 || lineEnd >= end) lineEnd = end;
    let k = lineStart + dashes.length;
    const closing = bytes[k] === 0x2d && bytes[k + 1] === 0x2d;
    if (closing) k += 2;
    let onlySpace = true;
    for (; k < lineEnd; k++) {
      const c = bytes[k];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0d) {
        onlySpace = false;
        break;
      }
    }
    if (onlySpace) {
      found.push({ lineStart, afterLine: Math.min(lineEnd + 1, end), closing });
      if (closing) break;
    }
    from = lineEnd + 1;
  }
  return found;
}

/** Moves `end` back over the line break that belongs to the following boundary line. */
function trimBoundaryBreak(bytes: Uint8Array, start: number, end: number): number {
  if (end > start && bytes[end - 1] === 0x0a) end--;
  if (end > start && bytes[end - 1] === 0x0d) end--;
  return end;
}

function decodeFilename(raw: string | undefined): string | null {
  if (raw === undefined) return null;
  try {
    return decodeWords(raw);
  } catch {
    return raw;
  }
}

/** Walks the message in `bytes` and lists its header fields and leaf parts. Never throws on input. */
export function walkMime(bytes: Uint8Array): MimeStructure {
  const parts: LeafPart[] = [];
  let limited = false;
  let topHeaders: HeaderField[] = [];

  const walk = (start: number, end: number, depth: number, defaultType: string): void => {
    if (parts.length >= MIME_MAX_PARTS) {
      limited = true;
      return;
    }
    const { textEnd, bodyStart } = headerEnd(bytes, start, end);
    const headers = readHeaderFields(bytes, start, textEnd);
    if (depth === 0) topHeaders = headers;
    const typeRaw = fieldValue(headers, 'content-type');
    const type = typeRaw === null ? null : parseStructuredValue(typeRaw);
    const contentType = type?.value.includes('/') ? type.value : defaultType;
    const boundary = type?.params.get('boundary');
    if (contentType.startsWith('multipart/') && boundary !== undefined && boundary.length > 0) {
      if (depth >= MIME_MAX_DEPTH) {
        limited = true;
      } else {
        const marks = findBoundaries(bytes, bodyStart, end, new TextEncoder().encode(boundary));
        const childDefault = contentType === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
        for (let m = 0; m < marks.length; m++) {
          const mark = marks[m]!;
          if (mark.closing) break;
          const next = marks[m + 1];
          const childEnd =
            next === undefined ? end : trimBoundaryBreak(bytes, mark.afterLine, next.lineStart);
          walk(mark.afterLine, childEnd, depth + 1, childDefault);
        }
        return;
      }
    }
    const dispositionRaw = fieldValue(headers, 'content-disposition');
    const disposition = dispositionRaw === null ? null : parseStructuredValue(dispositionRaw);
    const encoding = (fieldValue(headers, 'content-transfer-encoding') ?? '7bit').trim().toLowerCase();
    const filename = decodeFilename(disposition?.params.get('filename') ?? type?.params.get('name'));
    parts.push({
      contentType,
      filename,
      disposition: disposition === null || disposition.value.length === 0 ? null : disposition.value,
      transferEncoding: encoding,
      bodyStart,
      bodyEnd: end,
      decodedSize: decodedSize(encoding, bytes, bodyStart, end),
    });
  };

  try {
    if (bytes.length > 0) walk(0, bytes.length, 0, 'text/plain');
  } catch {
    limited = true;
  }
  return { headers: topHeaders, parts, limited };
}

/** The body of a leaf part after transfer decoding, as text (UTF-8, or Latin-1 when `latin1` is set). */
export function partText(bytes: Uint8Array, part: LeafPart, asLatin1 = false): string {
  const body = bytes.subarray(part.bodyStart, part.bodyEnd);
  const decoder = asLatin1 ? latin1 : utf8;
  if (part.transferEncoding === 'base64') {
    return decoder.decode(Buffer.from(latin1.decode(body), 'base64'));
  }
  if (part.transferEncoding === 'quoted-printable') {
    const raw = latin1.decode(body).replace(/=[ \t]*\r?\n/g, '');
    const out = new Uint8Array(raw.length);
    let n = 0;
    for (let i = 0; i < raw.length; i++) {
      const c = raw.charCodeAt(i);
      if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
        out[n++] = Number.parseInt(raw.slice(i + 1, i + 3), 16);
        i += 2;
      } else {
        out[n++] = c & 0xff;
      }
    }
    return decoder.decode(out.subarray(0, n));
  }
  return decoder.decode(body);
}
