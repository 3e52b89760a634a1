/**
 * Per-direction line framing for the SMTP decoder (after Zeek's ContentLine analyzer).
 *
 * A line ends at LF. CRLF is the normal ending ('crlf'); a lone LF is reported as 'lf' (Postfix, like most
 * servers, accepts it); a bare CR is not a line end and stays inside the line, as Postfix treats it. A line whose
 * content (the bytes before its LF) is longer than `maxLineLength` is delivered once, cut to `maxLineLength`
 * bytes, with ending 'overflow'; the rest of that line is discarded up to and including its LF. Memory is
 * bounded by `maxLineLength`: only a line that spans chunks is copied; a line inside one chunk is a view.
 *
 * `setPlainDelivery(n)` (BDAT) hands the next `n` bytes to `onPlain` without framing. `pause()` called from a
 * callback makes `push` return right after the current line, with the count of bytes it consumed, so the caller
 * can route the rest of the chunk elsewhere (DATA body, TLS).
 */

import { indexOfByte } from '../util/find-byte.js';

export type LineEnding = 'crlf' | 'lf' | 'overflow' | 'eof';

export interface LineSplitterCallbacks {
  readonly maxLineLength: number;
  /** `line` excludes the ending (CR of CRLF stripped). Valid during the call only. `offset`: first byte. */
  onLine(line: Uint8Array, ending: LineEnding, offset: number): void;
  /** Plain-delivery bytes (BDAT octets). Valid during the call only. */
  onPlain(bytes: Uint8Array, offset: number): void;
}

export interface LineSplitter {
  /** Consumes bytes; returns how many were consumed (less than `bytes.length` only after `pause()`). */
  push(bytes: Uint8Array, offset: number): number;
  /** The next `length` bytes go to `onPlain` (added to any plain delivery still pending). */
  setPlainDelivery(length: number): void;
  /** Plain bytes still expected. */
  readonly plainRemaining: number;
  /** Stop the current `push` after the line being delivered. */
  pause(): void;
  /** Delivers a pending partial line with ending 'eof' (end of the stream). */
  flush(): void;
  /**
   * While the rest of an overflowed line is being discarded: consumes it, up to and including its LF (all of
   * `bytes` when they hold none), and returns how many bytes that was; 0 when nothing is being discarded. For
   * a caller that holds the bytes after a line instead of pushing them (the decoder waiting for a reply).
   */
  skipDiscarded(bytes: Uint8Array): number;
  /** Drops any partial line, discard state and plain delivery (after a gap). */
  reset(): void;
}

const LF = 10;
const CR = 13;

export function createLineSplitter(callbacks: LineSplitterCallbacks): LineSplitter {
  const max = Math.max(1, callbacks.maxLineLength);
  let partial: Uint8Array | null = null; // grows up to max + 1 bytes (room for a trailing CR)
  let partialLength = 0;
  let partialOffset = 0;
  let discarding = false;
  let plainRemaining = 0;
  let paused = false;

  function deliver(line: Uint8Array, offset: number, crlf: boolean): void {
    if (line.length > max) {
      callbacks.onLine(line.subarray(0, max), 'overflow', offset);
      return;
    }
    if (crlf) callbacks.onLine(line.subarray(0, line.length - 1), 'crlf', offset);
    else callbacks.onLine(line, 'lf', offset);
  }

  function append(bytes: Uint8Array, start: number, end: number, offset: number): void {
    // Appends bytes[start, end) to the partial line; cuts it on overflow.
    if (partialLength === 0) partialOffset = offset;
    const room = max + 1 - partialLength;
    const n = Math.min(room, end - start);
    if (partial === null || partial.length < partialLength + n) {
      const grown = new Uint8Array(Math.min(max + 1, Math.max(64, (partialLength + n) * 2)));
      if (partial !== null) grown.set(partial.subarray(0, partialLength));
      partial = grown;
    }
    partial.set(bytes.subarray(start, start + n), partialLength);
    partialLength += n;
    if (partialLength > max) {
      // Content already longer than max (even if the next byte were LF): cut now.
      callbacks.onLine(partial.subarray(0, max), 'overflow', partialOffset);
      partialLength = 0;
      discarding = true;
    }
  }

  return {
    push(bytes: Uint8Array, offset: number): number {
      paused = false;
      const length = bytes.length;
      let pos = 0;
      while (pos < length) {
        // The rest of an overflowed line goes before any plain delivery its (cut) command asked for, as it
        // does when the whole line arrives in one chunk.
        if (discarding) {
          const end = indexOfByte(bytes, LF, pos);
          if (end < 0) return length;
          discarding = false;
          pos = end + 1;
          if (paused) return pos;
          continue;
        }
        if (plainRemaining > 0) {
          const n = Math.min(plainRemaining, length - pos);
          plainRemaining -= n;
          callbacks.onPlain(bytes.subarray(pos, pos + n), offset + pos);
          pos += n;
          if (paused) return pos;
          continue;
        }
        const lf = indexOfByte(bytes, LF, pos);
        if (lf < 0) {
          append(bytes, pos, length, offset + pos);
          return length;
        }
        if (partialLength === 0) {
          deliver(bytes.subarray(pos, lf), offset + pos, lf > pos && bytes[lf - 1] === CR);
        } else {
          append(bytes, pos, lf, offset + pos);
          if (discarding) {
            discarding = false; // the LF ends the discarded line
          } else {
            const line = (partial as Uint8Array).subarray(0, partialLength);
            partialLength = 0;
            deliver(line, partialOffset, line[line.length - 1] === CR);
          }
        }
        pos = lf + 1;
        if (paused) return pos;
      }
      return pos;
    },
    setPlainDelivery(n: number): void {
      if (n > 0) plainRemaining += n;
    },
    get plainRemaining(): number {
      return plainRemaining;
    },
    pause(): void {
      paused = true;
    },
    skipDiscarded(bytes: Uint8Array): number {
      if (!discarding || bytes.length === 0) return 0;
      const end = indexOfByte(bytes, LF, 0);
      if (end < 0) return bytes.length;
      discarding = false;
      return end + 1;
    },
    flush(): void {
      if (partialLength > 0 && partial !== null) {
        const line = partial.subarray(0, partialLength);
        partialLength = 0;
        callbacks.onLine(line, 'eof', partialOffset);
      }
      discarding = false;
    },
    reset(): void {
      partialLength = 0;
      discarding = false;
      plainRemaining = 0;
      paused = false;
    },
  };
}
