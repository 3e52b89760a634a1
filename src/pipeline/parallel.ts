/**
 * Parallel analysis of several capture files on worker threads, with the same result as the sequential
 * analyzer: the same sessions, with the same ids (`2-C000001`), reaching the sinks in the same order (every
 * session of the first input in close order, then the second input's...), and the same summary.
 *
 * - One worker per core, at most one per input file. Workers take the files in input order, one file at a time;
 *   each runs the ordinary analyzer on its file and posts every finished session to the main thread (a plain
 *   object, copied by structured clone), then the file's summary.
 * - The main thread gives the sinks the sessions of input 1 as they arrive, then those of input 2 (buffered
 *   meanwhile), and so on, prefixing session ids as the sequential analyzer does.
 * - Memory stays bounded by back-pressure, not by spilling: each worker may have at most `maxBufferedSessions`
 *   sessions posted but not yet handed to the sinks. At that bound the worker blocks (Atomics.wait on a shared
 *   counter) until the main thread catches up. Because files are taken in input order, the worker of the file
 *   being delivered is never the one waiting on a later file, so the wait always ends.
 * - Inputs that are not files (standard input, live capture), a body listener (`--extract`) or a packet tap
 *   (`-w`) cannot cross to a worker: then, and for a single input, this runs the sequential analyzer.
 * - `snapshot()` reports the statistics of the inputs already delivered and no open sessions (they live in the
 *   workers); `stop()` ends the input being delivered as the sequential analyzer would (its open sessions closed
 *   as incomplete) and drops the later inputs.
 */

import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SourceWarning } from '../capture/types.js';
import type { RunSummary, Sink, Snapshot } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type Analyzer, type AnalyzerConfig, createAnalyzer, mergeRunStats } from './analyzer.js';
import { configForSinks } from './config-for-sinks.js';
import { createShardedAnalyzer } from './sharded.js';
import {
  createSharedCounter,
  DEFAULT_MAX_BUFFERED_SESSIONS,
  errorFields,
  rebuildError,
  releaseSessions,
  signalStop,
  type WorkerConfig,
  waitForRoom,
  workerConfigOf,
} from './worker-support.js';

export interface ParallelOptions {
  /** Worker threads for several files (default: the number of cores); 1 runs them on the calling thread. */
  readonly workers?: number;
  /**
   * Worker threads that one file is split between by connection (sharded.ts). Default 1, not split: on the
   * 2-core machines the project is measured on, two analyses at once each ran 1.5 to 1.9 times slower than
   * one alone, so the split was slower than one thread (docs/PERFORMANCE.md).
   */
  readonly shards?: number;
  /** Sessions one worker may have posted before the sinks took them; at the bound the worker waits. */
  readonly maxBufferedSessions?: number;
  /** A file smaller than this is not split, whatever `shards` says: every worker reads the whole file. */
  readonly shardMinBytes?: number;
}

/** Below this, starting workers that each read the whole file costs more than the split can save. */
export const DEFAULT_SHARD_MIN_BYTES = 32 * 1024 * 1024;

const WORKER_ROLE = 'smtpscope-parallel-analyzer';

interface WorkerInit {
  readonly role: typeof WORKER_ROLE;
  readonly config: WorkerConfig;
  /** [0]: sessions posted and not yet delivered by the main thread; [1]: 1 when the run is stopping. */
  readonly shared: SharedArrayBuffer;
  readonly maxBuffered: number;
}

type ToWorker =
  | { readonly type: 'file'; readonly index: number; readonly path: string }
  | { readonly type: 'stop' };

type FromWorker =
  | { readonly type: 'session'; readonly index: number; readonly session: SmtpSession }
  | {
      readonly type: 'warning';
      readonly index: number;
      readonly warning: SourceWarning;
      readonly source: string;
    }
  | { readonly type: 'done'; readonly index: number; readonly summary: RunSummary }
  | {
      readonly type: 'failed';
      readonly index: number;
      readonly name: string;
      readonly message: string;
      readonly summary: RunSummary | null;
    };

/** Whether `config` can run on workers: several file inputs and no callbacks that cannot be cloned. */
export function canRunInParallel(config: AnalyzerConfig): boolean {
  return (
    config.inputs.length > 1 &&
    config.inputs.every((input) => input.kind === 'file') &&
    config.bodyListener === undefined &&
    config.tap === undefined
  );
}

