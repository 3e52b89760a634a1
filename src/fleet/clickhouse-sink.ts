/**
 * ClickHouse sink: every closed session becomes rows of the four level tables (clickhouse-schema.ts), and with
 * `attempts` every connection attempt a row of `connection_attempts`,
 * buffered and inserted in batches by one sender; rows the server cannot take go to a local spill file
 * (spill.ts) that `replayClickHouseSpill` loads later. docs/FLEET.md describes the whole path.
 *
 * Flow and bounds (all wall-clock: this is an adapter, not the core):
 *  - Rows collect per level; a level's rows become a batch at `batchRows`, and every `flushIntervalMs`
 *    whatever has collected becomes a batch. One batch is sent at a time, oldest first.
 *  - Rows are held as their JSON text (row-json.ts), made from the values clickhouse-rows.ts hands over without
 *    a row object: the same text is the JSONEachRow input and the `row` of a spill line.
 *  - A failed insert is retried up to `maxAttempts` times in all, with exponential backoff and jitter
 *    (`retryBaseMs` … `retryMaxMs`); a batch that still fails is spilled, and the sink turns "degraded":
 *    at most once per `flushIntervalMs` what has collected goes out as a probe, with one attempt, and
 *    otherwise every row goes to the spill file as it is made (buffered up to 64 KiB or `batchRows` rows per
 *    write), so a dead server costs disk writes and holds nothing per session; the first probe that succeeds
 *    ends degraded mode.
 *  - Rows held (collecting + queued + in flight + in the spill write buffer) are bounded by `maxBufferedRows`.
 *    `sessionClosed` never returns a promise, so the analysis (and the sinks after this one) never wait for the
 *    server: when a session's rows take the held rows past the bound, every level is cut into batches and the newest
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
import {
  attemptValues,
  type FleetRowVisitor,
  type RowConversionStats,
  visitFleetRows,
} from './clickhouse-rows.js';
import { FLEET_TABLE_NAMES, FLEET_TABLES, type FleetTableName } from './clickhouse-schema.js';
import { retryDelayMs, sleep } from './retry-delay.js';
import { rowJson } from './row-json.js';
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
  /**
   * Rows held in memory at most: collecting, queued, in flight and in the spill write buffer (default 20 000; at
   * least 2 × batchRows).
   */
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
  /** Most rows held (collecting, queued, in flight, spill write buffer) when a sessionClosed call returned. */
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

/** Rows of one table: each row's JSON text (row-json.ts) and its id, in the same order. */
interface Batch {
  readonly level: FleetTableName;
  readonly lines: string[];
  readonly ids: string[];
}

/**
 * Characters of spill lines buffered before one write (64 KiB, about 100 rows), on the path that spills rows
 * as they are made (a degraded server); a spill of held batches writes in pieces of this size too.
 */
const SPILL_WRITE_CHARS = 64 * 1024;

