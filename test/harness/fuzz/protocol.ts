/** What the fuzz runner's main thread and its layer workers exchange. */

export interface WorkerInput {
  readonly layer: string;
  readonly seed: number;
  readonly from: number;
  readonly cases: number;
  /** Seconds this layer may run (0: no limit). */
  readonly timeLimitSec: number;
  /** A case slower than this is reported (a hang in the making). */
  readonly caseTimeLimitMs: number;
  /** Heap growth over the first sample that is reported as unbounded memory. */
  readonly heapGrowthLimitMb: number;
  readonly maxFailures: number;
  readonly capturesDir: string | null;
  /** Float64Array over a SharedArrayBuffer: [done, current, stop]. */
  readonly progress: SharedArrayBuffer;
}

export const PROGRESS_DONE = 0;
export const PROGRESS_CURRENT = 1;
export const STOP_FLAG = 2;

export type WorkerMessage =
  | { readonly type: 'failure'; readonly index: number; readonly caseSeed: number; readonly message: string }
  | {
      readonly type: 'done';
      readonly cases: number;
      readonly ms: number;
      readonly heapFirstMb: number;
      readonly heapMaxMb: number;
      readonly slowestMs: number;
      readonly slowestIndex: number;
    };
