/**
 * Overlap-check rings (half-stream.ts) of closed directions, kept for the next directions to use: a short
 * session otherwise allocates two or three typed arrays per direction (1 KiB, then grown), which cost more to
 * make and collect than the bytes they hold. Bounded by bytes, not by count: at most {@link POOL_BYTES} (2 MiB)
 * of rings are kept, whatever their sizes (powers of two from 1 KiB up to `overlapCheckBytes`, 16 KiB by
 * default); a ring returned beyond that is left to the garbage collector. Connections open and close in waves
 * (a relay's queue run, a client sending a batch), so the pool must hold a wave's worth of small rings: with a
 * bound of 64 per size, three rings in four of a capture with 200 sessions open at once were new.
 *
 * A reused ring holds the bytes of an earlier connection. The half-stream reads a ring only between its
 * `historyStart` and its next offset, which it wrote itself, so what was there before is never read.
 */

/** Bytes of rings kept at most (the sum of their lengths). */
export const POOL_BYTES = 2 * 1024 * 1024;

export class RingPool {
  private readonly bySize = new Map<number, Uint8Array[]>();
  /** Sum of the lengths of the rings kept. */
  private keptBytes = 0;

  /** A ring of exactly `capacity` bytes, reused when one is kept (its content is stale), else a new one. */
  take(capacity: number): Uint8Array {
    const ring = this.bySize.get(capacity)?.pop();
    if (ring === undefined) return new Uint8Array(capacity);
    this.keptBytes -= capacity;
    return ring;
  }

  /** Hands back a ring nobody reads any more. */
  give(ring: Uint8Array): void {
    if (this.keptBytes + ring.length > POOL_BYTES) return;
    let kept = this.bySize.get(ring.length);
    if (kept === undefined) {
      kept = [];
      this.bySize.set(ring.length, kept);
    }
    kept.push(ring);
    this.keptBytes += ring.length;
  }

  /** Bytes of rings kept now. */
  get bytes(): number {
    return this.keptBytes;
  }
}
