/**
 * Split-test helper: replays one input under many chunkings so a push parser can be checked for
 * chunk-agnostic behaviour (identical events whatever the chunk boundaries).
 *
 * `forEachSplit(bytes, fn)` calls `fn(chunks, label)` for
 *  1. the whole input as one chunk,
 *  2. 1-byte chunks,
 *  3. every 2-way split `[0, i) + [i, n)` for 0 < i < n,
 *  4. `randomRuns` random re-chunkings from a seeded generator (deterministic across runs).
 *
 * Every chunk is a fresh copy (`slice`), never a view of `bytes`, so a parser that keeps a reference to an
 * earlier chunk instead of copying what it needs is caught when the test mutates or drops the chunk.
 * `label` names the chunking, for assertion messages.
 */

export interface SplitOptions {
  /** Number of random re-chunkings (default 25). */
  readonly randomRuns?: number;
  /** Seed of the random re-chunkings (default 1). */
  readonly seed?: number;
  /** Largest random chunk in bytes (default: a quarter of the input, at least 1). */
  readonly maxChunkBytes?: number;
  /** Skip the every-2-way-split pass for long inputs (default: run it when the input is at most 4096 bytes). */
  readonly twoWayLimitBytes?: number;
}

export type SplitCallback = (chunks: Uint8Array[], label: string) => void;

/** Small deterministic PRNG (mulberry32); returns floats in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts `bytes` at the given ascending offsets into fresh copies. */
export function cutAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const offset of offsets) {
    chunks.push(bytes.slice(start, offset));
    start = offset;
  }
  chunks.push(bytes.slice(start));
  return chunks;
}

/** Random chunking of `bytes` with chunk sizes in [1, maxChunkBytes]. */
export function randomChunks(bytes: Uint8Array, random: () => number, maxChunkBytes: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let start = 0;
  while (start < bytes.length) {
    const size = 1 + Math.floor(random() * maxChunkBytes);
    const end = Math.min(bytes.length, start + size);
    chunks.push(bytes.slice(start, end));
    start = end;
  }
  return chunks;
}

export function forEachSplit(bytes: Uint8Array, fn: SplitCallback, options: SplitOptions = {}): void {
  const n = bytes.length;
  fn([bytes.slice()], 'whole');
  const ones: Uint8Array[] = [];
  for (let i = 0; i < n; i++) ones.push(bytes.slice(i, i + 1));
  fn(ones, '1-byte chunks');
  if (n <= (options.twoWayLimitBytes ?? 4096)) {
    for (let i = 1; i < n; i++) fn(cutAt(bytes, [i]), `split at ${i}`);
  }
  const random = createRandom(options.seed ?? 1);
  const runs = options.randomRuns ?? 25;
  const maxChunk = Math.max(1, options.maxChunkBytes ?? Math.floor(n / 4));
  for (let run = 0; run < runs; run++) {
    fn(randomChunks(bytes, random, maxChunk), `random chunking #${run}`);
  }
}
