/**
 * Untrusted text must not reach the terminal or a spreadsheet as code, and output files must not be written
 * through links an attacker planted. A hostile SMTP session (ESC sequences, C0/C1 controls, bidi overrides
 * and blessed tags in HELO, addresses, reply texts, subject and attachment names) is written as a real
 * capture and run through the whole pipeline into every output.
 */

import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray, createAnalyzer } from '../../src/pipeline/analyzer.js';
import { collectFailures } from '../../src/report/bounce-report.js';
import { createCsvFormatter } from '../../src/report/csv-format.js';
import { createCsvSink } from '../../src/report/csv-sink.js';
import { createExtractSink } from '../../src/report/extract-sink.js';
import { createOutputFile } from '../../src/report/output-file.js';
import { formatBounceReport } from '../../src/text/bounce-text.js';
import { createSummaryAggregator } from '../../src/text/summary.js';
import { formatTranscript } from '../../src/text/transcript.js';
import { createCaptureWriter } from '../harness/adversarial/capture-writer.js';
import { ipv4, TcpConversation } from '../harness/adversarial/frames.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-output-safety-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ESC = '\x1b';
const HOSTILE = `${ESC}[2J${ESC}]0;owned\x07{red-fg}{/red-fg}\x9b31m\u202e\r\x00\x08`;
const FORMULA = '=HYPERLINK("http://evil.example/","x")';

/** Writes the hostile session as a pcap (latin1 bytes, so C1 controls travel as single bytes). */
function writeHostileCapture(path: string): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('192.0.2.66'), 40_666, ipv4('198.51.100.25'), 25);
  let ts = 1_700_000_000_000_000;
  const bytes = (text: string) => Uint8Array.from(Buffer.from(text, 'latin1'));
  for (const f of c.handshake()) w.packet(f, ts++);
  const say = (fromClient: boolean, text: string) => {
    ts += 1000;
    w.packet(c.send(fromClient, bytes(text)), ts);
  };
  const h = HOSTILE.replace(/[\r\u202e]/g, '');
  say(false, `220 mx${h} ESMTP ${FORMULA}\r\n`);
  say(true, `EHLO ${h}host\r\n`);
  say(false, `250-mx\r\n250 PIPELINING\r\n`);
  say(true, `MAIL FROM:<${FORMULA}${h}@example.org>\r\n`);
  say(false, `250 2.1.0 Ok ${h}\r\n`);
  say(true, `RCPT TO:<+cmd${h}@example.net>\r\n`);
  say(false, `550 5.1.1 <x@example.net>: no such user ${h}{bold}${FORMULA}\r\n`);
  say(true, `RCPT TO:<ok@example.net>\r\n`);
  say(false, '250 2.1.5 Ok\r\n');
  say(true, 'DATA\r\n');
  say(false, '354 go\r\n');
  say(
    true,
    `From: =?UTF-8?B?${Buffer.from(`${ESC}[31mred`).toString('base64')}?= <a@example.org>\r\nSubject: ${h} ${FORMULA} =?ISO-8859-1?Q?=1B=5B2J=9B?=\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="../../../etc/cron.d/x${h}.sh"\r\n\r\nbody\r\n--b--\r\n.\r\n`,
  );
  say(false, `250 2.0.0 Ok: queued as ABC ${h}\r\n`);
  say(true, 'QUIT\r\n');
  say(false, '221 Bye\r\n');
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

/** Control characters other than LF: C0, DEL, C1, and the bidi and separator characters safe-text escapes. */
const CONTROL =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/;

const capture = join(dir, 'hostile.pcap');
writeHostileCapture(capture);

async function hostileSession(): Promise<SmtpSession> {
  const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path: capture }] });
  expect(sessions).toHaveLength(1);
  return sessions[0]!;
}

