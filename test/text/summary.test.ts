import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { createLatencyHistogram } from '../../src/text/latency-histogram.js';
import { createSummaryAggregator } from '../../src/text/summary.js';
import { displayWidth } from '../../src/util/display-text.js';
import { runMain } from '../helpers/run-main.js';
import {
  makeCapabilities,
  makeCommand,
  makeRecipient,
  makeReply,
  makeSession,
  makeTransaction,
  SERVER,
  T0,
} from '../helpers/sessions.js';

const capture = (name: string) => join(import.meta.dirname, '../../captures', name);
const PORTS = '25,2525,2526,2587-2592';

async function realSummary(): Promise<RunSummary> {
  return (await analyzeToArray({ inputs: [{ kind: 'file', path: capture('postfix-basic.pcap') }] })).summary;
}

describe('text summary width', () => {
  it('never cuts a line when standard output is a file or pipe', async () => {
    const r = await runMain([capture('postfix-rejects.pcap'), '--summary', '--ports', PORTS]);
    expect(r.out).toContain('Recipient address rejected: User unknown in local recipient table');
    expect(r.out).toMatch(
      /127\.0\.0\.1:2525 .*STARTTLS ENHANCEDSTATUSCODES 8BITMIME DSN SMTPUTF8 CHUNKING\n/,
    );
  });

  it('cuts every line to the width of a terminal', async () => {
    const aggregator = createSummaryAggregator();
    aggregator.sessionClosed(makeSession({ serverName: 'a-very-long-server-name.example.net'.repeat(4) }));
    const text = aggregator.format(await realSummary(), { width: 60 });
    const lines = text.trimEnd().split('\n');
    expect(Math.max(...lines.map(displayWidth))).toBe(60);
    expect(lines.some((l) => l.endsWith('…'))).toBe(true);
    const uncut = aggregator.format(await realSummary());
    expect(Math.max(...uncut.split('\n').map(displayWidth))).toBeGreaterThan(100);
  });
});

describe('server capabilities in the summary', () => {
  it('shows what the server announced across its sessions, though the first said HELO', async () => {
    const aggregator = createSummaryAggregator();
    aggregator.sessionClosed(makeSession({ capabilities: null, heloVerb: 'HELO' }));
    aggregator.sessionClosed(
      makeSession({ capabilities: makeCapabilities({ keywords: ['PIPELINING', 'SIZE'] }) }),
    );
    aggregator.sessionClosed(
      makeSession({ capabilities: makeCapabilities({ keywords: ['SIZE', 'STARTTLS'] }) }),
    );
    const text = aggregator.format(await realSummary());
    expect(text).toMatch(
      /198\.51\.100\.25:25 +3 session\(s\) .* EHLO \(union of 2 sessions\): PIPELINING SIZE STARTTLS\n/,
    );
    const heloOnly = createSummaryAggregator();
    heloOnly.sessionClosed(makeSession({ capabilities: null, heloVerb: 'HELO' }));
    expect(heloOnly.format(await realSummary())).toContain('EHLO not seen (HELO only)');
  });
});

describe('per-server and per-domain statistics', () => {
  it('counts recipients by outcome per server and per recipient domain, with reply latency percentiles', async () => {
    const aggregator = createSummaryAggregator();
    // 100 commands answered after 1, 2, ... 100 ms.
    const commands = Array.from({ length: 100 }, (_, i) => {
      const ts = T0 + i * 1_000_000;
      return makeCommand({ seq: i, tsMicros: ts, reply: makeReply(250, null, 'Ok', ts + (i + 1) * 1000) });
    });
    const recipients = [
      makeRecipient({ address: 'a@one.example' }),
      makeRecipient({ address: 'b@One.Example', disposition: 'deferred-rcpt' }),
      makeRecipient({ address: 'c@two.example', disposition: 'rejected-rcpt' }),
      makeRecipient({ address: 'd@two.example', disposition: 'rejected-data' }),
    ];
    aggregator.sessionClosed(makeSession({ commands, transactions: [makeTransaction({ recipients })] }));
    const text = aggregator.format(await realSummary());
    const row = (title: string, key: string) => {
      const section = text.slice(text.indexOf(title));
      const line = section.split('\n').find((l) => l.trim().startsWith(key)) ?? '';
      return line.trim().split(/\s{2,}/);
    };
    const server = row('Per server', `${SERVER.ip}:${SERVER.port}`);
    expect(server.slice(1, 6)).toEqual(['1', '1', '2', '0', '100']);
    // Percentiles from the histogram are within 2.5% of the true 50 ms and 95 ms; the maximum is exact.
    const msOf = (cell: string | undefined) => Number.parseFloat(cell ?? '');
    expect(Math.abs(msOf(server[6]) - 50) / 50).toBeLessThan(0.025);
    expect(Math.abs(msOf(server[7]) - 95) / 95).toBeLessThan(0.025);
    expect(server[8]).toBe('100.0 ms');
    expect(row('Per recipient domain', 'one.example').slice(1)).toEqual(['1', '1', '0', '0']);
    expect(row('Per recipient domain', 'two.example').slice(1)).toEqual(['0', '0', '2', '0']);
  });

  it('reads percentiles within 2.5% from the latency histogram', () => {
    const h = createLatencyHistogram();
    for (let i = 1; i <= 10_000; i++) h.add(i * 37);
    for (const p of [1, 50, 90, 95, 99]) {
      const truth = Math.ceil((p / 100) * 10_000) * 37;
      expect(Math.abs((h.percentile(p) ?? 0) - truth) / truth).toBeLessThan(0.025);
    }
    expect(h.percentile(100)).toBe(370_000);
    expect(createLatencyHistogram().percentile(50)).toBeNull();
  });
});
