/** --json-level recipients, the capture file and sensor fields, and --zeek through the command line. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain } from '../helpers/run-main.js';

const capture = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;
const lines = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe('--json-level recipients', () => {
  it('writes one document per RCPT, each with its own outcome, so a query on one recipient sees only its fate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-jl-'));
    const out = join(dir, 'r.ndjson');
    const r = await runMain([
      capture('postfix-rejects.pcap'),
      '--json',
      out,
      '--json-level',
      'recipients',
      '--sensor',
      'probe-1',
    ]);
    expect(r.code).toBe(0);
    const docs = lines(out);
    // postfix-rejects.swaks.txt: session 2 sends four RCPTs (250, 550 5.1.1, 450 4.2.0, 250); session 3 one; session 1
    // is refused at MAIL and session 4 at MAIL (530): no RCPT.
    expect(docs.map((d) => [d.smtp.session_id, d.smtp.recipient.address, d.event.outcome])).toEqual([
      ['C000002', 'ok1@sink.test', 'success'],
      ['C000002', 'nosuchuser@localhost', 'failure'],
      ['C000002', 'greylist@sink.test', 'failure'],
      ['C000002', 'ok2@sink.test', 'success'],
      ['C000003', 'bob@sink.test', 'failure'],
    ]);
    const bob = docs[1];
    expect(bob.event.dataset).toBe('smtpscope.recipient');
    expect(bob['@timestamp']).toBe(bob.smtp.recipient.time);
    expect(bob.smtp.recipient.rcpt_reply).toMatchObject({ code: 550, enhanced_status: '5.1.1' });
    expect(bob.smtp.transaction).toMatchObject({ depth: 1, mail_from: 'alice@sender.test' });
    expect(bob.smtp.transaction.recipients).toBeUndefined();
    expect(bob.smtp.transactions).toBeUndefined();
    expect(bob.observer.name).toBe('probe-1');
    expect(bob.log.file.path).toBe(capture('postfix-rejects.pcap'));
    expect(bob.network.community_id).toMatch(/^1:[A-Za-z0-9+/]{27}=$/);
  });

  it('refuses an unknown level', async () => {
    const r = await runMain([capture('postfix-basic.pcap'), '--json', '-', '--json-level', 'commands']);
    expect(r.code).toBe(2);
  });

  it('names the capture file of each session when there are several inputs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-jf-'));
    const out = join(dir, 's.ndjson');
    const r = await runMain([
      capture('postfix-basic.pcap'),
      capture('ipv6.pcap'),
      '--json',
      out,
      '--threads',
      '1',
    ]);
    expect(r.code).toBe(0);
    expect(lines(out).map((d) => [d.smtp.session_id, d.log.file.path])).toEqual([
      ['1-C000001', capture('postfix-basic.pcap')],
      ['1-C000002', capture('postfix-basic.pcap')],
      ['2-C000001', capture('ipv6.pcap')],
    ]);
  });
});

describe('--zeek', () => {
  it('writes smtp.log and conn.log that share a uid per connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-zeek-'));
    const r = await runMain([capture('postfix-basic.pcap'), '--zeek', dir, '--summary']);
    expect(r.code).toBe(0);
    const smtp = readFileSync(join(dir, 'smtp.log'), 'utf8');
    const conn = readFileSync(join(dir, 'conn.log'), 'utf8');
    expect(smtp.startsWith('#separator \\x09\n#set_separator\t,\n')).toBe(true);
    expect(smtp).toMatch(/\n#close\t\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\n$/);
    const rows = (text: string) =>
      text
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#'))
        .map((l) => l.split('\t'));
    const s = rows(smtp);
    const c = rows(conn);
    expect(s).toHaveLength(2);
    expect(c).toHaveLength(2);
    expect(s.map((x) => x[1])).toEqual(c.map((x) => x[1]));
    // swaks: first session to bob and carol, both accepted, "250 2.0.0 Ok: queued as ..."
    expect(new Set(s[0]?.[9]?.split(','))).toEqual(new Set(['bob@sink.test', 'carol@sink.test']));
    expect(s[0]?.[21]).toMatch(/^250 2\.0\.0 Ok: queued as [0-9A-F]+$/);
    expect(c[0]?.slice(6, 8)).toEqual(['tcp', 'smtp']);
    expect(c[0]?.[11]).toBe('SF');
  });
});
