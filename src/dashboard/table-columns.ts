/**
 * Fitting a table's columns to the terminal (pure): the sessions table and the bounce list share it. Each
 * column has a minimum and a maximum width; when the table is too narrow, columns go in the table's drop
 * order; spare room grows columns in its grow order, and what is left goes to the table's last column.
 */

import { displayWidth, fitCell } from '../util/display-text.js';

export interface ColumnSpec<Id extends string> {
  readonly id: Id;
  readonly title: string;
  readonly min: number;
  readonly max: number;
  readonly align: 'left' | 'right';
}

export interface TableSpec<Id extends string> {
  /** Columns in display order. */
  readonly columns: readonly ColumnSpec<Id>[];
  /** Columns dropped first when the table is too narrow. */
  readonly drop: readonly Id[];
  /** Columns grown first when there is room. */
  readonly grow: readonly Id[];
  /** The column that takes whatever room is left. */
  readonly rest: Id;
  /** A column that keeps its ideal width (up to that many columns beyond its minimum) while others can go. */
  readonly keepWhole?: Id;
}

export interface ColumnWidths<Id extends string> {
  readonly columns: readonly { readonly spec: ColumnSpec<Id>; readonly width: number }[];
}

/** Which columns fit in `width` and how wide each is, given the cells of the rows on screen. */
export function fitTable<Id extends string>(
  table: TableSpec<Id>,
  width: number,
  cells: readonly Readonly<Record<Id, string>>[],
  sortColumn: Id | null = null,
): ColumnWidths<Id> {
  const ideal = new Map<Id, number>();
  for (const c of table.columns) {
    // The sort column's title carries an arrow (" ▲").
    let w = displayWidth(c.title) + (c.id === sortColumn ? 2 : 0);
    for (const row of cells) w = Math.max(w, displayWidth(row[c.id]));
    ideal.set(c.id, Math.min(c.max, Math.max(c.min, w)));
  }
  let shown = [...table.columns];
  const total = (cols: readonly ColumnSpec<Id>[]): number =>
    cols.reduce((sum, c) => sum + c.min, 0) + Math.max(0, cols.length - 1);
  const whole =
    table.keepWhole === undefined ? undefined : table.columns.find((c) => c.id === table.keepWhole);
  const reserve = whole === undefined ? 0 : Math.max(0, (ideal.get(whole.id) ?? 0) - whole.min);
  for (const id of table.drop) {
    if (total(shown) + reserve <= width) break;
    shown = shown.filter((c) => c.id !== id);
  }
  const widths = new Map<Id, number>(shown.map((c) => [c.id, c.min]));
  let spare = width - total(shown);
  // The sort column first gets room for its title and arrow.
  const sortSpec = shown.find((c) => c.id === sortColumn);
  if (sortSpec !== undefined) {
    const current = widths.get(sortSpec.id) ?? sortSpec.min;
    const grow = Math.min(spare, Math.min(sortSpec.max, displayWidth(sortSpec.title) + 2) - current);
    if (grow > 0) {
      widths.set(sortSpec.id, current + grow);
      spare -= grow;
    }
  }
  for (const id of table.grow) {
    const current = widths.get(id);
    if (current === undefined || spare <= 0) continue;
    const grow = Math.min(spare, (ideal.get(id) ?? current) - current);
    if (grow > 0) {
      widths.set(id, current + grow);
      spare -= grow;
    }
  }
  if (spare > 0 && widths.has(table.rest)) widths.set(table.rest, (widths.get(table.rest) ?? 0) + spare);
  return { columns: shown.map((spec) => ({ spec, width: widths.get(spec.id) ?? spec.min })) };
}

/** One row of cells laid out in the fitted columns, exactly `width` columns wide. */
export function formatTableRow<Id extends string>(
  layout: ColumnWidths<Id>,
  cells: Readonly<Record<Id, string>>,
  width: number,
): string {
  const cell = (c: { readonly spec: ColumnSpec<Id>; readonly width: number }): string => {
    const text = cells[c.spec.id];
    // Times are HH:MM:SS.mmm; without room for the milliseconds, whole seconds read better than a cut.
    return fitCell(
      c.spec.id === 'time' && c.width < text.length ? text.slice(0, 8) : text,
      c.width,
      c.spec.align,
    );
  };
  return fitCell(layout.columns.map(cell).join(' '), width);
}

/** Where each shown column starts and ends (0-based, end exclusive) in a formatted row: for mouse clicks. */
export function columnSpans<Id extends string>(
  layout: ColumnWidths<Id>,
): readonly { readonly id: Id; readonly from: number; readonly to: number }[] {
  const out: { id: Id; from: number; to: number }[] = [];
  let at = 0;
  for (const c of layout.columns) {
    out.push({ id: c.spec.id, from: at, to: at + c.width });
    at += c.width + 1;
  }
  return out;
}
