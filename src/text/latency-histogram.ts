/**
 * Reply latencies of one server, kept in constant memory for percentiles: a logarithmic histogram whose buckets
 * grow by {@link BUCKET_RATIO} (so a percentile read from it is within about 2.5% of the true value), plus the
 * exact count, sum and maximum. Latencies are integer microseconds; below 1 µs counts as 1 µs.
 */

/** Ratio between the bounds of neighbouring buckets. */
export const BUCKET_RATIO = 1.05;
const LOG_RATIO = Math.log(BUCKET_RATIO);

export interface LatencyHistogram {
  add(micros: number): void;
  readonly count: number;
  readonly max: number;
  /** The `p`-th percentile (0 < p <= 100), the geometric middle of its bucket (the maximum for p = 100); null when empty. */
  percentile(p: number): number | null;
}

export function createLatencyHistogram(): LatencyHistogram {
  /** Bucket index → count; at most about 450 buckets between 1 µs and an hour. */
  const buckets = new Map<number, number>();
  let count = 0;
  let max = 0;
  return {
    add(micros) {
      const v = Math.max(1, micros);
      const bucket = Math.floor(Math.log(v) / LOG_RATIO);
      buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1);
      count++;
      if (v > max) max = v;
    },
    get count() {
      return count;
    },
    get max() {
      return max;
    },
    percentile(p) {
      if (count === 0) return null;
      if (p >= 100) return max;
      const rank = Math.ceil((p / 100) * count);
      let seen = 0;
      for (const bucket of [...buckets.keys()].sort((a, b) => a - b)) {
        seen += buckets.get(bucket) ?? 0;
        if (seen >= rank) return Math.min(max, Math.round(BUCKET_RATIO ** (bucket + 0.5)));
      }
      return max;
    },
  };
}
