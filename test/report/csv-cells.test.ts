import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { LEVELS, type LevelName } from '../../src/report/columns.js';
import { createCsvFormatter } from '../../src/report/csv-format.js';
import { toSessionDocument } from '../../src/report/json-document.js';
import { parseCsvText } from '../fleet/csv-text.js';
import { runMain } from '../helpers/run-main.js';
import { makeCommand, makeReply, makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

const work = mkdtempSync(join(tmpdir(), 'smtpscope-cells-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The cell `column` of the first row of one level for `session`, as read back: null for an empty cell. */
function cell(level: LevelName, session: SmtpSession, column: string): string | null | undefined {
  const spec = LEVELS[level];
  const formatter = createCsvFormatter(spec.columns);
  const table = parseCsvText(formatter.header + formatter.format(spec.records(session)));
  return table.rows[0]?.[column];
}

describe('CSV cells', () => {
  it('writes <> for the null sender and leaves an unknown sender empty', () => {
    const bounce = makeSession({ transactions: [makeTransaction({ mailFrom: '' })] });
    const midstream = makeSession({ transactions: [makeTransaction({ mailFrom: null })] });
    for (const level of ['transactions', 'recipients'] as const) {
      expect(cell(level, bounce, 'mail_from')).toBe('<>');
      expect(cell(level, midstream, 'mail_from')).toBeNull();
    }
  });

  it('joins the lines of a multi-line reply with " | " and keeps the lines in NDJSON', () => {
    const text = 'mx.example.net\nPIPELINING\nSIZE 10240000';
    const session = makeSession({
      commands: [
        makeCommand({ verb: 'EHLO', verbText: 'EHLO', reply: makeReply(250, null, text, T0 + 5_000) }),
      ],
    });
    expect(cell('commands', session, 'reply_text')).toBe('mx.example.net | PIPELINING | SIZE 10240000');
    expect(cell('sessions', session, 'last_reply_text')).toBe('mx.example.net | PIPELINING | SIZE 10240000');
    expect(JSON.stringify(toSessionDocument(session))).toContain(JSON.stringify(text));
  });
});

describe('extract index', () => {
  const capture = join(import.meta.dirname, '../../captures/postfix-rejects.pcap');

  it('lists the accepted recipients as the message recipients and the refused ones in their own column', async () => {
    const dir = join(work, 'eml');
    const r = await runMain([capture, '--extract', dir]);
    expect(r.code).toBe(0);
    const { rows } = parseCsvText(readFileSync(join(dir, 'index.csv'), 'utf8'));
    const row = rows.find((x) => x['session_id'] === 'C000002');
    // postfix-rejects.pcap, session 2: RCPT nosuchuser@localhost got 550 and greylist@sink.test 450.
    expect(row?.['recipients']).toBe('ok1@sink.test ok2@sink.test');
    expect(row?.['refused_recipients']).toBe('nosuchuser@localhost greylist@sink.test');
  });

  it('refuses a folder that is not empty for a file run, so no stale message hides outside index.csv', async () => {
    const dir = join(work, 'used');
    mkdirSync(dir);
    writeFileSync(join(dir, 'C000001-1.eml'), 'an earlier message');
    const r = await runMain([capture, '--extract', dir]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`--extract ${dir}: the folder is not empty`);
  });
});
