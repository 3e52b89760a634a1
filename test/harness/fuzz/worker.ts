/**
 * Runs the cases of one layer inside a worker thread, so the main thread can watch for a case that never
 * returns (a hang) and end the worker. Progress goes through shared memory: PROGRESS_DONE counts finished
 * cases and PROGRESS_CURRENT holds the index of the case running; the main thread sets STOP_FLAG to stop.
 */

import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parentPort, workerData } from 'node:worker_threads';
import { loadCorpus } from './corpus.js';
import { findLayer } from './layers.js';
import {
  PROGRESS_CURRENT,
  PROGRESS_DONE,
  STOP_FLAG,
  type WorkerInput,
  type WorkerMessage,
} from './protocol.js';
import { caseSeed, createRandom } from './random.js';

/** A gc() function when the V8 flag can be set at run time, else null (heap samples are then noisier). */
function findGc(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

const HEAP_SAMPLE_MS = 2000;
const MB = 1024 * 1024;

async function main(): Promise<void> {
  const input = workerData as WorkerInput;
  const port = parentPort;
  if (port === null) throw new Error('worker.ts runs as a worker thread only');
  const layer = findLayer(input.layer);
  if (layer === undefined) throw new Error(`unknown layer ${input.layer}`);
  const progress = new Float64Array(input.progress);
  const corpus = input.capturesDir === null ? loadCorpus() : loadCorpus(input.capturesDir);
  const gc = findGc();

  let failures = 0;
  let done = 0;
  let heapFirst = -1;
  let heapMax = 0;
  let slowestMs = 0;
  let slowestIndex = -1;
  const started = performance.now();
  let nextHeapSample = started + HEAP_SAMPLE_MS;
  const deadline = input.timeLimitSec > 0 ? started + input.timeLimitSec * 1000 : Number.POSITIVE_INFINITY;

  const report = (index: number, seed: number, message: string): void => {
    failures++;
    port.postMessage({ type: 'failure', index, caseSeed: seed, message } satisfies WorkerMessage);
  };

  for (let i = 0; i < input.cases; i++) {
    const index = input.from + i;
    progress[PROGRESS_CURRENT] = index;
    const seed = caseSeed(input.seed, layer.name, index);
    const t0 = performance.now();
    try {
      const result = layer.runCase(createRandom(seed), corpus);
      const outcome = result instanceof Promise ? await result : result;
      if (outcome !== null) report(index, seed, outcome);
    } catch (error) {
      const text =
        error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error);
      report(index, seed, `exception escaped: ${text}`);
    }
    const t1 = performance.now();
    const ms = t1 - t0;
    if (ms > slowestMs) {
      slowestMs = ms;
      slowestIndex = index;
    }
    if (ms > input.caseTimeLimitMs)
      report(index, seed, `case took ${ms.toFixed(0)} ms (limit ${input.caseTimeLimitMs} ms)`);
    done++;
    progress[PROGRESS_DONE] = done;
    if (t1 >= nextHeapSample) {
      nextHeapSample = t1 + HEAP_SAMPLE_MS;
      if (gc !== null) gc();
      const heap = process.memoryUsage().heapUsed / MB;
      if (heapFirst < 0) heapFirst = heap;
      heapMax = Math.max(heapMax, heap);
      if (heap - heapFirst > input.heapGrowthLimitMb) {
        report(index, seed, `heap grew from ${heapFirst.toFixed(0)} MB to ${heap.toFixed(0)} MB`);
        break;
      }
      // Let the main thread's messages through now and then.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    if (failures >= input.maxFailures || progress[STOP_FLAG] === 1 || t1 >= deadline) break;
  }
  if (heapFirst < 0) {
    heapFirst = process.memoryUsage().heapUsed / MB;
    heapMax = heapFirst;
  }
  port.postMessage({
    type: 'done',
    cases: done,
    ms: performance.now() - started,
    heapFirstMb: heapFirst,
    heapMaxMb: heapMax,
    slowestMs,
    slowestIndex,
  } satisfies WorkerMessage);
}

await main();