describe('output safety', () => {
  it('the hostile text really reaches the model (the test is not vacuous)', async () => {
    const session = await hostileSession();
    expect(session.helo).toContain(ESC);
    expect(session.transactions[0]!.recipients[0]!.rcptReply!.text).toContain('\x9b');
  });

  it('transcript, summary and bounce report contain no control character but newline', async () => {
    const session = await hostileSession();
    const transcript = formatTranscript(session);
    expect(transcript).toContain('\\x1B');
    expect(transcript).not.toMatch(CONTROL);

    const chunks: string[] = [];
    const aggregator = createSummaryAggregator((text) => chunks.push(text));
    await aggregator.sessionClosed(session);
    const { summary } = await analyzeToArray({ inputs: [{ kind: 'file', path: capture }] });
    const text = aggregator.format(summary) + chunks.join('');
    expect(text.length).toBeGreaterThan(0);
    expect(text).not.toMatch(CONTROL);

    const bounces = formatBounceReport(collectFailures([session]));
    expect(bounces).toContain('5.1.1');
    expect(bounces).not.toMatch(CONTROL);
  });

  it('CSV cells that start like a formula are defused', () => {
    const f = createCsvFormatter([{ name: 'cell', type: 'string' }]);
    for (const value of ['=1+1', '+1', '-1', '@SUM(A1)', '\t=1', '\r=1', '\uff1d1', FORMULA]) {
      const line = f.format([[value]]).trimEnd();
      // Either prefixed with a quote, or its leading control escaped to visible text (\x09...).
      expect(line, `${JSON.stringify(value)} → ${line}`).toMatch(/^"('|\\x)/);
      expect(line).not.toMatch(/^"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/);
      expect(line).not.toMatch(CONTROL);
    }
  });

  it('CSV files of a hostile session hold no formula cell and no control character', async () => {
    const out = join(dir, 'csv');
    const analyzer = createAnalyzer({ inputs: [{ kind: 'file', path: capture }] }, [
      createCsvSink({ dir: out }),
    ]);
    await analyzer.run();
    const files = readdirSync(out).filter((n) => n.endsWith('.csv'));
    expect(files.length).toBe(4);
    let cells = 0;
    for (const name of files) {
      const text = readFileSync(join(out, name), 'utf8');
      expect(text.replace(/\n/g, '')).not.toMatch(CONTROL);
      for (const cell of text.split(/,(?=")|^(?=")/m)) {
        cells++;
        expect(cell, `${name}: ${cell.slice(0, 60)}`).not.toMatch(/^"[=+\-@\t\r\uff1d\uff0b\uff0d\uff20]/);
      }
    }
    expect(cells).toBeGreaterThan(20);
  });

  it('extracted file names come from session ids, never from the wire', async () => {
    const out = join(dir, 'extract');
    const sink = createExtractSink({ dir: out });
    await createAnalyzer({ inputs: [{ kind: 'file', path: capture }], bodyListener: sink }, [sink]).run();
    const names = readdirSync(out);
    expect(names).toContain('index.csv');
    const eml = names.filter((n) => n.endsWith('.eml'));
    expect(eml).toEqual(['C000001-1.eml']);
    for (const name of names) expect(name).toMatch(/^[A-Za-z0-9._-]+$/);
    expect(existsSync(join(dir, 'etc'))).toBe(false);
  });

  it('an atomic output is not written through a symlink planted at its temporary name', async () => {
    const victim = join(dir, 'victim-temp.txt');
    writeFileSync(victim, 'original');
    const final = join(dir, 'report-temp.csv');
    const temp = join(dir, '.report-temp.csv.planted.tmp');
    symlinkSync(victim, temp);
    const out = createOutputFile(final, { append: false, header: 'h\n', tempName: () => temp });
    await expect(
      (async () => {
        await out.write('x\n');
        await out.commit();
      })(),
    ).rejects.toThrow();
    expect(readFileSync(victim, 'utf8')).toBe('original');
    expect(existsSync(final)).toBe(false);
  });

  it('an atomic output replaces a symlink planted at its final name instead of following it', async () => {
    const victim = join(dir, 'victim-final.txt');
    writeFileSync(victim, 'original');
    const final = join(dir, 'report-final.csv');
    symlinkSync(victim, final);
    const out = createOutputFile(final, { append: false, header: 'h\n' });
    await out.write('row\n');
    await out.commit();
    expect(readFileSync(victim, 'utf8')).toBe('original');
    expect(lstatSync(final).isSymbolicLink()).toBe(false);
    expect(readFileSync(final, 'utf8')).toBe('h\nrow\n');
  });

  it('an appended output refuses a symlink planted at its name', async () => {
    const victim = join(dir, 'victim-append.txt');
    writeFileSync(victim, 'original');
    const final = join(dir, 'report-append.csv');
    symlinkSync(victim, final);
    const out = createOutputFile(final, { append: true, header: 'h\n' });
    await expect(
      (async () => {
        await out.write('row\n');
        await out.commit();
      })(),
    ).rejects.toThrow();
    expect(readFileSync(victim, 'utf8')).toBe('original');
  });
});
