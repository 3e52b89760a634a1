/**
 * Runs smtpscope on one capture in a worker thread with a time limit. The outcome is the sessions, or a crash
 * (the analysis threw or the worker died) or a timeout (the worker was terminated).
 */

import { Worker } from 'node:worker_threads';
import type { SmtpSession } from '../../../src/model/types.js';

export type CaptureOutcome =
  | { readonly kind: 'ok'; readonly sessions: SmtpSession[]; readonly ms: number }
  | { readonly kind: 'crash'; readonly detail: string; readonly ms: number }
  | { readonly kind: 'timeout'; readonly ms: number };

export function analyzeInWorker(
  path: string,
  ports: ReadonlySet<number>,
  timeoutMs: number,
): Promise<CaptureOutcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const worker = new Worker(new URL('./analyze-worker.js', import.meta.url), {
      workerData: { path, ports: [...ports] },
    });
    const finish = (outcome: CaptureOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: 'timeout', ms: Date.now() - started }), timeoutMs);
    worker.on('message', (message: { ok: boolean; sessions?: SmtpSession[]; error?: string }) => {
      if (message.ok) finish({ kind: 'ok', sessions: message.sessions ?? [], ms: Date.now() - started });
      else finish({ kind: 'crash', detail: message.error ?? 'unknown error', ms: Date.now() - started });
    });
    worker.on('error', (error) =>
      finish({ kind: 'crash', detail: error.stack ?? error.message, ms: Date.now() - started }),
    );
    worker.on('exit', (code) =>
      finish({
        kind: 'crash',
        detail: `worker exited with code ${code} before answering`,
        ms: Date.now() - started,
      }),
    );
  });
}
