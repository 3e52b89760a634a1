/**
 * Worker-thread entry: analyses one capture and posts its sessions back. Running each capture in a worker lets
 * the conformance run stop a capture that hangs (the worker is terminated at the time limit) and report a crash
 * without losing the other captures.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { analyzeToArray } from '../../../src/pipeline/analyzer.js';

interface Job {
  readonly path: string;
  readonly ports: readonly number[];
}

const job = workerData as Job;
try {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: job.path }],
    ports: new Set(job.ports),
  });
  parentPort?.postMessage({ ok: true, sessions });
} catch (error) {
  parentPort?.postMessage({
    ok: false,
    error: error instanceof Error ? (error.stack ?? error.message) : String(error),
  });
}
