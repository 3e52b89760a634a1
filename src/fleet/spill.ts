/**
 * The spill file: rows ClickHouse could not take, kept on local disk until `replayClickHouseSpill` loads
 * them. NDJSON, one line per row: `{"table":"recipients","row":{...}}` where `table` is the level (the
 * database is chosen at replay) and `row` holds the inserted columns, keys and `inserted_at` included, so a
 * replay writes exactly what the sink would have written.
 *
 * The writer appends (a file left by an earlier run is kept) with synchronous writes, so a spilled row has
 * left memory when `flush` returns (the sink spills instead of waiting for a slow server, and must not
 * pile rows up in a write queue instead); it opens the file only when the first row spills. The open uses
 * O_APPEND|O_CREAT|O_NOFOLLOW with mode 0600: a symbolic link planted at the name makes it fail instead of
 * being followed, and a new file is readable by its owner only (it holds mail addresses and subjects). The
 * reader tolerates a torn last line (a crash mid-write) and any other line it cannot parse: it counts them
 * and goes on.
 */

import { closeSync, constants, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { FleetRow } from './clickhouse-rows.js';
import { FLEET_TABLE_NAMES, type FleetTableName } from './clickhouse-schema.js';

export interface SpillLine {
  readonly table: FleetTableName;
  readonly row: FleetRow;
}

export interface SpillWriter {
  readonly path: string;
  /**
   * Adds one row (its JSON text, row-json.ts) to the write buffer; nothing is written until {@link flush}.
   * The caller flushes when the buffer holds enough ({@link pendingChars}, {@link pendingRows}).
   */
  add(level: FleetTableName, rowJson: string): void;
  /** Rows in the write buffer. */
  readonly pendingRows: number;
  /** Characters in the write buffer. */
  readonly pendingChars: number;
  /**
   * Writes the buffer, synchronously (written, not fsync'ed), and empties it; returns the rows written. Throws
   * when the file cannot be written: the buffered rows are dropped then too (the caller counts them lost).
   */
  flush(): number;
  /** Rows written so far. */
  readonly rows: number;
  /** Syncs and closes the file (if it was opened); the caller flushes first. */
  close(): void;
}

/** Flags of the spill file: append, create, never through a symbolic link. */
export const SPILL_OPEN_FLAGS =
  constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW;

/** The start of a spill line of each table, up to the row: what `JSON.stringify({ table, row })` writes. */
const LINE_START: Readonly<Record<FleetTableName, string>> = Object.fromEntries(
  FLEET_TABLE_NAMES.map((t) => [t, `{"table":${JSON.stringify(t)},"row":`]),
) as Record<FleetTableName, string>;

export function createSpillWriter(path: string): SpillWriter {
  let fd: number | null = null;
  let rows = 0;
  let pending = '';
  let pendingRows = 0;
  const writeAll = (handle: number, text: string): void => {
    const bytes = Buffer.from(text, 'utf8');
    let offset = 0;
    while (offset < bytes.length) {
      const n = writeSync(handle, bytes, offset, bytes.length - offset);
      if (n <= 0) throw new Error(`short write to ${path}`);
      offset += n;
    }
  };
  return {
    path,
    get rows() {
      return rows;
    },
    get pendingRows() {
      return pendingRows;
    },
    get pendingChars() {
      return pending.length;
    },
    add(level, rowJson) {
      pending += `${LINE_START[level]}${rowJson}}\n`;
      pendingRows++;
    },
    flush() {
      if (pendingRows === 0) return 0;
      const text = pending;
      const n = pendingRows;
      pending = '';
      pendingRows = 0;
      fd ??= openSync(path, SPILL_OPEN_FLAGS, 0o600);
      writeAll(fd, text);
      rows += n;
      return n;
    },
    close() {
      if (fd === null) return;
      try {
        fsyncSync(fd);
      } catch {
        // a file system without fsync: the rows are written anyway
      }
      closeSync(fd);
      fd = null;
    },
  };
}

const TABLES = new Set<string>(FLEET_TABLE_NAMES);

/** Parses one spill line (null when it is not one). */
export function parseSpillLine(line: string): SpillLine | null {
  if (line.trim() === '') return null;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const { table, row } = value as { table?: unknown; row?: unknown };
  if (typeof table !== 'string' || !TABLES.has(table)) return null;
  if (typeof row !== 'object' || row === null || Array.isArray(row)) return null;
  return { table: table as FleetTableName, row: row as FleetRow };
}

/** Reads a spill file line by line; `onBadLine` gets the 1-based number of each line that is not a row. */
export async function* readSpillFile(
  path: string,
  onBadLine?: (lineNumber: number) => void,
): AsyncGenerator<SpillLine> {
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line === '') continue;
    const parsed = parseSpillLine(line);
    if (parsed === null) onBadLine?.(n);
    else yield parsed;
  }
}
