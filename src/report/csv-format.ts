/**
 * CSV text for report rows (RFC 4180 quoting by csv-stringify), with the cell-safety rules of docs/CSV.md:
 *
 *  - multi-line text cells (replies): the lines are joined by ` | ` ({@link LINE_SEPARATOR}).
 *  - `string` cells: every control and bidi formatting character is replaced by a visible escape
 *    (util/display-text.ts), then a cell starting with `=`, `+`, `-`, `@` (or their full-width forms), TAB or CR is
 *    prefixed with a single quote `'` so a spreadsheet does not run it as a formula. String cells are always
 *    quoted, so an empty string (`""`) differs from an absent value (nothing between the commas).
 *  - `int` / `float` cells: plain numbers, never prefixed (a negative number stays a number).
 *  - `bool` cells: `true` / `false`.
 *  - `time` cells: ISO 8601 UTC with microseconds, `2024-03-01T12:00:00.123456Z`.
 *  - absent values (null): an empty unquoted cell.
 */

import { stringify } from 'csv-stringify/sync';
import { safeText } from '../util/display-text.js';
import { type CellValue, type ColumnType, LINE_SEPARATOR } from './columns.js';
import { formatIsoMicros } from './iso-micros.js';

export interface CsvColumn {
  readonly name: string;
  readonly type: ColumnType;
  /** A multi-line text: its lines are joined by {@link LINE_SEPARATOR} (not escaped as `\x0A`). */
  readonly lines?: true;
}

export interface CsvFormatter {
  /** The header line, terminated. */
  readonly header: string;
  /** Lines for the given records (cells in column order), each terminated. */
  format(records: readonly (readonly CellValue[])[]): string;
}

export interface CsvFormatOptions {
  /** End records with CRLF (RFC 4180) instead of LF. */
  readonly crlf?: boolean;
}

type RawCell = string | number | boolean | null;

/** The value a cell is given to the CSV encoder: the model value after the safety rules. */
export function toCsvValue(value: CellValue, type: ColumnType, lines = false): RawCell {
  if (value === null) return null;
  switch (type) {
    case 'string':
      return safeText(lines ? String(value).split(/\r?\n/).join(LINE_SEPARATOR) : String(value));
    case 'time':
      return typeof value === 'number' ? formatIsoMicros(value) : safeText(String(value));
    case 'int':
    case 'float':
      return typeof value === 'number' ? (Number.isFinite(value) ? value : null) : null;
    case 'bool':
      return typeof value === 'boolean' ? value : null;
  }
}

export function createCsvFormatter(
  columns: readonly CsvColumn[],
  options: CsvFormatOptions = {},
): CsvFormatter {
  const recordDelimiter = options.crlf === true ? 'windows' : 'unix';
  const types = columns.map((c) => c.type);
  const multiline = columns.map((c) => c.lines === true);
  const header = stringify([columns.map((c) => c.name)], { record_delimiter: recordDelimiter });
  const stringifyOptions = {
    record_delimiter: recordDelimiter,
    quoted_string: true,
    escape_formulas: true,
    cast: { boolean: (v: boolean) => (v ? 'true' : 'false') },
  } as const;
  return {
    header,
    format(records) {
      if (records.length === 0) return '';
      const rows: RawCell[][] = new Array(records.length);
      for (let r = 0; r < records.length; r++) {
        const rec = records[r]!;
        const row: RawCell[] = new Array(types.length);
        for (let i = 0; i < types.length; i++) row[i] = toCsvValue(rec[i] ?? null, types[i]!, multiline[i]);
        rows[r] = row;
      }
      return stringify(rows, stringifyOptions);
    },
  };
}
