/**
 * Opens a capture file or stream as a {@link PacketSource}.
 *
 * The format is recognised from the content, never from the name: gzip (1f 8b) is decompressed as a stream
 * and its content recognised in turn; classic pcap by its four magics (microseconds or nanoseconds, either
 * byte order); pcapng by its section header type 0a 0d 0d 0a. Anything else is a {@link CaptureFormatError}
 * naming the input and its first bytes, as is an empty input.
 *
 * A plain file is read with two reused 1 MiB buffers (constant memory whatever the file size); standard input
 * and gzip data are consumed as stream chunks. Damage ends reading cleanly with warnings (see the parsers).
 * At most {@link MAX_WARNINGS} warnings are kept; later ones are counted only in their effect on stats.
 *
 * `close()` ends a read in flight at once: a stream that sends nothing more (a quiet pipe from a capture program)
 * does not keep `forEach` waiting. Drops are 0 for a file read by path (nothing is lost reading it) and null
 * (unknown) for a stream: whatever wrote it may have dropped packets that we cannot see.
 */

import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { CaptureParser } from './capture-parser.js';
import { hexPrefix } from './capture-parser.js';
import {
  type ChunkReader,
  createFileChunkReader,
  createStreamChunkReader,
  DEFAULT_READ_BUFFER_BYTES,
  peekStream,
} from './chunk-reader.js';
import { createPcapParser, sniffPcapMagic } from './pcap-reader.js';
import { createPcapngParser, sniffPcapngMagic } from './pcapng-reader.js';
import {
  CaptureFormatError,
  type PacketSource,
  type PacketView,
  type SourceFormat,
  type SourceStats,
  type SourceWarning,
} from './types.js';

export interface OpenSourceOptions {
  /** Largest captured packet in bytes; see CaptureParserConfig.maxRecordBytes (default 256 KiB). */
  readonly maxRecordBytes?: number;
  /** Size of each of the two read buffers for a plain file (default 1 MiB). */
  readonly readBufferBytes?: number;
  /**
   * Aborts opening a stream (standard input) that has not yet sent the bytes that tell its format: the stream
   * is destroyed and the open rejects, so a stop does not wait for a pipe's first bytes or its end.
   */
  readonly signal?: AbortSignal;
  /** pcapng Decryption Secrets Blocks (see CaptureParserConfig.onSecrets). */
  readonly onSecrets?: (secretsType: number, data: Uint8Array) => void;
}

/** Warnings kept per source; a damaged file cannot make the list grow without bound. */
export const MAX_WARNINGS = 1000;

/** Bytes looked at to recognise a format. */
const SNIFF_BYTES = 4;
/**
 * Compressed bytes written to the decompressor at a time. Node's gunzip discards the output of the write in
 * which it meets non-gzip bytes after a gzip member, so smaller writes bound what trailing garbage can cost.
 */
const GZIP_READ_BYTES = 65_536;
/** Decompressed chunk size for gzip input. */
const GUNZIP_CHUNK_BYTES = 262_144;

type FileFormat = Exclude<SourceFormat, 'live'>;

/** Recognises a capture format from its first bytes; null when it is none of them. */
export function sniffFormat(bytes: Uint8Array): FileFormat | 'gzip' | null {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  if (sniffPcapngMagic(bytes)) return 'pcapng';
  const pcap = sniffPcapMagic(bytes);
  if (pcap !== null) return pcap.nanoseconds ? 'pcap-ns' : 'pcap';
  return null;
}

function notACapture(description: string, bytes: Uint8Array, insideGzip: boolean): CaptureFormatError {
  if (bytes.length === 0) {
    return new CaptureFormatError(
      insideGzip ? `${description}: gzip file decompresses to nothing` : `${description}: empty file`,
    );
  }
  const what = insideGzip
    ? 'gzip file whose content is not a pcap or pcapng file'
    : 'not a pcap, pcapng or gzip file';
  return new CaptureFormatError(`${description}: ${what}: starts with ${hexPrefix(bytes, SNIFF_BYTES)}`);
}

/**
 * Opens `path` (`-` means standard input). Resolves once the format is known; rejects with
 * CaptureFormatError when the file cannot be opened, is empty, or is not a capture.
 */
