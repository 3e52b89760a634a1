/**
 * Byte mutations for the fuzz runner: bit flips, byte overwrites with boundary values, truncations, inserted
 * and deleted ranges, duplicated ranges, splices of two inputs, and length-field lies (a 16- or 32-bit field,
 * in either byte order, set to 0, 1, its value plus or minus a little, a huge value, or past the end).
 *
 * Every mutation returns a fresh array; inputs are never modified. Output length is capped at `maxBytes`.
 */

import type { Random } from './random.js';

export type MutationKind =
  | 'bit-flip'
  | 'byte-set'
  | 'truncate'
  | 'insert'
  | 'delete'
  | 'duplicate'
  | 'splice'
  | 'length-lie'
  | 'swap';

const ALL_KINDS: readonly MutationKind[] = [
  'bit-flip',
  'bit-flip',
  'byte-set',
  'truncate',
  'insert',
  'delete',
  'duplicate',
  'splice',
  'length-lie',
  'length-lie',
  'swap',
];

const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x2e, 0x3a, 0x7f, 0x80, 0xff, 0x1b, 0x16, 0x03];

function concat(parts: readonly Uint8Array[], maxBytes: number): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(Math.min(total, maxBytes));
  let at = 0;
  for (const p of parts) {
    if (at >= out.length) break;
    const take = Math.min(p.length, out.length - at);
    out.set(take === p.length ? p : p.subarray(0, take), at);
    at += take;
  }
  return out;
}

function lieValue(random: Random, current: number, length: number, width: 2 | 4): number {
  const max = width === 2 ? 0xffff : 0xffffffff;
  switch (random.int(7)) {
    case 0:
      return 0;
    case 1:
      return random.int(16);
    case 2:
      return Math.max(0, Math.min(max, current + 1 + random.int(8)));
    case 3:
      return Math.max(0, current - 1 - random.int(8));
    case 4:
      return max - random.int(16);
    case 5:
      return Math.min(max, length + random.int(4096));
    default:
      return random.int(max + 1);
  }
}

function writeField(out: Uint8Array, at: number, width: 2 | 4, little: boolean, value: number): void {
  for (let i = 0; i < width; i++) {
    const shift = 8 * (little ? i : width - 1 - i);
    out[at + i] = Math.floor(value / 2 ** shift) & 0xff;
  }
}

function readField(bytes: Uint8Array, at: number, width: 2 | 4, little: boolean): number {
  let v = 0;
  for (let i = 0; i < width; i++) {
    const b = bytes[at + (little ? width - 1 - i : i)] ?? 0;
    v = v * 256 + b;
  }
  return v;
}

/** Applies one mutation of `kind` to `input` (with `other` as the splice donor). */
export function mutateOnce(
  input: Uint8Array,
  other: Uint8Array,
  random: Random,
  kind: MutationKind,
  maxBytes: number,
): Uint8Array {
  const n = input.length;
  switch (kind) {
    case 'bit-flip': {
      if (n === 0) return input.slice();
      const out = input.slice();
      const flips = 1 + random.int(4);
      for (let i = 0; i < flips; i++) {
        const at = random.int(n);
        out[at] = (out[at] ?? 0) ^ (1 << random.int(8));
      }
      return out;
    }
    case 'byte-set': {
      if (n === 0) return input.slice();
      const out = input.slice();
      const count = 1 + random.int(4);
      for (let i = 0; i < count; i++) {
        out[random.int(n)] = random.chance(0.7) ? random.pick(INTERESTING_BYTES) : random.int(256);
      }
      return out;
    }
    case 'truncate':
      return input.slice(0, random.int(n + 1));
    case 'insert': {
      const at = random.int(n + 1);
      const len = 1 + random.int(random.chance(0.9) ? 16 : 512);
      const filler = new Uint8Array(len);
      const fillByte = random.chance(0.5) ? random.pick(INTERESTING_BYTES) : -1;
      for (let i = 0; i < len; i++) filler[i] = fillByte >= 0 ? fillByte : random.int(256);
      return concat([input.subarray(0, at), filler, input.subarray(at)], maxBytes);
    }
    case 'delete': {
      if (n === 0) return input.slice();
      const at = random.int(n);
      const len = 1 + random.int(Math.min(n - at, random.chance(0.8) ? 16 : 4096));
      return concat([input.subarray(0, at), input.subarray(at + len)], maxBytes);
    }
    case 'duplicate': {
      if (n === 0) return input.slice();
      const at = random.int(n);
      const len = 1 + random.int(Math.min(n - at, 2048));
      const to = random.int(n + 1);
      return concat([input.subarray(0, to), input.subarray(at, at + len), input.subarray(to)], maxBytes);
    }
    case 'splice': {
      const cut = random.int(n + 1);
      const from = random.int(other.length + 1);
      return concat([input.subarray(0, cut), other.subarray(from)], maxBytes);
    }
    case 'length-lie': {
      const width: 2 | 4 = random.chance(0.5) ? 2 : 4;
      if (n < width) return input.slice();
      const out = input.slice();
      // Fields of the formats fuzzed here sit at even (mostly 4-byte aligned) offsets.
      const align = random.chance(0.7) ? 4 : 2;
      const slots = Math.floor((n - width) / align) + 1;
      const at = random.int(slots) * align;
      const little = random.chance(0.5);
      writeField(out, at, width, little, lieValue(random, readField(out, at, width, little), n, width));
      return out;
    }
    case 'swap': {
      if (n < 4) return input.slice();
      const out = input.slice();
      const len = 1 + random.int(Math.min(64, Math.floor(n / 2)));
      const a = random.int(n - len + 1);
      const b = random.int(n - len + 1);
      const tmp = out.slice(a, a + len);
      out.copyWithin(a, b, b + len);
      out.set(tmp, b);
      return out;
    }
  }
}

/** One to `maxRounds` random mutations of `input`. */
export function mutate(
  input: Uint8Array,
  other: Uint8Array,
  random: Random,
  maxBytes: number,
  maxRounds = 4,
): Uint8Array {
  let out = input;
  const rounds = 1 + random.int(maxRounds);
  for (let i = 0; i < rounds; i++) out = mutateOnce(out, other, random, random.pick(ALL_KINDS), maxBytes);
  return out === input ? input.slice() : out;
}

/** Mutates only `input[from, to)` (a header region), keeping the rest; the region may grow or shrink. */
export function mutateRegion(
  input: Uint8Array,
  from: number,
  to: number,
  other: Uint8Array,
  random: Random,
  maxBytes: number,
): Uint8Array {
  const start = Math.max(0, Math.min(from, input.length));
  const end = Math.max(start, Math.min(to, input.length));
  const middle = mutate(input.subarray(start, end), other, random, maxBytes, 3);
  return concat([input.subarray(0, start), middle, input.subarray(end)], maxBytes);
}
