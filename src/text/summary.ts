/**
 * The readable end-of-run summary (`smtpscope FILE` without a terminal, or `--summary`).
 * It aggregates sessions as they close, so memory does not grow with the number of sessions
 * (only with the number of distinct servers, codes and reasons, each map bounded).
 */

import { ATTEMPT_FATES, TOP_ADDRESSES } from '../model/connection-attempt.js';
import { addressDomain } from '../model/session-queries.js';
import type { RunSummary, Sink } from '../model/sink.js';
import { tlsDecryptionCount, tlsDecryptionOf } from '../model/tls-decryption.js';
import type { ReasonClass, RecipientDisposition, ReplyRecord, SmtpSession } from '../model/types.js';
import { clip, safeText, table } from '../util/display-text.js';
import { byCount, endpoint, formatBytes, formatDuration, increment, isoMicros } from './format.js';
import { createLatencyHistogram, type LatencyHistogram } from './latency-histogram.js';
import { endDescription } from './session-end.js';

/** Distinct keys kept per histogram; further keys are counted under "(other)". */
const MAX_KEYS = 5_000;

/** Distinct EHLO keywords kept per server (the union of its sessions' answers). */
const MAX_KEYWORDS = 64;

interface ServerInfo {
  sessions: number;
  name: string | null;
  software: string;
  /** Every keyword the server announced in any of its sessions, in the order first seen. */
  keywords: Set<string>;
  /** Sessions with an EHLO answer (the others said HELO, or their answer was not seen). */
  ehloSessions: number;
  outcomes: Outcomes;
  /** Time from each command to its reply. */
  latency: LatencyHistogram;
}

/** Recipients by what became of them. */
export interface Outcomes {
  delivered: number;
  deferred: number;
  rejected: number;
  /** Not sent (RSET, QUIT) or the deciding reply not captured. */
  other: number;
}

const noOutcomes = (): Outcomes => ({ delivered: 0, deferred: 0, rejected: 0, other: 0 });

function countOutcome(o: Outcomes, disposition: RecipientDisposition): void {
  if (disposition === 'delivered') o.delivered++;
  else if (disposition.startsWith('deferred')) o.deferred++;
  else if (disposition.startsWith('rejected')) o.rejected++;
  else o.other++;
}

/** A recipient's domain as the summary keys it (lower case), or "(no domain)". */
export function domainOf(address: string): string {
  return addressDomain(address) ?? '(no domain)';
}

/** What a server announced: the union of its sessions' EHLO keywords, said as such. */
function announced(v: ServerInfo): string {
  if (v.ehloSessions === 0) return 'EHLO not seen (HELO only)';
  const keywords = safeText([...v.keywords].join(' ')) || '(no extensions)';
  return v.ehloSessions === 1
    ? `EHLO: ${keywords}`
    : `EHLO (union of ${v.ehloSessions} sessions): ${keywords}`;
}

function bump<K>(map: Map<K, number>, key: K, other: K): void {
  if (map.has(key) || map.size < MAX_KEYS) increment(map, key);
  else increment(map, other);
}

/** Packets stamped far outside the capture's running time (their warnings start with the count). */
function wildTimestamps(summary: RunSummary): number {
  let n = 0;
  for (const w of summary.warnings)
    if (w.code === 'wild-timestamp') n += Number(/^(\d+)/.exec(w.message)?.[1] ?? 0);
  return n;
}

export interface SummaryFormat {
  /** Cut every line to this many columns (a terminal's width); null or absent: never cut (a file or pipe). */
  readonly width?: number | null;
}

/** One server's row of the summary: its sessions, its recipients' outcomes and its reply latency. */
export interface ServerFigures {
  /** `ip:port` as the summary prints it. */
  readonly endpoint: string;
  readonly sessions: number;
  readonly name: string | null;
  readonly software: string;
  readonly outcomes: Readonly<Outcomes>;
  /** Replies timed (command to reply), and their percentiles in microseconds (null: none timed). */
  readonly replies: number;
  readonly p50: number | null;
  readonly p95: number | null;
  readonly max: number | null;
}

