import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BOUNCE_COLUMNS, LEVEL_NAMES, LEVELS } from '../../src/report/columns.js';
import { EXTRACT_INDEX_COLUMNS } from '../../src/report/extract-sink.js';
import { makeRecipient, makeReply, makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

/** The `| \`name\` | type | ... |` rows of the table under `## heading` in a markdown file. */
function docTable(file: string, heading: string): { name: string; type: string }[] {
  const text = readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');
  const start = text.indexOf(`\n## ${heading}\n`);
  expect(start, `heading ${heading} in ${file}`).toBeGreaterThanOrEqual(0);
  const rest = text.slice(start + heading.length + 5);
  const end = rest.indexOf('\n## ');
  const section = end === -1 ? rest : rest.slice(0, end);
  const rows: { name: string; type: string }[] = [];
  for (const line of section.split('\n')) {
    const m = /^\| `([^`]+)` \| (\w+) \|/.exec(line);
    if (m !== null) rows.push({ name: m[1]!, type: m[2]! });
  }
  return rows;
}

describe('columns', () => {
  it.each(LEVEL_NAMES)('documents every %s column, in order, with its type', (level) => {
    const spec = LEVELS[level].columns.map((c) => ({ name: c.name, type: c.type }));
    expect(docTable('CSV.md', `${level}.csv`)).toEqual(spec);
  });

  it('documents the extract index and bounces.csv columns', () => {
    expect(docTable('CSV.md', 'index.csv (extracted messages)')).toEqual(
      EXTRACT_INDEX_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    );
    expect(docTable('BOUNCES.md', 'bounces.csv')).toEqual(
      BOUNCE_COLUMNS.map((c) => ({ name: c.name, type: c.type })),
    );
  });

  it('uses unique snake_case names and joins levels on session_id', () => {
    for (const level of LEVEL_NAMES) {
      const names = LEVELS[level].columns.map((c) => c.name);
      expect(new Set(names).size).toBe(names.length);
      for (const n of names) expect(n).toMatch(/^[a-z][a-z0-9_]*$/);
      expect(names[0]).toBe('session_id');
    }
    expect(LEVELS.transactions.columns[1]?.name).toBe('depth');
    expect(LEVELS.recipients.columns[1]?.name).toBe('depth');
  });

  it('gives one row per session, transaction, recipient and command', () => {
    const t1 = makeTransaction({
      recipients: [makeRecipient(), makeRecipient({ index: 2, address: 'carol@example.net' })],
    });
    const t2 = makeTransaction({ depth: 2, startedAt: T0 + 120_000 });
    const s = makeSession({ transactions: [t1, t2] });
    expect(LEVELS.sessions.records(s)).toHaveLength(1);
    expect(LEVELS.transactions.records(s)).toHaveLength(2);
    expect(LEVELS.recipients.records(s)).toHaveLength(3);
    // EHLO + (MAIL, 2 RCPT, DATA, .) + (MAIL, RCPT, DATA, .) + QUIT
    expect(LEVELS.commands.records(s)).toHaveLength(11);
  });

  it('fills session counters from the model', () => {
    const rejected = makeRecipient({
      index: 2,
      address: 'nobody@example.net',
      rcptReply: makeReply(
        550,
        '5.1.1',
        '5.1.1 <nobody@example.net>: Recipient address rejected: User unknown',
      ),
      finalReply: null,
      disposition: 'rejected-rcpt',
      reasonClass: 'mailbox-unknown',
    });
    const s = makeSession({
      transactions: [makeTransaction({ recipients: [makeRecipient(), rejected] })],
      anomalies: [
        { code: 'bare-lf', direction: 'c2s', detail: '', offset: 10, tsMicros: T0 },
        { code: 'extra-cr', direction: 'c2s', detail: '', offset: 20, tsMicros: T0 },
        { code: 'bare-lf', direction: 'c2s', detail: '', offset: 30, tsMicros: T0 },
      ],
    });
    const cols = LEVELS.sessions.columns.map((c) => c.name);
    const row = LEVELS.sessions.records(s)[0]!;
    const get = (n: string) => row[cols.indexOf(n)];
    expect(get('recipients')).toBe(2);
    expect(get('recipients_delivered')).toBe(1);
    expect(get('recipients_failed')).toBe(1);
    expect(get('anomalies')).toBe('bare-lf:2 extra-cr:1');
    expect(get('started_at_us')).toBe(T0);
    expect(get('last_reply_code')).toBe(221);
    expect(get('commands_count')).toBe(s.commands.length);

    const rcols = LEVELS.recipients.columns.map((c) => c.name);
    const rrow = LEVELS.recipients.records(s)[1]!;
    expect(rrow[rcols.indexOf('disposition')]).toBe('rejected-rcpt');
    expect(rrow[rcols.indexOf('rcpt_code')]).toBe(550);
    expect(String(rrow[rcols.indexOf('explanation')])).toContain('nobody@example.net');
    // the delivered recipient has no explanation
    expect(LEVELS.recipients.records(s)[0]![rcols.indexOf('explanation')]).toBeNull();
  });
});
