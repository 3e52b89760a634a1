/**
 * Overlap-check rings (half-stream.ts) of closed directions, kept for the next directions to use: a short
 * session otherwise allocates two or three typed arrays per direction (1 KiB, then grown), which cost more to
 * make and collect than the bytes they hold. Bounded: at most {@link RINGS_PER_SIZE} rings of each size are kept
 * (ring sizes are powers of two from 1 KiB up to `overlapCheckBytes`, 16 KiB by default: at most about 1.9 MiB
 * kept with the defaults); a ring returned beyond that is left to the garbage collector.
 *
 * A reused ring holds the bytes of an earlier connection. The half-stream reads a ring only between its
 * `historyStart` and its next offset, which it wrote itself, so what was there before is never read.
 */

/** Rings kept per size. */
export const RINGS_PER_SIZE = 64;

export class RingPool {
  private readonly bySize = new Map<number, Uint8Array[]>();

  /** A ring of exactly `capacity` bytes, reused when one is kept (its content is stale), else a new one. */
  take(capacity: number): Uint8Array {
    const kept = this.bySize.get(capacity);
    return kept?.pop() ?? new Uint8Array(capacity);
  }

  /** Hands back a ring nobody reads any more. */
  give(ring: Uint8Array): void {
    let kept = this.bySize.get(ring.length);
    if (kept === undefined) {
      kept = [];
      this.bySize.set(ring.length, kept);
    }
    if (kept.length < RINGS_PER_SIZE) kept.push(ring);
  }
}
