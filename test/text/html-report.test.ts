/**
 * The HTML report's model and page (src/text/html-*.ts): figures that agree with the text summary and the
 * bounce report on real captures (whose failures the capture's own swaks transcript lists), memory bounds,
 * escaping of hostile traffic, and the page's filter agreeing with `--where` on real sessions.
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { matchesFilter, parseFilter } from '../../src/query/filter.js';
import { collectFailures } from '../../src/report/bounce-report.js';
import { barChart, escapeHtml } from '../../src/text/html-charts.js';
import { renderHtmlPage, scriptJson } from '../../src/text/html-page.js';
import {
  createHtmlReportCollector,
  MAX_HAYSTACK_CHARS,
  MAX_TRANSCRIPT_LINES,
  type PageFacts,
  pageFacts,
} from '../../src/text/html-report-data.js';
import { filterScript } from '../../src/text/html-script.js';
import { createTimeSeries, MAX_BUCKETS } from '../../src/text/html-time-series.js';
import { createSummaryAggregator } from '../../src/text/summary.js';
import {
  makeCommand,
  makeRecipient,
  makeReply,
  makeSession,
  makeTransaction,
  T0,
} from '../helpers/sessions.js';

const capture = (name: string) => join(import.meta.dirname, '../../captures', name);

async function analyse(name: string) {
  return analyzeToArray({ inputs: [{ kind: 'file', path: capture(name) }] });
}

/** The page's embedded data, read back as the page's script reads it. */
function embedded(page: string): {
  failures: { session: string; code: number | null; recipient: string | null; text: string | null }[];
  sessions: { id: string; helo: string | null; subject: string | null; transcript: unknown[] | null }[];
} {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(page);
  if (m === null) throw new Error('no data element');
  return JSON.parse(m[1] as string);
}

const refused = (address: string, tsMicros: number) =>
  makeRecipient({
    address,
    rcptReply: makeReply(550, '5.1.1', 'User unknown', tsMicros),
    finalReply: null,
    disposition: 'rejected-rcpt',
    reasonClass: 'mailbox-unknown',
  });

describe('HTML report figures', () => {
  it('agree with the text summary and the bounce report on postfix-rejects.pcap', async () => {
    const { sessions, summary } = await analyse('postfix-rejects.pcap');
    const collector = createHtmlReportCollector();
    const text = createSummaryAggregator();
    for (const s of sessions) {
      collector.add(s);
      text.sessionClosed(s);
    }
    const report = collector.report(summary);
    const printed = text.format(summary);
    const totals = /Sessions: (\d+) {3}transactions: (\d+) {3}recipients: (\d+) {3}commands: (\d+)/.exec(
      printed,
    );
    expect(totals?.slice(1).map(Number)).toEqual([
      report.figures.sessions,
      report.figures.transactions,
      report.figures.recipients,
      report.figures.commands,
    ]);
    expect(report.figures.sessions).toBe(4);
    // The swaks transcript of this capture shows five refusals: 554 5.7.1 (MAIL), 550 5.1.1 and 450 4.2.0
    // (RCPT), 552 5.3.4 (end of data), 530 5.7.0 (MAIL without STARTTLS).
    expect(report.failures.map((f) => `${f.code} ${f.status}`).sort()).toEqual([
      '450 4.2.0',
      '530 5.7.0',
      '550 5.1.1',
      '552 5.3.4',
      '554 5.7.1',
    ]);
    expect(report.failures.find((f) => f.code === 550)?.recipient).toBe('nosuchuser@localhost');
    expect(report.failureCount).toBe(collectFailures(sessions).failures.length);
    // Each server's latency cells are the summary's.
    for (const s of report.figures.servers) {
      const row = printed
        .split('\n')
        .find((l) => l.trimStart().startsWith(`${s.endpoint} `) && /µs|ms/.test(l));
      expect(row).toBeDefined();
      expect(row?.trim().split(/ {2,}/).slice(1, 6)).toEqual([
        String(s.outcomes.delivered),
        String(s.outcomes.deferred),
        String(s.outcomes.rejected),
        String(s.outcomes.other),
        String(s.replies),
      ]);
    }
    // RCPT latency per domain: sink.test had four RCPTs answered (ok1, greylist, ok2, bob), localhost one.
    expect(report.domainLatency.get('sink.test')?.replies).toBe(4);
    expect(report.domainLatency.get('localhost')?.replies).toBe(1);
    // The headline on the page shows the same numbers.
    const page = renderHtmlPage(report);
    expect(page).toContain('<dt>sessions</dt><dd>4</dd>');
    expect(page).toContain('<dt>failures</dt><dd>5</dd>');
    expect(page).toContain(`<dt>recipients</dt><dd>${report.figures.recipients}</dd>`);
    // Every session of the capture is small enough to be kept with its transcript.
    expect(embedded(page).sessions.filter((s) => s.transcript !== null)).toHaveLength(4);
  });

  it('draws charts whose bars are the data', () => {
    const svg = barChart('c', 'caption', [
      { label: 'a', value: 10 },
      { label: 'b', value: 5 },
      { label: 'c', value: 0 },
    ]);
    const widths = [...svg.matchAll(/<rect class="bar" [^>]*width="(\d+)"[^>]*data-value="(\d+)"/g)].map(
      (m) => [Number(m[1]), Number(m[2])],
    );
    expect(widths).toHaveLength(3);
    const [a, b, c] = widths as [number[], number[], number[]];
    expect(a[1]).toBe(10);
    expect(b[0]).toBe(Math.round((a[0] as number) / 2));
    expect(c[0]).toBe(0);
  });
});

