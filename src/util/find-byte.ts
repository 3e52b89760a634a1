/**
 * `indexOfByte(bytes, value, from)`: the position of the first `value` at or after `from`, or -1.
 *
 * The same result as `Uint8Array#indexOf` for a byte value and `0 <= from`, but through Node's Buffer search
 * (memchr), which measured about twice as fast per call on short lines as the typed-array builtin; it accepts
 * any Uint8Array, not only a Buffer. `from` must not be negative (Buffer reads a negative start from the end).
 */

const bufferIndexOf = Buffer.prototype.indexOf;

export function indexOfByte(bytes: Uint8Array, value: number, from: number): number {
  return bufferIndexOf.call(bytes, value, from);
}

/** The position of the first occurrence of `pattern` at or after `from` (0 or more), or -1. */
export function indexOfBytes(bytes: Uint8Array, pattern: Uint8Array, from: number): number {
  return bufferIndexOf.call(bytes, pattern, from);
}
