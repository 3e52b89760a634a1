/** --where, --since, --until and -w with a capture file (docs/FILTERS.md), on the bundled captures. */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { parseTimeBound } from '../../src/query/session-selection.js';
import { runMain } from '../helpers/run-main.js';

const capture = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;
const ndjson = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
const hasTshark = spawnSync('tshark', ['-v'], { stdio: 'ignore' }).status === 0;

describe('time bounds', () => {
  it('reads ISO times and times relative to now', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    expect(parseTimeBound('2024-03-01T12:00:00Z', now)).toBe(Date.parse('2024-03-01T12:00:00Z') * 1000);
    expect(parseTimeBound('-2h', now)).toBe((now - 7_200_000) * 1000);
    expect(parseTimeBound('-1d', now)).toBe((now - 86_400_000) * 1000);
    expect(parseTimeBound('yesterday', now)).toBeNull();
    expect(parseTimeBound('2h', now)).toBeNull();
  });
});

describe('--where / --since / --until', () => {
  it('keeps only the sessions the filter language matches (the 550 to nosuchuser in postfix-rejects)', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'smtpscope-where-')), 'o.ndjson');
    const r = await runMain([
      capture('postfix-rejects.pcap'),
      '--where',
      'to:nosuch code:5xx',
      '--json',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('selection: 1 of 4 session(s) matched');
    expect(ndjson(out).map((d) => d.smtp.session_id)).toEqual(['C000002']);
    const neg = await runMain([capture('postfix-rejects.pcap'), '--where=-code:5xx', '--json', out]);
    expect(neg.err).toContain('selection: 0 of 4 session(s) matched');
  });

  it('keeps the sessions that overlap the time window', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'smtpscope-since-')), 'o.ndjson');
    // Session starts (from the capture): C1 18:14:18.86, C2 18:14:19.22, C3 18:14:19.58, C4 18:14:20.04.
    const r = await runMain([
      capture('postfix-rejects.pcap'),
      '--since',
      '2026-11-23T18:14:19.3Z',
      '--until',
      '2026-11-23T18:14:19.9Z',
      '--json',
      out,
    ]);
    expect(r.code).toBe(0);
    expect(ndjson(out).map((d) => d.smtp.session_id)).toEqual(['C000003']);
  });

  it('refuses a bad expression or time', async () => {
    expect((await runMain([capture('postfix-basic.pcap'), '--since', 'soon'])).code).toBe(2);
    expect((await runMain([capture('postfix-basic.pcap'), '--where', 'code:abc'])).code).toBe(2);
  });

  it('applies to bounces', async () => {
    const r = await runMain(['bounces', capture('postfix-rejects.pcap'), '--where', 'reason:greylisted']);
    // Whole sessions are selected: the greylisted session also holds a 550.
    expect(r.out).toMatch(/^Bounce report: 2 failures \(1 permanent, 1 temporary/);
  });
});

describe('-w with a capture file', () => {
  it('writes the packets of the selected connections only, both directions, to the last ACK', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-w-'));
    const out = join(dir, 'gone.pcap');
    const input = capture('bounce-dsn.pcap');
    const r = await runMain([input, '-p', '25,2590', '--where', 'to:gone@', '-w', out, '--summary']);
    expect(r.code).toBe(0);
    const ports = new Set([25, 2590]);
    const before = await analyzeToArray({ inputs: [{ kind: 'file', path: input }], ports });
    const after = await analyzeToArray({ inputs: [{ kind: 'file', path: out }], ports });
    // The submission and the relay leg name gone@remote.test; the DSN leg does not.
    expect(after.sessions.map((s) => s.client.port)).toEqual(
      before.sessions.slice(0, 2).map((s) => s.client.port),
    );
    expect(after.sessions.map((s) => s.end)).toEqual(before.sessions.slice(0, 2).map((s) => s.end));
    if (hasTshark) {
      // tshark's count of the two connections' frames in the input equals the frames written.
      const count = (file: string, filter: string) =>
        execFileSync('tshark', ['-r', file, '-Y', filter], { encoding: 'utf8' }).trim().split('\n').length;
      const [a, b] = before.sessions.map((s) => s.client.port);
      expect(count(out, 'tcp')).toBe(count(input, `tcp.port == ${a} || tcp.port == ${b}`));
    }
  });

  it('refuses -w with several inputs or standard input', async () => {
    const r = await runMain([capture('postfix-basic.pcap'), capture('ipv6.pcap'), '-w', '/tmp/x.pcap']);
    expect(r.code).toBe(2);
  });
});

describe('-f with a capture file', () => {
  it('analyses only the segments the expression keeps, and refuses what the subset lacks', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'smtpscope-f-')), 'o.ndjson');
    const r = await runMain([capture('bounce-dsn.pcap'), '-p', '25,2590', '-f', 'port 2590', '--json', out]);
    expect(r.code).toBe(0);
    expect(ndjson(out).map((d) => d.destination.port)).toEqual([2590, 2590]);
    expect((await runMain([capture('bounce-dsn.pcap'), '-f', 'tcp[13] & 2 != 0'])).code).toBe(2);
  });
});
