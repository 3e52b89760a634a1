/**
 * DATA body decoder: a byte state machine (after Go's textproto dotReader) that removes dot-stuffing and finds
 * the end-of-data line across any chunking.
 *
 * - A line starting with '.' loses that dot (RFC 5321 §4.5.2).
 * - The body ends at a line holding a single '.'. Line ends may be CRLF or a bare LF, as Postfix reads them by
 *   default (`smtpd_forbid_bare_newline = no` before Postfix 3.9): so `\r\n.\r\n`, `\n.\n`, `\r\n.\n` and
 *   `\n.\r\n` all end the body. The first bare LF of a body is reported once, so a reader can see a possible
 *   smuggling attempt. A bare CR is body data.
 * - Line ends are passed through unchanged; the CRLF before the final dot belongs to the body.
 * - Output is views into the input chunk except for one constant CR (`.\r` followed by something other than LF,
 *   split across chunks). Each view is the longest run that needs no unstuffing: a chunk of ordinary lines is
 *   one view, split only at a removed dot, at the end line and at the first bare LF (reported after the bytes
 *   before it). Between line starts the decoder hops from LF to LF with a native search; only a line that
 *   starts with '.' or LF takes a step of the state machine.
 */

export interface DotDecoderCallbacks {
  /** Unstuffed body bytes. Valid during the call only. */
  onBytes(bytes: Uint8Array): void;
  /** The first line of this body ended by a bare LF (offset of the LF). */
  onBareLf(offset: number): void;
}

import { indexOfByte } from '../util/find-byte.js';

const LF = 10;
const CR = 13;
const DOT = 46;
const CR_BYTES = new Uint8Array([CR]);

const BEGIN_LINE = 0;
const IN_LINE = 1;
const AFTER_DOT = 2;
const AFTER_DOT_CR = 3;
const ENDED = 4;

/** The DATA body decoder of one connection: a class with fixed fields, no per-instance closures. */
export class DotDecoder {
  private state = BEGIN_LINE;
  /** IN_LINE: the byte before the current position was CR. */
  private prevCr = false;
  private size = 0;
  private bareLfReported = false;
  /** Start of the run not yet delivered, handed back by skipLines. */
  private lastRunStart = 0;

  constructor(private readonly callbacks: DotDecoderCallbacks) {}

  private emit(bytes: Uint8Array, start: number, end: number): void {
    if (end > start) {
      this.size += end - start;
      // A whole chunk of ordinary lines is passed as it came: a new view costs about 80 ns.
      this.callbacks.onBytes(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
    }
  }

  private bareLf(offset: number): void {
    if (!this.bareLfReported) {
      this.bareLfReported = true;
      this.callbacks.onBareLf(offset);
    }
  }

  /**
   * Inside a line (not at its first byte): hops from line end to line end with a native byte search and stops
   * at a line that starts with '.', which needs a step of the state machine, or at the end of the chunk.
   * Everything passed over is body data as it stands, delivered later as one run. Returns the new position.
   */
  private skipLines(bytes: Uint8Array, p: number, offset: number, runStart: number): number {
    const length = bytes.length;
    let start = p;
    for (;;) {
      const lf = indexOfByte(bytes, LF, start);
      if (lf < 0) {
        this.prevCr = bytes[length - 1] === CR;
        this.lastRunStart = runStart;
        return length;
      }
      const crlf = lf > start ? bytes[lf - 1] === CR : this.prevCr;
      const next = lf + 1;
      if (!crlf && !this.bareLfReported) {
        // The anomaly follows the bytes before it, as it would in any chunking.
        this.emit(bytes, runStart, next);
        runStart = next;
        this.bareLf(offset + lf);
      }
      if (next === length) {
        this.state = BEGIN_LINE;
        this.lastRunStart = runStart;
        return next;
      }
      if (bytes[next] === DOT) {
        this.state = BEGIN_LINE;
        this.lastRunStart = runStart;
        return next;
      }
      this.prevCr = false;
      start = next;
    }
  }

  /**
   * Consumes body bytes `bytes[start..]` (`offset`: the stream offset of `bytes[start]`); returns how many, which
   * is less than all when the end line was found.
   */
  push(bytes: Uint8Array, offset: number, start = 0): number {
    const length = bytes.length;
    let p = start;
    let runStart = start;
    // From here `offset` is the stream offset of bytes[0].
    offset -= start;
    while (p < length) {
      switch (this.state) {
        case IN_LINE: {
          p = this.skipLines(bytes, p, offset, runStart);
          runStart = this.lastRunStart;
          break;
        }
        case BEGIN_LINE: {
          const b = bytes[p];
          if (b === DOT) {
            this.emit(bytes, runStart, p);
            p++;
            runStart = p;
            this.state = AFTER_DOT;
          } else if (b === LF) {
            p++;
            if (!this.bareLfReported) {
              this.emit(bytes, runStart, p);
              runStart = p;
              this.bareLf(offset + p - 1);
            }
          } else {
            this.state = IN_LINE;
            this.prevCr = false;
          }
          break;
        }
        case AFTER_DOT: {
          const b = bytes[p];
          if (b === CR) {
            p++;
            runStart = p;
            this.state = AFTER_DOT_CR;
          } else if (b === LF) {
            this.bareLf(offset + p);
            this.state = ENDED;
            return p + 1 - start;
          } else {
            this.state = IN_LINE;
            this.prevCr = false;
          }
          break;
        }
        case AFTER_DOT_CR: {
          if (bytes[p] === LF) {
            this.state = ENDED;
            return p + 1 - start;
          }
          this.size += 1;
          this.callbacks.onBytes(CR_BYTES);
          runStart = p;
          this.state = IN_LINE;
          this.prevCr = true;
          break;
        }
        default:
          return p - start;
      }
    }
    this.emit(bytes, runStart, length);
    return length - start;
  }

  /** The end-of-data line was seen. */
  get ended(): boolean {
    return this.state === ENDED;
  }

  /** Unstuffed bytes delivered so far. */
  get sizeBytes(): number {
    return this.size;
  }

  /** Prepares for a new body. */
  reset(): void {
    this.state = BEGIN_LINE;
    this.prevCr = false;
    this.size = 0;
    this.bareLfReported = false;
  }

  /**
   * Goes on after bytes lost in a capture gap: the position is then inside a line (a lone dot right after the gap
   * does not end the body, since its line start is not known), and a LF there is not taken for a bare one.
   */
  resumeAfterGap(): void {
    if (this.state === ENDED) return;
    this.state = IN_LINE;
    this.prevCr = true;
  }
}

export function createDotDecoder(callbacks: DotDecoderCallbacks): DotDecoder {
  return new DotDecoder(callbacks);
}