/** Where the id is among the values of a `connection_attempts` row. */
const ATTEMPT_ID_COLUMN = FLEET_TABLES.connection_attempts.columns.findIndex((c) => c.name === 'id');

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

  const collecting = Object.fromEntries(
    FLEET_TABLE_NAMES.map((level) => [level, { level, lines: [], ids: [] }]),
  ) as unknown as Record<FleetTableName, Batch>;
  const queue: Batch[] = [];
  let held = 0;
  let tablesReady = !createTables;
  let degraded = false;
  let pumping: Promise<void> | null = null;
  /**
   * While degraded: when the next batch may be sent as a probe (wall clock, ms). Until then, and while a probe
   * is out, rows go to the spill file as they are made.
   */
  let nextProbeAt = 0;
  /** Aborted when close gives up waiting: stops retries and the request in flight. */
  const giveUp = new AbortController();

  const cut = (level: FleetTableName, all: boolean): void => {
    const { lines, ids } = collecting[level];
    while (lines.length >= batchRows || (all && lines.length > 0)) {
      queue.push({ level, lines: lines.splice(0, batchRows), ids: ids.splice(0, batchRows) });
    }
  };
  const cutAll = (): void => {
    for (const level of FLEET_TABLE_NAMES) cut(level, true);
  };

  /** Writes the spill buffer (synchronously) and lets go of its rows; they count as spilled, or lost. */
  const flushSpill = (): boolean => {
    const n = spill.pendingRows;
    if (n === 0) return true;
    held -= n;
    try {
      spill.flush();
      if (stats.rowsSpilled === 0)
        warn(`ClickHouse: spilling rows to ${spillFile} (${stats.lastError ?? 'no server'})`);
      stats.rowsSpilled += n;
      return true;
    } catch (error) {
      stats.rowsLost += n;
      warn(`ClickHouse: could not write the spill file ${spillFile}: ${errorText(error)}`);
      return false;
    }
  };

  /** Writes a batch to the spill file (synchronously) and lets go of its rows. */
  const spillBatch = (batch: Batch): void => {
    let written = true;
    for (const line of batch.lines) {
      spill.add(batch.level, line);
      if (spill.pendingChars >= SPILL_WRITE_CHARS) written = flushSpill() && written;
    }
    written = flushSpill() && written;
    if (written) stats.batchesSpilled++;
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
        await conn.insert(batch.level, batch, giveUp.signal);
        if (degraded) warn('ClickHouse: inserts succeed again');
        degraded = false;
        stats.rowsInserted += batch.lines.length;
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
    nextProbeAt = Date.now() + flushIntervalMs;
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
          if (await send(batch)) held -= batch.lines.length;
          else spillBatch(batch);
        }
      } finally {
        pumping = null;
      }
    })();
    return pumping;
  };

  /** Whether a degraded sink sends the next batch (one attempt) to find out whether the server is back. */
  const probeDue = (): boolean => pumping === null && Date.now() >= nextProbeAt;

  /**
   * Sends what is queued; while degraded, only one batch and only when a probe is due, and the rest goes to the
   * spill file at once (it would only wait in memory for one attempt each).
   */
  const dispatch = (): void => {
    if (queue.length === 0) return;
    // pump takes its first batch synchronously: what is still queued after it is not in flight.
    if (!degraded || probeDue()) void pump();
    if (degraded) while (queue.length > 0) spillBatch(queue.shift()!);
  };

  /** Past the bound: spills the newest queued batches, synchronously, until the held rows are at the low-water mark. */
  const spillOverflow = (): void => {
    flushSpill();
    cutAll();
    dispatch();
    if (held <= maxBuffered) return;
    stats.overflows++;
    const victims: Batch[] = [];
    let excess = held - lowWater;
    while (excess > 0 && queue.length > 0) {
      const b = queue.pop()!;
      victims.push(b);
      excess -= b.lines.length;
    }
    const before = stats.rowsSpilled;
    for (const b of victims.reverse()) spillBatch(b);
    stats.rowsSpilledOnOverflow += stats.rowsSpilled - before;
  };

  const timer = setInterval(() => {
    flushSpill();
    cutAll();
    dispatch();
  }, flushIntervalMs);
  timer.unref();

  /** Collects a row for a batch. */
  const collect: FleetRowVisitor = (level, id, values) => {
    const c = collecting[level];
    c.lines.push(rowJson(level, values));
    c.ids.push(id);
    held++;
    stats.rowsAccepted++;
  };
  /** Puts a row straight into the spill buffer (degraded, no probe due): no batch, no id kept. */
  const toSpill: FleetRowVisitor = (level, _id, values) => {
    spill.add(level, rowJson(level, values));
    held++;
    stats.rowsAccepted++;
  };
  /**
   * Degraded (the last batch failed every attempt) and no probe due: the rows of a session or attempt go to the
   * spill file as they are made, in writes of about 64 KiB, instead of waiting in batches.
   */
  const spillsDirectly = (): boolean => degraded && !probeDue();

  /** After rows were added: start sending, spill past the bound, note the peak. */
  const added = (): void => {
    if (spill.pendingRows >= batchRows || spill.pendingChars >= SPILL_WRITE_CHARS) flushSpill();
    dispatch();
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
      const direct = spillsDirectly();
      visitFleetRows(session, sensor, insertedAt, conversion, direct ? toSpill : collect);
      // A degraded sink with a probe due sends what it collected now: the probe need not be a full batch.
      if (!direct) for (const level of FLEET_TABLE_NAMES) cut(level, degraded);
      added();
    },
    async close(_summary: RunSummary) {
      clearInterval(timer);
      flushSpill();
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
      const values = attemptValues(attempt, sensor, Math.floor(Date.now() / 1000));
      const direct = spillsDirectly();
      (direct ? toSpill : collect)('connection_attempts', String(values[ATTEMPT_ID_COLUMN]), values);
      if (!direct) cut('connection_attempts', degraded);
      added();
    },
  };
}
