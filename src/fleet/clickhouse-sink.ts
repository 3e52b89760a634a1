/**
 * ClickHouse sink: every closed session becomes rows of the four level tables (clickhouse-schema.ts), and with
 * `attempts` every connection attempt a row of `connection_attempts`,
 * buffered and inserted in batches by one sender; rows the server cannot take go to a local spill file
 * (spill.ts) that `replayClickHouseSpill` loads later. docs/FLEET.md describes the whole path.
 *
 * Flow and bounds (all wall-clock: this is an adapter, not the core):
 *  - Rows collect per level; a level's rows become a batch at `batchRows`, and every `flushIntervalMs`
 *    whatever has collected becomes a batch. One batch is sent at a time, oldest first.
 *  - A failed insert is retried up to `maxAttempts` times in all, with exponential backoff and jitter
 *    (`retryBaseMs` … `retryMaxMs`); a batch that still fails is spilled, and the sink turns "degraded":
 *    each later batch gets one attempt until one succeeds, so a dead server drains the buffer to disk at
 *    disk speed instead of holding it; while degraded, the batches cut while that attempt is in flight go to the
 *    spill file at once instead of waiting in memory.
 *  - Rows held (collecting + queued + in flight) are bounded by `maxBufferedRows`. `sessionClosed` never
 *    returns a promise, so the analysis (and the sinks after this one) never wait for the server: when a
 *    session's rows take the held rows past the bound, every level is cut into batches and the newest
 *    queued batches are spilled at once, synchronously, until the held rows are down to the low-water mark
 *    (half the bound). The batch in flight stays; it spills itself if it fails. A slow or hanging server
 *    then costs disk writes, not throughput, and memory stays within the bound.
 *  - `close` spills the queue at once when the server is degraded, sends what is left otherwise, waits at
 *    most `closeTimeoutMs`, then aborts the request in flight and spills every row not confirmed. A row is either confirmed inserted or written to the spill file
 *    (both, when a confirmation was lost: the ids make the second copy collapse).
 */

import { hostname } from 'node:os';
import type { ConnectionAttempt } from '../model/connection-attempt.js';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type ClickHouseConnectionOptions, createClickHouseConnection } from './clickhouse-connection.js';
import { type FleetRow, type RowConversionStats, toAttemptRow, toFleetRows } from './clickhouse-rows.js';
import { FLEET_TABLE_NAMES, type FleetTableName } from './clickhouse-schema.js';
import { retryDelayMs, sleep } from './retry-delay.js';
import { createSpillWriter } from './spill.js';

export interface ClickHouseSinkOptions extends ClickHouseConnectionOptions {
  /** Name of this sensor, stored in every row and part of every id (default: the host name). */
  readonly sensor?: string;
  /** Spill file (NDJSON), created when the first row spills (default `smtpscope-clickhouse-spill.ndjson`). */
  readonly spillFile?: string;
  /** Rows per INSERT (default 5 000). */
  readonly batchRows?: number;
  /** Longest time rows wait before they are sent, in milliseconds (default 5 000). */
  readonly flushIntervalMs?: number;
  /** Rows held in memory at most: collecting, queued and in flight (default 20 000; at least 2 × batchRows). */
  readonly maxBufferedRows?: number;
  /** Attempts per batch, the first included (default 5). */
  readonly maxAttempts?: number;
  /** First retry delay, in milliseconds (default 250); doubles per retry. */
  readonly retryBaseMs?: number;
  /** Longest retry delay, in milliseconds (default 8 000). */
  readonly retryMaxMs?: number;
  /** Longest time close waits for the server before spilling the rest, in milliseconds (default 30 000). */
  readonly closeTimeoutMs?: number;
  /** Create the database and tables when missing (default true). */
  readonly createTables?: boolean;
  /** Receives one-line notices (spills, degraded mode); default: none. */
  readonly onWarning?: (message: string) => void;
  /**
   * Write one `connection_attempts` row per connection attempt (`--connection-attempts`); default false: attempts
   * are then only counted, in the summary and the NDJSON run record.
   */
  readonly attempts?: boolean;
}

