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
import { toSessionDocument } from './json-document.js';
import { createOutputFile } from './output-file.js';

export interface JsonSinkOptions {
  /** Output file, or `-` for standard output. */
  readonly path: string;
  /** Live mode: append to an existing file and flush as sessions close. */
  readonly append?: boolean;
  /** Stream used for `-` (standard output by default). */
  readonly stdout?: NodeJS.WritableStream;
}

/** One NDJSON line (terminated) for a session. */
export function toNdjsonLine(session: SmtpSession): string {
  return `${escapeInvisibles(JSON.stringify(toSessionDocument(session)))}\n`;
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
  return {
    name: 'json',
    async sessionClosed(session: SmtpSession) {
      await out.write(toNdjsonLine(session));
      if (append) await out.flush();
    },
    async close(_summary: RunSummary) {
      await out.commit();
    },
  };
}
