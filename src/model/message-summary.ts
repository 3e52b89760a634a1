/**
 * A summary of a captured message: addresses, subject, ids, the Received chain, MIME parts and,
 * for bounces, the delivery status report. Built with postal-mime from the first bytes of the
 * body that the decoder kept (MESSAGE_KEEP_BYTES_DEFAULT), so it runs once per message, not per
 * packet. It never throws: if the MIME parser gives up, the top-level header is read directly
 * and the MIME parts and report stay empty.
 */

import type { Address, Attachment, Email } from 'postal-mime';
import PostalMime, { addressParser, decodeWords } from 'postal-mime';
import { parseDsn } from './dsn.js';
import type { MessageSummary, MimePart } from './types.js';

/**
 * Bytes of a message body kept for its summary (256 KiB). Enough for the header of any real
 * message, the structure of common multiparts, and the whole of ordinary bounces; larger
 * messages are summarised from this prefix and marked `truncated`.
 */
export const MESSAGE_KEEP_BYTES_DEFAULT = 256 * 1024;
/** MIME nesting deeper than this makes the parser give up (the header-only summary is used). */
export const MESSAGE_MAX_NESTING_DEPTH = 32;
/** Nested message/rfc822 parts parsed inline at most this deep; deeper ones count as attachments. */
export const MESSAGE_MAX_RFC822_DEPTH = 3;
/** At most this many MIME parts, addresses per header and Received headers are listed. */
export const MESSAGE_MAX_LIST_ENTRIES = 200;

const utf8 = new TextDecoder('utf-8');

const REPORT_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_MESSAGE_TYPES = [
  'message/rfc822',
  'text/rfc822-headers',
  'message/global',
  'message/global-headers',
];

interface HeaderField {
  readonly key: string;
  readonly value: string;
}

/**
 * Windows-1252 characters for bytes 0x80–0x9F (0 where the code page leaves the byte undefined).
 * Node 20's TextDecoder decodes windows-1252 (and the iso-8859-1 label, which the WHATWG Encoding
 * Standard maps to it) as plain Latin-1, leaving C1 control characters where Windows put curly
 * quotes, dashes or the euro sign (nodejs/node issue 56542); decoded header text is repaired here.
 */
const WINDOWS_1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
  0x017d, 0, 0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a,
  0x0153, 0, 0x017e, 0x0178,
];
const C1_CONTROLS = /[\u0080-\u009f]/g;

/** Replaces C1 control characters (never meant in header text) by their windows-1252 characters. */
export function repairWindows1252(text: string): string {
  if (!/[\u0080-\u009f]/.test(text)) return text;
  return text.replace(C1_CONTROLS, (c) => {
    const mapped = WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80] ?? 0;
    return mapped === 0 ? c : String.fromCharCode(mapped);
  });
}

function collapse(value: string): string {
  return value.replace(/\s+/g, ' ').trim();
}

function firstValue(headers: readonly HeaderField[], key: string): string | null {
  for (const header of headers) if (header.key === key) return header.value;
  return null;
}

function formatMailbox(name: string, address: string): string {
  const display = repairWindows1252(collapse(name));
  if (address.length === 0) return display;
  return display.length > 0 ? `${display} <${address}>` : address;
}

/** Flattens addresses (groups to their members; an empty group to "name:;"). */
function formatAddresses(addresses: readonly Address[] | undefined): string[] {
  const out: string[] = [];
  if (addresses === undefined) return out;
  for (const address of addresses) {
    if (out.length >= MESSAGE_MAX_LIST_ENTRIES) break;
    if (address.group !== undefined) {
      if (address.group.length === 0) out.push(`${repairWindows1252(collapse(address.name))}:;`);
      for (const member of address.group) {
        if (out.length >= MESSAGE_MAX_LIST_ENTRIES) break;
        out.push(formatMailbox(member.name, member.address));
      }
    } else {
      out.push(formatMailbox(address.name, address.address));
    }
  }
  return out;
}

function byteLength(content: Attachment['content']): number {
  if (typeof content === 'string') return Buffer.byteLength(content, 'utf8');
  return content.byteLength;
}

function attachmentText(content: Attachment['content']): string {
  if (typeof content === 'string') return content;
  return utf8.decode(content instanceof ArrayBuffer ? new Uint8Array(content) : content);
}

function toDisposition(value: string | null): MimePart['disposition'] {
  return value === 'attachment' || value === 'inline' ? value : null;
}

/**
 * MIME parts as postal-mime exposes them: the text bodies first (one part per type, text/plain
 * and text/html, with the decoded UTF-8 size of all text of that type; postal-mime joins several
 * inline text parts of one type), then every other part with its decoded size.
 */
function partsOf(email: Email): MimePart[] {
  const parts: MimePart[] = [];
  if (email.text !== undefined) {
    parts.push({
      contentType: 'text/plain',
      filename: null,
      sizeBytes: Buffer.byteLength(email.text, 'utf8'),
      disposition: null,
    });
  }
  if (email.html !== undefined) {
    parts.push({
      contentType: 'text/html',
      filename: null,
      sizeBytes: Buffer.byteLength(email.html, 'utf8'),
      disposition: null,
    });
  }
  for (const attachment of email.attachments) {
    if (parts.length >= MESSAGE_MAX_LIST_ENTRIES) break;
    parts.push({
      contentType: attachment.mimeType,
      filename: attachment.filename === null ? null : repairWindows1252(attachment.filename),
      sizeBytes: byteLength(attachment.content),
      disposition: toDisposition(attachment.disposition),
    });
  }
  return parts;
}