export interface ClickHouseSinkStats {
  /** Rows made from closed sessions. */
  rowsAccepted: number;
  /** Rows confirmed inserted by the server. */
  rowsInserted: number;
  /** Rows written to the spill file. */
  rowsSpilled: number;
  /** Rows neither inserted nor spilled (the spill file could not be written). */
  rowsLost: number;
  batchesInserted: number;
  batchesSpilled: number;
  insertAttempts: number;
  insertFailures: number;
  /** Times the held rows passed `maxBufferedRows` and queued rows were spilled down to the low-water mark. */
  overflows: number;
  /** Rows spilled by those overflows (part of rowsSpilled). */
  rowsSpilledOnOverflow: number;
  /** Most rows held (collecting, queued, in flight) when a sessionClosed call returned. */
  peakHeldRows: number;
  /** Nulls in non-Nullable columns replaced by zero values (a schema drift; should stay 0). */
  nullsReplaced: number;
  lastError: string | null;
  serverVersion: string | null;
}

export interface ClickHouseSink extends Sink {
  readonly spillFile: string;
  stats(): ClickHouseSinkStats;
}

export const DEFAULT_SPILL_FILE = 'smtpscope-clickhouse-spill.ndjson';

interface Batch {
  readonly level: FleetTableName;
  readonly rows: FleetRow[];
}

