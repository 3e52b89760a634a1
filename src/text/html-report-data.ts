/**
 * What the HTML report (`--html FILE`, docs/REPORT.md) keeps while sessions close, and the report's model at
 * the end. Memory is bounded like every other sink's:
 *
 *  - the text summary's aggregates ({@link createSummaryAggregator}: counts, servers, domains, reply codes,
 *    reasons; each map bounded there), plus reply latency to RCPT per recipient domain (the summary's domain
 *    keys, at most {@link MAX_DOMAINS});
 *  - sessions and failures over time ({@link createTimeSeries}, at most 200 buckets);
 *  - the first {@link MAX_LISTED_FAILURES} failures (the bounce report's rows, report/bounce-failures.ts); later
 *    ones are counted;
 *  - up to `maxSessions` sessions with their transcript (at most {@link MAX_TRANSCRIPT_LINES} lines of at most
 *    {@link MAX_LINE_CHARS} characters each): sessions are kept in close order, and once the sample is full a
 *    session with a failure takes the place of the latest kept session without one;
 *  - for each session with a listed failure, the facts the page's filter reads ({@link PageFacts}, its text
 *    cut at {@link MAX_HAYSTACK_CHARS}).
 *
 * No session object is kept past its `sessionClosed` call.
 */

import type { RunSummary } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type FilterFacts, filterFactsOf } from '../query/filter.js';
import { factsOf } from '../query/session-facts.js';
import { type FailureRow, sessionFailures } from '../report/bounce-failures.js';
import { MAX_LISTED_FAILURES } from '../report/bounce-sink.js';
import { endpoint, isoMicros } from './format.js';
import { createTimeSeries, type TimeBucket } from './html-time-series.js';
import { createLatencyHistogram, type LatencyHistogram } from './latency-histogram.js';
import { endDescription } from './session-end.js';
import { createSummaryAggregator, domainOf, type SummaryFigures } from './summary.js';
import { transcriptLines } from './transcript.js';

/** Sessions kept with their transcript by default (`--html-max-sessions`). */
export const DEFAULT_MAX_SESSIONS = 1000;
/** Lines of one kept transcript; the rest are counted in a last line. */
export const MAX_TRANSCRIPT_LINES = 400;
/** Characters of one transcript line or failure text; longer ones end in `…`. */
export const MAX_LINE_CHARS = 1000;
/** Characters of a session's searchable text (plain filter words search this much of it). */
export const MAX_HAYSTACK_CHARS = 4096;
/** Recipient domains whose RCPT latency is kept (the summary keeps as many domain keys). */
export const MAX_DOMAINS = 5000;

/**
 * The facts the page's filter reads, one per session: the command line's (query/filter.ts), with the searchable
 * text's pieces each once and cut at {@link MAX_HAYSTACK_CHARS}.
 */
export type PageFacts = FilterFacts;

export type PageLineKind = 'header' | 'command' | 'reply' | 'meaning' | 'anomaly' | 'note' | 'end';

/** One session in the page: its row in the sessions table, its filter facts and, when kept, its transcript. */
export interface PageSession {
  readonly id: string;
  readonly start: string;
  readonly client: string;
  readonly server: string;
  readonly helo: string | null;
  readonly outcome: string;
  readonly recipients: number;
  readonly delivered: number;
  readonly failed: number;
  readonly ended: string;
  readonly subject: string | null;
  readonly facts: PageFacts;
  /** The transcript's lines (kind, text); null when the session is not in the kept sample. */
  readonly transcript: readonly (readonly [PageLineKind, string])[] | null;
}

/** One row of the failures table. */
export interface PageFailure {
  readonly time: string;
  readonly tsMicros: number;
  readonly session: string;
  readonly stage: string;
  readonly severity: string;
  readonly code: number | null;
  readonly status: string | null;
  readonly reason: string | null;
  readonly recipient: string | null;
  readonly from: string | null;
  readonly server: string;
  readonly text: string | null;
  readonly explanation: string;
}

