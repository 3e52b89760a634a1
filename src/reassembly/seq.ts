/**
 * TCP sequence-number arithmetic. Raw sequence numbers are uint32 values that wrap at 2^32; this is the only
 * module that interprets them. Everything above it works with relative byte offsets: plain non-negative JS
 * numbers that never wrap (exact up to 2^53, i.e. 8 PiB per direction).
 */

/** Signed distance `a - b` in sequence space, in [-2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** `seq + n` modulo 2^32, as a uint32. */
export function seqAdd(seq: number, n: number): number {
  return (seq + n) >>> 0;
}

/** Whether sequence number `a` comes before `b` (within half the sequence space). */
export function seqBefore(a: number, b: number): boolean {
  return ((a - b) | 0) < 0;
}

/**
 * Maps a raw sequence number to a relative offset, where `base` is the raw sequence number of offset 0 and
 * `nearOffset` is an offset known to be within 2^31 bytes of the answer (the next offset expected). The
 * answer may be negative when `seq` lies before `base`.
 */
export function seqToOffset(seq: number, base: number, nearOffset: number): number {
  return nearOffset + ((seq - ((base + nearOffset) >>> 0)) | 0);
}
