/**
 * Reads a Zeek ASCII log (tab-separated, `#fields` header, or the bare header line of zeek-cut output) into rows
 * of field name → raw value.
 * `-` (unset) and `(empty)` are kept as written; callers decide what they mean.
 */

export type ZeekRow = Readonly<Record<string, string>>;

export function parseZeekLog(text: string): ZeekRow[] {
  let fields: string[] | null = null;
  const rows: ZeekRow[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith('#fields\t')) {
      fields = line.split('\t').slice(1);
      continue;
    }
    if (line === '' || line.startsWith('#')) continue;
    if (fields === null) {
      // zeek-cut output (as btest baselines often are) has a bare header line of field names instead.
      fields = line.split('\t');
      continue;
    }
    const values = line.split('\t');
    const row: Record<string, string> = {};
    fields.forEach((name, i) => {
      row[name] = values[i] ?? '-';
    });
    rows.push(row);
  }
  return rows;
}

/** A Zeek set/vector cell as a list (`-` and `(empty)` are empty lists). */
export function zeekList(cell: string | undefined): string[] {
  if (cell === undefined || cell === '-' || cell === '(empty)') return [];
  return cell.split(',');
}
