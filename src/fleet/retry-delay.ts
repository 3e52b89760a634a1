/**
 * Exponential backoff with jitter: the wait before retry `attempt` (1 for the first retry) is a random value
 * between half and all of `min(maxMs, baseMs * 2^(attempt-1))`, so sensors that lost the same server do not
 * retry in step.
 */

export interface RetryDelayOptions {
  readonly baseMs: number;
  readonly maxMs: number;
}

export function retryDelayMs(
  attempt: number,
  options: RetryDelayOptions,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Resolves after `ms`, or at once when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
