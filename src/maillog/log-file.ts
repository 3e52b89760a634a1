/**
 * Reading mail log files into a {@link LogIndex}: whole files (plain or gzip, recognised by their first bytes)
 * before a capture file is analysed, and, during a live capture, a growing file followed by polling its size,
 * reopened from its start when it is rotated (a new file at the name, or the file cut shorter).
 */

import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { createLineSplitter } from './line-splitter.js';
import type { LogIndex } from './log-index.js';

/** Year of a file's last change: the reference year of its yearless syslog stamps. */
export async function logReferenceYear(path: string): Promise<number> {
  const s = await stat(path);
  return s.mtime.getFullYear();
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    const { bytesRead } = await handle.read(head, 0, 2, 0);
    return bytesRead === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** Reads one whole log file (gzip or plain) into the index. */
export async function readLogFile(path: string, index: LogIndex): Promise<void> {
  const splitter = createLineSplitter((line, cut) => index.addLine(line, cut));
  const raw = createReadStream(path, { highWaterMark: 256 * 1024 });
  const stream = (await isGzip(path)) ? raw.pipe(createGunzip()) : raw;
  try {
    for await (const chunk of stream) splitter.push(chunk as Buffer);
  } finally {
    raw.destroy();
  }
  splitter.end();
}

export interface LogFollower {
  /** Reads what was appended since the last poll (and a rotation). */
  poll(): Promise<void>;
  close(): Promise<void>;
}

/** Bytes read per poll at most, so one poll cannot hold a large backlog in memory at once. */
const FOLLOW_READ_BYTES = 1024 * 1024;

/**
 * Follows a growing log from its current end (`fromStart`: from its first byte). Each poll reads the bytes
 * appended since; when the name points at a new file (another inode) or the file became shorter, the rest of
 * the old file is read and the new one is read from its start. A missing file is waited for.
 */
export function followLogFile(
  path: string,
  index: LogIndex,
  options: { fromStart?: boolean } = {},
): LogFollower {
  let splitter = createLineSplitter((line, cut) => index.addLine(line, cut));
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  let inode = -1;
  let offset = 0;
  let first = true;
  const buffer = Buffer.alloc(FOLLOW_READ_BYTES);

  async function drain(): Promise<void> {
    if (handle === null) return;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      if (bytesRead === 0) return;
      offset += bytesRead;
      splitter.push(buffer.subarray(0, bytesRead));
      if (bytesRead < buffer.length) return;
    }
  }

  async function reopen(fromStart: boolean): Promise<void> {
    const next = await open(path, 'r').catch(() => null);
    if (next === null) return;
    const s = await next.stat();
    handle = next;
    inode = s.ino;
    offset = fromStart ? 0 : s.size;
  }

  return {
    async poll() {
      const s = await stat(path).catch(() => null);
      if (handle === null) {
        if (s === null) return;
        await reopen(first ? options.fromStart === true : true);
        first = false;
      } else if (s !== null && (s.ino !== inode || s.size < offset)) {
        // Rotated or truncated: finish the old file, then start the new one from its beginning.
        if (s.ino !== inode) await drain();
        splitter.end();
        splitter = createLineSplitter((line, cut) => index.addLine(line, cut));
        await handle.close();
        handle = null;
        await reopen(true);
      }
      await drain();
    },
    async close() {
      await drain();
      splitter.end();
      await handle?.close();
      handle = null;
    },
  };
}
