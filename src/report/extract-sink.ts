/**
 * Message extraction (`--extract DIR`): every complete message body is written to `DIR` as an .eml file
 * (the dot-unstuffed DATA body, or the BDAT chunks joined), and `DIR/index.csv` links each file to its
 * session, transaction, envelope and subject (docs/CSV.md, "Extracted messages").
 *
 * The session model keeps only a prefix of each body, so the pipeline streams bodies here through
 * {@link MessageBodyListener}. Per message:
 *  - `messageStart` creates a temporary file `.<name>.<pid>.<random>.tmp` in DIR with
 *    O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600: bodies are private mail);
 *  - `messageBytes` appends (buffered up to {@link WRITE_BUFFER_BYTES} per message);
 *  - `messageEnd` renames the file to `<session_id>-<depth>.eml` when complete. An incomplete body is
 *    deleted, or kept as `<session_id>-<depth>-incomplete.eml` with `includeIncomplete`.
 * File names are made from the session id and depth only (never from the wire); characters outside
 * `[A-Za-z0-9.-]` become `_`, and a name already taken (in this run, or by a file already in DIR from an
 * earlier run) gets a `-2`, `-3`... suffix. The final name is taken with link(2), which fails instead of
 * replacing an existing file, so a second run into the same DIR never overwrites the first run's messages.
 *
 * Bounds: at most `maxOpenFiles` descriptors are open at once (the least recently written file is closed and
 * reopened for append when needed); a body past `maxMessageBytes` is cut and marked `truncated` in the index.
 * The listener never throws: the first I/O error is kept, the message is dropped, and `close()` rejects with it.
 */

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession, TransactionRecord } from '../model/types.js';
import { type CellValue, type ColumnSpec, mailFromCell } from './columns.js';
import { createCsvFormatter } from './csv-format.js';
import { createOutputFile } from './output-file.js';

/** Called by the pipeline with the full body of every message, as it streams. */
export interface MessageBodyListener {
  /** `mode` is informational (the file holds the body either way). */
  messageStart(sessionId: string, depth: number, mode?: 'DATA' | 'BDAT'): void;
  /** Body bytes (unstuffed DATA or BDAT chunk octets), valid during the call only. */
  messageBytes(sessionId: string, depth: number, bytes: Uint8Array): void;
  messageEnd(sessionId: string, depth: number, complete: boolean): void;
}

export interface ExtractSinkOptions {
  readonly dir: string;
  /** Keep bodies cut by a gap or the end of the connection, as `-incomplete.eml`. */
  readonly includeIncomplete?: boolean;
  /** Open file descriptors at once (default 64). */
  readonly maxOpenFiles?: number;
  /** Bytes written per message; the rest is dropped and the file marked truncated (default 256 MiB). */
  readonly maxMessageBytes?: number;
  /** Live mode: append to an existing index.csv and flush it as sessions close. */
  readonly append?: boolean;
}

export const WRITE_BUFFER_BYTES = 64 * 1024;
export const DEFAULT_MAX_OPEN_FILES = 64;
export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

export interface ExtractIndexRow {
  readonly file: string;
  readonly sessionId: string;
  readonly depth: number;
  readonly complete: boolean;
  readonly sizeBytes: number;
  readonly truncated: boolean;
  readonly session: SmtpSession | null;
  readonly transaction: TransactionRecord | null;
}

