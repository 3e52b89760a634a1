/**
 * A summary of a captured message: addresses, subject, ids, the Received chain, MIME parts and,
 * for bounces, the delivery status report. Made from the first bytes of the body that the decoder
 * kept (MESSAGE_KEEP_BYTES_DEFAULT), once per message. The MIME structure is walked at byte level
 * (mime-parts.ts: bodies are measured, never decoded); header text is decoded with postal-mime's
 * encoded-word and address parsers. It never throws: on an internal error the summary keeps what
 * was read and leaves the rest empty.
 *
 * postal-mime's full parser is not used for the structure: it decodes every body, which measured 5.4 ms for a
 * 267 KiB text message and 9.0 ms for a 254 KiB one with an attachment, against 1.6 and 1.0 ms here (Node 20,
 * docs/PERFORMANCE.md, "Message summaries"); it is the oracle of test/model/mime-oracle.test.ts instead.
 */

import type { Address } from 'postal-mime';
import { addressParser, decodeWords } from 'postal-mime';
import { parseDsn } from './dsn.js';
import { type HeaderField, type LeafPart, type MimeStructure, partText, walkMime } from './mime-parts.js';
import type { MessageSummary, MimePart } from './types.js';

/**
 * Bytes of a message body kept for its summary (256 KiB). Enough for the header of any real
 * message, the structure of common multiparts, and the whole of ordinary bounces; larger
 * messages are summarised from this prefix and marked `truncated`.
 */
export const MESSAGE_KEEP_BYTES_DEFAULT = 256 * 1024;
/** At most this many addresses per header kind and Received headers are listed. */
export const MESSAGE_MAX_LIST_ENTRIES = 200;

const REPORT_STATUS_TYPES = new Set(['message/delivery-status', 'message/global-delivery-status']);
const ORIGINAL_MESSAGE_TYPES = [
  'message/rfc822',
  'text/rfc822-headers',
  'message/global',
  'message/global-headers',
];

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

/**
 * Results of the pure text functions below for recent header values, because mail repeats them (the same
 * senders, recipients and subjects): up to {@link MEMO_ENTRIES} values of at most {@link MEMO_VALUE_CHARS}
 * characters each, the oldest forgotten first. A cached result is returned only as a string or copied.
 */
const MEMO_ENTRIES = 256;
const MEMO_VALUE_CHARS = 1024;

function remember<T>(memo: Map<string, T>, key: string, value: T): T {
  if (key.length > MEMO_VALUE_CHARS) return value;
  if (memo.size >= MEMO_ENTRIES) {
    const oldest = memo.keys().next();
    if (oldest.done !== true) memo.delete(oldest.value);
  }
  memo.set(key, value);
  return value;
}

const decodedText = new Map<string, string>();

function decodeText(value: string): string {
  const known = decodedText.get(value);
  if (known !== undefined) return known;
  let text: string;
  try {
    text = repairWindows1252(decodeWords(value));
  } catch {
    text = value;
  }
  return remember(decodedText, value, text);
}

function parseAddresses(value: string): Address[] {
  try {
    return addressParser(value);
  } catch {
    return [];
  }
}

function formatMailbox(name: string, address: string): string {
  const display = repairWindows1252(collapse(name));
  if (address.length === 0) return display;
  return display.length > 0 ? `${display} <${address}>` : address;
}

const formattedAddresses = new Map<string, readonly string[]>();

