/**
 * SHA-256 of each MIME part of each captured message, for `email.attachments[].file.hash.sha256` of the NDJSON
 * output (docs/JSON.md). A message-body listener: it keeps the first {@link MAX_HASHED_MESSAGE_BYTES} of each
 * message (at most {@link MAX_OPEN_MESSAGES} messages at once, the oldest dropped when more are open), walks
 * its MIME structure at the end with the model's walker (so parts line up with `MessageSummary.parts`),
 * decodes each leaf part (base64, quoted-printable or as is) and hashes it.
 *
 * A part is `complete` when its bytes were all kept and its end was seen: the whole message was captured and
 * kept, or, in a message cut by a gap, the keep limit or the end of the connection, the part's closing boundary
 * came before the cut. Otherwise its hash is not given (`complete: false`): a hash of part of a file matches
 * nothing.
 */

import { createHash } from 'node:crypto';
import { type LeafPart, walkMime } from '../model/mime-parts.js';
import type { MessageBodyListener } from '../model/sink.js';

export const MAX_HASHED_MESSAGE_BYTES = 16 * 1024 * 1024;
export const MAX_OPEN_MESSAGES = 64;
/** Finished messages whose hashes wait for their session to close. */
const MAX_WAITING = 4096;

export interface PartHash {
  readonly sha256: string | null;
  readonly complete: boolean;
}

export interface AttachmentHasher extends MessageBodyListener {
  /** Hashes of the message's parts, in `MessageSummary.parts` order; null when its body was not seen. */
  take(sessionId: string, depth: number): readonly PartHash[] | null;
}

const latin1 = new TextDecoder('latin1');

function decodeQuotedPrintable(body: Uint8Array): Uint8Array {
  const raw = latin1.decode(body).replace(/=[ \t]*\r?\n/g, '');
  const out = new Uint8Array(raw.length);
  let n = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3))) {
      out[n++] = Number.parseInt(raw.slice(i + 1, i + 3), 16);
      i += 2;
    } else out[n++] = c & 0xff;
  }
  return out.subarray(0, n);
}

/** A leaf part's content after its transfer encoding. */
export function decodedPart(bytes: Uint8Array, part: LeafPart): Uint8Array {
  const body = bytes.subarray(part.bodyStart, part.bodyEnd);
  if (part.transferEncoding === 'base64') return Buffer.from(latin1.decode(body), 'base64');
  if (part.transferEncoding === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** The parts' hashes of one message (`bytes`: what was kept; `whole`: all of it was captured and kept). */
export function hashParts(bytes: Uint8Array, whole: boolean): PartHash[] {
  const structure = walkMime(bytes);
  return structure.parts.map((part) => {
    // In a cut message the last part runs to the cut: only a part followed by more bytes (its boundary) is whole.
    const complete = whole || part.bodyEnd + 2 < bytes.length;
    return {
      complete,
      sha256: complete ? createHash('sha256').update(decodedPart(bytes, part)).digest('hex') : null,
    };
  });
}

interface Open {
  chunks: Uint8Array[];
  length: number;
  cut: boolean;
}

export function createAttachmentHasher(maxMessageBytes = MAX_HASHED_MESSAGE_BYTES): AttachmentHasher {
  const open = new Map<string, Open>();
  const done = new Map<string, PartHash[]>();
  const key = (sessionId: string, depth: number) => `${sessionId}\u0000${depth}`;
  return {
    messageStart(sessionId, depth) {
      open.set(key(sessionId, depth), { chunks: [], length: 0, cut: false });
      if (open.size > MAX_OPEN_MESSAGES) {
        const oldest = open.keys().next().value;
        if (oldest !== undefined) open.delete(oldest);
      }
    },
    messageBytes(sessionId, depth, bytes) {
      const m = open.get(key(sessionId, depth));
      if (m === undefined || m.cut) return;
      const room = maxMessageBytes - m.length;
      const take = Math.min(room, bytes.length);
      if (take > 0) {
        m.chunks.push(bytes.slice(0, take));
        m.length += take;
      }
      if (take < bytes.length) m.cut = true;
    },
    messageEnd(sessionId, depth, complete) {
      const k = key(sessionId, depth);
      const m = open.get(k);
      if (m === undefined) return;
      open.delete(k);
      done.set(k, hashParts(Buffer.concat(m.chunks, m.length), complete && !m.cut));
      if (done.size > MAX_WAITING) {
        const oldest = done.keys().next().value;
        if (oldest !== undefined) done.delete(oldest);
      }
    },
    take(sessionId, depth) {
      const k = key(sessionId, depth);
      const hashes = done.get(k) ?? null;
      done.delete(k);
      return hashes;
    },
  };
}

/** One body listener that hands every call to each of `listeners`. */
export function fanOutBodyListener(listeners: readonly MessageBodyListener[]): MessageBodyListener {
  return {
    messageStart: (s, d, mode) => {
      for (const l of listeners) l.messageStart(s, d, mode);
    },
    messageBytes: (s, d, b) => {
      for (const l of listeners) l.messageBytes(s, d, b);
    },
    messageEnd: (s, d, c) => {
      for (const l of listeners) l.messageEnd(s, d, c);
    },
  };
}
