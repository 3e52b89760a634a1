/**
 * The bounce report (docs/BOUNCES.md) as data: the failures seen in the traffic (bounce-failures.ts), the DSNs
 * joined to their originals (bounce-dsns.ts), the totals and the counts grouped by reason class, server,
 * sender domain and recipient domain. {@link createBounceTally} keeps the totals and groups as rows stream by
 * (the bounce sink); {@link collectFailures} builds the whole report from a set of sessions at once. Its
 * terminal text is text/bounce-text.ts; its CSV columns are `BOUNCE_COLUMNS` in columns.ts.
 */

import { addressDomain } from '../model/session-queries.js';
import type { SmtpSession } from '../model/types.js';
import { collectDsns, type DsnRow } from './bounce-dsns.js';
import { type FailureRow, sessionFailures } from './bounce-failures.js';
import { BOUNCE_COLUMNS, bounceCsvRows } from './columns.js';
import { createCsvFormatter } from './csv-format.js';

export interface GroupCount {
  readonly key: string;
  readonly count: number;
}

export interface BounceGroups {
  readonly reasonClass: readonly GroupCount[];
  /** `<server ip>` or `<server ip> (<server name>)`. */
  readonly server: readonly GroupCount[];
  readonly senderDomain: readonly GroupCount[];
  readonly recipientDomain: readonly GroupCount[];
}

export interface BounceTotals {
  readonly failures: number;
  readonly permanent: number;
  readonly temporary: number;
  readonly outcomeUnknown: number;
}

export interface BounceReport {
  /** The failures listed, in time order (all of them, or the first ones when `omitted` is not 0). */
  readonly failures: readonly FailureRow[];
  /** Failures counted in the totals and groups but not listed (the bounce sink lists a bounded number). */
  readonly omitted: number;
  readonly totals: BounceTotals;
  readonly dsns: readonly DsnRow[];
  readonly groups: BounceGroups;
  /**
   * Transactions the streaming DSN join forgot to stay within MAX_DSN_CANDIDATES (bounce-dsns.ts); absent or 0
   * when every transaction was looked at.
   */
  readonly dsnIndexForgotten?: number;
}

/** The group key of an address's domain ({@link addressDomain}); `(null sender)` for `<>`, `(none)` when absent. */
function domainGroupKey(address: string | null): string {
  if (address === null) return '(none)';
  if (address === '') return '(null sender)';
  return addressDomain(address) ?? '(no domain)';
}

const GROUP_KEYS: Readonly<Record<keyof BounceGroups, (r: FailureRow) => string>> = {
  reasonClass: (r) => r.reasonClass ?? (r.outcomeUnknown ? 'outcome-unknown' : '(unclassified)'),
  server: (r) => (r.serverName === null ? r.server.ip : `${r.server.ip} (${r.serverName})`),
  senderDomain: (r) => domainGroupKey(r.mailFrom),
  recipientDomain: (r) => domainGroupKey(r.recipient),
};

const sorted = (counts: ReadonlyMap<string, number>): GroupCount[] =>
  [...counts]
    .map(([k, n]) => ({ key: k, count: n }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));

/** Totals and group counts kept as failure rows go by; the rows themselves are not kept. */
export interface BounceTally {
  add(row: FailureRow): void;
  totals(): BounceTotals;
  groups(): BounceGroups;
}

export function createBounceTally(): BounceTally {
  const counts = {
    reasonClass: new Map<string, number>(),
    server: new Map<string, number>(),
    senderDomain: new Map<string, number>(),
    recipientDomain: new Map<string, number>(),
  };
  let failures = 0;
  let permanent = 0;
  let temporary = 0;
  let outcomeUnknown = 0;
  return {
    add(row) {
      failures++;
      if (row.severity === 'permanent') permanent++;
      else if (row.severity === 'temporary') temporary++;
      if (row.outcomeUnknown) outcomeUnknown++;
      for (const name of Object.keys(counts) as (keyof BounceGroups)[]) {
        const key = GROUP_KEYS[name](row);
        counts[name].set(key, (counts[name].get(key) ?? 0) + 1);
      }
    },
    totals: () => ({ failures, permanent, temporary, outcomeUnknown }),
    groups: () => ({
      reasonClass: sorted(counts.reasonClass),
      server: sorted(counts.server),
      senderDomain: sorted(counts.senderDomain),
      recipientDomain: sorted(counts.recipientDomain),
    }),
  };
}

/** The report of every failure (listed in time order) and DSN. */
export function buildBounceReport(failures: readonly FailureRow[], dsns: readonly DsnRow[]): BounceReport {
  const tally = createBounceTally();
  for (const r of failures) tally.add(r);
  return { failures, omitted: 0, totals: tally.totals(), dsns, groups: tally.groups() };
}

/** The bounce report of a set of sessions. */
export function collectFailures(sessions: readonly SmtpSession[]): BounceReport {
  const failures = sessions.flatMap(sessionFailures).sort((a, b) => a.tsMicros - b.tsMicros);
  return buildBounceReport(failures, collectDsns(sessions));
}

/** bounces.csv text (header and rows) for a report. */
export function formatBounceCsv(
  report: Pick<BounceReport, 'failures' | 'dsns'>,
  options: { crlf?: boolean } = {},
): string {
  const formatter = createCsvFormatter(BOUNCE_COLUMNS, options.crlf === true ? { crlf: true } : {});
  return (
    formatter.header + formatter.format(bounceCsvRows(report).map((r) => BOUNCE_COLUMNS.map((c) => c.get(r))))
  );
}