/**
 * The summary's aggregates as data, for views other than the text (the HTML report): the same counts the text
 * prints, so the two can never disagree. Servers and domains are listed in the text's order, every one kept.
 */
export interface SummaryFigures {
  readonly sessions: number;
  readonly transactions: number;
  readonly recipients: number;
  readonly commands: number;
  readonly messageBytes: number;
  readonly firstMicros: number | null;
  readonly lastMicros: number | null;
  /** How sessions ended, transactions by outcome, recipients by disposition, TLS modes: largest first. */
  readonly ends: readonly (readonly [string, number])[];
  readonly transactionOutcomes: readonly (readonly [string, number])[];
  readonly dispositions: readonly (readonly [string, number])[];
  readonly tlsModes: readonly (readonly [string, number])[];
  /** Reply codes in code order; code 0 stands for the codes past the key limit. */
  readonly replyCodes: readonly (readonly [number, number])[];
  /** Failures by reason class, largest first, with one example each. */
  readonly reasons: readonly {
    readonly reason: ReasonClass;
    readonly count: number;
    readonly sample: string;
  }[];
  readonly servers: readonly ServerFigures[];
  readonly domains: readonly { readonly domain: string; readonly outcomes: Readonly<Outcomes> }[];
  readonly anomalies: readonly (readonly [string, number])[];
}

export interface SummaryAggregator extends Sink {
  format(summary: RunSummary, options?: SummaryFormat): string;
  /** The aggregates so far, as data. */
  figures(): SummaryFigures;
}

export interface SummaryOptions {
  /** The capture file of a session: with several files, the summary gets a section per file. */
  readonly fileOf?: (session: SmtpSession) => string | null;
}

interface FileInfo {
  sessions: number;
  /** Recipients refused or deferred, and transactions that failed before any recipient. */
  failures: number;
  first: number;
  last: number;
}

