/** `--html FILE` and `--html-max-sessions N` on the command line (docs/REPORT.md). */

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/options.js';
import { runMain } from '../helpers/run-main.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-html-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const capture = join(import.meta.dirname, '../../captures/postfix-rejects.pcap');

function data(page: string): {
  sessions: { id: string; transcript: unknown[] | null }[];
  failures: unknown[];
} {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page);
  return JSON.parse(m?.[1] ?? 'null');
}

describe('--html', () => {
  it('parses the report path and the sample size', () => {
    expect(parseCli(['a.pcap']).html).toBeNull();
    expect(parseCli(['a.pcap']).htmlMaxSessions).toBeNull();
    const o = parseCli(['a.pcap', '--html', 'r.html', '--html-max-sessions', '0']);
    expect(o.html).toBe('r.html');
    expect(o.htmlMaxSessions).toBe(0);
    expect(() => parseCli(['a.pcap', '--html-max-sessions', 'all'])).toThrow(
      new UsageError("--html-max-sessions takes a whole number, not 'all'"),
    );
  });

  it('writes the report beside the summary, keeping the transcripts asked for', async () => {
    const path = join(dir, 'r.html');
    const r = await runMain([capture, '--html', path, '--html-max-sessions', '2', '--summary']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Sessions: 4 ');
    const page = readFileSync(path, 'utf8');
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    const d = data(page);
    // Every session of this capture has a failure: the first two kept with transcripts, the other two with
    // their failures' facts only.
    expect(d.sessions.map((s) => [s.id, s.transcript !== null])).toEqual([
      ['C000001', true],
      ['C000002', true],
      ['C000003', false],
      ['C000004', false],
    ]);
    expect(d.failures).toHaveLength(5);
    // Written atomically: no temporary file left beside it.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('lists the failures the MTA log explains, after the --maillog join', async () => {
    const captures = join(import.meta.dirname, '../../captures');
    const path = join(dir, 'relay.html');
    const r = await runMain([
      join(captures, 'postfix-relay.pcap'),
      '--maillog',
      join(captures, 'postfix-relay.a.maillog'),
      '--maillog',
      join(captures, 'postfix-relay.b.maillog'),
      '--html',
      path,
    ]);
    expect(r.code).toBe(0);
    // The first server accepted gone@relay.test and its log says the relay hop refused it (captures/README.md);
    // the second server's refusal is on the wire.
    const failures = data(readFileSync(path, 'utf8')).failures as {
      stage: string;
      recipient: string;
      code: number;
    }[];
    expect(failures.map((f) => [f.stage, f.recipient, f.code])).toEqual([
      ['after-queue', 'gone@relay.test', 550],
      ['rcpt', 'gone@relay.test', 550],
    ]);
  });

  it('refuses two outputs on standard output, and a missing folder, before reading', async () => {
    const both = await runMain([capture, '--html', '-', '--json', '-']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--json and --html');
    const missing = join(dir, 'no-such-folder', 'r.html');
    const r = await runMain([capture, '--html', missing]);
    expect(r.code).not.toBe(0);
    expect(r.err).toContain(`cannot write ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });
});
