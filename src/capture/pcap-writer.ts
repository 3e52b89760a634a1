/**
 * Classic pcap writer (microsecond timestamps, little-endian) for `-w FILE`: a copy of every captured
 * packet, written while the analysis runs, with optional rotation by size.
 *
 * - The file grows while the capture runs (it can be read meanwhile, and survives a kill), so it is written
 *   in place, not to a temporary name renamed at the end. It is opened with O_CREAT|O_NOFOLLOW, without
 *   O_TRUNC, and mode 0600 (captures hold mail, so only the owner may read them): a symlink planted at the
 *   path is refused, not followed. An existing file is only truncated once fstat shows it is a regular file
 *   with no other hard link, owned by the user smtpscope runs as; anything else (a FIFO, a device, a hard
 *   link to another file, a file another user created in a shared folder) is refused. Its mode is then
 *   reset to 0600.
 * - Records are gathered in one buffer (1 MiB by default) and written with fs.writeSync when it fills, on
 *   rotation, on flush() and on close(); memory stays bounded whatever the traffic. A timer (wall time,
 *   unref'd: it never keeps the process alive) also flushes once a second, so a killed process loses at
 *   most the last second of packets, not a buffer's worth. An error of a timed flush is thrown by the next
 *   write(), flush() or close().
 * - Rotation (`rotateBytes`): before a record that would take the current file past `rotateBytes`, the
 *   file is closed and the next one opened. Files are named `FILE`, `FILE.1`, `FILE.2`, ... With
 *   `maxFiles` = N the names cycle through `FILE` ... `FILE.(N-1)` and the oldest file is overwritten.
 *   A file always holds at least one record, so a single record larger than `rotateBytes` gets a file of
 *   its own.
 */