describe('HTML report bounds', () => {
  it('keeps at most the sessions asked for, failing sessions first, and counts the failures not listed', () => {
    const collector = createHtmlReportCollector({ maxSessions: 3, maxFailures: 4 });
    for (let i = 0; i < 40; i++) {
      const failing = i % 10 === 9;
      collector.add(
        makeSession({
          id: `C${String(i).padStart(6, '0')}`,
          startedAt: T0 + i * 1_000_000,
          endedAt: T0 + i * 1_000_000 + 500,
          transactions: [
            makeTransaction({
              recipients: failing
                ? [
                    refused('x@example.net', T0 + i * 1_000_000 + 1),
                    refused('y@example.net', T0 + i * 1_000_000 + 2),
                  ]
                : [makeRecipient()],
              ...(failing ? { outcome: 'rejected' as const, failureStage: 'rcpt' as const } : {}),
            }),
          ],
        }),
      );
    }
    const report = collector.report({
      sources: [],
      stats: { source: { packets: 0, bytes: 0 } } as never,
      warnings: [],
      wallMs: 0,
    });
    const withTranscript = report.sessions.filter((s) => s.transcript !== null).map((s) => s.id);
    // Four failing sessions (9, 19, 29, 39): three are kept with transcripts, replacing the first sessions.
    expect(withTranscript).toEqual(['C000009', 'C000019', 'C000029']);
    expect(report.sessionsKept).toBe(3);
    // Eight failures: four listed, four counted; the listed ones' sessions have their filter facts.
    expect(report.failureCount).toBe(8);
    expect(report.failures).toHaveLength(4);
    expect(report.failuresOmitted).toBe(4);
    for (const f of report.failures) expect(report.sessions.some((s) => s.id === f.session)).toBe(true);
    expect(report.sessions).toHaveLength(3);
    // Sessions and failures over time: all 40 sessions and 8 failures are in the chart.
    expect(report.timeSeries.buckets.reduce((n, b) => n + b.sessions, 0)).toBe(40);
    expect(report.timeSeries.buckets.reduce((n, b) => n + b.failures, 0)).toBe(8);
  });

  it('renders a run without sessions', () => {
    const report = createHtmlReportCollector().report({
      sources: [{ description: 'empty.pcap', format: 'pcap', compressed: false }],
      stats: { source: { packets: 0, bytes: 0 } } as never,
      warnings: [],
      wallMs: 0,
    });
    const page = renderHtmlPage(report);
    expect(page).toContain('<dt>sessions</dt><dd>0</dd>');
    expect(page).toContain('<p class="empty">no sessions</p>');
    expect(embedded(page)).toEqual({ failures: [], sessions: [], maxSessions: 1000 });
  });

  it('names at most three inputs in its title', () => {
    const source = (description: string) => ({ description, format: 'pcap', compressed: false });
    const run = (n: number) =>
      createHtmlReportCollector().report({
        sources: ['a.pcap', 'b.pcap', 'c.pcap', 'd.pcap', 'e.pcap'].slice(0, n).map(source),
        stats: { source: { packets: 0, bytes: 0 } } as never,
        warnings: [],
        wallMs: 0,
      }).title;
    expect(run(0)).toBe('no input');
    expect(run(3)).toBe('a.pcap, b.pcap, c.pcap');
    expect(run(5)).toBe('a.pcap, b.pcap, c.pcap and 2 more');
  });

  it('clips a long transcript', () => {
    const commands = Array.from({ length: MAX_TRANSCRIPT_LINES + 50 }, (_, i) =>
      makeCommand({
        seq: i,
        verb: 'NOOP',
        verbText: 'NOOP',
        argument: '',
        tsMicros: T0 + i,
        reply: makeReply(250, null, 'ok', T0 + i),
      }),
    );
    const collector = createHtmlReportCollector();
    collector.add(makeSession({ commands, transactions: [] }));
    const [s] = collector.report({
      sources: [],
      stats: { source: { packets: 0, bytes: 0 } } as never,
      warnings: [],
      wallMs: 0,
    }).sessions;
    expect(s?.transcript).toHaveLength(MAX_TRANSCRIPT_LINES + 1);
    expect(s?.transcript?.at(-1)?.[1]).toMatch(/more line\(s\) not kept/);
  });
});