export interface DomainLatency {
  readonly domain: string;
  /** RCPT replies timed (command to reply) and their percentiles in microseconds. */
  readonly replies: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

/** Everything the page shows. */
export interface HtmlReport {
  readonly title: string;
  readonly packets: number;
  readonly bytes: number;
  readonly figures: SummaryFigures;
  readonly domainLatency: ReadonlyMap<string, DomainLatency>;
  /** Rows of the bounce report seen, listed and not. */
  readonly failureCount: number;
  readonly failures: readonly PageFailure[];
  readonly failuresOmitted: number;
  readonly timeSeries: { readonly widthMicros: number; readonly buckets: readonly TimeBucket[] };
  /** Sessions in the page: the kept sample (with transcripts) and those of listed failures (facts only). */
  readonly sessions: readonly PageSession[];
  readonly sessionsKept: number;
  readonly maxSessions: number;
}

export interface HtmlReportOptions {
  /** Sessions kept with their transcript (default {@link DEFAULT_MAX_SESSIONS}). */
  readonly maxSessions?: number;
  /** Failures listed (default {@link MAX_LISTED_FAILURES}). */
  readonly maxFailures?: number;
}

export interface HtmlReportCollector {
  add(session: SmtpSession): void;
  report(summary: RunSummary): HtmlReport;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** The facts of one session the page's filter reads. */
export function pageFacts(session: SmtpSession): PageFacts {
  const f = filterFactsOf(session);
  // Each distinct piece once (a hundred recipients' `250 2.1.5 Ok` once), then cut.
  return { ...f, text: [...new Set(f.text.split('\n'))].join('\n').slice(0, MAX_HAYSTACK_CHARS) };
}

function pageTranscript(session: SmtpSession): [PageLineKind, string][] {
  const lines = transcriptLines(session);
  const kept = lines
    .slice(0, MAX_TRANSCRIPT_LINES)
    .map((l) => [l.kind, cut(l.text, MAX_LINE_CHARS)] as [PageLineKind, string]);
  if (lines.length > MAX_TRANSCRIPT_LINES)
    kept.push([
      'note',
      `… ${lines.length - MAX_TRANSCRIPT_LINES} more line(s) not kept in this report (limit)`,
    ]);
  return kept;
}

function pageSession(session: SmtpSession, withTranscript: boolean): PageSession {
  const f = factsOf(session);
  let subject: string | null = null;
  for (const t of session.transactions) subject ??= t.message?.subject ?? null;
  return {
    id: session.id,
    start: isoMicros(session.startedAt),
    client: endpoint(session.client),
    server: endpoint(session.server),
    helo: session.helo === null ? null : cut(session.helo, MAX_LINE_CHARS),
    outcome: f.outcome,
    recipients: f.recipients,
    delivered: f.delivered,
    failed: f.failed,
    ended: endDescription(session),
    subject: subject === null ? null : cut(subject, MAX_LINE_CHARS),
    facts: pageFacts(session),
    transcript: withTranscript ? pageTranscript(session) : null,
  };
}

function pageFailure(row: FailureRow): PageFailure {
  return {
    time: isoMicros(row.tsMicros),
    tsMicros: row.tsMicros,
    session: row.sessionId,
    stage: row.stage,
    severity: row.severity,
    code: row.code,
    status: row.enhancedStatus,
    reason: row.reasonClass,
    recipient: row.recipient,
    from: row.mailFrom,
    server: endpoint(row.server),
    text: row.text === null ? null : cut(row.text.replace(/\n/g, ' / '), MAX_LINE_CHARS),
    explanation: cut(row.explanation, MAX_LINE_CHARS),
  };
}

/** The inputs named in the page's title: the first three, then how many more. */
function titleOf(inputs: readonly string[]): string {
  if (inputs.length === 0) return 'no input';
  const named = inputs.slice(0, 3).join(', ');
  return inputs.length > 3 ? `${named} and ${inputs.length - 3} more` : named;
}

export function createHtmlReportCollector(options: HtmlReportOptions = {}): HtmlReportCollector {
  const maxSessions = options.maxSessions ?? DEFAULT_MAX_SESSIONS;
  const maxFailures = options.maxFailures ?? MAX_LISTED_FAILURES;
  const summary = createSummaryAggregator();
  const series = createTimeSeries();
  const rcptLatency = new Map<string, LatencyHistogram>();
  const failures: PageFailure[] = [];
  let failureCount = 0;
  /** Sessions in the page by id, in close order (a Map keeps insertion order). */
  const sessions = new Map<string, PageSession>();
  let kept = 0;
  /** Kept sessions without a failure, latest last: the ones a failing session may replace. */
  const replaceable: string[] = [];

  const keep = (session: SmtpSession, failing: boolean): boolean => {
    if (kept < maxSessions) {
      kept++;
      if (!failing) replaceable.push(session.id);
      return true;
    }
    if (!failing) return false;
    const out = replaceable.pop();
    if (out === undefined) return false;
    sessions.delete(out);
    return true;
  };

  return {
    add(session) {
      summary.sessionClosed(session);
      series.addSession(session.startedAt);
      for (const t of session.transactions)
        for (const r of t.recipients) {
          if (r.rcptReply === null) continue;
          const domain = domainOf(r.address);
          let h = rcptLatency.get(domain);
          if (h === undefined && rcptLatency.size < MAX_DOMAINS) {
            h = createLatencyHistogram();
            rcptLatency.set(domain, h);
          }
          h?.add(r.rcptReply.tsMicros - r.rcptTsMicros);
        }
      const rows = sessionFailures(session);
      let listed = false;
      for (const row of rows) {
        failureCount++;
        series.addFailure(row.tsMicros);
        if (failures.length < maxFailures) {
          failures.push(pageFailure(row));
          listed = true;
        }
      }
      const withTranscript = keep(session, rows.length > 0);
      if (withTranscript || listed) sessions.set(session.id, pageSession(session, withTranscript));
    },
    report(run) {
      const domainLatency = new Map<string, DomainLatency>();
      for (const [domain, h] of rcptLatency)
        domainLatency.set(domain, {
          domain,
          replies: h.count,
          p50: h.percentile(50),
          p95: h.percentile(95),
          max: h.count === 0 ? null : h.max,
        });
      return {
        title: titleOf(run.sources.map((s) => s.description)),
        packets: run.stats.source.packets,
        bytes: run.stats.source.bytes,
        figures: summary.figures(),
        domainLatency,
        failureCount,
        failures: [...failures].sort((a, b) => a.tsMicros - b.tsMicros),
        failuresOmitted: failureCount - failures.length,
        timeSeries: { widthMicros: series.widthMicros, buckets: series.buckets() },
        sessions: [...sessions.values()],
        sessionsKept: kept,
        maxSessions,
      };
    },
  };
}
