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

import type { Direction } from '../reassembly/types.js';
import { indexOfByte } from '../util/find-byte.js';

export type LineEnding = 'crlf' | 'lf' | 'overflow' | 'eof';

/**
 * The consumer of a splitter's lines, as ranges: `bytes[start, end)` is the line without its ending (CR of CRLF
 * stripped), valid during the call only; `offset` is the stream offset of its first byte; `direction` the
 * splitter's (so that one consumer can take both directions' lines). A consumer that only reads the line (decodes
 * it to text, classifies it) needs no view of its own.
 */
export interface LineSink {
  onLine(
    bytes: Uint8Array,
    start: number,
    end: number,
    ending: LineEnding,
    offset: number,
    direction: Direction,
  ): void;
  /** Plain-delivery bytes (BDAT octets). Valid during the call only. */
  onPlain(bytes: Uint8Array, offset: number): void;
}

export interface LineSplitterCallbacks {
  readonly maxLineLength: number;
  /** `line` excludes the ending (CR of CRLF stripped). Valid during the call only. `offset`: first byte. */
  onLine(line: Uint8Array, ending: LineEnding, offset: number): void;
  /** Plain-delivery bytes (BDAT octets). Valid during the call only. */
  onPlain(bytes: Uint8Array, offset: number): void;
}

const LF = 10;
const CR = 13;
/** First size of the carry buffer of a line that spans chunks; it doubles up to `maxLineLength + 1`. */
const FIRST_CARRY_BYTES = 64;

/**
 * One direction's line framing. A class with fixed fields and no per-instance closures: two per connection. The
 * carry buffer (a line that spans chunks) is made only when such a line comes.
 */
export class LineSplitter {
  private readonly max: number;
  /** The carry buffer: grows up to max + 1 bytes (room for a trailing CR). */
  private partial: Uint8Array | null = null;
  private partialLength = 0;
  private partialOffset = 0;
  private discarding = false;
  private plain = 0;
  private paused = false;

  constructor(
    maxLineLength: number,
    private readonly sink: LineSink,
    /** The direction the splitter frames, passed with each line. */
    readonly direction: Direction = 'c2s',
  ) {
    this.max = Math.max(1, maxLineLength);
  }

  private deliver(bytes: Uint8Array, start: number, end: number, offset: number, crlf: boolean): void {
    const direction = this.direction;
    if (end - start > this.max)
      this.sink.onLine(bytes, start, start + this.max, 'overflow', offset, direction);
    else if (crlf) this.sink.onLine(bytes, start, end - 1, 'crlf', offset, direction);
    else this.sink.onLine(bytes, start, end, 'lf', offset, direction);
  }

  /** Appends bytes[start, end) to the partial line; cuts it on overflow. */
  private append(bytes: Uint8Array, start: number, end: number, offset: number): void {
    const max = this.max;
    let length = this.partialLength;
    if (length === 0) this.partialOffset = offset;
    const n = Math.min(max + 1 - length, end - start);
    let partial = this.partial;
    if (partial === null || partial.length < length + n) {
      const grown = new Uint8Array(Math.min(max + 1, Math.max(FIRST_CARRY_BYTES, (length + n) * 2)));
      if (partial !== null) grown.set(partial.subarray(0, length));
      partial = grown;
      this.partial = grown;
    }
    if (n === 1) partial[length] = bytes[start] as number;
    else partial.set(bytes.subarray(start, start + n), length);
    length += n;
    this.partialLength = length;
    if (length > max) {
      // Content already longer than max (even if the next byte were LF): cut now.
      this.sink.onLine(partial, 0, max, 'overflow', this.partialOffset, this.direction);
      this.partialLength = 0;
      this.discarding = true;
    }
  }

