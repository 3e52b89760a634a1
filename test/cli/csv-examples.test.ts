/**
 * docs/CSV.md shows one example row per level (and one of the extraction index.csv), made from
 * captures/postfix-rejects.pcap: each must be the row the current code writes for it, cell for cell.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsvText } from '../fleet/csv-text.js';
import { runMain } from '../helpers/run-main.js';

const ROOT = join(import.meta.dirname, '../..');
const CSV_DOC = readFileSync(join(ROOT, 'docs/CSV.md'), 'utf8');

/** The example block of a section as one CSV record under its own header, parsed. */
function docExample(heading: string): Record<string, string | null> {
  const start = CSV_DOC.indexOf(`\n## ${heading}\n`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = CSV_DOC.indexOf('\n## ', start + 4);
  const section = CSV_DOC.slice(start, end < 0 ? undefined : end);
  const block = /\nExample: [\s\S]*?```text\n([\s\S]*?)```/.exec(section)?.[1];
  expect(block, `${heading}: example block`).toBeDefined();
  const pairs = block!
    .trimEnd()
    .split('\n')
    .map((line) => {
      const m = /^(\S+) +(.*)$/.exec(line);
      expect(m, line).not.toBeNull();
      return [m![1]!, m![2] === '(empty)' ? '' : m![2]!] as const;
    });
  const csv = `${pairs.map(([name]) => name).join(',')}\n${pairs.map(([, cell]) => cell).join(',')}\n`;
  const rows = parseCsvText(csv).rows;
  expect(rows).toHaveLength(1);
  return { ...rows[0]! };
}

describe('docs/CSV.md examples', () => {
  const work = mkdtempSync(join(tmpdir(), 'smtpscope-csv-doc-'));
  const tables: Record<string, ReturnType<typeof parseCsvText>> = {};
  beforeAll(async () => {
    // Run from the checkout with the path as the docs show it: the `file` column holds it as given.
    const cwd = process.cwd();
    process.chdir(ROOT);
    const r = await runMain([
      'captures/postfix-rejects.pcap',
      '--summary',
      '--csv',
      join(work, 'csv'),
      '--extract',
      join(work, 'eml'),
    ]);
    process.chdir(cwd);
    expect(r.code, r.err).toBe(0);
    for (const level of ['sessions', 'transactions', 'recipients', 'commands'])
      tables[level] = parseCsvText(readFileSync(join(work, 'csv', `${level}.csv`), 'utf8'));
    tables['index'] = parseCsvText(readFileSync(join(work, 'eml', 'index.csv'), 'utf8'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it.each([
    ['sessions.csv', 'sessions', ['session_id']],
    ['transactions.csv', 'transactions', ['session_id', 'depth']],
    ['recipients.csv', 'recipients', ['session_id', 'depth', 'index']],
    ['commands.csv', 'commands', ['session_id', 'seq']],
    ['index.csv (extracted messages)', 'index', ['file']],
  ] as const)('shows in "%s" a row the code writes, every column in order', (heading, level, keys) => {
    const example = docExample(heading);
    const table = tables[level]!;
    expect(Object.keys(example)).toEqual(table.header);
    const row = table.rows.find((r) => keys.every((k) => r[k] === example[k]));
    expect(row, `${heading}: no row with ${keys.map((k) => `${k}=${example[k]}`).join(', ')}`).toBeDefined();
    expect(example).toEqual(row);
  });
});
