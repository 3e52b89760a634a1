/**
 * TLS decryption in the tabular and run-level outputs, on the real captures of captures/ (make-tls-captures.sh):
 * the NDJSON run record counts sessions by decryption outcome, and the commands CSV says which commands were
 * read inside TLS. The expected outcomes are those the captures were made to have (make-tls-captures.sh: one
 * session's key log lines removed, one hex digit of a secret changed), as tshark confirms when it makes them.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsvText } from '../fleet/csv-text.js';
import { runMain } from '../helpers/run-main.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-tls-outputs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runRecord(args: readonly string[], name: string) {
  const json = join(dir, `${name}.ndjson`);
  const r = await runMain([...args, '--json', json, '--connection-attempts']);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const docs = readFileSync(json, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const last = docs.at(-1);
  expect(last.event.dataset).toBe('smtpscope.run');
  return last.smtp.run;
}

describe('the NDJSON run record', () => {
  it('counts sessions by decryption outcome', async () => {
    // tls-missing-key: session 1 decrypted, session 2 has no key log line; tls-corrupt-secret: both keys wrong;
    // postfix-basic: no TLS, so no decryption tried.
    const run = await runRecord(
      [
        'captures/tls-missing-key.pcap',
        'captures/tls-corrupt-secret.pcap',
        'captures/postfix-basic.pcap',
        '--tls-keylog',
        'captures/tls-missing-key.keys',
        '--tls-keylog',
        'captures/tls-corrupt-secret.keys',
      ],
      'mixed',
    );
    expect(run.tls_decryption).toEqual({
      decrypted: 1,
      no_key: 1,
      bad_key: 2,
      unsupported: 0,
      not_tls: 0,
      incomplete: 0,
      pending: 0,
    });
    expect(run.sessions).toBeGreaterThan(4);
  });

  it('counts nothing when no key material was given', async () => {
    const run = await runRecord(['captures/tls13-suites.pcap'], 'nokeys');
    expect(run.sessions).toBe(3);
    expect(Object.values(run.tls_decryption)).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });
});

/** The commands CSV of a run: per session, the verbs sent in clear and those read inside TLS. */
async function commandsByEncryption(args: readonly string[], name: string) {
  const csv = join(dir, `${name}-commands.csv`);
  const r = await runMain([...args, '--csv-commands', csv]);
  expect(r.err).toBe('');
  expect(r.code).toBe(0);
  const bySession = new Map<string, { clear: string[]; inside: string[] }>();
  for (const row of parseCsvText(readFileSync(csv, 'utf8')).rows) {
    const entry = bySession.get(row['session_id']!) ?? { clear: [], inside: [] };
    if (row['encrypted'] === 'true') entry.inside.push(row['verb']!);
    else if (row['encrypted'] === 'false') entry.clear.push(row['verb']!);
    else throw new Error(`encrypted cell ${row['encrypted']}`);
    bySession.set(row['session_id']!, entry);
  }
  return [...bySession.values()];
}

describe('the commands CSV', () => {
  it('marks the commands read inside TLS', async () => {
    // s_client sends EHLO and STARTTLS in clear itself, then the dialogue of tls13-suites.client.txt inside TLS.
    const sessions = await commandsByEncryption(
      ['captures/tls13-suites.pcap', '--tls-keylog', 'captures/tls13-suites.keys'],
      'keys',
    );
    expect(sessions).toHaveLength(3);
    for (const s of sessions) {
      expect(s.clear).toEqual(['EHLO', 'STARTTLS']);
      expect(s.inside).toEqual(['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', 'END-OF-DATA', 'QUIT']);
    }
  });

  it('marks nothing without keys', async () => {
    const sessions = await commandsByEncryption(['captures/tls13-suites.pcap'], 'nokeys');
    expect(sessions).toEqual(Array.from({ length: 3 }, () => ({ clear: ['EHLO', 'STARTTLS'], inside: [] })));
  });
});
