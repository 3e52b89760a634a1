/**
 * A fleet row's values (clickhouse-rows.ts, in column order) written straight into its JSON text: the line
 * ClickHouse reads as JSONEachRow and the `row` of a spill line (spill.ts). The text is exactly what
 * `JSON.stringify` makes of the row as an object (keys in column order), without building that object: the
 * sink turns millions of rows into text, and an object per row (about 3.6 kB each for a sessions row) was
 * most of its garbage.
 */

import type { FleetValue } from './clickhouse-rows.js';
import { FLEET_TABLE_NAMES, FLEET_TABLES, type FleetTableName } from './clickhouse-schema.js';

/** One value as JSON: strings quoted and escaped, finite numbers as they are, the rest (null, NaN) null. */
function jsonValue(value: FleetValue): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return 'null';
}

/**
 * Per table, the pieces of a row's text: `{"name":` before the first value, `,"name":` before each other,
 * `}` at the end; the odd slots take the values. One array per table, filled and joined per row.
 */
const PIECES: Readonly<Record<FleetTableName, string[]>> = Object.fromEntries(
  FLEET_TABLE_NAMES.map((table) => {
    const pieces: string[] = [];
    FLEET_TABLES[table].columns.forEach((column, i) => {
      pieces.push(`${i === 0 ? '{' : ','}${JSON.stringify(column.name)}:`, 'null');
    });
    pieces.push('}');
    return [table, pieces];
  }),
) as Record<FleetTableName, string[]>;

/** The JSON text of one row of `table` (no newline); `values` in the table's column order. */
export function rowJson(table: FleetTableName, values: readonly FleetValue[]): string {
  const pieces = PIECES[table];
  const n = FLEET_TABLES[table].columns.length;
  for (let i = 0; i < n; i++) pieces[2 * i + 1] = jsonValue(values[i] ?? null);
  return pieces.join('');
}

/** Rows of one table as text, and their ids in the same order (an insert's deduplication token hashes them). */
export interface RowTexts {
  /** Each row's JSON text ({@link rowJson}). */
  readonly lines: readonly string[];
  readonly ids: readonly string[];
}
