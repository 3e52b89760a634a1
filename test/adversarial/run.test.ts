import { describe, expect, it } from 'vitest';
import {
  parseSummarySections,
  passed,
  resultTable,
  SCENARIOS,
  type ScenarioResult,
  splitCsvLine,
} from '../harness/adversarial/run.js';

const SUMMARY = `smtpscope summary: x.pcap (pcap)
  21 packets, 2.4 KiB

Sessions: 2   transactions: 1   recipients: 2   commands: 9   message bytes: 77 B

How sessions ended:
  evicted   983636
  quit      1

Capture quality:
  sessions with gaps             48
  overlaps with differing bytes  0
  malformed packets              link-truncated 22

Anomalies:
  line-too-long    1
  unknown-command  1

Warnings:
  oversized-record at byte 2252: record at byte 2252 claims 16777216 captured bytes; reading stopped
`;

describe('adversarial run', () => {
  it('reads the titled sections of the text summary', () => {
    const s = parseSummarySections(SUMMARY);
    expect(s.get('How sessions ended')?.get('evicted')).toBe('983636');
    expect(s.get('Capture quality')?.get('sessions with gaps')).toBe('48');
    expect(s.get('Capture quality')?.get('malformed packets')).toBe('link-truncated 22');
    expect(s.get('Anomalies')?.get('line-too-long')).toBe('1');
    expect(s.get('Warnings')?.has('oversized-record')).toBe(true);
    expect(s.has('Sessions')).toBe(false);
  });

  it('splits CSV lines with quoted cells, doubled quotes, commas in quotes and empty cells', () => {
    expect(splitCsvLine('"a",1,"b ""q"", c",,"",x')).toEqual(['a', '1', 'b "q", c', '', '', 'x']);
    expect(splitCsvLine('')).toEqual(['']);
  });

  it('judges each scenario by what its summary shows', () => {
    const s = parseSummarySections(SUMMARY);
    const byName = new Map(SCENARIOS.map((x) => [x.name, x]));
    expect(byName.get('long-line')?.evidence(s, 1, SUMMARY)).toEqual({ ok: true, text: 'line-too-long ×1' });
    expect(byName.get('pipelined')?.evidence(s, 1, SUMMARY).ok).toBe(false);
    expect(byName.get('out-of-order')?.evidence(s, 1, SUMMARY).ok).toBe(true);
    expect(byName.get('overlap')?.evidence(s, 1, SUMMARY).ok).toBe(false);
    expect(byName.get('pcap-length-huge')?.evidence(s, 1, SUMMARY).ok).toBe(true);
    expect(byName.get('pcap-length-past-end')?.evidence(s, 1, SUMMARY).ok).toBe(false);
    // Two sessions and no attempt for 1,000,000 SYNs: the flood was taken for sessions.
    expect(byName.get('syn-flood')?.evidence(s, 1, SUMMARY).ok).toBe(false);
    const flood = `Sessions: 1   transactions: 1\n\nConnection attempts (no byte either way, not sessions): 1000000\n`;
    expect(byName.get('syn-flood')?.evidence(s, 1, flood)).toEqual({
      ok: true,
      text: '1000000 attempts, 1 session(s), 983636 evicted',
    });
    const short = `Sessions: 1000001   transactions: 1000001\n`;
    expect(byName.get('short-sessions')?.evidence(s, 1, short).ok).toBe(true);
    expect(byName.get('short-sessions')?.evidence(s, 1, SUMMARY).ok).toBe(false);
    expect(byName.get('pcap-length-zero')?.exit).toBe(1);
    expect(SCENARIOS).toHaveLength(14);
  });

  it('prints one table row per scenario, marking failures', () => {
    const table = resultTable([
      {
        name: 'long-line',
        what: '100 MB line',
        captureBytes: 110_000_000,
        exitCode: 0,
        expectedExit: 0,
        signal: null,
        wallSeconds: 1.04,
        peakRssMiB: 95.2,
        evidence: { ok: true, text: 'line-too-long ×1' },
        intact: { ok: false, text: '2 intact transactions' },
        stderrTail: '',
      },
    ]);
    expect(table.split('\n')[2]).toBe(
      '| long-line (100 MB line) | 104.9 MiB | 0 | 1.0 s | 95 MiB | line-too-long ×1 | NO: 2 intact transactions |',
    );
  });

  it('prints a row per further sink run and fails a run over the RSS bound', () => {
    const base: ScenarioResult = {
      name: 'short-sessions',
      what: '1,000,000 short sessions',
      captureBytes: 1024 * 1024,
      exitCode: 0,
      expectedExit: 0,
      signal: null,
      wallSeconds: 10,
      peakRssMiB: 150,
      rssBoundMiB: 200,
      evidence: { ok: true, text: '1000001 sessions' },
      intact: { ok: true, text: '2/2 delivered' },
      stderrTail: '',
      sinkRuns: [
        { sink: '`bounces`', exitCode: 0, signal: null, wallSeconds: 5, peakRssMiB: 120, text: 'report' },
      ],
    };
    expect(passed(base)).toBe(true);
    const over = { ...base, sinkRuns: [{ ...base.sinkRuns![0]!, peakRssMiB: 230 }] };
    expect(passed(over)).toBe(false);
    expect(passed({ ...base, peakRssMiB: 201 })).toBe(false);
    expect(passed({ ...base, sinkRuns: [{ ...base.sinkRuns![0]!, exitCode: 1 }] })).toBe(false);
    const lines = resultTable([over]).split('\n');
    expect(lines[3]).toBe(
      '| short-sessions, `bounces` | (same) | 0 | 5.0 s | 230 MiB (FAIL: over 200 MiB) | report | - |',
    );
  });
});
