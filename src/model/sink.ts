/**
 * The output contract: what every output (report/, text/, fleet/, the dashboard) implements and receives,
 * without depending on the pipeline that drives it. The analyzer hands each finished session to every sink as it closes (so a live run
 * writes rows as it goes and keeps no finished session in memory), and a summary at the end.
 */

import type { SourceStats, SourceWarning } from '../capture/types.js';
import type { DecodeCounters } from '../decode/types.js';
import type { SmtpSession } from '../model/types.js';
import type { AssemblerStats } from '../reassembly/types.js';

export interface RunStats {
  readonly source: SourceStats;
  readonly decode: DecodeCounters;
  readonly assembler: AssemblerStats;
  /** Sessions closed so far, and open now. */
  readonly sessionsClosed: number;
  readonly sessionsOpen: number;
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
  /** Called once at the end (normal end, signal, or error after partial results). */
  close(summary: RunSummary): Promise<void>;
}
