/**
 * Sessions and failures over time for the HTML report's chart, in constant memory: counts per time bucket,
 * buckets aligned on multiples of their width since the epoch (packet time). The width starts at one second
 * and steps up through {@link BUCKET_WIDTHS_SECONDS} (each a multiple of the one before, so merging buckets is
 * exact) whenever more than {@link MAX_BUCKETS} buckets would be needed; past the last listed width it doubles.
 */

/** Buckets kept at most: the chart's bars. */
export const MAX_BUCKETS = 200;

/** Bucket widths tried in turn, in seconds: 1 s, 2 s, 10 s, 30 s, 1 min ... 1 day. */
export const BUCKET_WIDTHS_SECONDS: readonly number[] = [
  1, 2, 10, 30, 60, 300, 600, 1800, 3600, 7200, 21_600, 43_200, 86_400,
];

export interface TimeBucket {
  /** Start of the bucket, microseconds since the epoch (a multiple of the width). */
  readonly startMicros: number;
  readonly sessions: number;
  readonly failures: number;
}

export interface TimeSeries {
  /** One session started at this packet time. */
  addSession(tsMicros: number): void;
  /** One failure (a row of the bounce report) happened at this packet time. */
  addFailure(tsMicros: number): void;
  readonly widthMicros: number;
  /** Every bucket from the first to the last one counted, empty ones included, in time order. */
  buckets(): TimeBucket[];
}

interface Counts {
  sessions: number;
  failures: number;
}

export function createTimeSeries(maxBuckets = MAX_BUCKETS): TimeSeries {
  let step = 0;
  let widthMicros = (BUCKET_WIDTHS_SECONDS[0] ?? 1) * 1_000_000;
  let counts = new Map<number, Counts>();
  let lowest = Number.POSITIVE_INFINITY;
  let highest = Number.NEGATIVE_INFINITY;

  const span = (): number => (counts.size === 0 ? 0 : (highest - lowest) / widthMicros + 1);

  const widen = (): void => {
    step++;
    const next = BUCKET_WIDTHS_SECONDS[step];
    widthMicros = next === undefined ? widthMicros * 2 : next * 1_000_000;
    const merged = new Map<number, Counts>();
    for (const [start, c] of counts) {
      const key = Math.floor(start / widthMicros) * widthMicros;
      const into = merged.get(key);
      if (into === undefined) merged.set(key, { ...c });
      else {
        into.sessions += c.sessions;
        into.failures += c.failures;
      }
    }
    counts = merged;
    lowest = Math.floor(lowest / widthMicros) * widthMicros;
    highest = Math.floor(highest / widthMicros) * widthMicros;
  };

  const bucketOf = (tsMicros: number): Counts => {
    const key = Math.floor(tsMicros / widthMicros) * widthMicros;
    lowest = Math.min(lowest, key);
    highest = Math.max(highest, key);
    let c = counts.get(key);
    if (c === undefined) {
      c = { sessions: 0, failures: 0 };
      counts.set(key, c);
    }
    while (span() > maxBuckets) widen();
    // Widening may have merged the bucket: look it up again under the current width.
    return counts.get(Math.floor(tsMicros / widthMicros) * widthMicros) as Counts;
  };

  return {
    addSession(tsMicros) {
      bucketOf(tsMicros).sessions++;
    },
    addFailure(tsMicros) {
      bucketOf(tsMicros).failures++;
    },
    get widthMicros() {
      return widthMicros;
    },
    buckets() {
      const out: TimeBucket[] = [];
      if (counts.size === 0) return out;
      for (let start = lowest; start <= highest; start += widthMicros) {
        const c = counts.get(start);
        out.push({ startMicros: start, sessions: c?.sessions ?? 0, failures: c?.failures ?? 0 });
      }
      return out;
    },
  };
}
