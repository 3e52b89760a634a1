/**
 * The output contract: what every output (report/, text/, fleet/, the dashboard) implements and receives,
 * without depending on the pipeline that drives it. The analyzer hands each finished session to every sink as it closes (so a live run
 * writes rows as it goes and keeps no finished session in memory), and a summary at the end.
 */

import type { SourceStats, SourceWarning } from '../capture/types.js';
import type { DecodeCounters } from '../decode/types.js';
import type { AssemblerStats } from '../reassembly/types.js';
import type { AttemptStats, ConnectionAttempt } from './connection-attempt.js';
import type { SmtpSession } from './types.js';

export interface RunStats {
  readonly source: SourceStats;
  readonly decode: DecodeCounters;
  readonly assembler: AssemblerStats;
  /** Sessions closed so far, and open now. */
  readonly sessionsClosed: number;
  readonly sessionsOpen: number;
  /** Connections that carried no byte either way and are not sessions (connection-attempts.ts). */
  readonly attempts: AttemptStats;
  /** Connections open now that have carried no byte yet: each becomes a session or an attempt when it does. */
  readonly connectionsWaiting: number;
  /** Times reading waited for slow sinks (back-pressure; docs/LIMITS.md). */
  readonly sinkWaits: number;
  /** The global memory budget: how often it was reached and what was closed to keep it (memory-budget.ts). */
  readonly budget: BudgetStats;
  /** Packet time of the first and last packet (null before the first). */
  readonly firstTsMicros: number | null;
  readonly lastTsMicros: number | null;
}

export interface RunSummary {
  readonly sources: readonly {
    readonly description: string;
    readonly format: string;
    readonly compressed: boolean;
  }[];
  readonly stats: RunStats;
  readonly warnings: readonly SourceWarning[];
  /** Wall-clock duration of the run, for rates shown to the user (never used by the core). */
  readonly wallMs: number;
}

/** A live view of the analysis, for the dashboard (pulled on a timer, never pushed per packet). */
export interface Snapshot {
  readonly stats: RunStats;
  /** Sessions still open, as models built from what was seen so far. */
  readonly open: readonly SmtpSession[];
}

export interface Sink {
  readonly name: string;
  /**
   * Whether the sink reads message summaries (`transaction.message`: subject, addresses, parts, DSN). Absent:
   * it does. When every sink says false, no message bytes are kept and no summary is made (config-for-sinks.ts).
   */
  readonly readsMessages?: boolean;
  /** Called once per session, as it closes. A promise applies back-pressure to the analysis. */
  sessionClosed(session: SmtpSession): void | Promise<void>;
  /**
   * Called once per connection attempt, in close order among the sessions, when the sink has it (the NDJSON
   * sink with `--connection-attempts`); attempts are otherwise only counted.
   */
  connectionAttempt?(attempt: ConnectionAttempt): void | Promise<void>;
  /** Called once at the end (normal end, signal, or error after partial results). */
  close(summary: RunSummary): Promise<void>;
}

/** The global memory budget's work in a run (pipeline/memory-budget.ts). */
export interface BudgetStats {
  /** Checks that found the process over the budget. */
  readonly hits: number;
  /** Connections closed early (as `limit`) to get back under it. */
  readonly connectionsClosed: number;
  /** The budget in bytes (0: none). */
  readonly bytes: number;
}

/** Receives every message body as it streams (the `--extract` writer, attachment hashes). */
export interface MessageBodyListener {
  messageStart(sessionId: string, depth: number, mode: 'DATA' | 'BDAT'): void;
  messageBytes(sessionId: string, depth: number, bytes: Uint8Array): void;
  messageEnd(sessionId: string, depth: number, complete: boolean): void;
}