export async function openFileSource(path: string, options: OpenSourceOptions = {}): Promise<PacketSource> {
  if (path === '-') return openStreamSource(process.stdin, 'stdin', options);
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new CaptureFormatError(
      `cannot open ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const reader = createFileChunkReader(handle, options.readBufferBytes ?? DEFAULT_READ_BUFFER_BYTES);
  let first: Uint8Array | null;
  try {
    first = await reader.read();
  } catch (error) {
    await reader.close();
    throw new CaptureFormatError(
      `cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  if (first !== null && first.length < SNIFF_BYTES) {
    // Short reads (tiny buffers, pipes named by path): gather the first bytes in a copy of our own.
    const pieces = [first.slice()];
    let total = first.length;
    while (total < SNIFF_BYTES) {
      const more = await reader.read();
      if (more === null) break;
      pieces.push(more.slice());
      total += more.length;
    }
    first = Buffer.concat(pieces);
  }
  const head = first ?? new Uint8Array(0);
  const format = head.length >= SNIFF_BYTES ? sniffFormat(head) : null;
  if (format === 'gzip') {
    await reader.close();
    return openGzipSource(createReadStream(path, { highWaterMark: GZIP_READ_BYTES }), path, options, 0);
  }
  if (format === null) {
    await reader.close();
    throw notACapture(path, head, false);
  }
  return createSource(path, format, false, reader, first, options, 0);
}

/**
 * Opens a byte stream (standard input, a socket, a test's Readable) as a capture; `description` names it in
 * messages. Resolves once the format is known.
 */
export async function openStreamSource(
  stream: Readable,
  description: string,
  options: OpenSourceOptions = {},
): Promise<PacketSource> {
  const signal = options.signal;
  const abort = (): void => {
    stream.destroy(new CaptureFormatError(`${description}: stopped before the capture began`));
  };
  if (signal?.aborted === true) abort();
  signal?.addEventListener('abort', abort, { once: true });
  let head: Uint8Array;
  try {
    head = await peekStream(stream, SNIFF_BYTES);
  } finally {
    signal?.removeEventListener('abort', abort);
  }
  if (signal?.aborted === true)
    throw new CaptureFormatError(`${description}: stopped before the capture began`);
  const format = head.length >= SNIFF_BYTES ? sniffFormat(head) : null;
  if (format === 'gzip') return openGzipSource(stream, description, options, null);
  if (format === null) {
    stream.destroy();
    throw notACapture(description, head, false);
  }
  const reader = createStreamChunkReader(stream, rethrow);
  return createSource(description, format, false, reader, null, options, null);
}

function rethrow(): boolean {
  return false;
}

function isZlibError(error: unknown): error is Error & { code: string } {
  if (!(error instanceof Error)) return false;
  const code: unknown = (error as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('Z_');
}

async function openGzipSource(
  compressed: Readable,
  description: string,
  options: OpenSourceOptions,
  dropped: 0 | null,
): Promise<PacketSource> {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  // Compressed bytes handed to the decompressor, for progress against the file's size.
  let consumed = 0;
  compressed.on('data', (chunk: Uint8Array) => {
    consumed += chunk.length;
  });
  // Errors of either stream end up on gunzip, where the reader sees them; the callback only absorbs them.
  pipeline(compressed, gunzip, () => undefined);
  let head: Uint8Array;
  try {
    head = await peekStream(gunzip, SNIFF_BYTES);
  } catch (error) {
    gunzip.destroy();
    const reason = error instanceof Error ? error.message : String(error);
    throw new CaptureFormatError(`${description}: damaged gzip data before any capture data: ${reason}`);
  }
  const format = head.length >= SNIFF_BYTES ? sniffFormat(head) : null;
  if (format === null || format === 'gzip') {
    gunzip.destroy();
    throw notACapture(description, head, true);
  }
  const warnings: SourceWarning[] = [];
  const reader = createStreamChunkReader(gunzip, (error) => {
    if (!isZlibError(error)) return false;
    const trailing = error.code === 'Z_DATA_ERROR' && /header check/.test(error.message);
    const cut = error.code === 'Z_BUF_ERROR';
    const at = `${consumed} compressed bytes read`;
    warnings.push({
      code: trailing ? 'gzip-trailing-garbage' : cut ? 'gzip-truncated' : 'gzip-error',
      byteOffset: null,
      packetsBefore: null,
      message: trailing
        ? `bytes after the end of the gzip data are not gzip (${error.message}, ${at}); they were ignored, and the last decompressed block before them may be lost`
        : cut
          ? `gzip data cut before its end (${error.message}, ${at}); reading stopped`
          : `gzip data damaged (${error.message}, ${at}); reading stopped`,
    });
    return true;
  });
  return createSource(description, format, true, reader, null, options, dropped, warnings, () => consumed);
}

/**
 * The same memory as a plain Uint8Array. Streams (standard input, gzip) yield Node Buffers: the packet views,
 * the decoder and the half-streams would then see two kinds of arrays (Buffers and the parser's own carry), so
 * every byte load in them would check for both, and each payload view would be made by the Buffer's own
 * constructor (`subarray` honours the subclass). Costs a check per chunk and, for a Buffer, one view.
 */
function plainBytes(chunk: Uint8Array): Uint8Array {
  if (Object.getPrototypeOf(chunk) === Uint8Array.prototype) return chunk;
  return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * The PacketSource over a chunk reader and the parser for `format`. `first` is a chunk already read (for
 * sniffing) that must be parsed before the reader's next one. `dropped` is what stats() reports as drops.
 * `readerWarnings` is filled by the reader (gzip errors) and merged after the parser's warnings at the end of
 * input.
 */
function createSource(
  description: string,
  format: FileFormat,
  compressed: boolean,
  reader: ChunkReader,
  first: Uint8Array | null,
  options: OpenSourceOptions,
  dropped: 0 | null,
  readerWarnings: SourceWarning[] = [],
  storedBytes: (() => number) | null = null,
): PacketSource {
  const warnings: SourceWarning[] = [];
  let parser: CaptureParser | null = null;
  let started = false;
  let closed = false;
  let finished: Promise<void> | null = null;

  function addWarning(warning: SourceWarning): void {
    if (warnings.length < MAX_WARNINGS) warnings.push(warning);
  }

  async function run(
    onPacket: (packet: PacketView) => void,
    ready: (() => Promise<void> | null) | undefined,
  ): Promise<void> {
    const config = {
      onPacket,
      onWarning: addWarning,
      ...(options.maxRecordBytes === undefined ? {} : { maxRecordBytes: options.maxRecordBytes }),
      ...(options.onSecrets === undefined ? {} : { onSecrets: options.onSecrets }),
    };
    const p = format === 'pcapng' ? createPcapngParser(config) : createPcapParser(config);
    parser = p;
    try {
      if (first !== null) p.push(plainBytes(first));
      first = null;
      while (!closed && !p.stopped) {
        const wait = ready?.();
        if (wait !== undefined && wait !== null) await wait;
        if (closed) break;
        const chunk = await reader.read();
        for (const warning of readerWarnings.splice(0)) {
          // Where the decompressed input stopped: the parser's counts at the moment the reader gave up.
          const { packets, bytes } = p.counts();
          addWarning({
            ...warning,
            byteOffset: bytes,
            packetsBefore: packets,
            message: `after packet ${packets} (decompressed byte ${bytes}): ${warning.message}`,
          });
        }
        if (closed) break;
        if (chunk === null) {
          p.end();
          break;
        }
        p.push(plainBytes(chunk));
      }
    } finally {
      await reader.close();
    }
  }

  return {
    description,
    format,
    compressed,
    forEach(onPacket: (packet: PacketView) => void, ready?: () => Promise<void> | null): Promise<void> {
      if (started) return Promise.reject(new Error(`${description}: forEach may be called only once`));
      started = true;
      finished = run(onPacket, ready);
      return finished;
    },
    async close(): Promise<void> {
      closed = true;
      if (parser !== null) parser.stop();
      // Closing the reader first ends the read run() may be waiting on (it then returns null).
      const releasing = reader.close();
      if (finished !== null) await finished.catch(() => undefined);
      await releasing;
    },
    stats(): SourceStats {
      const counts = parser === null ? { packets: 0, bytes: 0, truncated: 0 } : parser.counts();
      return {
        packets: counts.packets,
        bytes: counts.bytes,
        storedBytes: storedBytes === null ? counts.bytes : storedBytes(),
        dropped,
        truncated: counts.truncated,
      };
    },
    warnings(): readonly SourceWarning[] {
      return warnings;
    },
  };
}