const errorText = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export function createClickHouseSink(options: ClickHouseSinkOptions): ClickHouseSink {
  const sensor = options.sensor ?? hostname();
  const spillFile = options.spillFile ?? DEFAULT_SPILL_FILE;
  const batchRows = Math.max(1, options.batchRows ?? 5_000);
  const flushIntervalMs = options.flushIntervalMs ?? 5_000;
  const maxBuffered = Math.max(2 * batchRows, options.maxBufferedRows ?? 20_000);
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const delays = { baseMs: options.retryBaseMs ?? 250, maxMs: options.retryMaxMs ?? 8_000 };
  /** Where an overflow spills down to. */
  const lowWater = Math.max(batchRows, Math.floor(maxBuffered / 2));
  const closeTimeoutMs = options.closeTimeoutMs ?? 30_000;
  const createTables = options.createTables !== false;
  const warn = options.onWarning ?? (() => undefined);

  const conn = createClickHouseConnection(options);
  const spill = createSpillWriter(spillFile);
  const stats: ClickHouseSinkStats = {
    rowsAccepted: 0,
    rowsInserted: 0,
    rowsSpilled: 0,
    rowsLost: 0,
    batchesInserted: 0,
    batchesSpilled: 0,
    insertAttempts: 0,
    insertFailures: 0,
    overflows: 0,
    rowsSpilledOnOverflow: 0,
    peakHeldRows: 0,
    nullsReplaced: 0,
    lastError: null,
    serverVersion: null,
  };
  const conversion: RowConversionStats = { nullsReplaced: 0 };

  const collecting: Record<FleetTableName, FleetRow[]> = {
    sessions: [],
    transactions: [],
    recipients: [],
    commands: [],
    connection_attempts: [],
  };
  const queue: Batch[] = [];
  let held = 0;
  let tablesReady = !createTables;
  let degraded = false;
  let pumping: Promise<void> | null = null;
  /** Aborted when close gives up waiting: stops retries and the request in flight. */
  const giveUp = new AbortController();

  const cut = (level: FleetTableName, all: boolean): void => {
    const rows = collecting[level];
    while (rows.length >= batchRows || (all && rows.length > 0)) {
      queue.push({ level, rows: rows.splice(0, batchRows) });
    }
  };
  const cutAll = (): void => {
    for (const level of FLEET_TABLE_NAMES) cut(level, true);
  };

  /** Writes a batch to the spill file (synchronously) and lets go of its rows. */
  const spillBatch = (batch: Batch): void => {
    held -= batch.rows.length;
    try {
      spill.append(batch.level, batch.rows);
      if (stats.rowsSpilled === 0)
        warn(`ClickHouse: spilling rows to ${spillFile} (${stats.lastError ?? 'no server'})`);
      stats.rowsSpilled += batch.rows.length;
      stats.batchesSpilled++;
    } catch (error) {
      stats.rowsLost += batch.rows.length;
      warn(`ClickHouse: could not write the spill file ${spillFile}: ${errorText(error)}`);
    }
  };

  /** Sends one batch with retries; true when the server confirmed it. */
  const send = async (batch: Batch): Promise<boolean> => {
    const attempts = degraded ? 1 : maxAttempts;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (giveUp.signal.aborted) return false;
      stats.insertAttempts++;
      try {
        if (!tablesReady) {
          await conn.ensureTables();
          tablesReady = true;
        }
        if (stats.serverVersion === null) stats.serverVersion = (await conn.version()).text;
        await conn.insert(batch.level, batch.rows, giveUp.signal);
        if (degraded) warn('ClickHouse: inserts succeed again');
        degraded = false;
        stats.rowsInserted += batch.rows.length;
        stats.batchesInserted++;
        return true;
      } catch (error) {
        stats.insertFailures++;
        stats.lastError = errorText(error);
        if (attempt < attempts) await sleep(retryDelayMs(attempt, delays), giveUp.signal);
      }
    }
    if (!degraded)
      warn(`ClickHouse: insert failed ${attempts} times (${stats.lastError}); spilling until it works`);
    degraded = true;
    return false;
  };

  const pump = (): Promise<void> => {
    if (pumping !== null) return pumping;
    if (queue.length === 0) return Promise.resolve();
    // The loop awaits at least once before it ends, so `pumping` is set before the finally clears it.
    pumping = (async () => {
      try {
        while (queue.length > 0) {
          const batch = queue.shift()!;
          if (await send(batch)) held -= batch.rows.length;
          else spillBatch(batch);
        }
      } finally {
        pumping = null;
      }
    })();
    return pumping;
  };

  /** Past the bound: spills the newest queued batches, synchronously, until the held rows are at the low-water mark. */
  const spillOverflow = (): void => {
    cutAll();
    if (queue.length > 0) void pump();
    if (held <= maxBuffered) return;
    stats.overflows++;
    const victims: Batch[] = [];
    let excess = held - lowWater;
    while (excess > 0 && queue.length > 0) {
      const b = queue.pop()!;
      victims.push(b);
      excess -= b.rows.length;
    }
    const before = stats.rowsSpilled;
    for (const b of victims.reverse()) spillBatch(b);
    stats.rowsSpilledOnOverflow += stats.rowsSpilled - before;
  };

  const timer = setInterval(() => {
    cutAll();
    if (queue.length > 0) void pump();
  }, flushIntervalMs);
  timer.unref();

  /** After rows were added: start sending, spill past the bound, note the peak. */
  const added = (): void => {
    if (queue.length > 0) void pump();
    // Degraded (the last batch failed every attempt): the batch the sender took is the probe that finds the server
    // back; the others would only wait in memory for one attempt each, so they go to the spill file at once.
    if (degraded) while (queue.length > 0) spillBatch(queue.shift()!);
    if (held > maxBuffered) spillOverflow();
    if (held > stats.peakHeldRows) stats.peakHeldRows = held;
  };

  const sink: ClickHouseSink = {
    name: 'clickhouse',
    spillFile,
    stats() {
      return { ...stats, nullsReplaced: conversion.nullsReplaced };
    },
    sessionClosed(session: SmtpSession) {
      const insertedAt = Math.floor(Date.now() / 1000);
      for (const { level, rows } of toFleetRows(session, sensor, insertedAt, conversion)) {
        if (rows.length === 0) continue;
        const target = collecting[level];
        for (const row of rows) target.push(row);
        held += rows.length;
        stats.rowsAccepted += rows.length;
        cut(level, false);
      }
      added();
    },
    async close(_summary: RunSummary) {
      clearInterval(timer);
      cutAll();
      // A degraded server would take one attempt (up to the request timeout) per batch: spill them now.
      if (degraded) while (queue.length > 0) spillBatch(queue.shift()!);
      const drained = pump();
      let timeout: NodeJS.Timeout | undefined;
      const expired = new Promise<'timeout'>((resolve) => {
        timeout = setTimeout(() => resolve('timeout'), closeTimeoutMs);
      });
      const outcome = await Promise.race([drained.then(() => 'drained' as const), expired]);
      clearTimeout(timeout);
      if (outcome === 'timeout') {
        giveUp.abort();
        await pump();
      }
      try {
        spill.close();
      } catch (error) {
        warn(`ClickHouse: could not close the spill file ${spillFile}: ${errorText(error)}`);
      }
      await conn.close().catch(() => undefined);
      if (stats.rowsSpilled > 0) {
        warn(
          `ClickHouse: ${stats.rowsSpilled} rows are in ${spillFile}; load them with \`smtpscope clickhouse-replay ${spillFile}\``,
        );
      }
      if (stats.rowsLost > 0) warn(`ClickHouse: ${stats.rowsLost} rows were lost (spill file not writable)`);
    },
  };
  if (options.attempts !== true) return sink;
  return {
    ...sink,
    connectionAttempt(attempt: ConnectionAttempt) {
      collecting.connection_attempts.push(toAttemptRow(attempt, sensor, Math.floor(Date.now() / 1000)));
      held++;
      stats.rowsAccepted++;
      cut('connection_attempts', false);
      added();
    },
  };
}
