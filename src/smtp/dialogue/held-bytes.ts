/**
 * Client bytes held while a barrier command (DATA, STARTTLS, an AUTH step) awaits the reply that decides what
 * they are: message body or commands, TLS or clear text, an AUTH response or a command. Bounded by
 * `maxHeldBytes`: what does not fit makes the caller decide optimistically (docs/SMTP.md, "Barriers").
 */

import { copyBytes } from '../../util/copy-bytes.js';
import type { PendingEntry } from './pending-queue.js';

export interface HeldChunk {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly tsMicros: number;
}

/** Nothing held: one frozen array shared by every connection. */
const NO_CHUNKS: readonly HeldChunk[] = Object.freeze([]);

export class HeldBytes {
  /** The command whose reply the held bytes wait for; null when nothing is held back. */
  barrier: PendingEntry | null = null;
  /** Null while nothing is held: most connections never hold a byte, and a first chunk makes an array to fit. */
  private chunks: HeldChunk[] | null = null;
  private total = 0;

  constructor(readonly limit: number) {}

  get room(): number {
    return this.limit - this.total;
  }

  /** Keeps a copy of up to `room` bytes; returns how many were kept. */
  hold(bytes: Uint8Array, offset: number, tsMicros: number): number {
    const n = Math.min(bytes.length, this.room);
    if (n <= 0) return 0;
    const chunk: HeldChunk = {
      bytes: copyBytes(n === bytes.length ? bytes : bytes.subarray(0, n)),
      offset,
      tsMicros,
    };
    if (this.chunks === null) this.chunks = [chunk];
    else this.chunks.push(chunk);
    this.total += n;
    return n;
  }

  /** Calls `fn` with each complete held line (without its LF) until it returns true; returns that answer. */
  someLine(fn: (line: Uint8Array) => boolean): boolean {
    const chunks = this.chunks;
    if (chunks === null || chunks.length === 0) return false;
    let all: Uint8Array;
    if (chunks.length === 1) all = (chunks[0] as HeldChunk).bytes;
    else {
      all = new Uint8Array(this.total);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk.bytes, at);
        at += chunk.bytes.length;
      }
    }
    let start = 0;
    for (let lf = all.indexOf(10); lf >= 0; lf = all.indexOf(10, start)) {
      if (fn(all.subarray(start, lf))) return true;
      start = lf + 1;
    }
    return false;
  }

  /** Hands out everything held and empties the store. */
  take(): readonly HeldChunk[] {
    const chunks = this.chunks;
    if (chunks === null) return NO_CHUNKS;
    this.chunks = null;
    this.total = 0;
    return chunks;
  }
}
