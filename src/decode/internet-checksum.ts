/**
 * RFC 1071 Internet checksum arithmetic over byte ranges, read byte by byte (no DataView, no allocation).
 */

/**
 * Adds the big-endian 16-bit words of `buffer[start, end)` to `sum` (an odd final byte is padded with zero)
 * and returns the unfolded total (exact in a double for any packet size).
 */
export function sumWords(buffer: Uint8Array, start: number, end: number, sum: number): number {
  // High and low bytes are summed apart and combined once: the same one's-complement total, half the work.
  let high = 0;
  let low = 0;
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  const blockEnd = evenEnd - ((evenEnd - start) & 7);
  for (; i < blockEnd; i += 8) {
    high += buffer[i]! + buffer[i + 2]! + buffer[i + 4]! + buffer[i + 6]!;
    low += buffer[i + 1]! + buffer[i + 3]! + buffer[i + 5]! + buffer[i + 7]!;
  }
  for (; i < evenEnd; i += 2) {
    high += buffer[i]!;
    low += buffer[i + 1]!;
  }
  if (i < end) high += buffer[i]!;
  return sum + high * 256 + low;
}

/** Folds carries into 16 bits (one's-complement addition). The result is 0 only when `sum` is 0. */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/** True when a range summed together with its stored checksum verifies (folds to 0xffff). */
export function checksumVerifies(sum: number): boolean {
  return foldSum(sum) === 0xffff;
}
