/**
 * What the two worker-thread analyzers share (parallel.ts: one file per worker; sharded.ts: one file split
 * between workers by connection): the plain-data part of the configuration that crosses to a worker, errors
 * sent back as name and message, and the back-pressure counter a worker waits on.
 */

import { CaptureFormatError } from '../capture/types.js';
import type { AnalyzerConfig } from './analyzer.js';

/** Sessions one worker may have posted before the sinks took them, by default. */
export const DEFAULT_MAX_BUFFERED_SESSIONS = 512;

/** What crosses to a worker: the analyzer options that are plain data. */
export type WorkerConfig = Pick<
  AnalyzerConfig,
  'ports' | 'decoder' | 'assembler' | 'smtp' | 'session' | 'tls' | 'segmentFilter'
>;

export function workerConfigOf(config: AnalyzerConfig): WorkerConfig {
  return {
    ...(config.ports === undefined ? {} : { ports: config.ports }),
    ...(config.decoder === undefined ? {} : { decoder: config.decoder }),
    ...(config.assembler === undefined ? {} : { assembler: config.assembler }),
    ...(config.smtp === undefined ? {} : { smtp: config.smtp }),
    ...(config.session === undefined ? {} : { session: config.session }),
    ...(config.tls === undefined ? {} : { tls: config.tls }),
    ...(config.segmentFilter === undefined ? {} : { segmentFilter: config.segmentFilter }),
  };
}

/** An error that crossed from a worker as name and message, rebuilt with its class where it matters. */
export function rebuildError(name: string, message: string): Error {
  if (name === 'CaptureFormatError') return new CaptureFormatError(message);
  const error = new Error(message);
  error.name = name;
  return error;
}

export function errorFields(error: unknown): { readonly name: string; readonly message: string } {
  return {
    name: error instanceof Error ? error.name : 'Error',
    message: error instanceof Error ? error.message : String(error),
  };
}

/**
 * The counter shared by a worker and the main thread: [0] sessions posted and not yet given to the sinks,
 * [1] 1 once the run is stopping. The worker waits while [0] is at `max`; the main thread counts down.
 */
export function createSharedCounter(): { readonly shared: SharedArrayBuffer; readonly counter: Int32Array } {
  const shared = new SharedArrayBuffer(8);
  return { shared, counter: new Int32Array(shared) };
}

/** Worker side: blocks while `max` sessions are in flight; returns whether the run is stopping. */
export function waitForRoom(counter: Int32Array, max: number): boolean {
  for (;;) {
    const inFlight = Atomics.load(counter, 0);
    if (Atomics.load(counter, 1) === 1) return true;
    if (inFlight < max) return false;
    Atomics.wait(counter, 0, inFlight);
  }
}

/** Main side: `count` sessions were given to the sinks. */
export function releaseSessions(counter: Int32Array, count: number): void {
  Atomics.sub(counter, 0, count);
  Atomics.notify(counter, 0);
}

/** Main side: tells the worker to stop waiting and stop. */
export function signalStop(counter: Int32Array): void {
  Atomics.store(counter, 1, 1);
  Atomics.notify(counter, 0);
}
