/**
 * CSV report sink: the four levels of columns.ts, one file each (docs/CSV.md).
 *
 * `dir` writes `sessions.csv`, `transactions.csv`, `recipients.csv` and `commands.csv` into a directory;
 * `files` names single levels (a path, or `-` for standard output) and overrides `dir` for them. `dir: '-'`
 * writes the sessions level to standard output. At most one level may go to standard output.
 *
 * Files are written atomically (temporary name, renamed at close) or, with `append`, appended to and flushed
 * as each session closes (output-file.ts describes both).
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { LEVEL_NAMES, LEVELS, type LevelName } from './columns.js';
import { type CsvFormatter, createCsvFormatter } from './csv-format.js';
import { createOutputFile, type OutputFile } from './output-file.js';

export interface CsvSinkOptions {
  /** Directory for all four levels, or `-` for the sessions level on standard output. */
  readonly dir?: string;
  /** Per-level targets (a path or `-`), overriding `dir` for that level. */
  readonly files?: Readonly<Partial<Record<LevelName, string>>>;
  /** Live mode: append rows to existing files and flush them as sessions close. */
  readonly append?: boolean;
  /** End records with CRLF instead of LF. */
  readonly crlf?: boolean;
  /** Stream used for `-` (standard output by default). */
  readonly stdout?: NodeJS.WritableStream;
  /**
   * The capture file a session came from: given, every level gets a last column `file` (docs/CSV.md), so the
   * rows of a multi-file run say where they came from.
   */
  readonly fileOf?: (session: SmtpSession) => string | null;
}

export const CSV_FILE_NAMES: Readonly<Record<LevelName, string>> = {
  sessions: 'sessions.csv',
  transactions: 'transactions.csv',
  recipients: 'recipients.csv',
  commands: 'commands.csv',
};

interface Target {
  readonly level: LevelName;
  readonly formatter: CsvFormatter;
  readonly out: OutputFile;
}

/** Which path each level goes to; throws on an unusable combination (a configuration error). */
export function resolveCsvTargets(options: CsvSinkOptions): Partial<Record<LevelName, string>> {
  const targets: Partial<Record<LevelName, string>> = {};
  if (options.dir === '-') targets.sessions = '-';
  else if (options.dir !== undefined) {
    for (const level of LEVEL_NAMES) targets[level] = join(options.dir, CSV_FILE_NAMES[level]);
  }
  for (const level of LEVEL_NAMES) {
    const path = options.files?.[level];
    if (path !== undefined) targets[level] = path;
  }
  const onStdout = LEVEL_NAMES.filter((l) => targets[l] === '-');
  if (onStdout.length > 1)
    throw new Error(`only one CSV level can go to standard output, not ${onStdout.join(', ')}`);
  if (Object.keys(targets).length === 0)
    throw new Error('CSV sink needs a directory or at least one level file');
  return targets;
}

/** The column added when the sink knows each session's capture file. */
export const FILE_COLUMN = {
  name: 'file',
  type: 'string',
  description:
    'The capture file the session was read from (as named on the command line, or found in a folder).',
} as const;

export function createCsvSink(options: CsvSinkOptions): Sink {
  const append = options.append === true;
  const fileOf = options.fileOf;
  const targets: Target[] = [];
  const resolved = resolveCsvTargets(options);
  // `--csv DIR` names a folder that need not exist yet (the levels' own files are created atomically).
  if (options.dir !== undefined && options.dir !== '-') mkdirSync(options.dir, { recursive: true });
  for (const level of LEVEL_NAMES) {
    const path = resolved[level];
    if (path === undefined) continue;
    const columns =
      options.fileOf === undefined ? LEVELS[level].columns : [...LEVELS[level].columns, FILE_COLUMN];
    const formatter = createCsvFormatter(columns, options.crlf === true ? { crlf: true } : {});
    const out = createOutputFile(path, {
      append,
      header: formatter.header,
      ...(options.stdout === undefined ? {} : { stdout: options.stdout }),
    });
    targets.push({ level, formatter, out });
  }

  return {
    name: 'csv',
    async sessionClosed(session: SmtpSession) {
      for (const t of targets) {
        const records = LEVELS[t.level].records(session);
        if (fileOf !== undefined) {
          const file = fileOf(session);
          for (const r of records) r.push(file);
        }
        const text = t.formatter.format(records);
        if (text !== '') await t.out.write(text);
        if (append) await t.out.flush();
      }
    },
    async close(_summary: RunSummary) {
      for (const t of targets) await t.out.commit();
    },
  };
}
