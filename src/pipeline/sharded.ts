/**
 * One capture file on several cores, with the result of the sequential analyzer: the same sessions, with the
 * same ids, reaching the sinks in the same order, and the same summary.
 *
 * - Each of N worker threads reads the whole file and decodes every packet, but reassembles and decodes only
 *   its shard of the connections (a symmetric hash of the two endpoints: reassembly/shard.ts, AssemblerShard).
 *   The other shards' segments still move its packet clock, so idle, linger and FIN-wait expiry happen at the
 *   same segment as in one assembler.
 * - Every connection start and session close is labelled with its position: the segment number, which is the
 *   same in every shard, and within a segment the phase and rank that order closes as one assembler would. A
 *   worker posts its labelled events every {@link SHARD_BOUNDARY_PACKETS} packets with a watermark (every
 *   segment before it is done). The main thread merges the workers' streams by position, handing out
 *   connection ids in first-seen order and sessions to the sinks in close order, as far as the lowest
 *   watermark allows.
 * - Memory is bounded by back-pressure: a worker waits, between packets only, while `maxBufferedSessions` of
 *   its sessions are posted and not yet given to the sinks. A worker that waits has posted everything before
 *   its watermark, so the lowest pending event can always be delivered and the wait ends.
 * - Where it can differ from one thread: the connection limit and the total out-of-order buffer limit apply
 *   per shard (each gets its share, so memory stays bounded as before), so which connection is evicted or
 *   flushed when a limit is hit can differ; and with packet times that go backwards, idle expiry may close a
 *   connection earlier. Neither happens in an ordinary capture.
 * - Worth it only for large files: each worker pays the read and decode of the whole file. Standard input,
 *   live capture, `--extract` and `-w` stay sequential (parallel.ts decides).
 */

import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { SourceWarning } from '../capture/types.js';
import type { RunStats, RunSummary, Sink, Snapshot } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { formatId } from '../reassembly/assembler.js';
import { DEFAULT_ASSEMBLER_OPTIONS } from '../reassembly/options.js';
import type { ShardPosition } from '../reassembly/shard.js';
import {
  type Analyzer,
  type AnalyzerConfig,
  type AnalyzerShard,
  createAnalyzer,
  mergeRunStats,
} from './analyzer.js';
import { configForSinks } from './config-for-sinks.js';
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

/** A worker posts its events (and may wait) every this many packets. */
export const SHARD_BOUNDARY_PACKETS = 512;

export interface ShardedOptions {
  /** Worker threads (default: the number of cores). */
  readonly shards?: number;
  /** Sessions one worker may have posted before the sinks took them; at the bound the worker waits. */
  readonly maxBufferedSessions?: number;
}

const WORKER_ROLE = 'smtpscope-shard';

interface ShardInit {
  readonly role: typeof WORKER_ROLE;
  readonly config: WorkerConfig;
  readonly path: string;
  readonly count: number;
  readonly index: number;
  readonly shared: SharedArrayBuffer;
  readonly maxBuffered: number;
}

/** A connection start (`session` absent) or a session close, at its position. */
interface ShardEvent {
  readonly segment: number;
  readonly phase: number;
  readonly rank: number;
  /** The shard-local connection id (starts) or the session, whose id is shard-local (closes). */
  readonly id: string;
  readonly session?: SmtpSession;
}

type FromShard =
  | { readonly type: 'events'; readonly events: readonly ShardEvent[]; readonly watermark: number }
  | { readonly type: 'warning'; readonly warning: SourceWarning; readonly source: string }
  | {
      readonly type: 'done';
      readonly events: readonly ShardEvent[];
      readonly summary: RunSummary | null;
      readonly error: { readonly name: string; readonly message: string } | null;
    };

function before(a: ShardEvent, b: ShardEvent): boolean {
  if (a.segment !== b.segment) return a.segment < b.segment;
  if (a.phase !== b.phase) return a.phase < b.phase;
  return a.rank < b.rank;
}