describe('HTML report escaping', () => {
  it('never lets traffic write markup or end the data element', () => {
    const hostile = '</script><img src=x onerror=alert(1)>';
    const session = makeSession({
      helo: `<script>alert("helo")</script>`,
      serverName: '<b>mx</b>',
      transactions: [
        makeTransaction({
          mailFrom: `a${hostile}@example.org`,
          recipients: [refused(`bob${hostile}@example.net`, T0 + 5)],
          outcome: 'rejected',
          failureStage: 'rcpt',
        }),
      ],
    });
    const collector = createHtmlReportCollector();
    collector.add(session);
    const page = renderHtmlPage(
      collector.report({
        sources: [{ description: `cap<script>.pcap`, format: 'pcap', compressed: false }],
        stats: { source: { packets: 1, bytes: 2 } } as never,
        warnings: [],
        wallMs: 0,
      }),
    );
    expect(page).not.toContain('<img');
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<b>mx');
    expect(page).toContain('cap&#60;script&#62;.pcap');
    // Two script elements open (data and code) and two close: nothing in the data closed one early.
    expect(page.match(/<script/g)).toHaveLength(2);
    expect(page.match(/<\/script>/g)).toHaveLength(2);
    const data = embedded(page);
    expect(data.failures[0]?.recipient).toBe(`bob${hostile}@example.net`);
    expect(data.sessions[0]?.helo).toBe('<script>alert("helo")</script>');
    // Nothing in the page is fetched: no element has a source or link attribute.
    expect(page).not.toMatch(/<[a-zA-Z][^>]*\s(?:src|href)=/);
    expect(page).toContain("default-src 'none'");
  });

  it('writes JSON a script element cannot be ended by, and that reads back the same', () => {
    const value = { a: '</script><!-- \u2028 \u2029 <' };
    const json = scriptJson(value);
    expect(json).not.toMatch(/[<\u2028\u2029]/);
    expect(JSON.parse(json)).toEqual(value);
    expect(escapeHtml(`<a href="x" title='y'>&`)).toBe('&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;');
  });
});

/** The page's filter, loaded from the very script text the page carries. */
function pageFilter(): {
  parseFilter: (text: string) => { ok: boolean; error?: string; filter?: { terms: unknown[] } };
  matchFacts: (terms: unknown[], facts: PageFacts) => boolean;
} {
  return new Function(`${filterScript()}\nreturn { parseFilter, matchFacts };`)();
}