  /**
   * Consumes `bytes[start..]` (`offset`: the stream offset of `bytes[start]`; a start saves the caller a view);
   * returns how many were consumed (less than all only after `pause()`).
   */
  push(bytes: Uint8Array, offset: number, start = 0): number {
    this.paused = false;
    const length = bytes.length;
    /** The stream offset of bytes[0]. */
    const base = offset - start;
    let pos = start;
    while (pos < length) {
      // The rest of an overflowed line goes before any plain delivery its (cut) command asked for, as it
      // does when the whole line arrives in one chunk.
      if (this.discarding) {
        const end = indexOfByte(bytes, LF, pos);
        if (end < 0) return length - start;
        this.discarding = false;
        pos = end + 1;
        if (this.paused) return pos - start;
        continue;
      }
      if (this.plain > 0) {
        const n = Math.min(this.plain, length - pos);
        this.plain -= n;
        this.sink.onPlain(pos === 0 && n === length ? bytes : bytes.subarray(pos, pos + n), base + pos);
        pos += n;
        if (this.paused) return pos - start;
        continue;
      }
      const lf = indexOfByte(bytes, LF, pos);
      if (lf < 0) {
        this.append(bytes, pos, length, base + pos);
        return length - start;
      }
      if (this.partialLength === 0) {
        this.deliver(bytes, pos, lf, base + pos, lf > pos && bytes[lf - 1] === CR);
      } else {
        this.append(bytes, pos, lf, base + pos);
        if (this.discarding) {
          this.discarding = false; // the LF ends the discarded line
        } else {
          const partial = this.partial as Uint8Array;
          const end = this.partialLength;
          this.partialLength = 0;
          this.deliver(partial, 0, end, this.partialOffset, partial[end - 1] === CR);
        }
      }
      pos = lf + 1;
      if (this.paused) return pos - start;
    }
    return pos - start;
  }

  /** The next `length` bytes go to `onPlain` (added to any plain delivery still pending). */
  setPlainDelivery(length: number): void {
    if (length > 0) this.plain += length;
  }

  /** Plain bytes still expected. */
  get plainRemaining(): number {
    return this.plain;
  }

  /** Stop the current `push` after the line being delivered. */
  pause(): void {
    this.paused = true;
  }

  /**
   * While the rest of an overflowed line is being discarded: consumes it, up to and including its LF (all of
   * `bytes` when they hold none), and returns how many bytes that was; 0 when nothing is being discarded. For
   * a caller that holds the bytes after a line instead of pushing them (the decoder waiting for a reply).
   */
  skipDiscarded(bytes: Uint8Array, start = 0): number {
    if (!this.discarding || bytes.length <= start) return 0;
    const end = indexOfByte(bytes, LF, start);
    if (end < 0) return bytes.length - start;
    this.discarding = false;
    return end + 1 - start;
  }

  /** Delivers a pending partial line with ending 'eof' (end of the stream). */
  flush(): void {
    const partial = this.partial;
    const end = this.partialLength;
    if (end > 0 && partial !== null) {
      this.partialLength = 0;
      this.sink.onLine(partial, 0, end, 'eof', this.partialOffset, this.direction);
    }
    this.discarding = false;
  }

  /** Drops any partial line, discard state and plain delivery (after a gap). */
  reset(): void {
    this.partialLength = 0;
    this.discarding = false;
    this.plain = 0;
    this.paused = false;
  }
}

/** Hands each line range to a consumer that wants a view of the line. */
class ViewSink implements LineSink {
  constructor(private readonly callbacks: LineSplitterCallbacks) {}

  onLine(bytes: Uint8Array, start: number, end: number, ending: LineEnding, offset: number): void {
    this.callbacks.onLine(bytes.subarray(start, end), ending, offset);
  }

  onPlain(bytes: Uint8Array, offset: number): void {
    this.callbacks.onPlain(bytes, offset);
  }
}

/** A splitter whose consumer takes each line as a view (`onLine(line, ending, offset)`). */
export function createLineSplitter(callbacks: LineSplitterCallbacks): LineSplitter {
  return new LineSplitter(callbacks.maxLineLength, new ViewSink(callbacks));
}