export function createSummaryAggregator(
  write: (text: string) => void = () => {},
  options: SummaryOptions = {},
): SummaryAggregator {
  const perFile = new Map<string, FileInfo>();
  let sessions = 0;
  let transactions = 0;
  let recipients = 0;
  let commands = 0;
  const ends = new Map<string, number>();
  const tlsModes = new Map<string, number>();
  /** TLS sessions decrypted and not decrypted (by reason); only sessions whose decryption was tried. */
  const tlsDecryptions = new Map<string, number>();
  const authOutcomes = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const dispositions = new Map<string, number>();
  const codes = new Map<number, number>();
  const enhanced = new Map<string, number>();
  const reasons = new Map<ReasonClass, number>();
  const failureSamples = new Map<ReasonClass, string>();
  const servers = new Map<string, ServerInfo>();
  const anomalies = new Map<string, number>();
  const domains = new Map<string, Outcomes>();
  let midstream = 0;
  let oneSided = 0;
  let withGaps = 0;
  let retransmissions = 0;
  let first: number | null = null;
  let last: number | null = null;
  let messageBytes = 0;

  const countReply = (r: ReplyRecord): void => {
    bump(codes, r.code, 0);
    if (r.enhancedStatus !== null) bump(enhanced, r.enhancedStatus, '(other)');
  };

  /** The latest server's key, kept: consecutive sessions mostly share a server, and the key is made once for them. */
  let lastServerIp: string | null = null;
  let lastServerPort = 0;
  let lastServerKey = '';
  const serverKey = (server: SmtpSession['server']): string => {
    if (server.ip !== lastServerIp || server.port !== lastServerPort) {
      lastServerIp = server.ip;
      lastServerPort = server.port;
      lastServerKey = endpoint(server);
    }
    return lastServerKey;
  };

  const addSession = (s: SmtpSession): void => {
    sessions++;
    const file = options.fileOf?.(s) ?? null;
    let fileInfo: FileInfo | undefined;
    if (file !== null) {
      fileInfo = perFile.get(file);
      if (fileInfo === undefined && perFile.size < MAX_KEYS) {
        fileInfo = { sessions: 0, failures: 0, first: s.startedAt, last: s.endedAt };
        perFile.set(file, fileInfo);
      }
      if (fileInfo !== undefined) {
        fileInfo.sessions++;
        fileInfo.first = Math.min(fileInfo.first, s.startedAt);
        fileInfo.last = Math.max(fileInfo.last, s.endedAt);
      }
    }
    first = first === null ? s.startedAt : Math.min(first, s.startedAt);
    last = last === null ? s.endedAt : Math.max(last, s.endedAt);
    increment(ends, endDescription(s));
    increment(tlsModes, s.tls.mode);
    const decryption = tlsDecryptionOf(s.tls);
    if (decryption !== null) increment(tlsDecryptions, tlsDecryptionCount(decryption.kind));
    for (const a of s.auth) increment(authOutcomes, `${a.mechanism} ${a.outcome}`);
    if (s.quality.midstream) midstream++;
    if (s.quality.oneSided !== null) oneSided++;
    if (s.quality.gaps > 0) withGaps++;
    retransmissions += s.quality.retransmissions;
    for (const a of s.anomalies) bump(anomalies, a.code, '(other)');
    // The greeting's and every command's reply, counted in place (no list of them).
    if (s.greeting !== null) countReply(s.greeting);
    for (const c of s.commands) {
      commands++;
      if (c.reply !== null) countReply(c.reply);
    }
    const key = serverKey(s.server);
    let server = servers.get(key);
    if (server === undefined && servers.size < MAX_KEYS) {
      server = {
        sessions: 0,
        name: s.serverName,
        software: s.software,
        keywords: new Set(),
        ehloSessions: 0,
        outcomes: noOutcomes(),
        latency: createLatencyHistogram(),
      };
      servers.set(key, server);
    }
    if (server !== undefined) {
      server.sessions++;
      server.name ??= s.serverName;
      if (server.software === 'unknown' && s.software !== 'unknown') server.software = s.software;
      if (s.capabilities !== null) {
        server.ehloSessions++;
        for (const k of s.capabilities.keywords)
          if (server.keywords.size < MAX_KEYWORDS) server.keywords.add(k);
      }
      for (const c of s.commands) if (c.latencyMicros !== null) server.latency.add(c.latencyMicros);
    }
    for (const t of s.transactions) {
      transactions++;
      increment(outcomes, t.outcome);
      messageBytes += t.sizeBytes ?? 0;
      for (const r of t.recipients) {
        recipients++;
        increment(dispositions, r.disposition);
        if (server !== undefined) countOutcome(server.outcomes, r.disposition);
        const domain = domainOf(r.address);
        const key = domains.has(domain) || domains.size < MAX_KEYS ? domain : '(other)';
        let perDomain = domains.get(key);
        if (perDomain === undefined) {
          perDomain = noOutcomes();
          domains.set(key, perDomain);
        }
        countOutcome(perDomain, r.disposition);
        if (r.reasonClass !== null) {
          if (fileInfo !== undefined) fileInfo.failures++;
          increment(reasons, r.reasonClass);
          const reply = r.disposition.endsWith('-rcpt') ? r.rcptReply : r.finalReply;
          if (!failureSamples.has(r.reasonClass) && reply !== null)
            failureSamples.set(
              r.reasonClass,
              `${r.address}: ${reply.code} ${reply.text.split('\n')[0] ?? ''}`,
            );
        }
      }
      if (
        t.reasonClass !== null &&
        t.failureStage !== 'rcpt' &&
        !t.recipients.some((r) => r.reasonClass !== null)
      ) {
        if (fileInfo !== undefined) fileInfo.failures++;
        increment(reasons, t.reasonClass);
        const reply = t.finalReply ?? t.dataReply ?? t.mailReply;
        if (!failureSamples.has(t.reasonClass) && reply !== null)
          failureSamples.set(
            t.reasonClass,
            `${t.mailFrom ?? '?'} (${t.failureStage}): ${reply.code} ${reply.text.split('\n')[0] ?? ''}`,
          );
      }
    }
  };

  const byServerSessions = (): [string, ServerInfo][] =>
    [...servers.entries()].sort((a, b) => b[1].sessions - a[1].sessions);
  const outcomeTotal = (o: Outcomes): number => o.delivered + o.deferred + o.rejected + o.other;
  const byDomainTotal = (): [string, Outcomes][] =>
    [...domains.entries()].sort(
      (a, b) => outcomeTotal(b[1]) - outcomeTotal(a[1]) || a[0].localeCompare(b[0]),
    );

  const format = (summary: RunSummary, options: SummaryFormat = {}): string => {
    const out: string[] = [];
    const src = summary.stats.source;
    const names = summary.sources
      .map((s) => `${s.description} (${s.format}${s.compressed ? ', gzip' : ''})`)
      .join(', ');
    out.push(`smtpscope summary: ${names || 'no input'}`);
    out.push(
      `  ${src.packets} packets, ${formatBytes(src.bytes)}${first !== null && last !== null ? `, ${isoMicros(first)} .. ${isoMicros(last)}` : ''}`,
    );
    out.push('');
    out.push(
      `Sessions: ${sessions}   transactions: ${transactions}   recipients: ${recipients}   commands: ${commands}   message bytes: ${formatBytes(messageBytes)}`,
    );
    if (sessions === 0) {
      out.push('  No SMTP sessions found on the selected ports.');
    }
    const section = (title: string, rows: string[][]): void => {
      if (rows.length === 0) return;
      out.push('', title, ...table(rows));
    };
    if (perFile.size > 1)
      section('Per file:', [
        ['FILE', 'SESSIONS', 'FAILURES', 'FIRST', 'LAST'],
        ...[...perFile.entries()].map(([f, v]) => [
          safeText(f),
          String(v.sessions),
          String(v.failures),
          isoMicros(v.first),
          isoMicros(v.last),
        ]),
      ]);
    section(
      'How sessions ended:',
      byCount(ends).map(([k, n]) => [k, String(n)]),
    );
    section('TLS:', [
      ...byCount(tlsModes).map(([k, n]) => [k, String(n)]),
      ...byCount(tlsDecryptions).map(([k, n]) => [k, String(n)]),
    ]);
    section(
      'AUTH:',
      byCount(authOutcomes).map(([k, n]) => [safeText(k), String(n)]),
    );
    section(
      'Transactions by outcome:',
      byCount(outcomes).map(([k, n]) => [k, String(n)]),
    );
    section(
      'Recipients by outcome:',
      byCount(dispositions).map(([k, n]) => [k, String(n)]),
    );
    section(
      'Reply codes:',
      [...codes.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([k, n]) => [k === 0 ? '(other)' : String(k), String(n)]),
    );
    section(
      'Enhanced status codes:',
      byCount(enhanced)
        .slice(0, 20)
        .map(([k, n]) => [k, String(n)]),
    );
    section(
      'Failures by reason:',
      byCount(reasons).map(([k, n]) => [k, String(n), safeText(failureSamples.get(k) ?? '')]),
    );
    section(
      'Servers:',
      byServerSessions()
        .slice(0, 30)
        .map(([k, v]) => [k, `${v.sessions} session(s)`, v.software, safeText(v.name ?? '-'), announced(v)]),
    );
    const outcomeCells = (o: Outcomes): string[] => [
      String(o.delivered),
      String(o.deferred),
      String(o.rejected),
      String(o.other),
    ];
    const ms = (micros: number | null): string => (micros === null ? '-' : formatDuration(micros));
    const serverStats = byServerSessions()
      .slice(0, 30)
      .map(([k, v]) => [
        k,
        ...outcomeCells(v.outcomes),
        String(v.latency.count),
        ms(v.latency.percentile(50)),
        ms(v.latency.percentile(95)),
        ms(v.latency.count === 0 ? null : v.latency.max),
      ]);
    if (serverStats.length > 0)
      section('Per server (recipients; reply latency: command to reply):', [
        ['SERVER', 'DELIVERED', 'DEFERRED', 'REJECTED', 'OTHER', 'REPLIES', 'P50', 'P95', 'MAX'],
        ...serverStats,
      ]);
    const domainStats = byDomainTotal()
      .slice(0, 30)
      .map(([d, o]) => [safeText(d), ...outcomeCells(o)]);
    if (domainStats.length > 0)
      section('Per recipient domain:', [
        ['DOMAIN', 'DELIVERED', 'DEFERRED', 'REJECTED', 'OTHER'],
        ...domainStats,
      ]);
    const attempts = summary.stats.attempts;
    if (attempts.total > 0) {
      // Connections that carried no byte either way (connection-attempts.ts): counted, not sessions.
      const approx = attempts.approximate ? ' (at least; more addresses than counted exactly)' : '';
      out.push('', `Connection attempts (no byte either way, not sessions): ${attempts.total}`);
      out.push(
        ...table(
          ATTEMPT_FATES.filter((f) => attempts.byFate[f] > 0).map((f) => [f, String(attempts.byFate[f])]),
        ),
      );
      section(
        `Attempts by server${approx}:`,
        attempts.servers.slice(0, TOP_ADDRESSES).map((a) => [a.address, String(a.count)]),
      );
      section(
        `Attempts by client${approx}:`,
        attempts.clients.slice(0, TOP_ADDRESSES).map((a) => [a.address, String(a.count)]),
      );
    }
    const decode = summary.stats.decode;
    const malformed = Object.entries(decode.malformed).filter(([, n]) => (n ?? 0) > 0);
    const asm = summary.stats.assembler;
    out.push('', 'Capture quality:');
    out.push(
      ...table([
        ['midstream sessions', String(midstream)],
        ['one-sided sessions', String(oneSided)],
        ['sessions with gaps', String(withGaps)],
        ['retransmitted segments', String(retransmissions)],
        ['overlaps with differing bytes', String(asm.overlapsDiffering)],
        [
          'malformed packets',
          malformed.length === 0 ? '0' : malformed.map(([k, n]) => `${k} ${n}`).join(', '),
        ],
        ['packets cut by snaplen', String(src.truncated)],
        ['packets with wild timestamps', String(wildTimestamps(summary))],
        ['dropped', src.dropped === null ? 'n/a (this input does not report drops)' : String(src.dropped)],
      ]),
    );
    const budget = summary.stats.budget;
    if (budget.hits > 0)
      out.push(
        '',
        `Memory budget (${formatBytes(budget.bytes)}) reached ${budget.hits} time(s): ${budget.connectionsClosed} connection(s) closed early as 'limit' (docs/LIMITS.md)`,
      );
    section(
      'Anomalies:',
      byCount(anomalies).map(([k, n]) => [k, String(n)]),
    );
    if (summary.warnings.length > 0) {
      out.push('', 'Warnings:');
      for (const w of summary.warnings)
        out.push(`  ${w.code}${w.byteOffset === null ? '' : ` at byte ${w.byteOffset}`}: ${w.message}`);
    }
    const width = options.width ?? null;
    const lines = out.join('\n').split('\n');
    return `${(width === null ? lines : lines.map((l) => clip(l, width))).join('\n')}\n`;
  };

  const figures = (): SummaryFigures => ({
    sessions,
    transactions,
    recipients,
    commands,
    messageBytes,
    firstMicros: first,
    lastMicros: last,
    ends: byCount(ends),
    transactionOutcomes: byCount(outcomes),
    dispositions: byCount(dispositions),
    tlsModes: byCount(tlsModes),
    replyCodes: [...codes.entries()].sort((a, b) => a[0] - b[0]),
    reasons: byCount(reasons).map(([reason, count]) => ({
      reason,
      count,
      sample: failureSamples.get(reason) ?? '',
    })),
    servers: byServerSessions().map(([key, v]) => ({
      endpoint: key,
      sessions: v.sessions,
      name: v.name,
      software: v.software,
      outcomes: { ...v.outcomes },
      replies: v.latency.count,
      p50: v.latency.percentile(50),
      p95: v.latency.percentile(95),
      max: v.latency.count === 0 ? null : v.latency.max,
    })),
    domains: byDomainTotal().map(([domain, o]) => ({ domain, outcomes: { ...o } })),
    anomalies: byCount(anomalies),
  });

  return {
    name: 'summary',
    figures,
    // Counts and replies only: a run whose only output is this summary makes no message summaries.
    readsMessages: false,
    sessionClosed: addSession,
    async close(summary) {
      write(format(summary));
    },
    format,
  };
}
