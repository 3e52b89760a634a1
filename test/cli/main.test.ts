import { spawnSync } from 'node:child_process';
import {
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCsvText } from '../fleet/csv-text.js';
import { builtCli } from '../helpers/built-cli.js';
import { connectionFrames } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';
import { runMain } from '../helpers/run-main.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const capture = (name: string) => join(CAPTURES, name);
const TEST_PORTS = '25,465,587,2525,24,366,2526,2587-2592';
const work = mkdtempSync(join(tmpdir(), 'smtpscope-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const run = runMain;

/** Captures stdout written by sinks that write to process.stdout directly ('-' targets). */
async function runCapturingStdout(
  argv: string[],
): Promise<{ code: number; out: string; err: string; stdout: string }> {
  const chunks: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  try {
    const r = await run(argv);
    return { ...r, stdout: chunks.join('') };
  } finally {
    process.stdout.write = original;
  }
}

/**
 * One connection as a pcap built in code: client and server payloads in order, a handshake and FINs. Used for an
 * AUTH LOGIN whose first 334 is glued to the EHLO reply (no CRLF), so the replies look one short.
 */
function misalignedAuthCapture(user: string, password: string): string {
  const client = { ip: '192.0.2.10', port: 40_001 };
  const server = { ip: '198.51.100.25', port: 25 };
  const b64 = (text: string) => Buffer.from(text).toString('base64');
  const script: ['c2s' | 's2c', string][] = [
    ['s2c', '220 mx.example.org ESMTP\r\n'],
    ['c2s', 'EHLO c.example\r\n'],
    ['s2c', '250-mx.example.org\r\n250 AUTH LOGIN'],
    ['c2s', 'AUTH LOGIN\r\n'],
    ['s2c', '334 VXNlcm5hbWU6\r\n'],
    ['c2s', `${b64(user)}\r\n`],
    ['s2c', '334 UGFzc3dvcmQ6\r\n'],
    ['c2s', `${b64(password)}\r\n`],
    ['s2c', '235 2.7.0 Authentication successful\r\n'],
    ['c2s', 'MAIL FROM:<alice@c.example>\r\n'],
    ['s2c', '250 Ok\r\n'],
    ['c2s', 'QUIT\r\n'],
    ['s2c', '221 Bye\r\n'],
  ];
  const frames = connectionFrames(client, server, script, 's2c');
  const path = join(work, 'misaligned-auth.pcap');
  writeFileSync(
    path,
    buildPcap({
      endian: 'le',
      records: frames.map((data, i) => ({ seconds: 1_700_000_000, fraction: i * 1000, data })),
    }),
  );
  return path;
}

describe('cli main', () => {
  it('prints the summary of a capture with failures grouped by reason, and exits 0', async () => {
    const r = await run([capture('postfix-rejects.pcap'), '--summary']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Sessions: 4 {3}transactions: 4 {3}recipients: 5/);
    for (const reason of [
      'mailbox-unknown',
      'greylisted',
      'message-too-big',
      'policy-or-spam',
      'tls-required',
    ])
      expect(r.out).toContain(reason);
    expect(r.out).toContain('127.0.0.1:2525');
  });

  it('refuses a file that is not a capture with a clear message and exit code 1', async () => {
    const r = await run([join(import.meta.dirname, '../../README.md')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/not a pcap, pcapng or gzip file/);
  });

  it('reports a missing file and a usage error with their exit codes', async () => {
    expect((await run([join(work, 'nope.pcap')])).code).toBe(1);
    const usage = await run(['--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.err).toContain('--help');
    expect((await run(['--ports', '99999', capture('postfix-basic.pcap')])).code).toBe(2);
    expect((await run(['-c', '10', capture('postfix-basic.pcap')])).err).toContain('live capture');
  });

  it('keeps every complete packet of a truncated capture, warns with the byte offset and exits 1', async () => {
    const bytes = readFileSync(capture('postfix-rejects.pcap'));
    const cut = join(work, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
    const r = await run([cut, '--summary']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/ends inside the \d+-byte record at byte \d+/);
    expect(r.out).toMatch(/Sessions: 4/);
  });

  it('writes the four CSV levels, joined by session id', async () => {
    const dir = join(work, 'csv');
    const r = await run([capture('postfix-rejects.pcap'), '--csv', dir]);
    expect(r.code).toBe(0);
    expect(readdirSync(dir).sort()).toEqual([
      'commands.csv',
      'recipients.csv',
      'sessions.csv',
      'transactions.csv',
    ]);
    const lines = (f: string) => readFileSync(join(dir, f), 'utf8').trim().split(/\r?\n/);
    expect(lines('sessions.csv')).toHaveLength(5);
    expect(lines('recipients.csv')).toHaveLength(6);
    const recipients = readFileSync(join(dir, 'recipients.csv'), 'utf8');
    expect(recipients).toContain('nosuchuser@localhost');
    expect(recipients).toMatch(/5\.1\.1/);
    const sessionIds = lines('sessions.csv')
      .slice(1)
      .map((l) => l.split(',')[0]);
    for (const row of lines('recipients.csv').slice(1)) expect(sessionIds).toContain(row.split(',')[0]);
  });

  it('analyses every capture in a folder, on worker threads, with the same rows as one file after the other', () => {
    // Worker threads load JavaScript: this runs the built CLI as a process.
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [builtCli(), ...args], { encoding: 'utf8', timeout: 60_000 });
    const dir = join(work, 'folder');
    mkdirSync(dir);
    const names = ['nodemailer-pipelining.pcapng', 'postfix-basic.pcap', 'postfix-rejects.pcap'];
    for (const n of names) copyFileSync(capture(n), join(dir, n));
    writeFileSync(join(dir, 'notes.txt'), 'not a capture');
    const folder = cli([dir, '--ports', TEST_PORTS, '--csv', join(work, 'folder-csv')]);
    expect(folder.status).toBe(0);
    expect(folder.stderr).toContain(
      'skipped 1 file(s) in the folder(s) given (not a pcap, pcapng or gzip file):',
    );
    expect(folder.stderr).toContain('notes.txt');
    // The same files one after the other, in one thread (in-process).
    const sequential = cli([
      ...names.map((n) => join(dir, n)),
      '--ports',
      TEST_PORTS,
      '--csv',
      join(work, 'files-csv'),
    ]);
    expect(sequential.status).toBe(0);
    for (const level of ['sessions', 'transactions', 'recipients', 'commands']) {
      const a = readFileSync(join(work, 'folder-csv', `${level}.csv`), 'utf8');
      expect(a).toBe(readFileSync(join(work, 'files-csv', `${level}.csv`), 'utf8'));
    }
    const ids = readFileSync(join(work, 'folder-csv', 'sessions.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(',')[0]);
    expect(ids).toHaveLength(1 + 2 + 4);
    expect(new Set(ids.map((id) => id?.replace(/"/g, '').split('-')[0]))).toEqual(new Set(['1', '2', '3']));
    const none = join(work, 'no-captures');
    mkdirSync(none);
    writeFileSync(join(none, 'readme.txt'), 'nothing here');
    const empty = cli([none, '--summary']);
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('no capture files in this folder');
  });

  it('writes one NDJSON object per session to standard output', async () => {
    const r = await runCapturingStdout([capture('postfix-basic.pcap'), '--json', '-']);
    expect(r.code).toBe(0);
    const docs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(docs).toHaveLength(2);
    expect(docs[0].destination.port).toBe(25);
    // Standard output carries only the data; the summary goes to standard error when asked for.
    expect(r.err).not.toContain('smtpscope summary');
    const withSummary = await runCapturingStdout([capture('postfix-basic.pcap'), '--json', '-', '--summary']);
    expect(withSummary.stdout.trim().split('\n')).toHaveLength(2);
    expect(withSummary.err).toContain('smtpscope summary');
  });

  it('extracts complete messages as .eml files with an index', async () => {
    const dir = join(work, 'eml');
    const r = await run([capture('postfix-basic.pcap'), '--extract', dir]);
    expect(r.code).toBe(0);
    const emls = readdirSync(dir).filter((f) => f.endsWith('.eml'));
    expect(emls).toHaveLength(2);
    const text = readFileSync(join(dir, emls[0] ?? ''), 'latin1');
    expect(text).toMatch(/^Date: /m);
    expect(text).toMatch(/Subject: /);
    expect(readFileSync(join(dir, 'index.csv'), 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('explains every failed recipient in the bounce report, and joins the DSN to its original message', async () => {
    const r = await run(['bounces', capture('postfix-rejects.pcap')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('nosuchuser@localhost');
    expect(r.out).toMatch(/CLIENT\s+SERVER/);
    expect(r.out).toMatch(/nosuchuser@localhost\s+127\.0\.0\.1\s+127\.0\.0\.1 mx\.smtpscope\.test/);
    const dsn = await run(['bounces', capture('bounce-dsn.pcap'), '--ports', TEST_PORTS]);
    expect(dsn.code).toBe(0);
    expect(dsn.out).toContain('1 DSN recipient seen in traffic');
    expect(dsn.out).toMatch(
      /failed\s+5\.1\.1\s+gone@remote\.test\s+mx\.smtpscope\.test\s+C000002 #1 \(by message-id\)/,
    );
    expect(dsn.out).toMatch(/same message in: C000001#1 queue [0-9A-F]+, C000002#1/);
  });

  /** bounces.csv rows of a capture, as objects; only the named fields. */
  const bounceRows = async (name: string, fields: readonly string[], ports: readonly string[] = []) => {
    const file = join(work, `${name}.bounces.csv`);
    const r = await run(['bounces', capture(name), '--csv', file, ...ports]);
    expect(r.code, r.err).toBe(0);
    return parseCsvText(readFileSync(file, 'utf8')).rows.map((row) =>
      Object.fromEntries(fields.map((f) => [f, row[f] ?? null])),
    );
  };

  it('gives each refusal of postfix-rejects.pcap its stage, code, status and reason class in bounces.csv', async () => {
    const fields = [
      'session_id',
      'kind',
      'stage',
      'severity',
      'code',
      'enhanced',
      'reason_class',
      'recipient',
      'queue_id',
    ];
    expect(await bounceRows('postfix-rejects.pcap', fields)).toEqual([
      {
        session_id: 'C000001',
        kind: 'transaction',
        stage: 'mail',
        severity: 'permanent',
        code: '554',
        enhanced: '5.7.1',
        reason_class: 'policy-or-spam',
        recipient: null,
        queue_id: null,
      },
      {
        session_id: 'C000002',
        kind: 'recipient',
        stage: 'rcpt',
        severity: 'permanent',
        code: '550',
        enhanced: '5.1.1',
        reason_class: 'mailbox-unknown',
        recipient: 'nosuchuser@localhost',
        queue_id: null,
      },
      {
        session_id: 'C000002',
        kind: 'recipient',
        stage: 'rcpt',
        severity: 'temporary',
        code: '450',
        enhanced: '4.2.0',
        reason_class: 'greylisted',
        recipient: 'greylist@sink.test',
        queue_id: null,
      },
      {
        session_id: 'C000003',
        kind: 'recipient',
        stage: 'end-of-data',
        severity: 'permanent',
        code: '552',
        enhanced: '5.3.4',
        reason_class: 'message-too-big',
        recipient: 'bob@sink.test',
        queue_id: null,
      },
      {
        session_id: 'C000004',
        kind: 'transaction',
        stage: 'mail',
        severity: 'permanent',
        code: '530',
        enhanced: '5.7.0',
        reason_class: 'tls-required',
        recipient: null,
        queue_id: null,
      },
    ]);
  });

  it('reports the refused AUTH of smtp-server-auth.pcap at the auth stage', async () => {
    const fields = ['kind', 'stage', 'code', 'enhanced', 'reason_class', 'server_port'];
    expect(await bounceRows('smtp-server-auth.pcap', fields, ['--ports', TEST_PORTS])).toEqual([
      {
        kind: 'session',
        stage: 'auth',
        code: '535',
        enhanced: '5.7.8',
        reason_class: 'auth-failed',
        server_port: '2587',
      },
    ]);
  });

  it('joins the DSN of bounce-dsn.pcap to the relay hop by Message-ID and lists the submission hop with its queue id', async () => {
    const fields = [
      'source',
      'session_id',
      'stage',
      'code',
      'enhanced',
      'reason_class',
      'recipient',
      'message_id',
      'dsn_action',
      'original_session_id',
      'original_depth',
      'matched_by',
    ];
    // captures/README.md: the relay hop and the DSN go to port 2590.
    const rows = await bounceRows(
      'bounce-dsn.pcap',
      [...fields, 'queue_id', 'original_hops'],
      ['--ports', '25,2590'],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      source: 'reply',
      session_id: 'C000002',
      stage: 'rcpt',
      code: '550',
      enhanced: '5.1.1',
      reason_class: 'mailbox-unknown',
      recipient: 'gone@remote.test',
    });
    expect(rows[1]).toMatchObject({
      source: 'dsn',
      session_id: 'C000003',
      stage: null,
      code: '550',
      enhanced: '5.1.1',
      reason_class: 'mailbox-unknown',
      recipient: 'gone@remote.test',
      message_id: '<bounce-1@smtpscope.test>',
      dsn_action: 'failed',
      original_session_id: 'C000002',
      original_depth: '1',
      matched_by: 'message-id',
    });
    // The relay hop has no queue id; the submission hop into the reporting MTA has one.
    const queueId = rows[1]?.['queue_id'];
    expect(queueId).toMatch(/^[0-9A-F]{8,}$/);
    expect(rows[1]?.['original_hops']).toBe(`C000001#1 queue ${queueId}, C000002#1`);
  });

  it.each([
    ['--json', '-'],
    ['--csv-recipients', '-'],
    ['--extract', 'x'],
  ])('refuses %s for bounces as a usage error instead of ignoring it', async (flag, value) => {
    const r = await run(['bounces', capture('postfix-rejects.pcap'), flag, value]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(`'bounces' does not take ${flag}`);
    expect(r.out).toBe('');
  });

  it('prints the paired transcript of one session', async () => {
    const r = await run(['transcript', capture('postfix-basic.pcap')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/S: 220 /);
    expect(r.out).toMatch(/C: MAIL FROM:<[^>]+>\s+\[/);
    const id = /Session (\S+)/.exec(r.out)?.[1] ?? '';
    const one = await run(['transcript', capture('postfix-basic.pcap'), '--session', id]);
    expect(one.out.match(/^Session /gm)).toHaveLength(1);
    expect((await run(['transcript', capture('postfix-basic.pcap'), '--session', 'nope'])).code).toBe(1);
  });

  it("lists flows and writes one flow's reassembled byte streams", async () => {
    const r = await run(['flows', capture('postfix-basic.pcap')]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 connection(s)');
    const id = r.out.split('\n')[1]?.split(/\s+/)[0] ?? '';
    const dir = join(work, 'streams');
    const w = await run(['flows', capture('postfix-basic.pcap'), '--write-streams', `${id}:${dir}`]);
    expect(w.code).toBe(0);
    const c2s = readFileSync(join(dir, `${id}.c2s.bin`), 'latin1');
    const s2c = readFileSync(join(dir, `${id}.s2c.bin`), 'latin1');
    expect(c2s.startsWith('EHLO ')).toBe(true);
    expect(c2s.endsWith('QUIT\r\n')).toBe(true);
    expect(s2c.startsWith('220 ')).toBe(true);
  });

  it('replaces a symlink planted at a --write-streams file name instead of writing through it', async () => {
    const r = await run(['flows', capture('postfix-basic.pcap')]);
    const id = r.out.split('\n')[1]?.split(/\s+/)[0] ?? '';
    const dir = join(work, 'streams-symlink');
    mkdirSync(dir);
    const victim = join(work, 'streams-victim.txt');
    writeFileSync(victim, 'keep\n');
    symlinkSync(victim, join(dir, `${id}.c2s.bin`));
    const w = await run(['flows', capture('postfix-basic.pcap'), '--write-streams', `${id}:${dir}`]);
    expect(w.code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('keep\n');
    expect(lstatSync(join(dir, `${id}.c2s.bin`)).isSymbolicLink()).toBe(false);
    expect(readFileSync(join(dir, `${id}.c2s.bin`), 'latin1').startsWith('EHLO ')).toBe(true);
    expect(statSync(join(dir, `${id}.c2s.bin`)).mode & 0o777).toBe(0o600);
  });

  it('never writes AUTH secrets to any output unless asked', async () => {
    const secrets = ['Sw0rdfish-capture-only', 'wrong-password-for-capture'];
    const encoded = secrets.map((s) => Buffer.from(s).toString('base64'));
    const plain = Buffer.from('\0capture-user\0Sw0rdfish-capture-only').toString('base64');
    const dir = join(work, 'secrets');
    const outputs = [
      await run([
        capture('smtp-server-auth.pcap'),
        '--ports',
        TEST_PORTS,
        '--summary',
        '--csv',
        join(dir, 'csv'),
        '--json',
        join(dir, 'all.ndjson'),
        '--extract',
        join(dir, 'eml'),
      ]),
      await run(['transcript', capture('smtp-server-auth.pcap'), '--ports', TEST_PORTS]),
      await run(['bounces', capture('smtp-server-auth.pcap'), '--ports', TEST_PORTS]),
    ];
    let everything = outputs.map((o) => o.out + o.err).join('\n');
    for (const sub of ['csv', 'eml'])
      for (const f of readdirSync(join(dir, sub))) everything += readFileSync(join(dir, sub, f), 'latin1');
    everything += readFileSync(join(dir, 'all.ndjson'), 'latin1');
    expect(everything).toContain('capture-user');
    for (const s of [...secrets, ...encoded, plain]) expect(everything).not.toContain(s);

    const revealed = await run([
      'transcript',
      capture('smtp-server-auth.pcap'),
      '--ports',
      TEST_PORTS,
      '--reveal-secrets',
    ]);
    expect(revealed.out).toContain(encoded[0]);
  });

  it('never writes AUTH secrets when the replies are one short and the pairing is off', async () => {
    const password = 'Misaligned-capture-pass';
    const encoded = Buffer.from(password).toString('base64');
    const path = misalignedAuthCapture('capture-user', password);
    const dir = join(work, 'secrets-misaligned');
    const outputs = [
      await run([path, '--summary', '--csv', join(dir, 'csv'), '--json', join(dir, 'all.ndjson')]),
      await run(['transcript', path]),
      await run(['transcript', path, '--json']),
      await run(['bounces', path]),
    ];
    let everything = outputs.map((o) => o.out + o.err).join('\n');
    for (const f of readdirSync(join(dir, 'csv'))) everything += readFileSync(join(dir, 'csv', f), 'latin1');
    everything += readFileSync(join(dir, 'all.ndjson'), 'latin1');
    expect(everything).toContain('alice@c.example');
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(encoded);

    const revealed = await run(['transcript', path, '--reveal-secrets']);
    expect(revealed.out).toContain(encoded);
  });
});
