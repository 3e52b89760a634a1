/** A small RFC 4180 reader for the CSV files the report writes (quoted cells, doubled quotes, LF or CRLF). */

export interface CsvTable {
  readonly header: readonly string[];
  /** Cells by column name; an unquoted empty cell is null, a quoted one a string. */
  readonly rows: readonly Readonly<Record<string, string | null>>[];
}

export function parseCsvText(text: string): CsvTable {
  const records: (string | null)[][] = [];
  let record: (string | null)[] = [];
  let cell = '';
  let quoted = false;
  let inQuotes = false;
  let i = 0;
  const endCell = () => {
    record.push(quoted || cell !== '' ? cell : null);
    cell = '';
    quoted = false;
  };
  while (i < text.length) {
    const ch = text[i]!;
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        inQuotes = false;
      } else cell += ch;
      i++;
      continue;
    }
    if (ch === '"') {
      inQuotes = true;
      quoted = true;
    } else if (ch === ',') endCell();
    else if (ch === '\n' || ch === '\r') {
      endCell();
      records.push(record);
      record = [];
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else cell += ch;
    i++;
  }
  if (cell !== '' || quoted || record.length > 0) {
    endCell();
    records.push(record);
  }
  const [header = [], ...body] = records;
  const names = header.map((h) => h ?? '');
  return {
    header: names,
    rows: body.map((r) => Object.fromEntries(names.map((n, k) => [n, r[k] ?? null]))),
  };
}