/** Limits that bound memory in total are divided between the shards. */
function shardConfig(config: WorkerConfig, count: number): WorkerConfig {
  const assembler = config.assembler ?? {};
  const maxConnections = assembler.maxConnections ?? DEFAULT_ASSEMBLER_OPTIONS.maxConnections;
  const maxTotal = assembler.maxBufferedBytesTotal ?? DEFAULT_ASSEMBLER_OPTIONS.maxBufferedBytesTotal;
  return {
    ...config,
    assembler: {
      ...assembler,
      maxConnections: Math.max(1, Math.ceil(maxConnections / count)),
      maxBufferedBytesTotal: Math.max(1, Math.ceil(maxTotal / count)),
    },
  };
}

/**
 * Analyses one capture file (`config.inputs[0]`, a file) on `shards` worker threads; same interface and the
 * same result as {@link createAnalyzer}.
 */
export function createShardedAnalyzer(
  config: AnalyzerConfig,
  sinks: readonly Sink[],
  options: ShardedOptions = {},
): Analyzer {
  const input = config.inputs[0];
  if (config.inputs.length !== 1 || input?.kind !== 'file')
    throw new Error('sharded analysis takes one file');
  const path = input.path;
  const count = Math.max(1, options.shards ?? availableParallelism());
  const maxBuffered = Math.max(1, options.maxBufferedSessions ?? DEFAULT_MAX_BUFFERED_SESSIONS);

  interface ShardState {
    readonly worker: Worker;
    readonly counter: Int32Array;
    readonly exited: Promise<void>;
    events: ShardEvent[];
    head: number;
    watermark: number;
    summary: RunSummary | null;
    error: Error | null;
    done: boolean;
  }
  const shards: ShardState[] = [];
  let stopped = false;
  let delivered = 0;
  let wake: (() => void) | null = null;
  const signal = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  const stopWorkers = (): void => {
    for (const s of shards) signalStop(s.counter);
  };

  return {
    async run(): Promise<RunSummary> {
      const started = Date.now();
      const workerConfig = shardConfig(workerConfigOf(configForSinks(config, sinks)), count);
      for (let index = 0; index < count; index++) {
        const { shared, counter } = createSharedCounter();
        const init: ShardInit = {
          role: WORKER_ROLE,
          config: workerConfig,
          path,
          count,
          index,
          shared,
          maxBuffered,
        };
        const worker = new Worker(new URL(import.meta.url), { workerData: init });
        const exited = new Promise<void>((resolve) => {
          worker.once('exit', () => resolve());
        });
        const state: ShardState = {
          worker,
          counter,
          exited,
          events: [],
          head: 0,
          watermark: 0,
          summary: null,
          error: null,
          done: false,
        };
        worker.on('message', (message: FromShard) => {
          if (message.type === 'warning') {
            // Every shard reads the same packets: the first one speaks for all.
            if (index === 0) config.onWarning?.(message.warning, message.source);
            return;
          }
          if (state.head > 4096) {
            state.events = state.events.slice(state.head);
            state.head = 0;
          }
          for (const event of message.events) state.events.push(event);
          if (message.type === 'events') state.watermark = message.watermark;
          else {
            state.watermark = Number.POSITIVE_INFINITY;
            state.summary = message.summary;
            state.error =
              message.error === null ? null : rebuildError(message.error.name, message.error.message);
            state.done = true;
          }
          signal();
        });
        worker.on('error', (error: Error) => {
          state.error ??= error;
          state.watermark = Number.POSITIVE_INFINITY;
          state.done = true;
          signal();
        });
        shards.push(state);
      }

      const ids = new Map<string, string>();
      let connections = 0;
      let failure: unknown = null;
      try {
        for (;;) {
          let best: ShardState | null = null;
          let bestIndex = -1;
          let low = Number.POSITIVE_INFINITY;
          for (let i = 0; i < shards.length; i++) {
            const s = shards[i]!;
            if (s.watermark < low) low = s.watermark;
            const event = s.events[s.head];
            if (event !== undefined && (best === null || before(event, best.events[best.head]!))) {
              best = s;
              bestIndex = i;
            }
          }
          const event = best?.events[best.head];
          if (best === null || event === undefined || event.segment >= low) {
            if (shards.every((s) => s.done && s.head >= s.events.length)) break;
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            continue;
          }
          best.head++;
          const key = `${bestIndex}:${event.id}`;
          if (event.session === undefined) {
            ids.set(key, formatId(++connections));
            continue;
          }
          const id = ids.get(key) ?? event.id;
          ids.delete(key);
          const session: SmtpSession = { ...event.session, id };
          for (const sink of sinks) await sink.sessionClosed(session);
          delivered++;
          releaseSessions(best.counter, 1);
        }
      } catch (error) {
        failure = error;
      } finally {
        stopped = true;
        stopWorkers();
        await Promise.all(shards.map((s) => s.exited));
      }
      const summary: RunSummary = {
        ...mergeShardSummaries(shards.map((s) => s.summary)),
        wallMs: Date.now() - started,
      };
      for (const sink of sinks) await sink.close(summary);
      if (failure !== null) throw failure;
      const error = shards.find((s) => s.error !== null)?.error;
      if (error !== undefined && error !== null) throw error;
      return summary;
    },
    stop(): void {
      if (stopped) return;
      stopped = true;
      // A worker waiting for room sees the counter; a running one gets the message.
      stopWorkers();
      for (const s of shards) s.worker.postMessage('stop');
      signal();
    },
    snapshot(): Snapshot {
      const stats = mergeShardSummaries(shards.map((s) => s.summary)).stats;
      return { stats: { ...stats, sessionsClosed: delivered }, open: [] };
    },
  };
}

