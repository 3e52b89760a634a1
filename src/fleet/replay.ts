/**
 * Loads a spill file (spill.ts) into ClickHouse. Rows keep their ids and `inserted_at`, so replaying a file
 * twice, or replaying rows that did reach the server before it failed, adds copies that ReplacingMergeTree
 * collapses (queries with FINAL or argMax see each row once). Lines that are not rows (a torn last line)
 * are counted and skipped. A batch that still fails after the retries ends the replay with an error; the
 * file is never modified, so the replay can simply be run again.
 */

import { type ClickHouseConnectionOptions, createClickHouseConnection } from './clickhouse-connection.js';
import { FLEET_TABLE_NAMES, type FleetTableName } from './clickhouse-schema.js';
import { retryDelayMs, sleep } from './retry-delay.js';
import { readSpillFile } from './spill.js';

export interface ClickHouseReplayOptions extends ClickHouseConnectionOptions {
  /** Rows per INSERT (default 5 000). */
  readonly batchRows?: number;
  /** Attempts per batch, the first included (default 5). */
  readonly maxAttempts?: number;
  /** First retry delay in milliseconds (default 250), doubling up to `retryMaxMs` (default 8 000). */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
  /** Create the database and tables when missing (default true). */
  readonly createTables?: boolean;
}

export interface ClickHouseReplayResult {
  /** Rows read from the file and inserted, per table (`connection_attempts` only when the file has some). */
  readonly rows: Readonly<Partial<Record<FleetTableName, number>>>;
  readonly batches: number;
  /** Line numbers (1-based) that were not rows. */
  readonly badLines: readonly number[];
}

export async function replayClickHouseSpill(
  file: string,
  options: ClickHouseReplayOptions,
): Promise<ClickHouseReplayResult> {
  const batchRows = Math.max(1, options.batchRows ?? 5_000);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const delays = { baseMs: options.retryBaseMs ?? 250, maxMs: options.retryMaxMs ?? 8_000 };
  const conn = createClickHouseConnection(options);
  const rows: Partial<Record<FleetTableName, number>> = {
    sessions: 0,
    transactions: 0,
    recipients: 0,
    commands: 0,
  };
  /** Rows read and not sent yet, per table: their JSON text and ids. */
  const pending = new Map<FleetTableName, { lines: string[]; ids: string[] }>(
    FLEET_TABLE_NAMES.map((t) => [t, { lines: [], ids: [] }]),
  );
  const badLines: number[] = [];
  let batches = 0;

  const withRetries = async (what: () => Promise<void>): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await what();
        return;
      } catch (error) {
        if (attempt >= maxAttempts) throw error;
        await sleep(retryDelayMs(attempt, delays));
      }
    }
  };
  const flush = async (level: FleetTableName): Promise<void> => {
    const batch = pending.get(level);
    if (batch === undefined || batch.lines.length === 0) return;
    pending.set(level, { lines: [], ids: [] });
    await withRetries(() => conn.insert(level, batch));
    rows[level] = (rows[level] ?? 0) + batch.lines.length;
    batches++;
  };

  try {
    if (options.createTables !== false) await withRetries(() => conn.ensureTables());
    for await (const line of readSpillFile(file, (n) => badLines.push(n))) {
      const list = pending.get(line.table);
      if (list === undefined) continue;
      list.lines.push(JSON.stringify(line.row));
      list.ids.push(String(line.row['id']));
      if (list.lines.length >= batchRows) await flush(line.table);
    }
    for (const level of FLEET_TABLE_NAMES) await flush(level);
  } finally {
    await conn.close().catch(() => undefined);
  }
  return { rows, batches, badLines };
}