/** The addresses of one header value, flattened and formatted: at most MESSAGE_MAX_LIST_ENTRIES, in order. */
function addressesOfValue(value: string): readonly string[] {
  const known = formattedAddresses.get(value);
  if (known !== undefined) return known;
  const out: string[] = [];
  for (const address of parseAddresses(value)) {
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
  return remember(formattedAddresses, value, out);
}

/** All addresses of every `key` header, flattened (groups to their members; an empty group to "name:;"). */
function addressesOf(headers: readonly HeaderField[], key: string): string[] {
  const out: string[] = [];
  for (const header of headers) {
    if (header.key !== key) continue;
    for (const address of addressesOfValue(header.value)) {
      if (out.length >= MESSAGE_MAX_LIST_ENTRIES) return out;
      out.push(address);
    }
  }
  return out;
}

function firstAddress(headers: readonly HeaderField[], key: string): string | null {
  const value = firstValue(headers, key);
  if (value === null) return null;
  return addressesOf([{ key, value }], key)[0] ?? null;
}

function toDisposition(value: string | null): MimePart['disposition'] {
  return value === 'attachment' || value === 'inline' ? value : null;
}

function toMimePart(part: LeafPart): MimePart {
  return {
    contentType: part.contentType,
    filename: part.filename === null ? null : repairWindows1252(part.filename),
    sizeBytes: part.decodedSize,
    disposition: toDisposition(part.disposition),
  };
}

function dsnOf(
  bytes: Uint8Array,
  structure: MimeStructure,
  contentType: string | null,
): MessageSummary['dsn'] {
  const statusPart = structure.parts.find((part) => REPORT_STATUS_TYPES.has(part.contentType));
  let originalPart: LeafPart | undefined;
  for (const type of ORIGINAL_MESSAGE_TYPES) {
    originalPart = structure.parts.find((part) => part.contentType === type);
    if (originalPart !== undefined) break;
  }
  return parseDsn({
    contentType,
    deliveryStatus: statusPart === undefined ? null : partText(bytes, statusPart),
    originalMessage: originalPart === undefined ? null : partText(bytes, originalPart),
  });
}

/**
 * Summarises a message from its (possibly truncated) bytes. `truncated` says the bytes are only
 * a prefix of the message; it is copied to the summary. Never rejects. Asynchronous so a later
 * version may yield on very large inputs; today the work is synchronous.
 */
export async function summarizeMessage(bytes: Uint8Array, truncated: boolean): Promise<MessageSummary> {
  return summarizeMessageSync(bytes, truncated);
}

/**
 * Bytes of the message header through the blank line that ends it, looking at no more than `limit` + 3
 * bytes; null when no header ends there (and the message is longer than that).
 */
export function headerLength(bytes: Uint8Array, limit: number): number | null {
  const end = Math.min(bytes.length, limit + 3);
  if (bytes[0] === 0x0a) return 1;
  if (bytes[0] === 0x0d && bytes[1] === 0x0a) return 2;
  for (let i = 0; i < end; i++) {
    if (bytes[i] !== 0x0a) continue;
    if (bytes[i + 1] === 0x0a) return i + 2;
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return i + 3;
  }
  return bytes.length <= limit ? bytes.length : null;
}

/**
 * The synchronous core of summarizeMessage. Never throws. A message whose header (through its blank line)
 * is longer than `maxHeaderBytes` is summarised from its first `maxHeaderBytes` bytes only: the header
 * fields in them, no body parts, and `truncated` set.
 */
export function summarizeMessageSync(
  bytes: Uint8Array,
  truncated: boolean,
  maxHeaderBytes: number = Number.POSITIVE_INFINITY,
): MessageSummary {
  if (bytes.length > maxHeaderBytes) {
    const length = headerLength(bytes, maxHeaderBytes);
    if (length === null || length > maxHeaderBytes) {
      bytes = bytes.subarray(0, maxHeaderBytes);
      truncated = true;
    }
  }
  const structure = walkMime(bytes);
  const headers = structure.headers;
  const received: string[] = [];
  let userAgent: string | null = null;
  for (const header of headers) {
    if (header.key === 'received') {
      if (received.length < MESSAGE_MAX_LIST_ENTRIES) received.push(collapse(header.value));
    } else if (userAgent === null && (header.key === 'user-agent' || header.key === 'x-mailer')) {
      userAgent = decodeText(collapse(header.value));
    }
  }
  const trimmed = (key: string): string | null => {
    const value = firstValue(headers, key);
    return value === null ? null : collapse(value);
  };
  const subject = firstValue(headers, 'subject');
  const contentType = trimmed('content-type');
  let dsn: MessageSummary['dsn'] = null;
  try {
    dsn = dsnOf(bytes, structure, contentType);
  } catch {
    dsn = null;
  }
  return {
    from: firstAddress(headers, 'from'),
    fromAll: addressesOf(headers, 'from'),
    to: addressesOf(headers, 'to'),
    cc: addressesOf(headers, 'cc'),
    replyTo: firstAddress(headers, 'reply-to'),
    subject: subject === null ? null : decodeText(subject.trim()),
    date: trimmed('date'),
    messageId: trimmed('message-id'),
    inReplyTo: trimmed('in-reply-to'),
    received,
    userAgent,
    contentType,
    parts: structure.parts.map(toMimePart),
    dsn,
    truncated,
  };
}
