/**
 * Delivery status notifications (RFC 3464; RFC 6533 for the UTF-8 "global" variants).
 *
 * A DSN is a multipart/report with report-type=delivery-status. Its machine-readable part,
 * message/delivery-status, is a list of header-like field groups separated by blank lines: the
 * first group is about the message (Reporting-MTA, Arrival-Date, Original-Envelope-Id ...), each
 * later group about one recipient (Final-Recipient, Action, Status, Diagnostic-Code ...). Values of
 * address and diagnostic fields start with a type ("rfc822;", "dns;", "smtp;"), which is dropped
 * here. The original message, or only its header, follows as a message/rfc822 or
 * text/rfc822-headers part; its Message-ID links the bounce to the message that failed.
 */

import type { DsnRecipient, DsnReport } from './types.js';

/** At most this many recipient groups are kept from one report (the rest are ignored). */
export const DSN_MAX_RECIPIENTS = 1000;
/** Field values are cut to this many characters. */
export const DSN_MAX_FIELD_CHARS = 4096;

export interface DsnInput {
  /** The message's top-level Content-Type header value. */
  readonly contentType: string | null;
  /** Text of the message/delivery-status (or message/global-delivery-status) part. */
  readonly deliveryStatus: string | null;
  /** Text of the message/rfc822 or text/rfc822-headers part (only its header block is read). */
  readonly originalMessage: string | null;
}

/** Whether a Content-Type value is multipart/report with report-type delivery-status or global-delivery-status. */
export function isDeliveryStatusReport(contentType: string | null): boolean {
  if (contentType === null) return false;
  const lower = contentType.toLowerCase();
  if (!/^\s*multipart\/report\s*(;|$)/.test(lower)) return false;
  const reportType = /;\s*report-type\s*=\s*"?([a-z0-9.+-]+)"?/.exec(lower)?.[1];
  return reportType === 'delivery-status' || reportType === 'global-delivery-status';
}

type Field = readonly [name: string, value: string];

/** Splits text into groups of unfolded fields; blank lines separate groups. */
function fieldGroups(text: string): Field[][] {
  const groups: Field[][] = [];
  let group: Field[] = [];
  let name: string | null = null;
  let value = '';
  const flush = (): void => {
    if (name !== null) group.push([name, value.trim()]);
    name = null;
    value = '';
  };
  for (const line of text.split(/\r?\n|\r/)) {
    if (line.trim().length === 0) {
      flush();
      if (group.length > 0) groups.push(group);
      group = [];
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      // Continuation of the previous field (folded line).
      if (name !== null && value.length < DSN_MAX_FIELD_CHARS) value += ` ${line.trim()}`;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    if (colon <= 0) continue; // not a field: ignore
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  flush();
  if (group.length > 0) groups.push(group);
  return groups;
}

function cut(value: string): string {
  return value.length > DSN_MAX_FIELD_CHARS ? value.slice(0, DSN_MAX_FIELD_CHARS) : value;
}

/** Drops a leading "type;" ("rfc822;", "dns;", "smtp;", "X-Postfix;") and surrounding space. */
export function stripTypePrefix(value: string): string {
  return cut(value.replace(/^\s*[A-Za-z][A-Za-z0-9.+-]*\s*;\s*/, '').trim());
}

function stripAngles(address: string): string {
  const trimmed = address.trim();
  return trimmed.length >= 2 && trimmed.startsWith('<') && trimmed.endsWith('>')
    ? trimmed.slice(1, -1)
    : trimmed;
}

function statusValue(value: string): string {
  const match = /^\s*([245]\.\d{1,3}\.\d{1,3})\b/.exec(value);
  return match?.[1] ?? cut(value.trim());
}

const RECIPIENT_FIELDS = new Set(['final-recipient', 'original-recipient']);

interface MutableRecipient {
  finalRecipient: string | null;
  originalRecipient: string | null;
  action: string | null;
  status: string | null;
  diagnosticCode: string | null;
  remoteMta: string | null;
}

function emptyRecipient(): MutableRecipient {
  return {
    finalRecipient: null,
    originalRecipient: null,
    action: null,
    status: null,
    diagnosticCode: null,
    remoteMta: null,
  };
}

function hasAny(recipient: MutableRecipient): boolean {
  return Object.values(recipient).some((value) => value !== null);
}

/**
 * Parses the body of a message/delivery-status part. Unknown fields are ignored; the first
 * value of a repeated per-message field wins. A group without recipient fields is read as
 * per-message fields only when it is the first group.
 */
export function parseDeliveryStatus(text: string): Omit<DsnReport, 'originalMessageId'> {
  let reportingMta: string | null = null;
  let arrivalDate: string | null = null;
  let originalEnvelopeId: string | null = null;
  const recipients: DsnRecipient[] = [];
  const groups = fieldGroups(text);

  groups.forEach((group, index) => {
    const isRecipientGroup = group.some(([name]) => RECIPIENT_FIELDS.has(name));
    if (!isRecipientGroup) {
      if (index !== 0) return;
      for (const [name, value] of group) {
        if (name === 'reporting-mta') reportingMta ??= stripTypePrefix(value);
        else if (name === 'arrival-date') arrivalDate ??= cut(value);
        else if (name === 'original-envelope-id') originalEnvelopeId ??= cut(value);
      }
      return;
    }
    let current = emptyRecipient();
    const push = (): void => {
      if (hasAny(current) && recipients.length < DSN_MAX_RECIPIENTS) recipients.push({ ...current });
    };
    for (const [name, value] of group) {
      switch (name) {
        case 'final-recipient':
          // A second Final-Recipient in one group: a missing blank line; start a new recipient.
          if (current.finalRecipient !== null) {
            push();
            current = emptyRecipient();
          }
          current.finalRecipient = stripAngles(stripTypePrefix(value));
          break;
        case 'original-recipient':
          current.originalRecipient ??= stripAngles(stripTypePrefix(value));
          break;
        case 'action':
          current.action ??= cut(value.trim().toLowerCase());
          break;
        case 'status':
          current.status ??= statusValue(value);
          break;
        case 'diagnostic-code':
          current.diagnosticCode ??= stripTypePrefix(value);
          break;
        case 'remote-mta':
          current.remoteMta ??= stripTypePrefix(value);
          break;
        // Per-message fields repeated in a recipient-only report still count.
        case 'reporting-mta':
          reportingMta ??= stripTypePrefix(value);
          break;
        default:
          break;
      }
    }
    push();
  });

  return { reportingMta, arrivalDate, originalEnvelopeId, recipients };
}

/** The Message-ID in the header block at the start of `text` (unfolded, trimmed), or null. */
export function messageIdFromHeaders(text: string): string | null {
  const lines = text.split(/\r?\n|\r/);
  let found: string | null = null;
  for (const line of lines) {
    if (line.length === 0) break; // end of the header block
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (found !== null && found.length === 0) found = line.trim();
      continue;
    }
    if (found !== null) break;
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'message-id') {
      found = line.slice(colon + 1).trim();
    }
  }
  return found === null || found.length === 0 ? null : cut(found);
}

/**
 * The delivery status report of a message, or null when the message is not a
 * multipart/report; report-type=delivery-status or has no delivery-status part.
 */
export function parseDsn(input: DsnInput): DsnReport | null {
  if (!isDeliveryStatusReport(input.contentType) || input.deliveryStatus === null) return null;
  const fields = parseDeliveryStatus(input.deliveryStatus);
  const originalMessageId =
    input.originalMessage === null ? null : messageIdFromHeaders(input.originalMessage);
  return { ...fields, originalMessageId };
}
