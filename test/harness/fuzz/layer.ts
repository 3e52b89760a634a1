/**
 * What one fuzzed layer is: a name, how to make and check one case, and the time a case may take.
 *
 * `runCase` builds its input from the case's own random generator (so a case is replayed from its seed
 * alone), runs the layer and checks the layer's invariants. It returns null when every invariant holds and a
 * description of the broken one otherwise; an exception that escapes is a failure too (the runner catches it).
 */

import type { Corpus } from './corpus.js';
import type { Random } from './random.js';

export interface FuzzLayer {
  readonly name: string;
  readonly description: string;
  runCase(random: Random, corpus: Corpus): string | null | Promise<string | null>;
}

/** FNV-1a over bytes, continuing from `h`. */
export function hashBytes(bytes: Uint8Array, h = 0x811c9dc5, start = 0, end = bytes.length): number {
  let x = h;
  for (let i = start; i < end; i++) {
    x ^= bytes[i] as number;
    x = Math.imul(x, 0x01000193);
  }
  return x >>> 0;
}

/** Describes the first difference between two logs, or null when equal. */
export function diffLogs(
  a: readonly string[],
  b: readonly string[],
  labelA: string,
  labelB: string,
): string | null {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return `${labelA} and ${labelB} differ at entry ${i}: ${JSON.stringify(a[i] ?? '(none)')} vs ${JSON.stringify(b[i] ?? '(none)')}`;
    }
  }
  return null;
}

const latin1 = new TextDecoder('latin1');

/** Bytes as latin1 text (the SMTP decoder's reading of wire text). */
export function latin1Text(bytes: Uint8Array): string {
  return latin1.decode(bytes);
}

/** Latin1 text back to bytes (code points above 0xff keep their low byte). */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0xff;
  return out;
}