/** Whether `config` is one regular capture file of at least `minBytes`, with nothing that cannot cross. */
export function canShard(config: AnalyzerConfig, minBytes: number): boolean {
  const input = config.inputs[0];
  if (config.inputs.length !== 1 || input?.kind !== 'file' || input.path === '-') return false;
  if (config.bodyListener !== undefined || config.tap !== undefined) return false;
  const stat = statSync(input.path, { throwIfNoEntry: false });
  return stat?.isFile() === true && stat.size >= minBytes;
}

/** Which analyzer {@link createParallelAnalyzer} runs for `config` and `options`. */
export type ParallelPlan = 'one-file-split' | 'files-on-workers' | 'one-thread';

export function parallelPlan(config: AnalyzerConfig, options: ParallelOptions = {}): ParallelPlan {
  const shards = options.shards ?? 1;
  if (shards >= 2 && canShard(config, options.shardMinBytes ?? DEFAULT_SHARD_MIN_BYTES))
    return 'one-file-split';
  const workerCount = Math.min(options.workers ?? availableParallelism(), config.inputs.length);
  return canRunInParallel(config) && workerCount >= 2 ? 'files-on-workers' : 'one-thread';
}

/**
 * An analyzer that uses worker threads where it can, with the same interface and the same result as
 * {@link createAnalyzer}: several files run one per worker (this module); one large file is split between
 * workers by connection when `shards` asks for it (sharded.ts); anything else, or one worker, runs on the
 * calling thread.
 */
