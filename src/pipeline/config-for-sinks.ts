/**
 * Work no sink will read is not done: when every sink says it does not read message summaries
 * (`Sink.readsMessages === false`, e.g. the text summary), the session model keeps no message bytes and makes no
 * summaries (headers, addresses, MIME walk), so `transaction.message` is null. A sink that does not say reads them.
 */

import type { SessionLimits } from '../model/session-builder.js';
import type { Sink } from '../model/sink.js';
import type { AnalyzerConfig } from './analyzer.js';

/** Whether some sink reads `transaction.message` (a sink that does not say is taken to read it). */
export function sinksReadMessages(sinks: readonly Sink[]): boolean {
  return sinks.length === 0 || sinks.some((sink) => sink.readsMessages !== false);
}

/** The session limits for `sinks`: unchanged, or no message bytes kept when no sink reads message summaries. */
export function sessionLimitsForSinks(
  limits: Partial<SessionLimits> | undefined,
  sinks: readonly Sink[],
): Partial<SessionLimits> | undefined {
  return sinksReadMessages(sinks) ? limits : { ...limits, messageKeepBytes: 0 };
}

/** `config` with {@link sessionLimitsForSinks} applied (for analyzers that run the model in worker threads). */
export function configForSinks(config: AnalyzerConfig, sinks: readonly Sink[]): AnalyzerConfig {
  if (sinksReadMessages(sinks)) return config;
  return { ...config, session: { ...config.session, messageKeepBytes: 0 } };
}
