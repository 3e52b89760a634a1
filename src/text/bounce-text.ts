/**
 * The bounce report as aligned plain text for a terminal (`smtpscope bounces`, docs/BOUNCES.md); every string
 * from the wire goes through the display-text rules (safe, clipped).
 */

import { dsnQueueId, formatHops, MAX_DSN_CANDIDATES } from '../report/bounce-dsns.js';
import { OUTCOME_UNKNOWN_NOTE } from '../report/bounce-failures.js';
import type { BounceReport, GroupCount } from '../report/bounce-report.js';
import { formatIsoMicros } from '../report/iso-micros.js';
import { clip, safeText, table } from '../util/display-text.js';

const MAX_CELL = 48;

const cell = (s: string | null | undefined, width = MAX_CELL): string =>
  s === null || s === undefined || s === '' ? '-' : clip(s, width);
const addr = (s: string | null): string => (s === null ? '-' : s === '' ? '<>' : clip(s, MAX_CELL));
const shortTime = (us: number): string => formatIsoMicros(us).replace('T', ' ').slice(0, 23);

/** The report as aligned plain text; every string from the wire passes through {@link safeText}. */
export function formatBounceReport(report: BounceReport): string {
  const out: string[] = [];
  const failures = report.failures;
  const { failures: total, permanent, temporary, outcomeUnknown } = report.totals;
  out.push(
    `Bounce report: ${total} failure${total === 1 ? '' : 's'} (${permanent} permanent, ${temporary} temporary, ${outcomeUnknown} outcome unknown); ${report.dsns.length} DSN recipient${report.dsns.length === 1 ? '' : 's'} seen in traffic`,
  );
  if (failures.length > 0) {
    out.push('', 'Failures');
    const rows = failures.map((r) => [
      shortTime(r.tsMicros),
      r.stage,
      r.code === null ? '-' : String(r.code),
      cell(r.enhancedStatus, 12),
      r.kind === 'session' ? '-' : addr(r.mailFrom),
      r.kind === 'recipient' ? addr(r.recipient) : '-',
      cell(r.client.ip),
      cell(r.serverName === null ? r.server.ip : `${r.server.ip} ${r.serverName}`),
      r.reasonClass ?? (r.outcomeUnknown ? 'outcome-unknown' : '-'),
    ]);
    const lines = table([
      ['TIME (UTC)', 'STAGE', 'CODE', 'STATUS', 'FROM', 'RECIPIENT', 'CLIENT', 'SERVER', 'REASON'],
      ...rows,
    ]);
    out.push(lines[0] ?? '');
    failures.forEach((r, i) => {
      out.push(lines[i + 1] ?? '');
      const details: string[] = [];
      if (r.text !== null && r.text !== '')
        details.push(
          `${r.stage === 'after-queue' ? 'MTA logged' : 'server said'}: ${clip(r.text.replace(/\n/g, ' '), 160)}`,
        );
      if (r.enhancedMeaning !== null)
        details.push(`${r.enhancedStatus ?? ''}: ${safeText(r.enhancedMeaning)}`);
      details.push(safeText(r.explanation));
      if (r.queueId !== null) details.push(`queue id ${safeText(r.queueId)}`);
      if (r.outcomeUnknown && !r.explanation.includes(OUTCOME_UNKNOWN_NOTE))
        details.push(`!! ${OUTCOME_UNKNOWN_NOTE}`);
      for (const d of details) out.push(`      ${d}`);
    });
    if (report.omitted > 0)
      out.push(
        `  ... and ${report.omitted} more failure${report.omitted === 1 ? '' : 's'}, counted below (bounces.csv lists every one: --csv FILE)`,
      );
  }
  const groups: [string, readonly GroupCount[]][] = [
    ['By reason class', report.groups.reasonClass],
    ['By server', report.groups.server],
    ['By sender domain', report.groups.senderDomain],
    ['By recipient domain', report.groups.recipientDomain],
  ];
  for (const [title, list] of groups) {
    if (list.length === 0) continue;
    out.push('', title);
    out.push(...table([['COUNT', 'KEY'], ...list.map((g) => [String(g.count), cell(g.key, 80)])]));
  }
  if (report.dsns.length > 0) {
    out.push('', 'DSNs seen in traffic');
    const rows = report.dsns.map((d) => [
      shortTime(d.tsMicros),
      cell(d.action, 10),
      cell(d.status, 12),
      addr(d.finalRecipient),
      cell(d.reportingMta),
      d.original === null
        ? 'not in capture'
        : `${d.original.sessionId} #${d.original.depth} (by ${d.original.matchedBy})`,
    ]);
    const lines = table([
      ['TIME (UTC)', 'ACTION', 'STATUS', 'RECIPIENT', 'REPORTING MTA', 'ORIGINAL'],
      ...rows.map((r) => r.map((c) => safeText(c))),
    ]);
    out.push(lines[0] ?? '');
    report.dsns.forEach((d, i) => {
      out.push(lines[i + 1] ?? '');
      if (d.diagnosticCode !== null) out.push(`      diagnostic: ${clip(d.diagnosticCode, 160)}`);
      if (d.statusMeaning !== null)
        out.push(`      ${safeText(d.status ?? '')}: ${safeText(d.statusMeaning)}`);
      if (d.original !== null && d.original.hops.length > 1)
        out.push(`      same message in: ${safeText(formatHops(d.original.hops))}`);
      else if (d.original !== null && dsnQueueId(d.original) !== null)
        out.push(`      queue id ${safeText(dsnQueueId(d.original) ?? '')}`);
    });
    const forgotten = report.dsnIndexForgotten ?? 0;
    if (forgotten > 0)
      out.push(
        `  (the join looked only at the last ${MAX_DSN_CANDIDATES} transactions: ${forgotten} older ones were ` +
          'forgotten, so "not in capture" may mean "too old")',
      );
  }
  return `${out.join('\n')}\n`;
}
