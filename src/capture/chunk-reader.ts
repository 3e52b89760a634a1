/**
 * Byte sources behind the file readers: a plain file read into two reused buffers, or a Node.js Readable
 * (standard input, a gzip decompressor).
 *
 * A chunk returned by `read()` stays valid until the next `read()` call; the file reader reuses its buffers,
 * so a consumer that keeps bytes longer must copy them (the push parsers do, in their carry buffer).
 */

import type { FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';

export interface ChunkReader {
  /** The next chunk, or null at the end of input. */
  read(): Promise<Uint8Array | null>;
  /** Releases the file or stream. Idempotent; safe while a read is in flight. */
  close(): Promise<void>;
}

/** Size of each of the two read buffers of a plain file (see docs/PERFORMANCE.md, "Capture reader"). */
export const DEFAULT_READ_BUFFER_BYTES = 1_048_576;

/**
 * Reads a file sequentially into two buffers of `bufferBytes` each, alternating: while the caller parses the
 * chunk in one buffer, the next read already fills the other, so disk and parsing overlap. Memory use is
 * constant whatever the file size.
 */
export function createFileChunkReader(
  handle: FileHandle,
  bufferBytes = DEFAULT_READ_BUFFER_BYTES,
): ChunkReader {
  const buffers = [new Uint8Array(bufferBytes), new Uint8Array(bufferBytes)] as const;
  let current = 0;
  let closed = false;
  let closing: Promise<void> | null = null;
  let pending: Promise<number> | null = readInto(0);

  function readInto(index: number): Promise<number> {
    const target = buffers[index === 0 ? 0 : 1];
    return handle.read(target, 0, target.length, null).then((result) => result.bytesRead);
  }

  return {
    async read(): Promise<Uint8Array | null> {
      if (pending === null || closed) return null;
      const bytesRead = await pending;
      if (bytesRead === 0 || closed) {
        pending = null;
        return null;
      }
      const chunk = buffers[current === 0 ? 0 : 1].subarray(0, bytesRead);
      current ^= 1;
      pending = readInto(current);
      return chunk;
    },
    close(): Promise<void> {
      if (closing !== null) return closing;
      closed = true;
      const inFlight = pending;
      pending = null;
      closing = (async () => {
        if (inFlight !== null) await inFlight.catch(() => 0);
        await handle.close();
      })();
      return closing;
    },
  };
}

/**
 * Reads a Readable's chunks as they come. `onError` decides about a stream error: return true to treat it as
 * the end of input (it has been reported as a warning), false to let `read()` reject with it.
 */
export function createStreamChunkReader(stream: Readable, onError: (error: unknown) => boolean): ChunkReader {
  const iterator = stream[Symbol.asyncIterator]();
  let done = false;
  let closedByUs = false;
  return {
    async read(): Promise<Uint8Array | null> {
      if (done) return null;
      let result: IteratorResult<unknown>;
      try {
        result = await iterator.next();
      } catch (error) {
        done = true;
        if (closedByUs || onError(error)) return null;
        throw error;
      }
      if (result.done === true) {
        done = true;
        return null;
      }
      const chunk: unknown = result.value;
      if (!(chunk instanceof Uint8Array)) {
        throw new TypeError('capture stream must yield bytes (Buffer or Uint8Array), not strings or objects');
      }
      return chunk;
    },
    async close(): Promise<void> {
      if (done && stream.destroyed) return;
      done = true;
      closedByUs = true;
      if (!stream.destroyed) stream.destroy();
    },
  };
}

/**
 * Waits until `stream` has buffered at least `count` bytes or has ended, then returns the first bytes seen
 * (possibly more than `count`) and puts them back, so the stream reads as if untouched. Fewer than `count`
 * bytes means the stream ended; those bytes are then not put back.
 */
export async function peekStream(stream: Readable, count: number): Promise<Uint8Array> {
  const seen: Uint8Array[] = [];
  let total = 0;
  let ended = false;
  const onEnd = (): void => {
    ended = true;
  };
  stream.once('end', onEnd);
  try {
    while (total < count && !ended) {
      const chunk: unknown = stream.read();
      if (chunk !== null) {
        if (!(chunk instanceof Uint8Array)) {
          throw new TypeError(
            'capture stream must yield bytes (Buffer or Uint8Array), not strings or objects',
          );
        }
        seen.push(chunk);
        total += chunk.length;
        continue;
      }
      if (stream.readableEnded || stream.destroyed) break;
      await new Promise<void>((resolve, reject) => {
        const cleanup = (): void => {
          stream.off('readable', onReadable);
          stream.off('end', onReadable);
          stream.off('close', onReadable);
          stream.off('error', onFail);
        };
        const onReadable = (): void => {
          cleanup();
          resolve();
        };
        const onFail = (error: Error): void => {
          cleanup();
          reject(error);
        };
        stream.once('readable', onReadable);
        stream.once('end', onReadable);
        stream.once('close', onReadable);
        stream.once('error', onFail);
      });
    }
  } finally {
    stream.off('end', onEnd);
  }
  const bytes = seen.length === 1 ? seen[0]! : Buffer.concat(seen);
  if (bytes.length > 0 && !ended) stream.unshift(bytes);
  return bytes;
}
