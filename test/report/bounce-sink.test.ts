/**
 * The streaming bounce sink gives the same bounces.csv rows and the same report as the whole-run report
 * built from every session at once (report/bounce-report.ts collectFailures, whose rows test/report and
 * test/cli check against the captures' swaks transcripts and Postfix logs), while keeping no session.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { createAnalyzer } from '../../src/pipeline/analyzer.js';
import { collectFailures, formatBounceCsv } from '../../src/report/bounce-report.js';
import { createBounceSink, resolveBounceCsvPath } from '../../src/report/bounce-sink.js';
import { formatBounceReport } from '../../src/text/bounce-text.js';
import { makeRecipient, makeReply, makeSession, makeTransaction } from '../helpers/sessions.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-bounce-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CAPTURES = join(import.meta.dirname, '..', '..', 'captures');
const PORTS = new Set([25, 465, 587, 2525, 24, 366, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

const refused = (address: string, tsMicros: number) =>
  makeRecipient({
    address,
    rcptReply: { ...makeReply(550, '5.1.1', 'User unknown'), tsMicros },
    finalReply: null,
    disposition: 'rejected-rcpt',
    reasonClass: 'mailbox-unknown',
  });

describe('bounce sink', () => {
  it('writes each failure to bounces.csv as its session closes, and reports once closed', async () => {
    const csv = join(dir, 'unit.csv');
    const sink = createBounceSink({ csv });
    await sink.sessionClosed(
      makeSession({
        transactions: [makeTransaction({ recipients: [makeRecipient(), refused('nobody@example.net', 1)] })],
      }),
    );
    await sink.sessionClosed(makeSession());
    expect(() => sink.report()).toThrow(/closed/);
    await sink.close({} as RunSummary);
    const lines = readFileSync(csv, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('"nobody@example.net"');
    expect(formatBounceReport(sink.report())).toMatch(/^Bounce report: 1 failure \(1 permanent/);
  });

  it('lists a bounded number of failures and counts every one', async () => {
    const sink = createBounceSink({ maxListed: 2 });
    const recipients = [3, 1, 2].map((t) => refused(`r${t}@example.net`, t));
    await sink.sessionClosed(makeSession({ transactions: [makeTransaction({ recipients })] }));
    await sink.close({} as RunSummary);
    const report = sink.report();
    expect(report.totals.failures).toBe(3);
    expect(report.failures.map((r) => r.recipient)).toEqual(['r1@example.net', 'r2@example.net']);
    expect(report.omitted).toBe(1);
    expect(report.groups.recipientDomain).toEqual([{ key: 'example.net', count: 3 }]);
    expect(formatBounceReport(report)).toContain('... and 1 more failure, counted below');
  });

  it.each(['postfix-rejects.pcap', 'bounce-dsn.pcap'])(
    'gives %s the rows and report of the whole-run report',
    async (name) => {
      const csv = await resolveBounceCsvPath(join(dir, name));
      const sink = createBounceSink({ csv });
      const sessions: SmtpSession[] = [];
      const keep = {
        name: 'keep',
        sessionClosed: (s: SmtpSession) => {
          sessions.push(s);
        },
        close: async () => {},
      };
      await createAnalyzer({ inputs: [{ kind: 'file', path: join(CAPTURES, name) }], ports: PORTS }, [
        sink,
        keep,
      ]).run();
      const whole = collectFailures(sessions);
      expect(whole.failures.length + whole.dsns.length).toBeGreaterThan(0);
      const expected = formatBounceCsv(whole).trimEnd().split('\n');
      const got = readFileSync(csv, 'utf8').trimEnd().split('\n');
      // Same header, same rows; failures reach the file in close order, the whole-run report sorts by time.
      expect(got[0]).toBe(expected[0]);
      expect([...got.slice(1)].sort()).toEqual([...expected.slice(1)].sort());
      expect(formatBounceReport(sink.report())).toBe(formatBounceReport(whole));
    },
  );
});
