/**
 * The kept prefix of one message body (at most `messageKeepBytes`, see SessionLimits), stored in fixed 4 KiB
 * blocks taken from a free list shared by every session of the thread.
 *
 * Message-bytes events carry views that are valid during the event only, so the kept bytes must be copied.
 * Copying them into a buffer that doubles as the message grows (or into one new array per piece) allocated
 * fresh memory for every message: with a 256 KiB prefix, most of the copy's cost was the page faults of new
 * memory. Blocks go back to the free list when the message has been summarised, so a long capture reuses the
 * same few megabytes. The free list keeps at most {@link MAX_FREE_BLOCKS} blocks (16 MiB); more are left to
 * the garbage collector. A message holds at most one partly filled block, so the waste is under 4 KiB each.
 *
 * `contiguous()` gives the prefix as one array for the summary: a view of the block when there is only one,
 * else a copy into a scratch buffer shared by the thread, valid until the next call.
 */

const BLOCK_BYTES = 4096;
const MAX_FREE_BLOCKS = 4096;

const free: Uint8Array[] = [];
let scratch = new Uint8Array(0);

function takeBlock(): Uint8Array {
  return free.pop() ?? new Uint8Array(BLOCK_BYTES);
}

export class KeptBody {
  private blocks: Uint8Array[] = [];
  /** Bytes kept. */
  length = 0;

  /** Copies `bytes[0, count)` after the kept bytes. */
  append(bytes: Uint8Array, count: number): void {
    let from = 0;
    let length = this.length;
    const blocks = this.blocks;
    while (from < count) {
      const within = length % BLOCK_BYTES;
      let block: Uint8Array;
      if (within === 0) {
        block = takeBlock();
        blocks.push(block);
      } else {
        block = blocks[blocks.length - 1] as Uint8Array;
      }
      const n = Math.min(BLOCK_BYTES - within, count - from);
      block.set(from === 0 && n === bytes.length ? bytes : bytes.subarray(from, from + n), within);
      from += n;
      length += n;
    }
    this.length = length;
  }

  /** The kept bytes as one array: valid until the next `contiguous()` of any KeptBody or `release()` of this. */
  contiguous(): Uint8Array {
    const blocks = this.blocks;
    const length = this.length;
    if (blocks.length === 1) return (blocks[0] as Uint8Array).subarray(0, length);
    if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
    let at = 0;
    for (const block of blocks) {
      const n = Math.min(BLOCK_BYTES, length - at);
      scratch.set(n === BLOCK_BYTES ? block : block.subarray(0, n), at);
      at += n;
    }
    return scratch.subarray(0, length);
  }

  /** Gives the blocks back to the free list; the kept bytes are gone. */
  release(): void {
    for (const block of this.blocks) if (free.length < MAX_FREE_BLOCKS) free.push(block);
    this.blocks = [];
    this.length = 0;
  }
}