export const EXTRACT_INDEX_COLUMNS: readonly ColumnSpec<ExtractIndexRow>[] = [
  {
    name: 'file',
    type: 'string',
    description: 'File name of the message in the extract directory.',
    get: (r) => r.file,
  },
  {
    name: 'session_id',
    type: 'string',
    description: 'Joins `sessions.session_id`.',
    get: (r) => r.sessionId,
  },
  { name: 'depth', type: 'int', description: 'Joins `transactions.depth`.', get: (r) => r.depth },
  {
    name: 'complete',
    type: 'bool',
    description: 'The whole body was captured (false: an `-incomplete.eml` file).',
    get: (r) => r.complete,
  },
  { name: 'size_bytes', type: 'int', description: 'Bytes in the file.', get: (r) => r.sizeBytes },
  {
    name: 'truncated',
    type: 'bool',
    description: 'The body was cut at the per-message size limit.',
    get: (r) => r.truncated,
  },
  {
    name: 'started_at',
    type: 'time',
    description: 'Time of the MAIL command.',
    get: (r) => r.transaction?.startedAt ?? null,
  },
  {
    name: 'client_ip',
    type: 'string',
    description: 'Client address.',
    get: (r) => r.session?.client.ip ?? null,
  },
  {
    name: 'server_ip',
    type: 'string',
    description: 'Server address.',
    get: (r) => r.session?.server.ip ?? null,
  },
  {
    name: 'mail_from',
    type: 'string',
    description: 'Envelope sender (MAIL FROM); `<>` for the null path; empty when unknown.',
    get: (r) => (r.transaction === null ? null : mailFromCell(r.transaction.mailFrom)),
  },
  {
    name: 'recipients',
    type: 'string',
    description:
      'Recipients the server accepted at RCPT TO (the message is addressed to them), space-separated; the refused ones are in `refused_recipients`.',
    get: (r) => (r.transaction === null ? null : recipientsWhere(r.transaction, false)),
  },
  {
    name: 'subject',
    type: 'string',
    description: 'Subject header.',
    get: (r) => r.transaction?.message?.subject ?? null,
  },
  {
    name: 'message_id',
    type: 'string',
    description: 'Message-ID header.',
    get: (r) => r.transaction?.message?.messageId ?? null,
  },
  {
    name: 'queue_id',
    type: 'string',
    description: 'Queue id from the reply at end of data.',
    get: (r) => r.transaction?.queueId ?? null,
  },
  {
    name: 'outcome',
    type: 'string',
    description: 'Outcome of the transaction.',
    get: (r) => r.transaction?.outcome ?? null,
  },
  {
    name: 'started_at_us',
    type: 'int',
    description: '`started_at` in microseconds since the Unix epoch.',
    get: (r) => r.transaction?.startedAt ?? null,
  },
  {
    name: 'refused_recipients',
    type: 'string',
    description:
      'Recipients the server refused at RCPT TO (4xx or 5xx), space-separated: the message was not sent to them.',
    get: (r) => (r.transaction === null ? null : recipientsWhere(r.transaction, true)),
  },
];

/** The recipients of `t` refused at RCPT (`refused`), or the others, space-separated. */
function recipientsWhere(t: TransactionRecord, refused: boolean): string {
  return t.recipients
    .filter((x) => (x.disposition === 'rejected-rcpt' || x.disposition === 'deferred-rcpt') === refused)
    .map((x) => x.address)
    .join(' ');
}

/** `<session_id>-<depth>` with every character outside `[A-Za-z0-9.-]` replaced by `_` (at most 200 chars). */
export function extractBaseName(sessionId: string, depth: number): string {
  const safe = sessionId
    .replace(/[^A-Za-z0-9.-]/g, '_')
    .slice(0, 200)
    .replace(/^\.+/, '_');
  return `${safe}-${depth}`;
}

interface Pending {
  readonly key: string;
  readonly sessionId: string;
  readonly depth: number;
  readonly tempPath: string;
  fd: number | null;
  buffer: Buffer | null;
  buffered: number;
  written: number;
  truncated: boolean;
  failed: boolean;
}

