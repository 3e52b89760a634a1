/**
 * `npm run fuzz`: the long fuzz run. Runs one million cases per layer by default, each layer in its own
 * worker thread, and prints per layer the cases run, cases per second, the slowest case and the heap, and
 * every failure with the command that replays it.
 *
 *   node dist-harness/test/harness/fuzz/run.js [--layer NAME[,NAME...]] [--cases N] [--seed S] [--from I]
 *                         [--time-limit SEC] [--case-ms MS] [--heap-mb MB] [--max-failures N]
 *                         [--captures DIR] [--list]
 *
 * Invariants checked for every case: no exception escapes, no case runs longer than --case-ms (and a case
 * that never returns is caught by a watchdog that ends the worker), the heap does not grow by more than
 * --heap-mb over its first sample, and each layer's own invariants (see the layer files). Ctrl-C stops
 * the layer being run after its current case and prints what was done. Exit code 1 when anything failed.
 */

import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { FUZZ_LAYERS, findLayer } from './layers.js';
import {
  PROGRESS_CURRENT,
  PROGRESS_DONE,
  STOP_FLAG,
  type WorkerInput,
  type WorkerMessage,
} from './protocol.js';

const DEFAULT_CASES = 1_000_000;
/** Time a worker may take to load the corpus before its first case counts as a hang. */
const STARTUP_MS = 120_000;

interface LayerResult {
  readonly layer: string;
  readonly cases: number;
  readonly ms: number;
  readonly failures: string[];
  readonly heap: string;
  readonly slowest: string;
}

function parseNumber(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} takes a non-negative number, not '${value}'`);
  return n;
}

let interrupted = false;
let activeProgress: Float64Array | null = null;

function runLayer(base: Omit<WorkerInput, 'layer' | 'progress'>, layer: string): Promise<LayerResult> {
  const shared = new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT);
  const progress = new Float64Array(shared);
  activeProgress = progress;
  const input: WorkerInput = { ...base, layer, progress: shared };
  const worker = new Worker(new URL('./worker.js', import.meta.url), {
    workerData: input,
    resourceLimits: { maxOldGenerationSizeMb: 2048 },
  });
  const failures: string[] = [];
  const replay = (index: number) =>
    `node dist-harness/test/harness/fuzz/run.js --layer ${layer} --seed ${base.seed} --from ${index} --cases 1`;
  return new Promise((resolve) => {
    let settled = false;
    let lastDone = -1;
    let lastChange = Date.now();
    const hangMs = Math.max(15_000, base.caseTimeLimitMs * 5);
    const finish = (result: Omit<LayerResult, 'layer' | 'failures'>): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      activeProgress = null;
      resolve({ layer, failures, ...result });
    };
    const watchdog = setInterval(() => {
      const done = progress[PROGRESS_DONE] ?? 0;
      if (done !== lastDone) {
        lastDone = done;
        lastChange = Date.now();
        return;
      }
      // Before the first case the worker is still loading the corpus: allow it more time.
      if (Date.now() - lastChange > (done === 0 ? STARTUP_MS : hangMs)) {
        const index = progress[PROGRESS_CURRENT] ?? 0;
        failures.push(`case ${index} did not return within ${hangMs} ms (hang); replay: ${replay(index)}`);
        void worker.terminate();
        finish({ cases: done, ms: 0, heap: '?', slowest: `case ${index}: hung` });
      }
    }, 1000);
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'failure') {
        const text = `case ${message.index} (case seed ${message.caseSeed}): ${message.message}`;
        failures.push(`${text}\n    replay: ${replay(message.index)}`);
        process.stderr.write(`[${layer}] FAIL ${text.split('\n')[0]}\n`);
      } else {
        finish({
          cases: message.cases,
          ms: message.ms,
          heap: `${message.heapFirstMb.toFixed(0)}→${message.heapMaxMb.toFixed(0)} MB`,
          slowest: `${message.slowestMs.toFixed(1)} ms (case ${message.slowestIndex})`,
        });
      }
    });
    worker.on('error', (error) => {
      const index = progress[PROGRESS_CURRENT] ?? 0;
      failures.push(`worker died in case ${index}: ${error.message}; replay: ${replay(index)}`);
      finish({ cases: progress[PROGRESS_DONE] ?? 0, ms: 0, heap: '?', slowest: '?' });
    });
    worker.on('exit', () => {
      finish({ cases: progress[PROGRESS_DONE] ?? 0, ms: 0, heap: '?', slowest: '?' });
    });
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      layer: { type: 'string', multiple: true },
      cases: { type: 'string' },
      seed: { type: 'string' },
      from: { type: 'string' },
      'time-limit': { type: 'string' },
      'case-ms': { type: 'string' },
      'heap-mb': { type: 'string' },
      'max-failures': { type: 'string' },
      captures: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
  if (values.list === true) {
    for (const layer of FUZZ_LAYERS) process.stdout.write(`${layer.name.padEnd(16)} ${layer.description}\n`);
    return 0;
  }
  const names = (values.layer ?? []).flatMap((v) => v.split(',')).filter((v) => v !== '');
  const layers = names.length === 0 ? FUZZ_LAYERS.map((l) => l.name) : names;
  for (const name of layers) {
    if (findLayer(name) === undefined) throw new Error(`unknown layer '${name}' (see --list)`);
  }
  const seed = parseNumber('seed', values.seed, Math.floor(Math.random() * 0x7fffffff)) >>> 0;
  const base: Omit<WorkerInput, 'layer' | 'progress'> = {
    seed,
    from: parseNumber('from', values.from, 0),
    cases: parseNumber('cases', values.cases, DEFAULT_CASES),
    timeLimitSec: parseNumber('time-limit', values['time-limit'], 0),
    caseTimeLimitMs: parseNumber('case-ms', values['case-ms'], 2000),
    heapGrowthLimitMb: parseNumber('heap-mb', values['heap-mb'], 256),
    maxFailures: parseNumber('max-failures', values['max-failures'], 10),
    capturesDir: values.captures ?? null,
  };
  process.stdout.write(`fuzz seed ${seed}, ${base.cases} cases per layer from case ${base.from}\n`);
  process.on('SIGINT', () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nstopping after the current case (Ctrl-C again to quit at once)\n');
    if (activeProgress !== null) activeProgress[STOP_FLAG] = 1;
  });

  const results: LayerResult[] = [];
  for (const layer of layers) {
    if (interrupted) break;
    process.stdout.write(`${layer}: running\n`);
    const r = await runLayer(base, layer);
    results.push(r);
    const rate = r.ms > 0 ? Math.round((r.cases / r.ms) * 1000) : 0;
    process.stdout.write(
      `${layer}: ${r.cases} cases, ${rate} cases/s, slowest ${r.slowest}, heap ${r.heap}, ${r.failures.length} failures\n`,
    );
  }

  process.stdout.write('\nlayer             cases      cases/s   failures  heap          slowest\n');
  let failed = 0;
  for (const r of results) {
    const rate = r.ms > 0 ? Math.round((r.cases / r.ms) * 1000) : 0;
    process.stdout.write(
      `${r.layer.padEnd(16)} ${String(r.cases).padStart(9)} ${String(rate).padStart(10)} ${String(r.failures.length).padStart(10)}  ${r.heap.padEnd(13)} ${r.slowest}\n`,
    );
    failed += r.failures.length;
  }
  for (const r of results) {
    for (const f of r.failures) process.stdout.write(`\nFAIL [${r.layer}] ${f}\n`);
  }
  return failed > 0 ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
  return 2;
});
