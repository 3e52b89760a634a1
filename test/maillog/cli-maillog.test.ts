/**
 * --maillog end to end through the command line, on the bundled captures and their Postfix logs: the recipients
 * CSV, NDJSON, bounces and transcript carry what the log line says.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';

const capture = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;

function csvRows(text: string): Record<string, string>[] {
  // The rows here hold no quoted line breaks or commas inside the checked columns' neighbours that matter:
  // a small parser for quoted CSV.
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n') {
      row.push(cell.replace(/\r$/, ''));
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ''])));
}

describe('--maillog on the command line', () => {
  it('fills the recipients CSV log_ columns and the NDJSON mta_log from a gzip-compressed log', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-maillog-'));
    const log = join(dir, 'mail.log.1.gz');
    writeFileSync(log, gzipSync(readFileSync(capture('bounce-dsn.maillog'))));
    const r = await runMain([
      capture('bounce-dsn.pcap'),
      '-p',
      '25,2590',
      '--maillog',
      log,
      '--csv',
      dir,
      '--json',
      join(dir, 'out.ndjson'),
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('maillog: 13 line(s) read (13 Postfix, 0 Exim, 0 of other programs, 0 bad)');
    expect(r.err).toContain('0 log entries outside the capture');
    const rows = csvRows(readFileSync(join(dir, 'recipients.csv'), 'utf8'));
    const gone = rows.find((x) => x['session_id'] === 'C000001' && x['address'] === 'gone@remote.test');
    expect(gone).toMatchObject({
      disposition: 'delivered',
      log_queue_id: '3B2411622F4',
      log_joined_by: 'queue-id',
      log_status: 'bounced',
      log_dsn: '5.1.1',
      log_relay: '127.0.0.1[127.0.0.1]:2590',
      log_delay_s: '0.14',
      log_attempts: '1',
      log_notification_queue_id: '5D97A1622F7',
    });
    expect(gone?.['log_reply']).toContain('said: 550 5.1.1 <gone@remote.test>');
    const docs = readFileSync(join(dir, 'out.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(docs[2].smtp.transactions[0].mta_log).toMatchObject({
      queue_id: '5D97A1622F7',
      joined_by: 'message-id',
      notification_for_queue_id: '3B2411622F4',
      notification_for_session_id: 'C000001',
    });
    expect(docs[0].smtp.transactions[0].recipients[1].mta_log).toMatchObject({
      status: 'sent',
      dsn: '2.0.0',
    });
  });

  it('bounces: a recipient accepted on the wire and bounced by the next hop is an after-queue failure', async () => {
    const r = await runMain(['bounces', capture('lmtp.pcap'), '--maillog', capture('lmtp.maillog')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/after-queue\s+552\s+5\.2\.2\s+alice@sender\.test\s+full@lmtp\.test/);
    expect(r.out).toContain('after queue: bounced by relay 127.0.0.1[127.0.0.1]:2592 (dsn 5.2.2)');
    const without = await runMain(['bounces', capture('lmtp.pcap')]);
    expect(without.out).not.toContain('after-queue');
  });

  it('transcript: the refusal Postfix logged without a queue id is shown under its session', async () => {
    const r = await runMain([
      'transcript',
      capture('postfix-rejects.pcap'),
      '--maillog',
      capture('postfix-rejects.maillog'),
    ]);
    expect(r.code).toBe(0);
    const first = r.out.split('\n\nSession ')[0] ?? '';
    expect(first).toContain(
      'logged without queue id: reject at MAIL 554 5.7.1: <spammer@bad.test>: Sender address rejected: Policy rejection: sender on local block list',
    );
  });

  it('refuses a missing log like a missing capture', async () => {
    const r = await runMain([
      capture('postfix-basic.pcap'),
      '--summary',
      '--maillog',
      '/nonexistent/mail.log',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('/nonexistent/mail.log');
  });
});
