/**
 * Bounce report sink (docs/BOUNCES.md): failures are computed as each session closes (and written to
 * bounces.csv at once in live mode); DSNs are joined to their originals at the end, when every transaction
 * of the run is known; the text report is written at the end.
 *
 * Memory: for the DSN join, the sink keeps each closed session without its command list.
 */

import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import {
  BOUNCE_COLUMNS,
  type BounceCsvRow,
  buildBounceReport,
  collectDsns,
  type FailureRow,
  formatBounceReport,
  sessionFailures,
} from './bounce-report.js';
import { createCsvFormatter } from './csv-format.js';
import { createOutputFile, type OutputFile } from './output-file.js';

export interface BounceSinkOptions {
  /** bounces.csv path, or `-` for standard output. */
  readonly csv?: string;
  /** Where the text report goes (`-`: standard output). */
  readonly text?: string;
  /** Live mode: append CSV rows and flush them as sessions close. */
  readonly append?: boolean;
  readonly stdout?: NodeJS.WritableStream;
}

export function createBounceSink(options: BounceSinkOptions): Sink {
  const append = options.append === true;
  const stdout = options.stdout === undefined ? {} : { stdout: options.stdout };
  const formatter = createCsvFormatter(BOUNCE_COLUMNS);
  const csv: OutputFile | null =
    options.csv === undefined
      ? null
      : createOutputFile(options.csv, { append, header: formatter.header, ...stdout });
  const text: OutputFile | null =
    options.text === undefined
      ? null
      : createOutputFile(options.text, { append: false, header: '', ...stdout });
  const kept: SmtpSession[] = [];
  const failures: FailureRow[] = [];

  const csvText = (rows: readonly BounceCsvRow[]): string =>
    formatter.format(rows.map((r) => BOUNCE_COLUMNS.map((c) => c.get(r))));

  return {
    name: 'bounces',
    async sessionClosed(session: SmtpSession) {
      const rows = sessionFailures(session);
      failures.push(...rows);
      if (session.transactions.length > 0) kept.push({ ...session, commands: [] });
      if (csv !== null && rows.length > 0)
        await csv.write(csvText(rows.map((row) => ({ source: 'reply', row }))));
      if (csv !== null && append) await csv.flush();
    },
    async close(_summary: RunSummary) {
      const dsns = collectDsns(kept);
      if (csv !== null) {
        if (dsns.length > 0) await csv.write(csvText(dsns.map((row) => ({ source: 'dsn', row }))));
        await csv.commit();
      }
      if (text !== null) {
        failures.sort((a, b) => a.tsMicros - b.tsMicros);
        await text.write(formatBounceReport(buildBounceReport(failures, dsns)));
        await text.commit();
      }
    },
  };
}