/**
 * The shards' summaries as one run's: every shard read and decoded the same packets, so the source, decoder,
 * warnings and packet times are the first shard's; connections and sessions are added up.
 */
function mergeShardSummaries(all: readonly (RunSummary | null)[]): Omit<RunSummary, 'wallMs'> {
  const present = all.filter((s): s is RunSummary => s !== null);
  const merged = mergeRunStats(present.map((s) => s.stats));
  const first = present[0];
  if (first === undefined) return { sources: [], warnings: [], stats: merged };
  const stats: RunStats = {
    ...merged,
    source: first.stats.source,
    decode: first.stats.decode,
    firstTsMicros: first.stats.firstTsMicros,
    lastTsMicros: first.stats.lastTsMicros,
  };
  return { sources: first.sources, warnings: first.warnings, stats };
}

// ---------------------------------------------------------------------------------------------------------
// The worker side: this same module, loaded by `new Worker(import.meta.url)`.

function runShard(init: ShardInit): void {
  const port = parentPort;
  if (port === null) return;
  const counter = new Int32Array(init.shared);
  const at: ShardPosition = { segment: -1, phase: 0, rank: 0 };
  let events: ShardEvent[] = [];
  let analyzer: Analyzer | null = null;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    analyzer?.stop();
  };
  const shard: AnalyzerShard = {
    count: init.count,
    index: init.index,
    at,
    onStart(id) {
      events.push({ segment: at.segment, phase: at.phase, rank: at.rank, id });
    },
    boundaryEvery: SHARD_BOUNDARY_PACKETS,
    onBoundary() {
      port.postMessage({ type: 'events', events, watermark: at.segment + 1 } satisfies FromShard);
      events = [];
      if (waitForRoom(counter, init.maxBuffered)) stop();
    },
  };
  const sink: Sink = {
    name: 'shard-post',
    sessionClosed(session) {
      events.push({ segment: at.segment, phase: at.phase, rank: at.rank, id: session.id, session });
      Atomics.add(counter, 0, 1);
    },
    async close() {},
  };
  analyzer = createAnalyzer(
    {
      ...init.config,
      inputs: [{ kind: 'file', path: init.path }],
      shard,
      onWarning: (warning, source) =>
        port.postMessage({ type: 'warning', warning, source } satisfies FromShard),
    },
    [sink],
  );
  port.on('message', stop);
  analyzer.run().then(
    (summary) => {
      port.postMessage({ type: 'done', events, summary, error: null } satisfies FromShard);
      port.close();
    },
    (error: unknown) => {
      const stats = analyzer?.snapshot().stats;
      const summary: RunSummary | null =
        stats === undefined ? null : { sources: [], stats, warnings: [], wallMs: 0 };
      port.postMessage({ type: 'done', events, summary, error: errorFields(error) } satisfies FromShard);
      port.close();
    },
  );
}

if (!isMainThread && (workerData as { role?: unknown } | null)?.role === WORKER_ROLE)
  runShard(workerData as ShardInit);
