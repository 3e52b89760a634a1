/**
 * NDJSON report sink: one line per session, the document of json-document.ts (docs/JSON.md).
 *
 * `path` is a file or `-` for standard output. Files are written atomically (temporary name, renamed at
 * close) or, with `append`, appended to and flushed as each session closes (see output-file.ts).
 * JSON.stringify escapes the C0 controls in strings but leaves C1 controls (U+009B is a one-character CSI on
 * many terminals), bidirectional formatting characters and the line separators as they are; those are written
 * as `\uXXXX` escapes too, so a line shown on a terminal cannot act on it. Such characters only occur inside
 * strings, and an escape parses back to the same string.
 */

import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import type { AttachmentHasher, PartHash } from './attachment-hashes.js';
import { type DocumentContext, NO_DOCUMENT_CONTEXT, toSessionDocument } from './json-document.js';
import { toRecipientDocuments } from './json-recipient-document.js';
import { createTlsDecryptionCounter, toAttemptDocument, toRunDocument } from './json-run-records.js';
import { createOutputFile } from './output-file.js';

export interface JsonSinkOptions {
  /** Output file, or `-` for standard output. */
  readonly path: string;
  /** Live mode: append to an existing file and flush as sessions close. */
  readonly append?: boolean;
  /** Stream used for `-` (standard output by default). */
  readonly stdout?: NodeJS.WritableStream;
  /** Also one line per connection attempt and a run record at the end (`--connection-attempts`). */
  readonly attempts?: boolean;
  /** One document per session (default) or per recipient (`--json-level recipients`). */
  readonly level?: JsonLevel;
  /** `observer.name` (default: null). */
  readonly sensor?: string | null;
  /** `log.file.path`: the capture file a session came from (default: none). */
  readonly captureFileOf?: (sessionId: string) => string | null;
  /** SHA-256 of attachments: the body listener that hashed them (default: none, hashes null). */
  readonly hasher?: AttachmentHasher;
}

export type JsonLevel = 'sessions' | 'recipients';

/** One NDJSON line (terminated) for a session. */
export function toNdjsonLine(session: SmtpSession, context: DocumentContext = NO_DOCUMENT_CONTEXT): string {
  return `${escapeInvisibles(JSON.stringify(toSessionDocument(session, context)))}\n`;
}

/** One NDJSON line per recipient of the session ('' without recipients). */
export function toRecipientNdjsonLines(
  session: SmtpSession,
  context: DocumentContext = NO_DOCUMENT_CONTEXT,
): string {
  return toRecipientDocuments(session, context)
    .map((d) => `${escapeInvisibles(JSON.stringify(d))}\n`)
    .join('');
}

const INVISIBLES = /[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON text with the C1 controls, bidirectional formatting characters and line separators as escapes. */
export function escapeInvisibles(json: string): string {
  return json.replace(INVISIBLES, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function createJsonSink(options: JsonSinkOptions): Sink {
  const append = options.append === true;
  const out = createOutputFile(options.path, {
    append,
    header: '',
    ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
  });
  const line = (document: unknown): string => `${escapeInvisibles(JSON.stringify(document))}\n`;
  const decryption = createTlsDecryptionCounter();
  const sink: Sink = {
    name: 'json',
    async sessionClosed(session: SmtpSession) {
      decryption.add(session);
      const partHashes = new Map<number, readonly PartHash[]>();
      if (options.hasher !== undefined)
        for (const t of session.transactions) {
          const hashes = options.hasher.take(session.id, t.depth);
          if (hashes !== null) partHashes.set(t.depth, hashes);
        }
      const context: DocumentContext = {
        sensor: options.sensor ?? null,
        captureFile: options.captureFileOf?.(session.id) ?? null,
        partHashes,
      };
      const text =
        options.level === 'recipients'
          ? toRecipientNdjsonLines(session, context)
          : toNdjsonLine(session, context);
      if (text !== '') await out.write(text);
      if (append) await out.flush();
    },
    async close(summary: RunSummary) {
      if (options.attempts === true) await out.write(line(toRunDocument(summary, decryption.totals)));
      await out.commit();
    },
  };
  if (options.attempts !== true) return sink;
  return {
    ...sink,
    async connectionAttempt(attempt) {
      await out.write(line(toAttemptDocument(attempt)));
      if (append) await out.flush();
    },
  };
}