export function createParallelAnalyzer(
  config: AnalyzerConfig,
  sinks: readonly Sink[],
  options: ParallelOptions = {},
): Analyzer {
  const maxBuffered = Math.max(1, options.maxBufferedSessions ?? DEFAULT_MAX_BUFFERED_SESSIONS);
  // One record per connection attempt is written by the main thread's sinks: the workers only count attempts.
  const plan = sinks.some((s) => s.connectionAttempt !== undefined)
    ? 'one-thread'
    : parallelPlan(config, options);
  if (plan === 'one-file-split')
    return createShardedAnalyzer(config, sinks, {
      shards: options.shards ?? 1,
      maxBufferedSessions: maxBuffered,
    });
  if (plan === 'one-thread') return createAnalyzer(config, sinks);
  const workerCount = Math.min(options.workers ?? availableParallelism(), config.inputs.length);
  const paths = config.inputs.map((input) => (input.kind === 'file' ? input.path : ''));

  interface InputState {
    readonly sessions: SmtpSession[];
    readonly warnings: { warning: SourceWarning; source: string }[];
    worker: number;
    summary: RunSummary | null;
    failure: Error | null;
    finished: boolean;
  }
  const inputs: InputState[] = paths.map(() => ({
    sessions: [],
    warnings: [],
    worker: -1,
    summary: null,
    failure: null,
    finished: false,
  }));
  const delivered: RunSummary[] = [];
  let stopped = false;
  const workers: { worker: Worker; counter: Int32Array; exited: Promise<void> }[] = [];
  /** Tells every worker to stop: the one on the input being delivered flushes its open sessions, as stop() would. */
  const stopWorkers = (): void => {
    for (const { worker, counter } of workers) {
      signalStop(counter);
      worker.postMessage({ type: 'stop' } satisfies ToWorker);
    }
  };
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  return {
    async run(): Promise<RunSummary> {
      const started = Date.now();
      let nextInput = 0;
      const assign = (w: number): void => {
        const slot = workers[w]!;
        if (stopped || nextInput >= paths.length) {
          slot.worker.postMessage({ type: 'stop' } satisfies ToWorker);
          return;
        }
        const index = nextInput++;
        inputs[index]!.worker = w;
        slot.worker.postMessage({ type: 'file', index, path: paths[index]! } satisfies ToWorker);
      };
      const workerConfig = workerConfigOf(configForSinks(config, sinks));
      for (let w = 0; w < workerCount; w++) {
        const { shared, counter } = createSharedCounter();
        const init: WorkerInit = { role: WORKER_ROLE, config: workerConfig, shared, maxBuffered };
        const worker = new Worker(new URL(import.meta.url), { workerData: init });
        const exited = new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
        });
        worker.on('message', (message: FromWorker) => {
          const input = inputs[message.index]!;
          if (message.type === 'session') input.sessions.push(message.session);
          else if (message.type === 'warning')
            input.warnings.push({ warning: message.warning, source: message.source });
          else {
            input.summary = message.summary;
            if (message.type === 'failed') input.failure = rebuildError(message.name, message.message);
            input.finished = true;
            assign(w);
          }
          signal();
        });
        worker.on('error', (error: Error) => {
          for (const input of inputs)
            if (input.worker === w && !input.finished) {
              input.failure = error;
              input.finished = true;
            }
          signal();
        });
        workers.push({ worker, counter, exited });
      }
      for (let w = 0; w < workerCount; w++) assign(w);

      let failure: unknown = null;
      try {
        for (let i = 0; i < paths.length; i++) {
          const input = inputs[i]!;
          if (input.worker < 0) break; // never started: the run was stopped
          const counter = workers[input.worker]!.counter;
          let warned = 0;
          for (;;) {
            while (input.sessions.length > 0) {
              const session = input.sessions.shift()!;
              const renamed: SmtpSession = { ...session, id: `${i + 1}-${session.id}` };
              for (const sink of sinks) await sink.sessionClosed(renamed);
              releaseSessions(counter, 1);
            }
            while (warned < input.warnings.length) {
              const { warning, source } = input.warnings[warned++]!;
              config.onWarning?.(warning, source);
            }
            if (input.finished && input.sessions.length === 0) break;
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
          if (input.summary !== null) delivered.push(input.summary);
          if (input.failure !== null) throw input.failure;
          if (stopped) break;
        }
      } catch (error) {
        failure = error;
      } finally {
        stopped = true;
        stopWorkers();
        await Promise.all(workers.map((w) => w.exited));
      }
      const summary: RunSummary = { ...mergeSummaries(delivered), wallMs: Date.now() - started };
      for (const sink of sinks) await sink.close(summary);
      if (failure !== null) throw failure;
      return summary;
    },
    stop(): void {
      stopped = true;
      stopWorkers();
      signal();
    },
    snapshot(): Snapshot {
      return { stats: mergeSummaries(delivered).stats, open: [] };
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Summaries: the sums the sequential analyzer makes over its inputs.

export function mergeSummaries(all: readonly RunSummary[]): Omit<RunSummary, 'wallMs'> {
  const sources: RunSummary['sources'][number][] = [];
  const warnings: SourceWarning[] = [];
  for (const s of all) {
    sources.push(...s.sources);
    warnings.push(...s.warnings);
  }
  return { sources, stats: mergeRunStats(all.map((s) => s.stats)), warnings };
}

// ---------------------------------------------------------------------------------------------------------
// The worker side: this same module, loaded by `new Worker(import.meta.url)`.

function runWorker(init: WorkerInit): void {
  const port = parentPort;
  if (port === null) return;
  const counter = new Int32Array(init.shared);
  let current: Analyzer | null = null;
  let stopping = false;
  const queue: { index: number; path: string }[] = [];
  let busy = false;

  const analyse = async (index: number, path: string): Promise<void> => {
    let closedWith: RunSummary | null = null;
    const sink: Sink = {
      name: 'parallel-post',
      sessionClosed(session) {
        port.postMessage({ type: 'session', index, session } satisfies FromWorker);
        Atomics.add(counter, 0, 1);
        if (waitForRoom(counter, init.maxBuffered)) current?.stop();
      },
      async close(summary) {
        closedWith = summary;
      },
    };
    const analyzer = createAnalyzer(
      {
        ...init.config,
        inputs: [{ kind: 'file', path }],
        onWarning: (warning, source) =>
          port.postMessage({ type: 'warning', index, warning, source } satisfies FromWorker),
      },
      [sink],
    );
    current = analyzer;
    if (stopping) analyzer.stop();
    try {
      const summary = await analyzer.run();
      port.postMessage({ type: 'done', index, summary } satisfies FromWorker);
    } catch (error) {
      const { name, message } = errorFields(error);
      port.postMessage({ type: 'failed', index, name, message, summary: closedWith } satisfies FromWorker);
    } finally {
      current = null;
    }
  };

  const drain = async (): Promise<void> => {
    if (busy) return;
    busy = true;
    while (queue.length > 0 && !stopping) {
      const job = queue.shift()!;
      await analyse(job.index, job.path);
    }
    busy = false;
    if (stopping) port.close();
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'stop') {
      stopping = true;
      current?.stop();
      if (!busy) port.close();
    } else {
      queue.push({ index: message.index, path: message.path });
      void drain();
    }
  });
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === WORKER_ROLE)
  runWorker(workerData as WorkerInit);