function dsnOf(email: Email, contentType: string | null): MessageSummary['dsn'] {
  const statusPart = email.attachments.find((attachment) => REPORT_STATUS_TYPES.has(attachment.mimeType));
  let originalPart: Attachment | undefined;
  for (const type of ORIGINAL_MESSAGE_TYPES) {
    originalPart = email.attachments.find((attachment) => attachment.mimeType === type);
    if (originalPart !== undefined) break;
  }
  return parseDsn({
    contentType,
    deliveryStatus: statusPart === undefined ? null : attachmentText(statusPart.content),
    originalMessage: originalPart === undefined ? null : attachmentText(originalPart.content),
  });
}

/** Header fields shared by both paths (postal-mime's header list, or the fallback reader). */
function headerSummary(
  headers: readonly HeaderField[],
): Pick<MessageSummary, 'date' | 'messageId' | 'inReplyTo' | 'received' | 'userAgent' | 'contentType'> {
  const received: string[] = [];
  let userAgent: string | null = null;
  for (const header of headers) {
    if (header.key === 'received' && received.length < MESSAGE_MAX_LIST_ENTRIES)
      received.push(collapse(header.value));
    else if (userAgent === null && (header.key === 'user-agent' || header.key === 'x-mailer')) {
      userAgent = safeDecodeWords(collapse(header.value));
    }
  }
  const trimmed = (key: string): string | null => {
    const value = firstValue(headers, key);
    return value === null ? null : collapse(value);
  };
  return {
    date: trimmed('date'),
    messageId: trimmed('message-id'),
    inReplyTo: trimmed('in-reply-to'),
    received,
    userAgent,
    contentType: trimmed('content-type'),
  };
}

function safeDecodeWords(value: string): string {
  try {
    return repairWindows1252(decodeWords(value));
  } catch {
    return value;
  }
}

function safeAddresses(value: string | null): Address[] {
  if (value === null) return [];
  try {
    return addressParser(value);
  } catch {
    return [];
  }
}

/** Reads the top-level header block directly (used when postal-mime rejects the message). */
function readHeaderBlock(bytes: Uint8Array): HeaderField[] {
  let end = bytes.length;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    const next = bytes[i + 1];
    if (next === 0x0a || (next === 0x0d && bytes[i + 2] === 0x0a)) {
      end = i;
      break;
    }
  }
  const text = utf8.decode(bytes.subarray(0, end));
  const headers: HeaderField[] = [];
  for (const line of text.split(/\r?\n/)) {
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && headers.length > 0) {
      const last = headers[headers.length - 1]!;
      headers[headers.length - 1] = { key: last.key, value: `${last.value} ${line.trim()}` };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    headers.push({ key: line.slice(0, colon).trim().toLowerCase(), value: line.slice(colon + 1).trim() });
  }
  return headers;
}

function fallbackSummary(bytes: Uint8Array, truncated: boolean): MessageSummary {
  let headers: HeaderField[] = [];
  try {
    headers = readHeaderBlock(bytes);
  } catch {
    headers = [];
  }
  const allOf = (key: string): Address[] =>
    headers.filter((h) => h.key === key).flatMap((h) => safeAddresses(h.value));
  const from = formatAddresses(safeAddresses(firstValue(headers, 'from')))[0] ?? null;
  const subject = firstValue(headers, 'subject');
  return {
    from,
    to: formatAddresses(allOf('to')),
    cc: formatAddresses(allOf('cc')),
    replyTo: formatAddresses(allOf('reply-to'))[0] ?? null,
    subject: subject === null ? null : safeDecodeWords(subject),
    ...headerSummary(headers),
    parts: [],
    dsn: null,
    truncated,
  };
}

/**
 * Summarises a message from its (possibly truncated) bytes. `truncated` says the bytes are only
 * a prefix of the message; it is copied to the summary. Never rejects.
 */
export async function summarizeMessage(bytes: Uint8Array, truncated: boolean): Promise<MessageSummary> {
  let email: Email;
  try {
    email = await PostalMime.parse(bytes, {
      attachmentEncoding: 'arraybuffer',
      maxNestingDepth: MESSAGE_MAX_NESTING_DEPTH,
      maxHeadersSize: MESSAGE_KEEP_BYTES_DEFAULT,
      maxRfc822NestingDepth: MESSAGE_MAX_RFC822_DEPTH,
    });
  } catch {
    return fallbackSummary(bytes, truncated);
  }
  try {
    const headers: HeaderField[] = email.headers.map((header) => ({ key: header.key, value: header.value }));
    const hasSubject = headers.some((header) => header.key === 'subject');
    const summary = headerSummary(headers);
    return {
      from: email.from === undefined ? null : (formatAddresses([email.from])[0] ?? null),
      to: formatAddresses(email.to),
      cc: formatAddresses(email.cc),
      replyTo: formatAddresses(email.replyTo)[0] ?? null,
      subject: email.subject === undefined ? (hasSubject ? '' : null) : repairWindows1252(email.subject),
      ...summary,
      parts: partsOf(email),
      dsn: dsnOf(email, summary.contentType),
      truncated,
    };
  } catch {
    return fallbackSummary(bytes, truncated);
  }
}
