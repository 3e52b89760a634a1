/**
 * A copy of `bytes` that owns its memory. `Uint8Array#slice` copies, but a Node Buffer overrides `slice`
 * to return a view, so callers that keep bytes past a callback use this instead of `bytes.slice()`.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
