/**
 * The readable end-of-run summary (`smtpscope FILE` without a terminal, or `--summary`).
 * It aggregates sessions as they close, so memory does not grow with the number of sessions
 * (only with the number of distinct servers, codes and reasons, each map bounded).
 */

import type { RunSummary, Sink } from '../model/sink.js';
import type { ReasonClass, SmtpSession } from '../model/types.js';
import { safeText, table } from '../util/display-text.js';
import { byCount, endpoint, formatBytes, increment, isoMicros } from './format.js';

/** Distinct keys kept per histogram; further keys are counted under "(other)". */
const MAX_KEYS = 5_000;

interface ServerInfo {
  sessions: number;
  name: string | null;
  software: string;
  keywords: string;
}

function bump<K>(map: Map<K, number>, key: K, other: K): void {
  if (map.has(key) || map.size < MAX_KEYS) increment(map, key);
  else increment(map, other);
}

export interface SummaryAggregator extends Sink {
  format(summary: RunSummary): string;
}

export function createSummaryAggregator(write: (text: string) => void = () => {}): SummaryAggregator {
  let sessions = 0;
  let transactions = 0;
  let recipients = 0;
  let commands = 0;
  const ends = new Map<string, number>();
  const tlsModes = new Map<string, number>();
  const authOutcomes = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const dispositions = new Map<string, number>();
  const codes = new Map<number, number>();
  const enhanced = new Map<string, number>();
  const reasons = new Map<ReasonClass, number>();
  const failureSamples = new Map<ReasonClass, string>();
  const servers = new Map<string, ServerInfo>();
  const anomalies = new Map<string, number>();
  let midstream = 0;
  let oneSided = 0;
  let withGaps = 0;
  let retransmissions = 0;
  let first: number | null = null;
  let last: number | null = null;
  let messageBytes = 0;

  const addSession = (s: SmtpSession): void => {
    sessions++;
    first = first === null ? s.startedAt : Math.min(first, s.startedAt);
    last = last === null ? s.endedAt : Math.max(last, s.endedAt);
    increment(ends, s.end);
    increment(tlsModes, s.tls.mode);
    for (const a of s.auth) increment(authOutcomes, `${a.mechanism} ${a.outcome}`);
    if (s.quality.midstream) midstream++;
    if (s.quality.oneSided !== null) oneSided++;
    if (s.quality.gaps > 0) withGaps++;
    retransmissions += s.quality.retransmissions;
    for (const a of s.anomalies) bump(anomalies, a.code, '(other)');
    const replies = s.greeting === null ? [] : [s.greeting];
    for (const c of s.commands) {
      commands++;
      if (c.reply !== null) replies.push(c.reply);
    }
    for (const r of replies) {
      bump(codes, r.code, 0);
      if (r.enhancedStatus !== null) bump(enhanced, r.enhancedStatus, '(other)');
    }
    const key = endpoint(s.server);
    const server = servers.get(key);
    if (server !== undefined) server.sessions++;
    else if (servers.size < MAX_KEYS)
      servers.set(key, {
        sessions: 1,
        name: s.serverName,
        software: s.software,
        keywords: s.capabilities?.keywords.join(' ') ?? '',
      });
    for (const t of s.transactions) {
      transactions++;
      increment(outcomes, t.outcome);
      messageBytes += t.sizeBytes ?? 0;
      for (const r of t.recipients) {
        recipients++;
        increment(dispositions, r.disposition);
        if (r.reasonClass !== null) {
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

  const format = (summary: RunSummary): string => {
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
    section(
      'How sessions ended:',
      byCount(ends).map(([k, n]) => [k, String(n)]),
    );
    section(
      'TLS:',
      byCount(tlsModes).map(([k, n]) => [k, String(n)]),
    );
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
      byCount(reasons).map(([k, n]) => [k, String(n), safeText(failureSamples.get(k) ?? '').slice(0, 100)]),
    );
    section(
      'Servers:',
      [...servers.entries()]
        .sort((a, b) => b[1].sessions - a[1].sessions)
        .slice(0, 30)
        .map(([k, v]) => [
          k,
          `${v.sessions} session(s)`,
          v.software,
          safeText(v.name ?? '-'),
          safeText(v.keywords).slice(0, 80),
        ]),
    );
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
        ['dropped', src.dropped === null ? 'n/a (this input does not report drops)' : String(src.dropped)],
      ]),
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
    return `${out.join('\n')}\n`;
  };

  return {
    name: 'summary',
    // Counts and replies only: a run whose only output is this summary makes no message summaries.
    readsMessages: false,
    sessionClosed: addSession,
    async close(summary) {
      write(format(summary));
    },
    format,
  };
}
