import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { createAnalyzer } from '../../src/pipeline/analyzer.js';
import { sessionLimitsForSinks, sinksReadMessages } from '../../src/pipeline/config-for-sinks.js';
import { createCsvSink } from '../../src/report/csv-sink.js';
import { createSummaryAggregator } from '../../src/text/summary.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-sink-needs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Two messages sent by swaks through Postfix; their subjects are in captures/postfix-basic.swaks.txt.
const capture = join(import.meta.dirname, '../../captures/postfix-basic.pcap');
const input = { kind: 'file' as const, path: capture };

function recorder(readsMessages: boolean | undefined): Sink & { sessions: SmtpSession[] } {
  const sessions: SmtpSession[] = [];
  return {
    name: 'recorder',
    ...(readsMessages === undefined ? {} : { readsMessages }),
    sessions,
    sessionClosed: (session) => {
      sessions.push(session);
    },
    close: async () => {},
  };
}

function csvFiles(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(path).sort()) out[name] = readFileSync(join(path, name), 'utf8');
  return out;
}

describe('work no sink reads', () => {
  it('a sink that does not say reads message summaries; the text summary does not', () => {
    const summary = createSummaryAggregator();
    expect(summary.readsMessages).toBe(false);
    expect(sinksReadMessages([summary])).toBe(false);
    expect(sinksReadMessages([summary, recorder(undefined)])).toBe(true);
    expect(sinksReadMessages([])).toBe(true);
    expect(sessionLimitsForSinks({ maxCommands: 5 }, [summary])).toEqual({
      maxCommands: 5,
      messageKeepBytes: 0,
    });
    expect(sessionLimitsForSinks({ maxCommands: 5 }, [summary, recorder(true)])).toEqual({ maxCommands: 5 });
  });

  it('makes no message summaries when only the text summary reads the sessions, and the summary text is the same', async () => {
    const alone = recorder(false);
    const summaryAlone = createSummaryAggregator();
    const aloneResult = await createAnalyzer({ inputs: [input] }, [alone, summaryAlone]).run();
    const withCsv = recorder(true);
    const summaryWithCsv = createSummaryAggregator();
    const csvResult = await createAnalyzer({ inputs: [input] }, [withCsv, summaryWithCsv]).run();

    const transactions = (sessions: SmtpSession[]) => sessions.flatMap((s) => s.transactions);
    // The messages were there (sizes counted) but nobody asked for their summaries.
    expect(transactions(alone.sessions).length).toBe(2);
    expect(transactions(alone.sessions).every((t) => (t.sizeBytes ?? 0) > 0 && t.message === null)).toBe(
      true,
    );
    expect(transactions(withCsv.sessions).map((t) => t.message?.subject)).toEqual([
      'smtpscope capture basic-1',
      'smtpscope capture basic-2',
    ]);
    const strip = (text: string) => text.replace(/^.*(elapsed|wall|MB\/s|packets\/s).*$/gm, '');
    expect(strip(summaryAlone.format(aloneResult))).toBe(strip(summaryWithCsv.format(csvResult)));
  });

  it('writes the same four CSV files with or without the text summary beside them', async () => {
    const a = join(dir, 'csv-with-summary');
    const b = join(dir, 'csv-alone');
    await createAnalyzer({ inputs: [input] }, [createCsvSink({ dir: a }), createSummaryAggregator()]).run();
    await createAnalyzer({ inputs: [input] }, [createCsvSink({ dir: b })]).run();
    const withSummary = csvFiles(a);
    expect(Object.keys(withSummary)).toHaveLength(4);
    expect(withSummary).toEqual(csvFiles(b));
    const messages = Object.entries(withSummary).find(([name]) => name.includes('transaction'))?.[1] ?? '';
    expect(messages).toContain('smtpscope capture basic-1');
    expect(messages).toContain('smtpscope capture basic-2');
  });
});
