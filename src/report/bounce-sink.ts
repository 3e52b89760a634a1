/**
 * The bounce report as a streaming sink (`smtpscope bounces`, docs/BOUNCES.md). As each session closes, its
 * failures are computed, written to bounces.csv at once and added to the totals and groups; the session
 * itself is not kept. DSN rows are joined to their originals at the end, when every transaction that started
 * before them is known (bounce-dsns.ts keeps a small record per transaction for that, not the session).
 *
 * Memory: the totals and groups, the DSN join's index (the last MAX_DSN_CANDIDATES transactions), the DSN rows, and the first {@link MAX_LISTED_FAILURES} failures for
 * the terminal listing (bounces.csv has every one). `report()` gives the report once the sink is closed.
 */

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { createDsnMatcher } from './bounce-dsns.js';
import { type FailureRow, sessionFailures } from './bounce-failures.js';
import { type BounceReport, createBounceTally } from './bounce-report.js';
import { BOUNCE_COLUMNS, type BounceCsvRow } from './columns.js';
import { createCsvFormatter } from './csv-format.js';
import { createOutputFile, type OutputFile } from './output-file.js';

/** Failures listed in the report's text; the rest are counted (docs/LIMITS.md). */
export const MAX_LISTED_FAILURES = 10_000;

export interface BounceSinkOptions {
  /** bounces.csv path, or `-` for standard output; none: no CSV. */
  readonly csv?: string;
  /** Live mode: append CSV rows and flush them as sessions close. */
  readonly append?: boolean;
  readonly stdout?: NodeJS.WritableStream;
  /** Failures kept for the listing (default {@link MAX_LISTED_FAILURES}). */
  readonly maxListed?: number;
}

export interface BounceSink extends Sink {
  /** The report of the run; valid once `close` has resolved. */
  report(): BounceReport;
}

/** `path`, or `bounces.csv` inside it when it is an existing directory (`-` stays standard output). */
export async function resolveBounceCsvPath(path: string): Promise<string> {
  if (path === '-') return path;
  const st = await stat(path).catch(() => null);
  return st?.isDirectory() ? join(path, 'bounces.csv') : path;
}

export function createBounceSink(options: BounceSinkOptions = {}): BounceSink {
  const append = options.append === true;
  const maxListed = options.maxListed ?? MAX_LISTED_FAILURES;
  const formatter = createCsvFormatter(BOUNCE_COLUMNS);
  const csv: OutputFile | null =
    options.csv === undefined
      ? null
      : createOutputFile(options.csv, {
          append,
          header: formatter.header,
          ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
        });
  const tally = createBounceTally();
  const dsns = createDsnMatcher();
  const listed: FailureRow[] = [];
  let omitted = 0;
  let result: BounceReport | null = null;

  const csvText = (rows: readonly BounceCsvRow[]): string =>
    formatter.format(rows.map((r) => BOUNCE_COLUMNS.map((c) => c.get(r))));

  return {
    name: 'bounces',
    async sessionClosed(session: SmtpSession) {
      const rows = sessionFailures(session);
      dsns.add(session);
      for (const row of rows) {
        tally.add(row);
        if (listed.length < maxListed) listed.push(row);
        else omitted++;
      }
      if (csv !== null && rows.length > 0)
        await csv.write(csvText(rows.map((row) => ({ source: 'reply', row }))));
      if (csv !== null && append) await csv.flush();
    },
    async close(_summary: RunSummary) {
      const dsnRows = dsns.finish();
      try {
        if (csv !== null) {
          if (dsnRows.length > 0) await csv.write(csvText(dsnRows.map((row) => ({ source: 'dsn', row }))));
          await csv.commit();
        }
      } catch (err) {
        await csv?.abort();
        throw err;
      }
      listed.sort((a, b) => a.tsMicros - b.tsMicros);
      result = {
        failures: listed,
        omitted,
        totals: tally.totals(),
        dsns: dsnRows,
        groups: tally.groups(),
        dsnIndexForgotten: dsns.forgotten(),
      };
    },
    report() {
      if (result === null) throw new Error('the bounce report is ready only once the sink is closed');
      return result;
    },
  };
}
