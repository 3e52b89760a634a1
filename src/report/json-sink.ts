/**
 * NDJSON report sink: one line per session, the document of json-document.ts (docs/JSON.md).
 *
 * `path` is a file or `-` for standard output. Files are written atomically (temporary name, renamed at
 * close) or, with `append`, appended to and flushed as each session closes (see output-file.ts).
 * JSON.stringify escapes control characters in strings, so text from the wire needs no other treatment.
 */

import type { SmtpSession } from '../model/types.js';
import type { RunSummary, Sink } from '../pipeline/sink.js';
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
  return `${JSON.stringify(toSessionDocument(session))}\n`;
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
