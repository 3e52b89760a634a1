/**
 * One report output: a file written atomically, a file appended to (live mode), or standard output.
 *
 * Atomic mode (the default): text goes to a temporary file in the same directory as the final name,
 * `.<name>.<pid>.<random>.tmp`, created with O_CREAT|O_EXCL|O_NOFOLLOW (a symlink or any file planted at
 * that name makes the open fail instead of being followed). `commit()` flushes, syncs and renames it to the
 * final name, so the final name only ever holds a complete file; rename replaces a symlink at the final
 * name rather than following it. `abort()` removes the temporary file.
 *
 * Append mode: the final name is opened with O_APPEND|O_CREAT|O_NOFOLLOW (a symlink there makes the open
 * fail). When the file is empty the header is written first; when it is not, its first line must equal the
 * header (else the open fails: appending rows under other columns would corrupt it). `flush()` writes what
 * is buffered, so rows reach the file as sessions close.
 *
 * Standard output (`-`): text is written to the stream, waiting for 'drain' when it pushes back.
 *
 * Writes are buffered up to {@link FLUSH_BYTES} characters (or bytes); operations are serialised internally.
 * `write` takes text (written as UTF-8) or bytes (written as they are: `flows --write-streams`).
 */

import { randomBytes } from 'node:crypto';
import { constants, type promises as fsp } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Buffered characters that trigger a write. */
export const FLUSH_BYTES = 64 * 1024;

export interface OutputOptions {
  /** Append to the final name instead of writing a temporary file and renaming it. */
  readonly append: boolean;
  /** Text written first in a new or empty file (and on standard output); in append mode, checked. */
  readonly header: string;
  /** The stream used for `-` (standard output by default). */
  readonly stdout?: NodeJS.WritableStream;
  /** File mode of created files (default 0o644). */
  readonly mode?: number;
  /** Temporary name for the final path (default {@link tempNameFor}); tests pin it. */
  readonly tempName?: (path: string) => string;
}

export interface OutputFile {
  /** The final path, or `-`. */
  readonly path: string;
  write(text: string | Uint8Array): Promise<void>;
  /** Writes what is buffered (the file stays open). */
  flush(): Promise<void>;
  /** Writes everything, then makes the output final (rename for atomic files). Idempotent. */
  commit(): Promise<void>;
  /** Drops the output: removes the temporary file. */
  abort(): Promise<void>;
}

const TEMP_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const APPEND_FLAGS = constants.O_RDWR | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW;

/** A fresh temporary name beside `path`. */
export function tempNameFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function waitDrain(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown): void => {
      stream.off('drain', done);
      stream.off('error', done);
      if (err === undefined) resolve();
      else reject(err);
    };
    stream.on('drain', done);
    stream.on('error', done);
  });
}

async function readFirstLine(handle: fsp.FileHandle, maxBytes: number): Promise<string> {
  const buf = Buffer.alloc(maxBytes);
  const { bytesRead } = await handle.read(buf, 0, maxBytes, 0);
  const text = buf.subarray(0, bytesRead).toString('utf8');
  const nl = text.indexOf('\n');
  return nl === -1 ? text : text.slice(0, nl + 1);
}

export function createOutputFile(path: string, options: OutputOptions): OutputFile {
  const toStdout = path === '-';
  let handle: fsp.FileHandle | null = null;
  let tempPath: string | null = null;
  let opened = false;
  let finished = false;
  let pending: (string | Uint8Array)[] = [];
  let pendingLength = 0;
  let chain: Promise<void> = Promise.resolve();

  const serial = (fn: () => Promise<void>): Promise<void> => {
    const next = chain.then(fn);
    chain = next.catch(() => undefined);
    return next;
  };

  async function ensureOpen(): Promise<void> {
    if (opened) return;
    opened = true;
    if (toStdout) {
      enqueue(options.header);
      return;
    }
    if (options.append) {
      handle = await open(path, APPEND_FLAGS, options.mode ?? 0o644);
      const { size } = await handle.stat();
      if (size === 0) enqueue(options.header);
      else {
        const first = await readFirstLine(handle, Math.max(options.header.length * 4, 16));
        if (first !== options.header && options.header !== '') {
          await handle.close();
          handle = null;
          throw new Error(`${path}: cannot append: its first line does not match the expected header`);
        }
      }
      return;
    }
    tempPath = (options.tempName ?? tempNameFor)(path);
    handle = await open(tempPath, TEMP_FLAGS, options.mode ?? 0o644);
    enqueue(options.header);
  }

  function enqueue(text: string | Uint8Array): void {
    if (text.length === 0) return;
    pending.push(text);
    pendingLength += text.length;
  }

  async function writeOut(): Promise<void> {
    if (pendingLength === 0) return;
    const text = pending.every((p) => typeof p === 'string')
      ? pending.join('')
      : Buffer.concat(pending.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
    pending = [];
    pendingLength = 0;
    if (toStdout) {
      const out = options.stdout ?? process.stdout;
      if (!out.write(text)) await waitDrain(out);
      return;
    }
    if (handle === null) throw new Error(`${path}: output is closed`);
    if (typeof text === 'string') await handle.write(text, null, 'utf8');
    else await handle.write(text);
  }

  return {
    path,
    write(text) {
      return serial(async () => {
        if (finished) throw new Error(`${path}: write after commit`);
        await ensureOpen();
        enqueue(text);
        if (pendingLength >= FLUSH_BYTES) await writeOut();
      });
    },
    flush() {
      return serial(async () => {
        if (finished) return;
        await ensureOpen();
        await writeOut();
      });
    },
    commit() {
      return serial(async () => {
        if (finished) return;
        await ensureOpen();
        await writeOut();
        finished = true;
        if (handle === null) return;
        const h = handle;
        handle = null;
        if (tempPath !== null) await h.sync();
        await h.close();
        if (tempPath !== null) {
          await rename(tempPath, path);
          tempPath = null;
        }
      });
    },
    abort() {
      return serial(async () => {
        finished = true;
        pending = [];
        pendingLength = 0;
        const h = handle;
        handle = null;
        if (h !== null) await h.close();
        if (tempPath !== null) {
          const t = tempPath;
          tempPath = null;
          await unlink(t).catch(() => undefined);
        }
      });
    },
  };
}
