/**
 * RFC 1071 Internet checksum arithmetic over byte ranges, read byte by byte (no DataView, no allocation).
 */

/**
 * Adds the big-endian 16-bit words of `buffer[start, end)` to `sum` (an odd final byte is padded with zero)
 * and returns the unfolded total. Totals stay exact: a 64 KiB range adds under 2^32.
 */
export function sumWords(buffer: Uint8Array, start: number, end: number, sum: number): number {
  let i = start;
  const evenEnd = end - ((end - start) & 1);
  for (; i < evenEnd; i += 2) sum += (buffer[i]! << 8) | buffer[i + 1]!;
  if (i < end) sum += buffer[i]! << 8;
  return sum;
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
