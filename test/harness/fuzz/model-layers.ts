/**
 * Fuzz layers of the message model: the MIME/header summary of a kept message prefix, and the RFC 3464
 * delivery-status parser. Invariants: neither throws; lists stay within their documented bounds; every field
 * is a string or null; the DSN keeps at most DSN_MAX_RECIPIENTS recipients and cuts fields to
 * DSN_MAX_FIELD_CHARS characters.
 */

import { DSN_MAX_FIELD_CHARS, DSN_MAX_RECIPIENTS, parseDsn } from '../../../src/model/dsn.js';
import { MESSAGE_MAX_LIST_ENTRIES, summarizeMessageSync } from '../../../src/model/message-summary.js';
import { MIME_MAX_PARTS } from '../../../src/model/mime-parts.js';
import type { DsnReport, MessageSummary } from '../../../src/model/types.js';
import type { Corpus } from './corpus.js';
import { type FuzzLayer, latin1Bytes, latin1Text } from './layer.js';
import { mutate } from './mutate.js';
import type { Random } from './random.js';

const MAX_MESSAGE = 256 * 1024;

/** Header text that stresses the header and MIME readers (deep nesting, many fields, long folding). */
function hostileMessage(random: Random): Uint8Array {
  const parts: string[] = [];
  switch (random.int(4)) {
    case 0: {
      const depth = 1 + random.int(64);
      for (let i = 0; i < depth; i++)
        parts.push(`Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`);
      parts.push('Content-Type: text/plain\r\n\r\nleaf\r\n');
      break;
    }
    case 1: {
      const n = random.int(3000);
      for (let i = 0; i < n; i++) parts.push(`Received: from h${i} by h${i + 1}\r\n`);
      parts.push('\r\nbody\r\n');
      break;
    }
    case 2: {
      parts.push('Subject: ');
      const n = random.int(2000);
      for (let i = 0; i < n; i++) parts.push('=?UTF-8?B?w6k=?= \r\n ');
      parts.push('\r\nTo: ');
      for (let i = 0; i < random.int(2000); i++) parts.push(`u${i}@example.net, `);
      parts.push('\r\n\r\n');
      break;
    }
    default: {
      parts.push('Content-Type: multipart/mixed; boundary="x"\r\n\r\n');
      const n = random.int(1000);
      for (let i = 0; i < n; i++)
        parts.push(
          `--x\r\nContent-Type: application/octet-stream; name="f${i}"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n`,
        );
      break;
    }
  }
  return latin1Bytes(parts.join(''));
}

function checkStrings(label: string, values: readonly (string | null)[]): string | null {
  for (const v of values) if (v !== null && typeof v !== 'string') return `${label} holds a ${typeof v}`;
  return null;
}

export function checkSummary(s: MessageSummary): string | null {
  for (const [label, list] of [
    ['to', s.to],
    ['cc', s.cc],
    ['received', s.received],
  ] as const) {
    if (list.length > MESSAGE_MAX_LIST_ENTRIES) return `${label} lists ${list.length} entries`;
    const bad = checkStrings(label, list);
    if (bad !== null) return bad;
  }
  if (s.parts.length > MIME_MAX_PARTS + 1) return `${s.parts.length} MIME parts listed`;
  const bad = checkStrings('header field', [
    s.from,
    s.replyTo,
    s.subject,
    s.date,
    s.messageId,
    s.inReplyTo,
    s.userAgent,
    s.contentType,
  ]);
  if (bad !== null) return bad;
  return s.dsn === null ? null : checkDsn(s.dsn);
}

export function checkDsn(d: DsnReport): string | null {
  if (d.recipients.length > DSN_MAX_RECIPIENTS) return `${d.recipients.length} DSN recipients kept`;
  const fields: (string | null)[] = [d.reportingMta, d.arrivalDate, d.originalEnvelopeId];
  for (const r of d.recipients)
    fields.push(...(Object.values(r) as (string | null)[]).filter((v) => typeof v === 'string'));
  for (const f of fields) {
    if (f !== null && f.length > DSN_MAX_FIELD_CHARS) return `DSN field of ${f.length} characters`;
  }
  return null;
}

export const mimeLayer: FuzzLayer = {
  name: 'mime',
  description: 'message summary (headers, encoded words, addresses, MIME walk, DSN) of mutated messages',
  runCase(random: Random, corpus: Corpus) {
    const input = random.chance(0.1)
      ? hostileMessage(random)
      : mutate(random.pick(corpus.messages), random.pick(corpus.messages), random, MAX_MESSAGE);
    return checkSummary(summarizeMessageSync(input, random.chance(0.5)));
  },
};

function mutateText(text: string, other: string, random: Random, maxBytes: number): string {
  return latin1Text(mutate(latin1Bytes(text), latin1Bytes(other), random, maxBytes, 3));
}

export const dsnLayer: FuzzLayer = {
  name: 'dsn',
  description: 'RFC 3464 delivery-status parsing of mutated reports',
  runCase(random: Random, corpus: Corpus) {
    const seed = random.pick(corpus.dsns);
    const other = random.pick(corpus.dsns);
    let status = mutateText(seed.deliveryStatus, other.deliveryStatus, random, 65_536);
    if (random.chance(0.05)) {
      const block = '\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\nAction: failed\r\nStatus: 5.0.0';
      status += block.repeat(1 + random.int(3000));
    }
    if (random.chance(0.05)) status += `\r\nDiagnostic-Code: smtp; ${'x'.repeat(random.int(20_000))}`;
    const report = parseDsn({
      contentType: random.chance(0.1) ? null : mutateText(seed.contentType, other.contentType, random, 1024),
      deliveryStatus: random.chance(0.05) ? null : status,
      originalMessage: random.chance(0.1)
        ? null
        : mutateText(seed.originalMessage, other.originalMessage, random, 65_536),
    });
    return report === null ? null : checkDsn(report);
  },
};