describe('the page filter', () => {
  const EXPRESSIONS = [
    '',
    'code:5xx',
    'code:550',
    'code:55x',
    'code:5.1.1',
    'code:4xx',
    'code:2xx -code:5xx',
    'reason:grey',
    'reason:mailbox',
    '-reason:grey',
    'ip:127.0.0.1',
    'ip:127.',
    'ip:::1',
    'IP:::',
    'domain:sink.test',
    'domain:test',
    'from:alice',
    'to:bob',
    'to:greylist',
    'to:ok1 code:4xx',
    'helo:localhost',
    'server:postfix',
    'server:exim',
    'server:mx',
    'end:quit',
    'end:rst',
    'postfix',
    'queued',
    '"recipient address rejected"',
    'Sender',
    '::1',
    'a:b',
    '-',
  ];

  it('selects the sessions --where selects, on real captures', async () => {
    const f = pageFilter();
    let compared = 0;
    let matched = 0;
    for (const name of [
      'postfix-rejects.pcap',
      'postfix-basic.pcap',
      'many-rcpt.pcap',
      'bounce-dsn.pcap',
      'odd-commands.pcap',
      'smtp-server-auth.pcap',
      'lmtp.pcap',
      'ipv6.pcap',
      'exim-relay.pcap',
      'early-talkers.pcap',
    ]) {
      const { sessions } = await analyse(name);
      const facts = sessions.map((s: SmtpSession) => [s, pageFacts(s)] as const);
      for (const expr of EXPRESSIONS) {
        const cli = parseFilter(expr);
        const page = f.parseFilter(expr);
        expect(page.ok, expr).toBe(cli.ok);
        if (!cli.ok) continue;
        for (const [session, fact] of facts) {
          // Plain words search the first MAX_HAYSTACK_CHARS of the text; these sessions' text is shorter.
          expect(fact.text.length).toBeLessThan(MAX_HAYSTACK_CHARS);
          const want = matchesFilter(cli.filter, session);
          expect(f.matchFacts(page.filter?.terms ?? [], fact), `${name} ${session.id} '${expr}'`).toBe(want);
          compared++;
          if (want && expr !== '') matched++;
        }
      }
    }
    expect(compared).toBeGreaterThan(500);
    expect(matched).toBeGreaterThan(100);
  });

  it('refuses what --where refuses, with the same words', () => {
    const f = pageFilter();
    for (const bad of ['code:', 'code:600', 'code:5x5', 'reason:nope', 'to:', 'code:5.1']) {
      const cli = parseFilter(bad);
      expect(cli.ok, bad).toBe(false);
      expect(f.parseFilter(bad)).toEqual({ ok: false, error: cli.ok ? '' : cli.error });
    }
  });
});

describe('sessions and failures over time', () => {
  it('widens its buckets to stay within the limit, losing no count', () => {
    const series = createTimeSeries(MAX_BUCKETS);
    const day = 86_400_000_000;
    // One session every 7 hours for 300 days, a failure every fifth; then one at the very start again.
    let sessions = 0;
    let failures = 0;
    for (let t = T0; t < T0 + 300 * day; t += 7 * 3_600_000_000) {
      series.addSession(t);
      sessions++;
      if (sessions % 5 === 0) {
        series.addFailure(t + 1);
        failures++;
      }
    }
    series.addSession(T0);
    const buckets = series.buckets();
    expect(buckets.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(buckets.length).toBeGreaterThan(MAX_BUCKETS / 4);
    expect(buckets.reduce((n, b) => n + b.sessions, 0)).toBe(sessions + 1);
    expect(buckets.reduce((n, b) => n + b.failures, 0)).toBe(failures);
    // 300 days in at most 200 buckets: the first listed width that fits is 2 days (one day doubled).
    expect(series.widthMicros).toBe(2 * day);
    for (const [i, b] of buckets.entries()) {
      expect(b.startMicros % series.widthMicros).toBe(0);
      if (i > 0)
        expect(b.startMicros - (buckets[i - 1] as { startMicros: number }).startMicros).toBe(
          series.widthMicros,
        );
    }
    expect(buckets[0]?.startMicros).toBeLessThanOrEqual(T0);
  });

  it('keeps one-second buckets for a short capture', () => {
    const series = createTimeSeries();
    series.addSession(T0 + 500_000);
    series.addSession(T0 + 2_700_000);
    series.addFailure(T0 + 2_900_000);
    expect(series.widthMicros).toBe(1_000_000);
    expect(series.buckets()).toEqual([
      { startMicros: T0, sessions: 1, failures: 0 },
      { startMicros: T0 + 1_000_000, sessions: 0, failures: 0 },
      { startMicros: T0 + 2_000_000, sessions: 1, failures: 1 },
    ]);
  });
});
