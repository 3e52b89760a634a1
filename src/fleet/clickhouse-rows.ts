/**
 * Session → rows for the fleet tables: the cells of columns.ts converted for ClickHouse's JSONEachRow
 * input, plus the sensor name and the deterministic keys.
 *
 * Connection attempts get one row each in `connection_attempts` ({@link toAttemptRow}).
 *
 * Keys (docs/FLEET.md, "Row identity"):
 *  - `session_key`: the first 8 bytes (big-endian, as an unsigned decimal) of SHA-256 over the sensor, the
 *    first-packet time in microseconds and both endpoints. The session id is left out: it depends on the
 *    run (`C000001` again in the next run, `2-C000001` when the capture is the second of several inputs),
 *    while one connection's 4-tuple and first packet time are the same however the capture is fed in.
 *  - `id`: the same hash over `session_key`, the level and the level key (`depth`, `depth`+`index`, or the
 *    command's position in the session's command list, which is also its `seq`).
 * The same capture analysed again with the same sensor name (alone or among other inputs, on this machine
 * or another) gives the same keys, so rows sent twice collapse.
 *
 * Values: strings as they are, int and float as numbers (null when not finite), bool as 1/0, time as whole
 * seconds (DateTime) or as microseconds for the added `_us` twin, UInt64 keys as decimal strings (JSON
 * numbers lose precision above 2^53; ClickHouse accepts quoted integers). A null in a column that is not
 * Nullable (a contract drift in columns.ts) becomes the type's zero and is counted.
 *
 * The sink does not build row objects: {@link visitFleetRows} hands each row's values, in column order, in
 * an array reused for every row of a table, and row-json.ts writes them straight into the JSON line that is
 * both the JSONEachRow input and the `row` of a spill line. {@link toFleetRows} and {@link toAttemptRow}
 * build the same rows as objects (tests, library use).
 */

import { hash } from 'node:crypto';
import type { ConnectionAttempt } from '../model/connection-attempt.js';
import type { SmtpSession } from '../model/types.js';
import { type CellValue, LEVEL_NAMES, LEVELS, type LevelName } from '../report/columns.js';
import {
  FLEET_TABLES,
  type FleetColumn,
  type FleetTableName,
  toDateTimeSeconds,
} from './clickhouse-schema.js';

export type FleetValue = string | number | null;
export type FleetRow = Record<string, FleetValue>;

export interface SessionRows {
  readonly level: LevelName;
  readonly rows: FleetRow[];
}

export interface RowConversionStats {
  /** Nulls replaced by a zero value because the column is not Nullable. */
  nullsReplaced: number;
}

/** Unsigned 64-bit decimal from the first 8 bytes of SHA-256 of `text`. */
export function hash64(text: string): string {
  // The first 16 hex digits are the first 8 bytes; a hex string costs less than a Buffer per call.
  return BigInt(`0x${hash('sha256', text, 'hex').slice(0, 16)}`).toString();
}

/** The key of a connection: sensor, first packet time and both endpoints (see the module comment). */
function connectionKey(
  sensor: string,
  startedAt: number,
  client: SmtpSession['client'],
  server: SmtpSession['server'],
): string {
  return hash64(
    [sensor, String(startedAt), client.ip, String(client.port), server.ip, String(server.port)].join(
      '\u0000',
    ),
  );
}

/** The session's key (see the module comment). */
export function sessionKey(sensor: string, session: SmtpSession): string {
  return connectionKey(sensor, session.startedAt, session.client, session.server);
}

/** One value per column of `connection_attempts`, reused for every attempt (see {@link attemptValues}). */
const ATTEMPT_VALUES: FleetValue[] = new Array(FLEET_TABLES.connection_attempts.columns.length).fill(null);

/**
 * The values of an attempt's `connection_attempts` row, in column order: its key made as a session's (from its
 * first packet time and endpoints), its id from that key and the table name. The array is reused by the next
 * call: read it before.
 */
export function attemptValues(
  attempt: ConnectionAttempt,
  sensor: string,
  insertedAt: number,
): readonly FleetValue[] {
  const key = connectionKey(sensor, attempt.firstTsMicros, attempt.client, attempt.server);
  const columns = FLEET_TABLES.connection_attempts.columns;
  for (let i = 0; i < columns.length; i++) {
    const src = columns[i]!.source;
    let value: FleetValue;
    switch (src.kind) {
      case 'sensor':
        value = sensor;
        break;
      case 'session-key':
        value = key;
        break;
      case 'id':
        value = hash64(`${key}\u0000connection_attempts`);
        break;
      case 'inserted-at':
        value = insertedAt;
        break;
      case 'attempt':
        value = src.get(attempt);
        break;
      default:
        value = null;
    }
    ATTEMPT_VALUES[i] = value;
  }
  return ATTEMPT_VALUES;
}

/** The `connection_attempts` row of an attempt as an object ({@link attemptValues}). */
export function toAttemptRow(attempt: ConnectionAttempt, sensor: string, insertedAt: number): FleetRow {
  return rowObject('connection_attempts', attemptValues(attempt, sensor, insertedAt));
}

