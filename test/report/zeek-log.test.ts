/**
 * --zeek against Zeek's own expected logs (btest baselines in the peer captures folder, read at test time):
 * the header lines and every field Zeek and smtpscope both know, row by row. uid and ts are masked or random in
 * the baselines; `from` / `to` / `cc` compare by address (Zeek keeps the raw header, smtpscope the decoded one).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import {
  CONN_LOG,
  connLogRow,
  formatZeekRow,
  SMTP_LOG,
  smtpLogRows,
  zeekEscape,
  zeekHeader,
  zeekUid,
} from '../../src/report/zeek-log.js';
import { parseZeekLog, zeekList } from '../harness/conformance/zeek-log.js';

const ZEEK = join(import.meta.dirname, '..', '..', '..', 'shared', 'captures', 'peer', 'zeek');
const absent = !existsSync(ZEEK);

/** Baseline file → capture it was made from (docs of the peer folder, INDEX.md). */
const CAPTURE_OF: Record<string, string> = {
  basic: 'smtp.pcap',
  'attachment-msg': 'smtp-attachment-msg.pcap',
  'bdat-0-last': 'rfc3030-bdat-0-last.pcap',
  bdat: 'rfc3030-bdat-example1.pcap',
  'bdat-multipart': 'rfc3030-bdat-multipart.pcap',
  'bdat-chunk-size-overflow': 'smtp-bdat-cmd-chunk-size-overflow.pcap',
  'bdat-chunk-size-overflow2': 'smtp-bdat-cmd-chunk-size-overflow2.pcap',
  'bdat-negative-chunk-size': 'smtp-bdat-cmd-negative-chunk-size.pcap',
  starttls: 'smtp-starttls.pcap',
  'mime-header-size-limit': 'mime-header-size-limit.pcap.gz',
};

const SAME = [
  'id.orig_h',
  'id.orig_p',
  'id.resp_h',
  'id.resp_p',
  'trans_depth',
  'helo',
  'mailfrom',
  'date',
  'reply_to',
  'msg_id',
  'in_reply_to',
  'subject',
  'x_originating_ip',
  'first_received',
  'second_received',
  'last_reply',
  'path',
  'user_agent',
  'tls',
];
const AS_SET = ['rcptto'];
const AS_ADDRESSES = ['from', 'to', 'cc'];

const bare = (a: string) => (/<([^<>]*)>/.exec(a)?.[1] ?? a).trim().toLowerCase();

async function sessionsOf(capture: string): Promise<SmtpSession[]> {
  const path = join(ZEEK, capture);
  const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
  return sessions;
}

function ourRows(sessions: readonly SmtpSession[], spec: 'smtp' | 'conn') {
  const header = zeekHeader(spec === 'smtp' ? SMTP_LOG : CONN_LOG, 0);
  const body = sessions
    .flatMap((s) => (spec === 'smtp' ? smtpLogRows(s) : [connLogRow(s)]))
    .map(formatZeekRow)
    .join('');
  return parseZeekLog(header + body);
}

describe.skipIf(absent)('Zeek logs against Zeek baselines (peer captures)', () => {
  const baselines = absent
    ? []
    : readdirSync(ZEEK).filter((n) => /^scripts\.base\.protocols\.smtp\.[^_]+__(smtp|conn)\.log$/.test(n));

  it('finds the baselines', () => {
    expect(baselines.length).toBeGreaterThanOrEqual(9);
  });

  it.each(baselines)('%s: same header and the same values, field by field', async (name) => {
    const m = /smtp\.([^_]+)__(smtp|conn)\.log$/.exec(name);
    const test = m?.[1] ?? '';
    const kind = (m?.[2] ?? 'smtp') as 'smtp' | 'conn';
    const capture = CAPTURE_OF[test];
    expect(capture, `capture of ${test}`).toBeDefined();
    const text = readFileSync(join(ZEEK, name), 'utf8');
    const expected = parseZeekLog(text);
    const fieldsLine = /^#fields\t(.*)$/m.exec(text)?.[1];
    if (fieldsLine !== undefined) {
      // A full log: the same columns, in order, with the same types.
      expect(fieldsLine.split('\t')).toEqual(SMTP_LOG.fields);
      expect(/^#types\t(.*)$/m.exec(text)?.[1]?.split('\t')).toEqual(SMTP_LOG.types);
    }
    const sessions = await sessionsOf(capture ?? '');
    const ours = ourRows(sessions, kind);
    expect(ours.length, 'rows').toBe(expected.length);
    expected.forEach((row, i) => {
      const mine = ours[i] ?? {};
      for (const field of Object.keys(row)) {
        const want = row[field] ?? '-';
        const got = mine[field] ?? '-';
        const at = `${name} row ${i + 1} ${field}`;
        if (field === 'uid') expect(got, at).toMatch(/^C[0-9A-Za-z]{10,20}$/);
        else if (field === 'ts' || field === 'fuids' || field === 'history') continue;
        else if (AS_SET.includes(field)) expect(new Set(zeekList(got)), at).toEqual(new Set(zeekList(want)));
        else if (AS_ADDRESSES.includes(field))
          expect(new Set(zeekList(got).map(bare)), at).toEqual(new Set(zeekList(want).map(bare)));
        else if (SAME.includes(field) || kind === 'conn') expect(got, at).toBe(want);
      }
    });
  });
});

describe('Zeek format', () => {
  it('escapes the separators and the unset / empty markers as Zeek does', () => {
    expect(zeekEscape('a\tb\\c', false)).toBe('a\\x09b\\x5cc');
    expect(zeekEscape('x,y', true)).toBe('x\\x2cy');
    expect(zeekEscape('-', false)).toBe('\\x2d');
    expect(formatZeekRow(['', null, [], ['a,b', 'c']])).toBe('(empty)\t-\t(empty)\ta\\x2cb,c\n');
  });

  it('gives one uid per connection, the same in both logs and in every run', async () => {
    if (absent) return;
    const sessions = await sessionsOf('smtp.pcap');
    const again = await sessionsOf('smtp.pcap');
    expect(sessions.map((s) => zeekUid(s))).toEqual(again.map((s) => zeekUid(s)));
    expect(new Set(sessions.map((s) => zeekUid(s))).size).toBe(sessions.length);
    expect(ourRows(sessions, 'smtp').map((r) => r['uid'])).toEqual(
      ourRows(sessions, 'conn').map((r) => r['uid']),
    );
  });
});