interface Finished {
  readonly sessionId: string;
  readonly depth: number;
  readonly file: string;
  readonly complete: boolean;
  readonly sizeBytes: number;
  readonly truncated: boolean;
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REOPEN_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW;

export type ExtractSink = Sink & MessageBodyListener;

export function createExtractSink(options: ExtractSinkOptions): ExtractSink {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  const maxOpen = Math.max(1, options.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES);
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const includeIncomplete = options.includeIncomplete === true;
  const append = options.append === true;
  const active = new Map<string, Pending>();
  /** Messages with an open descriptor, least recently written first. */
  const openOrder = new Map<string, Pending>();
  const finished = new Map<string, Finished[]>();
  let firstError: unknown = null;

  const formatter = createCsvFormatter(EXTRACT_INDEX_COLUMNS);
  const index = createOutputFile(join(dir, 'index.csv'), { append, header: formatter.header });

  const keyOf = (sessionId: string, depth: number): string => `${sessionId}\u0000${depth}`;

  function fail(p: Pending, err: unknown): void {
    if (firstError === null) firstError = err;
    p.failed = true;
    closeFd(p);
    try {
      unlinkSync(p.tempPath);
    } catch {
      // already gone
    }
  }

  function closeFd(p: Pending): void {
    if (p.fd === null) return;
    openOrder.delete(p.key);
    const fd = p.fd;
    p.fd = null;
    closeSync(fd);
  }

  function ensureFd(p: Pending): number {
    if (p.fd !== null) {
      openOrder.delete(p.key);
      openOrder.set(p.key, p);
      return p.fd;
    }
    while (openOrder.size >= maxOpen) {
      const oldest = openOrder.values().next().value;
      if (oldest === undefined) break;
      closeFd(oldest);
    }
    p.fd = openSync(p.tempPath, REOPEN_FLAGS);
    openOrder.set(p.key, p);
    return p.fd;
  }

  function flushBuffer(p: Pending): void {
    if (p.buffer === null || p.buffered === 0) return;
    const fd = ensureFd(p);
    let off = 0;
    while (off < p.buffered) off += writeSync(fd, p.buffer, off, p.buffered - off);
    p.buffered = 0;
  }

  /**
   * Moves the temporary file to the first free name `<base><suffix>.eml`, `<base>-2<suffix>.eml`... and
   * returns it. Free means not present in DIR: link(2) fails with EEXIST rather than replace a file (every name
   * this run took is a file in DIR, so no set of the names used is kept: it would grow with the messages). On a
   * file system without hard links, a name is taken only when no file has it.
   */
  function placeFile(tempPath: string, base: string, suffix: string): string {
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${base}${suffix}.eml` : `${base}-${n}${suffix}.eml`;
      const target = join(dir, name);
      try {
        linkSync(tempPath, target);
        unlinkSync(tempPath);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST') continue;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        if (existsSync(target)) continue;
        renameSync(tempPath, target);
      }
      return name;
    }
  }

  function finish(p: Pending, complete: boolean): void {
    active.delete(p.key);
    if (p.failed) return;
    try {
      flushBuffer(p);
      closeFd(p);
      if (!complete && !includeIncomplete) {
        unlinkSync(p.tempPath);
        return;
      }
      const file = placeFile(
        p.tempPath,
        extractBaseName(p.sessionId, p.depth),
        complete ? '' : '-incomplete',
      );
      const list = finished.get(p.sessionId) ?? [];
      list.push({
        sessionId: p.sessionId,
        depth: p.depth,
        file,
        complete,
        sizeBytes: p.written,
        truncated: p.truncated,
      });
      finished.set(p.sessionId, list);
    } catch (err) {
      fail(p, err);
    }
  }

  function indexRecords(sessionId: string, session: SmtpSession | null): CellValue[][] {
    const list = finished.get(sessionId) ?? [];
    finished.delete(sessionId);
    return list.map((f) => {
      const transaction = session?.transactions.find((t) => t.depth === f.depth) ?? null;
      const row: ExtractIndexRow = { ...f, session, transaction };
      return EXTRACT_INDEX_COLUMNS.map((c) => c.get(row));
    });
  }

  return {
    name: 'extract',
    messageStart(sessionId, depth) {
      const key = keyOf(sessionId, depth);
      const previous = active.get(key);
      if (previous !== undefined) finish(previous, false);
      const tempPath = join(
        dir,
        `.${extractBaseName(sessionId, depth)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`,
      );
      const p: Pending = {
        key,
        sessionId,
        depth,
        tempPath,
        fd: null,
        buffer: null,
        buffered: 0,
        written: 0,
        truncated: false,
        failed: false,
      };
      active.set(key, p);
      try {
        while (openOrder.size >= maxOpen) {
          const oldest = openOrder.values().next().value;
          if (oldest === undefined) break;
          closeFd(oldest);
        }
        p.fd = openSync(tempPath, CREATE_FLAGS, 0o600);
        openOrder.set(key, p);
      } catch (err) {
        fail(p, err);
      }
    },
    messageBytes(sessionId, depth, bytes) {
      const p = active.get(keyOf(sessionId, depth));
      if (p === undefined || p.failed) return;
      let length = bytes.length;
      if (p.written + length > maxBytes) {
        length = Math.max(0, maxBytes - p.written);
        p.truncated = true;
      }
      if (length === 0) return;
      try {
        if (p.buffer === null) p.buffer = Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
        let off = 0;
        while (off < length) {
          const n = Math.min(length - off, WRITE_BUFFER_BYTES - p.buffered);
          p.buffer.set(bytes.subarray(off, off + n), p.buffered);
          p.buffered += n;
          off += n;
          if (p.buffered === WRITE_BUFFER_BYTES) flushBuffer(p);
        }
        p.written += length;
      } catch (err) {
        fail(p, err);
      }
    },
    messageEnd(sessionId, depth, complete) {
      const p = active.get(keyOf(sessionId, depth));
      if (p !== undefined) finish(p, complete);
    },
    async sessionClosed(session) {
      for (const p of [...active.values()]) if (p.sessionId === session.id) finish(p, false);
      const records = indexRecords(session.id, session);
      if (records.length > 0) await index.write(formatter.format(records));
      if (append) await index.flush();
    },
    async close(_summary: RunSummary) {
      for (const p of [...active.values()]) finish(p, false);
      for (const sessionId of [...finished.keys()]) {
        const records = indexRecords(sessionId, null);
        if (records.length > 0) await index.write(formatter.format(records));
      }
      await index.commit();
      if (firstError !== null) throw firstError;
    },
  };
}
