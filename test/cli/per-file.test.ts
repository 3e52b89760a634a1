import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsvText } from '../fleet/csv-text.js';
import { runMain } from '../helpers/run-main.js';

const capture = (name: string) => join(import.meta.dirname, '../../captures', name);
const work = mkdtempSync(join(tmpdir(), 'smtpscope-per-file-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a run over several files', () => {
  it('has a per-file section, a file column in every CSV level and log.file.path in NDJSON', async () => {
    const basic = capture('postfix-basic.pcap');
    const rejects = capture('postfix-rejects.pcap');
    const csv = join(work, 'csv');
    const json = join(work, 'all.ndjson');
    const r = await runMain([basic, rejects, '--summary', '--threads', '1', '--csv', csv, '--json', json]);
    expect(r.code, r.err).toBe(0);
    // postfix-basic: 2 sessions, nothing refused; postfix-rejects: 4 sessions, 5 failures (3 recipients, 2 senders).
    const section = r.out.slice(r.out.indexOf('Per file:'));
    expect(section).toMatch(new RegExp(`\\n {2}${basic} +2 +0 +2026-`));
    expect(section).toMatch(new RegExp(`\\n {2}${rejects} +4 +5 +2026-`));
    for (const level of ['sessions', 'transactions', 'recipients', 'commands']) {
      const table = parseCsvText(readFileSync(join(csv, `${level}.csv`), 'utf8'));
      expect(table.header[table.header.length - 1]).toBe('file');
      expect(table.rows.length).toBeGreaterThan(0);
      for (const row of table.rows)
        expect(row['file']).toBe(String(row['session_id']).startsWith('1-') ? basic : rejects);
    }
    const documents = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { log: { file: { path: string } } });
    expect(documents.map((d) => d.log.file.path)).toEqual([basic, basic, rejects, rejects, rejects, rejects]);
  });

  it('names the one file of a single-file run too, and has no per-file section then', async () => {
    const json = join(work, 'one.ndjson');
    const r = await runMain([capture('postfix-basic.pcap'), '--summary', '--json', json]);
    expect(r.out).not.toContain('Per file:');
    const first = JSON.parse(readFileSync(json, 'utf8').split('\n')[0] ?? '{}') as {
      log: { file: { path: string } };
    };
    expect(first.log.file.path).toBe(capture('postfix-basic.pcap'));
  });
});
