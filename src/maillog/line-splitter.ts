/**
 * Splits log bytes into lines whatever the chunking: `push` any chunks, `end` once. A line ends at LF (a CR
 * before it is dropped); the last line needs no LF. A line longer than `maxLineBytes` is cut there: its first
 * bytes are handed on with `cut: true` and the rest, up to the next LF, is skipped. Bytes are decoded as UTF-8
 * (invalid sequences become U+FFFD). Holds at most `maxLineBytes` bytes between calls.
 */

export const DEFAULT_MAX_LOG_LINE_BYTES = 16 * 1024;

export type LineCallback = (line: string, cut: boolean) => void;

export interface LineSplitter {
  push(chunk: Uint8Array): void;
  end(): void;
}

export function createLineSplitter(
  onLine: LineCallback,
  maxLineBytes: number = DEFAULT_MAX_LOG_LINE_BYTES,
): LineSplitter {
  const decoder = new TextDecoder('utf-8');
  const held = new Uint8Array(maxLineBytes);
  let heldLength = 0;
  /** The current line passed the limit: its head was handed on, the rest is skipped up to the LF. */
  let skipping = false;

  const emit = (bytes: Uint8Array, cut: boolean): void => {
    let end = bytes.length;
    if (!cut && end > 0 && bytes[end - 1] === 0x0d) end--;
    onLine(decoder.decode(bytes.subarray(0, end)), cut);
  };

  const take = (bytes: Uint8Array): void => {
    // Bytes of the current line, no LF among them.
    if (skipping) return;
    const room = maxLineBytes - heldLength;
    if (bytes.length <= room) {
      held.set(bytes, heldLength);
      heldLength += bytes.length;
      return;
    }
    held.set(bytes.subarray(0, room), heldLength);
    heldLength = maxLineBytes;
    emit(held.subarray(0, heldLength), true);
    heldLength = 0;
    skipping = true;
  };

  const lineEnd = (): void => {
    if (!skipping) emit(held.subarray(0, heldLength), false);
    heldLength = 0;
    skipping = false;
  };

  return {
    push(chunk) {
      let start = 0;
      for (;;) {
        const lf = chunk.indexOf(0x0a, start);
        if (lf < 0) break;
        const part = chunk.subarray(start, lf);
        if (heldLength === 0 && !skipping && part.length <= maxLineBytes) emit(part, false);
        else {
          take(part);
          lineEnd();
        }
        start = lf + 1;
      }
      if (start < chunk.length) take(chunk.subarray(start));
    },
    end() {
      if (heldLength > 0 && !skipping) emit(held.subarray(0, heldLength), false);
      heldLength = 0;
      skipping = false;
    },
  };
}
