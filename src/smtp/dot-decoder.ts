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

export interface DotDecoder {
  /** Consumes body bytes; returns how many, which is less than `bytes.length` when the end line was found. */
  push(bytes: Uint8Array, offset: number): number;
  /** The end-of-data line was seen. */
  readonly ended: boolean;
  /** Unstuffed bytes delivered so far. */
  readonly sizeBytes: number;
  /** Prepares for a new body. */
  reset(): void;
  /**
   * Goes on after bytes lost in a capture gap: the position is then inside a line (a lone dot right after the gap
   * does not end the body, since its line start is not known), and a LF there is not taken for a bare one.
   */
  resumeAfterGap(): void;
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

export function createDotDecoder(callbacks: DotDecoderCallbacks): DotDecoder {
  let state = BEGIN_LINE;
  let prevCr = false; // IN_LINE: the byte before the current position was CR
  let sizeBytes = 0;
  let bareLfReported = false;

  function emit(bytes: Uint8Array, start: number, end: number): void {
    if (end > start) {
      sizeBytes += end - start;
      // A whole chunk of ordinary lines is passed as it came: a new view costs about 80 ns.
      callbacks.onBytes(start === 0 && end === bytes.length ? bytes : bytes.subarray(start, end));
    }
  }

  function bareLf(offset: number): void {
    if (!bareLfReported) {
      bareLfReported = true;
      callbacks.onBareLf(offset);
    }
  }

  /**
   * Inside a line (not at its first byte): hops from line end to line end with a native byte search and stops
   * at a line that starts with '.', which needs a step of the state machine, or at the end of the chunk.
   * Everything passed over is body data as it stands, delivered later as one run. Returns the new position.
   */
  /** Start of the run not yet delivered, handed back by skipLines. */
  let lastRunStart = 0;

  function skipLines(bytes: Uint8Array, p: number, offset: number, runStart: number): number {
    const length = bytes.length;
    let start = p;
    for (;;) {
      const lf = indexOfByte(bytes, LF, start);
      if (lf < 0) {
        prevCr = bytes[length - 1] === CR;
        lastRunStart = runStart;
        return length;
      }
      const crlf = lf > start ? bytes[lf - 1] === CR : prevCr;
      const next = lf + 1;
      if (!crlf && !bareLfReported) {
        // The anomaly follows the bytes before it, as it would in any chunking.
        emit(bytes, runStart, next);
        runStart = next;
        bareLf(offset + lf);
      }
      if (next === length) {
        state = BEGIN_LINE;
        lastRunStart = runStart;
        return next;
      }
      if (bytes[next] === DOT) {
        state = BEGIN_LINE;
        lastRunStart = runStart;
        return next;
      }
      prevCr = false;
      start = next;
    }
  }

  return {
    push(bytes: Uint8Array, offset: number): number {
      const length = bytes.length;
      let p = 0;
      let runStart = 0;
      while (p < length) {
        switch (state) {
          case IN_LINE: {
            p = skipLines(bytes, p, offset, runStart);
            runStart = lastRunStart;
            break;
          }
          case BEGIN_LINE: {
            const b = bytes[p];
            if (b === DOT) {
              emit(bytes, runStart, p);
              p++;
              runStart = p;
              state = AFTER_DOT;
            } else if (b === LF) {
              p++;
              if (!bareLfReported) {
                emit(bytes, runStart, p);
                runStart = p;
                bareLf(offset + p - 1);
              }
            } else {
              state = IN_LINE;
              prevCr = false;
            }
            break;
          }
          case AFTER_DOT: {
            const b = bytes[p];
            if (b === CR) {
              p++;
              runStart = p;
              state = AFTER_DOT_CR;
            } else if (b === LF) {
              bareLf(offset + p);
              state = ENDED;
              return p + 1;
            } else {
              state = IN_LINE;
              prevCr = false;
            }
            break;
          }
          case AFTER_DOT_CR: {
            if (bytes[p] === LF) {
              state = ENDED;
              return p + 1;
            }
            sizeBytes += 1;
            callbacks.onBytes(CR_BYTES);
            runStart = p;
            state = IN_LINE;
            prevCr = true;
            break;
          }
          default:
            return p;
        }
      }
      emit(bytes, runStart, length);
      return length;
    },
    get ended(): boolean {
      return state === ENDED;
    },
    get sizeBytes(): number {
      return sizeBytes;
    },
    reset(): void {
      state = BEGIN_LINE;
      prevCr = false;
      sizeBytes = 0;
      bareLfReported = false;
    },
    resumeAfterGap(): void {
      if (state === ENDED) return;
      state = IN_LINE;
      prevCr = true;
    },
  };
}
