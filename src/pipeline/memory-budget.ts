/**
 * The global memory budget (`--max-memory-mb`, default {@link DEFAULT_MEMORY_BUDGET_MB}): one bound over the
 * whole process, which the per-connection and per-session limits draw from (docs/LIMITS.md, "Memory budget").
 *
 * - At start, the total of out-of-order bytes buffered across connections is capped at a quarter of the budget
 *   (less than its own default only for budgets under 512 MiB).
 * - While reading, between chunks of input (about every MiB), the resident set size is compared with the budget.
 *   Over it, state is dropped in this order: the out-of-order buffers are already bounded by the quarter above
 *   (they become `buffer-limit` gaps); then the least recently active quarter of the open connections is closed
 *   as `limit` (their sessions are reported as they are, ended `evicted`; a connection that goes on is picked up
 *   again midstream), which frees their session models with every command and recipient record they kept. This
 *   repeats at each check while the process stays over the budget; each time is counted and shown in the summary.
 *
 * The check reads the resident set size, which includes garbage not yet collected: under a tight budget a
 * collection that was due anyway may come after a shed that it would have made unnecessary. The budget is not
 * applied to a file split between threads (each thread would shed on its own, and the result would depend on the
 * split), nor does it bound one huge connection (the per-connection limits do).
 */

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import type { BudgetStats } from '../model/sink.js';

export const DEFAULT_MEMORY_BUDGET_MB = 1024;

/**
 * V8's heap growing factor for a command-line run, in percent. By default V8 lets the heap grow up to 4x between
 * major collections when its limit is large (about 4 GiB on a machine with memory to spare), so the resident set
 * of a run over 300,000 connections reached 255-281 MiB while what was alive stayed under 100 MiB;
 * at 10 % it stayed at 149-179 MiB (docs/LIMITS.md, "Memory that does not grow with the output"). Unlike the heap limit,
 * this flag takes effect when set at run time.
 */
export const HEAP_GROWING_PERCENT = 10;

/** Sets {@link HEAP_GROWING_PERCENT} for the process (the command line calls it once, before the analysis). */
export function tuneHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}

export const NO_BUDGET: BudgetStats = { hits: 0, connectionsClosed: 0, bytes: 0 };

/** Share of open connections closed at each check that finds the process over the budget. */
const SHED_SHARE = 0.25;

export interface MemoryBudget {
  /** Called between chunks: sheds connections through `shed` when over the budget. */
  check(openConnections: number, shed: (count: number) => number): void;
  stats(): BudgetStats;
}

/** Least time between two reads of the resident set size (a live capture asks between packets). */
const CHECK_EVERY_MS = 10;

export function createMemoryBudget(
  bytes: number,
  rss: () => number = () => process.memoryUsage.rss(),
  now: () => number = () => performance.now(),
): MemoryBudget {
  let hits = 0;
  let connectionsClosed = 0;
  let last = Number.NEGATIVE_INFINITY;
  return {
    check(openConnections, shed) {
      const t = now();
      if (t - last < CHECK_EVERY_MS) return;
      last = t;
      if (rss() <= bytes) return;
      hits++;
      if (openConnections > 0)
        connectionsClosed += shed(Math.max(1, Math.ceil(openConnections * SHED_SHARE)));
    },
    stats: () => ({ hits, connectionsClosed, bytes }),
  };
}

export function mergeBudgetStats(all: readonly BudgetStats[]): BudgetStats {
  return {
    hits: all.reduce((n, s) => n + s.hits, 0),
    connectionsClosed: all.reduce((n, s) => n + s.connectionsClosed, 0),
    bytes: all.reduce((n, s) => Math.max(n, s.bytes), 0),
  };
}