import { closeSync, constants, fchmodSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import type { PacketView } from './types.js';

export interface PcapWriterOptions {
  readonly path: string;
  /** LINKTYPE_* for the file header; packets of another link type are skipped and counted. */
  readonly linkType: number;
  /** Snapshot length for the file header; longer packets are cut to it. */
  readonly snaplen: number;
  /** Maximum file size in bytes before rotating; null or absent: one file. */
  readonly rotateBytes?: number | null;
  /** With rotation: how many files to keep in a ring; absent: unlimited. */
  readonly maxFiles?: number;
  /** Size of the write buffer; default 1 MiB. */
  readonly bufferBytes?: number;
  /** Wall-time milliseconds between flushes of buffered records; default 1000, null: only when full. */
  readonly flushIntervalMs?: number | null;
}

export interface PcapWriterStats {
  readonly packets: number;
  /** Bytes written to files, headers included (after the last flush; buffered bytes not counted). */
  readonly bytesWritten: number;
  /** Files opened so far (with a ring, more than maxFiles once it wraps). */
  readonly files: number;
  /** Packets whose link type differs from the file's (classic pcap has one link type per file). */
  readonly skippedLinkType: number;
}

export interface PcapWriter {
  /** Appends one packet (copies its bytes; the view may be reused after the call). */
  write(packet: PacketView): void;
  /** Writes buffered records to the current file. */
  flush(): void;
  /** Flushes and closes; later calls are no-ops, later writes are ignored. */
  close(): void;
  /** Path of the file being written. */
  readonly currentPath: string;
  stats(): PcapWriterStats;
}

/** Thrown when a capture file cannot be created (symlink at the path, permissions, missing directory). */
export class PcapWriteError extends Error {
  override readonly name = 'PcapWriteError';
}

const GLOBAL_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 16;
const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const DEFAULT_BUFFER_BYTES = 1024 * 1024;
const DEFAULT_FLUSH_INTERVAL_MS = 1000;
const FILE_MODE = 0o600;

/** Name of the `n`-th file (0-based) of a rotation: FILE, FILE.1, FILE.2, ... */
export function rotatedPath(path: string, n: number): string {
  return n === 0 ? path : `${path}.${n}`;
}

/** Why an opened output must not be truncated and written, or null when it may. */
function unsafeExistingFile(fd: number): string | null {
  const st = fstatSync(fd);
  if (!st.isFile()) return 'it is not a regular file';
  if (st.nlink > 1) return 'it has other hard links';
  const euid = process.geteuid?.();
  if (euid !== undefined && st.uid !== euid) return `it belongs to another user (uid ${st.uid})`;
  return null;
}

function openCaptureFile(path: string): number {
  let fd: number;
  try {
    // No O_TRUNC: the file is checked first. O_NONBLOCK: a FIFO planted at the name must not block the open.
    fd = openSync(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK,
      FILE_MODE,
    );
  } catch (err) {
    const code = err instanceof Error ? Reflect.get(err, 'code') : undefined;
    if (code === 'ELOOP') {
      throw new PcapWriteError(`refusing to write capture to ${path}: it is a symbolic link`, { cause: err });
    }
    const text = err instanceof Error ? err.message : String(err);
    throw new PcapWriteError(`cannot create capture file ${path}: ${text}`, { cause: err });
  }
  const refusal = unsafeExistingFile(fd);
  if (refusal !== null) {
    closeSync(fd);
    throw new PcapWriteError(`refusing to write capture to ${path}: ${refusal}`);
  }
  try {
    ftruncateSync(fd, 0);
    fchmodSync(fd, FILE_MODE);
  } catch (err) {
    closeSync(fd);
    const text = err instanceof Error ? err.message : String(err);
    throw new PcapWriteError(`cannot truncate or restrict permissions of ${path}: ${text}`, { cause: err });
  }
  return fd;
}

function validate(options: PcapWriterOptions): void {
  if (!Number.isInteger(options.snaplen) || options.snaplen < 1 || options.snaplen > 0x7fffffff) {
    throw new RangeError(`snaplen must be a positive integer, got ${options.snaplen}`);
  }
  if (!Number.isInteger(options.linkType) || options.linkType < 0 || options.linkType > 0xffff) {
    throw new RangeError(`linkType must be a LINKTYPE_* value, got ${options.linkType}`);
  }
  const rotate = options.rotateBytes ?? null;
  if (rotate !== null && (!Number.isInteger(rotate) || rotate <= GLOBAL_HEADER_BYTES)) {
    throw new RangeError(`rotateBytes must be an integer above ${GLOBAL_HEADER_BYTES}, got ${rotate}`);
  }
  if (options.maxFiles !== undefined) {
    if (!Number.isInteger(options.maxFiles) || options.maxFiles < 1) {
      throw new RangeError(`maxFiles must be a positive integer, got ${options.maxFiles}`);
    }
    if (rotate === null) throw new RangeError('maxFiles needs rotateBytes');
  }
  const bufferBytes = options.bufferBytes ?? DEFAULT_BUFFER_BYTES;
  if (!Number.isInteger(bufferBytes) || bufferBytes < GLOBAL_HEADER_BYTES + RECORD_HEADER_BYTES) {
    throw new RangeError(`bufferBytes must be an integer of at least 40, got ${bufferBytes}`);
  }
  const interval = options.flushIntervalMs;
  if (interval !== undefined && interval !== null && !(Number.isInteger(interval) && interval > 0)) {
    throw new RangeError(`flushIntervalMs must be a positive integer or null, got ${interval}`);
  }
}

/**
 * Creates `options.path` (the first file) at once, so that a bad path fails before capture starts.
 * @throws PcapWriteError when the file cannot be created.
 */
export function createPcapWriter(options: PcapWriterOptions): PcapWriter {
  validate(options);
  const basePath = options.path;
  const snaplen = options.snaplen;
  const linkType = options.linkType;
  const rotateBytes = options.rotateBytes ?? null;
  const maxFiles = options.maxFiles ?? null;
  const buffer = Buffer.allocUnsafe(options.bufferBytes ?? DEFAULT_BUFFER_BYTES);

  let fd = -1;
  let fileNumber = 0;
  let currentPath = basePath;
  let used = 0;
  /** Bytes of the current file, buffered ones included. */
  let fileBytes = 0;
  let filePackets = 0;
  let packets = 0;
  let bytesWritten = 0;
  let files = 0;
  let skippedLinkType = 0;
  let closed = false;
  /** The error of a timed flush, thrown by the next call (a timer has no caller to throw to). */
  let timedFlushError: unknown = null;

  const writeOut = (bytes: Uint8Array, start: number, end: number): void => {
    let at = start;
    while (at < end) at += writeSync(fd, bytes, at, end - at);
    bytesWritten += end - start;
  };

  const flush = (): void => {
    if (used > 0 && fd >= 0) writeOut(buffer, 0, used);
    used = 0;
  };

  const openFile = (): void => {
    currentPath = rotatedPath(basePath, maxFiles === null ? fileNumber : fileNumber % maxFiles);
    fd = openCaptureFile(currentPath);
    files++;
    buffer.writeUInt32LE(PCAP_MAGIC_MICROS, 0);
    buffer.writeUInt16LE(2, 4);
    buffer.writeUInt16LE(4, 6);
    buffer.writeInt32LE(0, 8); // thiszone: timestamps are UTC
    buffer.writeUInt32LE(0, 12); // sigfigs
    buffer.writeUInt32LE(snaplen, 16);
    buffer.writeUInt32LE(linkType, 20);
    used = GLOBAL_HEADER_BYTES;
    fileBytes = GLOBAL_HEADER_BYTES;
    filePackets = 0;
  };

  const rotate = (): void => {
    flush();
    closeSync(fd);
    fd = -1;
    fileNumber++;
    openFile();
  };

  openFile();

  const interval =
    options.flushIntervalMs === undefined ? DEFAULT_FLUSH_INTERVAL_MS : options.flushIntervalMs;
  const timer =
    interval === null
      ? null
      : setInterval(() => {
          if (used === 0 || fd < 0 || timedFlushError !== null) return;
          try {
            flush();
          } catch (error) {
            timedFlushError = error;
          }
        }, interval);
  timer?.unref();

  const throwTimedFlushError = (): void => {
    if (timedFlushError === null) return;
    const error = timedFlushError;
    timedFlushError = null;
    throw error;
  };

  const write = (packet: PacketView): void => {
    if (closed || fd < 0) return;
    throwTimedFlushError();
    if (packet.linkType !== linkType) {
      skippedLinkType++;
      return;
    }
    const length = Math.min(packet.capturedLength, snaplen);
    const recordBytes = RECORD_HEADER_BYTES + length;
    if (rotateBytes !== null && filePackets > 0 && fileBytes + recordBytes > rotateBytes) rotate();
    if (used + RECORD_HEADER_BYTES > buffer.length) flush();
    const ts = packet.tsMicros;
    const seconds = Math.floor(ts / 1_000_000);
    buffer.writeUInt32LE(seconds >>> 0, used);
    buffer.writeUInt32LE(ts - seconds * 1_000_000, used + 4);
    buffer.writeUInt32LE(length, used + 8);
    buffer.writeUInt32LE(packet.originalLength > length ? packet.originalLength >>> 0 : length, used + 12);
    used += RECORD_HEADER_BYTES;
    const start = packet.offset;
    if (used + length <= buffer.length) {
      buffer.set(packet.buffer.subarray(start, start + length), used);
      used += length;
    } else {
      flush();
      if (length <= buffer.length) {
        buffer.set(packet.buffer.subarray(start, start + length), 0);
        used = length;
      } else {
        writeOut(packet.buffer, start, start + length);
      }
    }
    fileBytes += recordBytes;
    filePackets++;
    packets++;
  };

  return {
    write,
    flush(): void {
      throwTimedFlushError();
      flush();
    },
    close(): void {
      if (closed) return;
      closed = true;
      if (timer !== null) clearInterval(timer);
      if (fd < 0) return; // a rotation failed to open the next file
      try {
        throwTimedFlushError();
        flush();
      } finally {
        closeSync(fd);
        fd = -1;
      }
    },
    get currentPath(): string {
      return currentPath;
    },
    stats(): PcapWriterStats {
      return { packets, bytesWritten, files, skippedLinkType };
    },
  };
}
