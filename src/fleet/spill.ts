/**
 * The spill file: rows ClickHouse could not take, kept on local disk until `replayClickHouseSpill` loads
 * them. NDJSON, one line per row: `{"table":"recipients","row":{...}}` where `table` is the level (the
 * database is chosen at replay) and `row` holds the inserted columns, keys and `inserted_at` included, so a
 * replay writes exactly what the sink would have written.
 *
 * The writer appends (a file left by an earlier run is kept) and serialises its writes; it opens the file
 * only when the first row spills. The reader tolerates a torn last line (a crash mid-write) and any other
 * line it cannot parse: it counts them and goes on.
 */

import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { LEVEL_NAMES, type LevelName } from '../report/columns.js';
import type { FleetRow } from './clickhouse-rows.js';

export interface SpillLine {
  readonly table: LevelName;
  readonly row: FleetRow;
}

export interface SpillWriter {
  readonly path: string;
  /** Appends rows of one level; resolves once they are written (not fsync'ed). */
  append(level: LevelName, rows: readonly FleetRow[]): Promise<void>;
  /** Rows written so far. */
  readonly rows: number;
  close(): Promise<void>;
}

export function createSpillWriter(path: string): SpillWriter {
  let handle: FileHandle | null = null;
  let chain: Promise<void> = Promise.resolve();
  let rows = 0;
  const write = async (level: LevelName, batch: readonly FleetRow[]): Promise<void> => {
    handle ??= await open(path, 'a');
    let text = '';
    for (const row of batch) text += `${JSON.stringify({ table: level, row })}\n`;
    await handle.write(text);
    rows += batch.length;
  };
  return {
    path,
    get rows() {
      return rows;
    },
    append(level, batch) {
      if (batch.length === 0) return chain;
      const next = chain.then(() => write(level, batch));
      // Later appends still run after a failed one; the caller sees its own failure.
      chain = next.catch(() => undefined);
      return next;
    },
    async close() {
      await chain;
      if (handle !== null) {
        await handle.sync().catch(() => undefined);
        await handle.close();
        handle = null;
      }
    },
  };
}

const TABLES = new Set<string>(LEVEL_NAMES);

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
  return { table: table as LevelName, row: row as FleetRow };
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
