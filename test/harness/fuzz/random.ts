/**
 * Deterministic randomness for the fuzz runner: a small PRNG (mulberry32) and the mixing function that turns
 * (run seed, layer, case index) into the seed of one case, so any case can be replayed on its own.
 */

export interface Random {
  /** Float in [0, 1). */
  next(): number;
  /** Integer in [0, n) (n >= 1). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      return items[Math.floor(next() * items.length)] as T;
    },
  };
}

/** 32-bit string hash (FNV-1a). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Seed of case `index` of `layer` in a run started with `seed` (a 32-bit avalanche mix). */
export function caseSeed(seed: number, layer: string, index: number): number {
  const fmix = (x: number): number => {
    let h = x >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  let h = fmix((seed >>> 0) ^ fmix(hashString(layer)));
  h = fmix(h ^ Math.imul(index >>> 0, 0x9e3779b1));
  return fmix(h ^ Math.floor(index / 4294967296));
}

/** Random bytes of length n. */
export function randomBytes(random: Random, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = random.int(256);
  return out;
}

/** Cuts `bytes` into random chunks of 1..maxChunk bytes (fresh copies, so a parser keeping a view is caught). */
export function randomChunking(bytes: Uint8Array, random: Random, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  const limit = Math.max(1, maxChunk);
  while (start < bytes.length) {
    const end = Math.min(bytes.length, start + 1 + random.int(limit));
    chunks.push(bytes.slice(start, end));
    start = end;
  }
  return chunks;
}