/** A row as an object: column names to values. */
export function rowObject(table: FleetTableName, values: readonly FleetValue[]): FleetRow {
  const row: FleetRow = {};
  const columns = FLEET_TABLES[table].columns;
  for (let i = 0; i < columns.length; i++) row[columns[i]!.name] = values[i] ?? null;
  return row;
}

/** A row's id from its session key, level and level-key values. */
export function rowId(key: string, level: LevelName, levelKey: readonly CellValue[]): string {
  let text = `${key}\u0000${level}`;
  for (const v of levelKey) text += `\u0000${String(v)}`;
  return hash64(text);
}

function zeroOf(column: FleetColumn): FleetValue {
  return column.type === 'String' ? '' : 0;
}

function convertCell(value: CellValue, column: FleetColumn, asMicros: boolean): FleetValue {
  if (value === null) return null;
  if (column.source.kind !== 'cell') return null;
  switch (column.source.type) {
    case 'string':
      return String(value);
    case 'int':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? value : null;
    case 'bool':
      return value === true ? 1 : value === false ? 0 : null;
    case 'time':
      if (typeof value !== 'number' || !Number.isFinite(value)) return null;
      return asMicros ? value : toDateTimeSeconds(value);
  }
}

/** Level-key column indexes in the level's records. */
const KEY_INDEXES: Readonly<Record<LevelName, readonly number[]>> = {
  sessions: keyIndexes('sessions'),
  transactions: keyIndexes('transactions'),
  recipients: keyIndexes('recipients'),
  commands: keyIndexes('commands'),
};

function keyIndexes(level: LevelName): number[] {
  const names = LEVELS[level].columns.map((c) => c.name);
  return FLEET_TABLES[level].levelKey.map((k) => names.indexOf(k));
}

function levelKeyValues(
  cells: readonly CellValue[],
  indexes: readonly number[],
  ordinal: number | null,
): CellValue[] {
  const out = indexes.map((i) => cells[i] ?? null);
  if (ordinal !== null) out.push(ordinal);
  return out;
}

/** Receives one row: its table, its id and its values in column order (an array reused for the next row). */
export type FleetRowVisitor = (level: FleetTableName, id: string, values: readonly FleetValue[]) => void;

/** One reused value array per level (see {@link visitFleetRows}). */
const LEVEL_VALUES: Readonly<Record<LevelName, FleetValue[]>> = {
  sessions: new Array(FLEET_TABLES.sessions.columns.length).fill(null),
  transactions: new Array(FLEET_TABLES.transactions.columns.length).fill(null),
  recipients: new Array(FLEET_TABLES.recipients.columns.length).fill(null),
  commands: new Array(FLEET_TABLES.commands.columns.length).fill(null),
};

/**
 * Hands every row of every level of one session to `visit`, level by level. `insertedAt` is whole seconds of
 * wall-clock time (the version column of ReplacingMergeTree: a later insert of the same id wins at merge
 * time). The values array is reused for the next row: `visit` reads it before it returns.
 */
export function visitFleetRows(
  session: SmtpSession,
  sensor: string,
  insertedAt: number,
  stats: RowConversionStats | undefined,
  visit: FleetRowVisitor,
): void {
  const key = sessionKey(sensor, session);
  for (const level of LEVEL_NAMES) {
    const table = FLEET_TABLES[level];
    const columns = table.columns;
    const keyIndexes = KEY_INDEXES[level];
    const values = LEVEL_VALUES[level];
    const records = LEVELS[level].records(session);
    for (let r = 0; r < records.length; r++) {
      const cells = records[r]!;
      let id = '';
      for (let c = 0; c < columns.length; c++) {
        const column = columns[c]!;
        const src = column.source;
        let value: FleetValue;
        switch (src.kind) {
          case 'sensor':
            value = sensor;
            break;
          case 'session-key':
            value = key;
            break;
          case 'id':
            id = rowId(key, level, levelKeyValues(cells, keyIndexes, table.ordinalKey ? r : null));
            value = id;
            break;
          case 'inserted-at':
            value = insertedAt;
            break;
          case 'dsn-original-message-id':
            value = session.transactions[r]?.message?.dsn?.originalMessageId ?? null;
            break;
          case 'cell':
            value = convertCell(cells[src.index] ?? null, column, src.asMicros);
            break;
          case 'attempt':
            value = null;
            break;
        }
        if (value === null && !column.nullable) {
          value = zeroOf(column);
          if (stats !== undefined) stats.nullsReplaced++;
        }
        values[c] = value;
      }
      visit(level, id, values);
    }
  }
}

/** Rows of every level for one session, as objects ({@link visitFleetRows}). */
export function toFleetRows(
  session: SmtpSession,
  sensor: string,
  insertedAt: number,
  stats?: RowConversionStats,
): SessionRows[] {
  const out: SessionRows[] = LEVEL_NAMES.map((level) => ({ level, rows: [] }));
  visitFleetRows(session, sensor, insertedAt, stats, (level, _id, values) => {
    out.find((r) => r.level === level)!.rows.push(rowObject(level, values));
  });
  return out;
}
