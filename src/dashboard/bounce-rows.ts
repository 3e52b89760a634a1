/**
 * The bounce view (`b`) as rows (pure): one row per failure, as `smtpscope bounces` lists them (a refused or
 * deferred recipient, a refused MAIL or greeting, a failed login, a lost outcome; with --maillog also a
 * recipient accepted on the wire that the MTA's log says it bounced or defers later), then one row per DSN
 * recipient seen in the traffic. The rows come from the bounce report's own extraction
 * (report/bounce-failures.ts, report/bounce-dsns.ts); this file only orders them and makes their cells.
 */

import type { SmtpSession } from '../model/types.js';
import { createDsnMatcher, type DsnRow, parseDiagnostic } from '../report/bounce-dsns.js';
import { type FailureRow, type Severity, sessionFailures } from '../report/bounce-failures.js';
import { endpoint } from '../text/format.js';
import type { ColumnSpec, TableSpec } from './table-columns.js';

export type BounceColumnId =
  | 'id'
  | 'time'
  | 'stage'
  | 'code'
  | 'status'
  | 'from'
  | 'rcpt'
  | 'server'
  | 'reason'
  | 'text';

const COLUMNS: readonly ColumnSpec<BounceColumnId>[] = [
  { id: 'id', title: 'Session', min: 9, max: 14, align: 'left' },
  { id: 'time', title: 'Time', min: 8, max: 12, align: 'left' },
  { id: 'stage', title: 'Stage', min: 5, max: 15, align: 'left' },
  { id: 'code', title: 'Code', min: 4, max: 4, align: 'left' },
  { id: 'status', title: 'Status', min: 6, max: 9, align: 'left' },
  { id: 'from', title: 'From', min: 6, max: 28, align: 'left' },
  { id: 'rcpt', title: 'Recipient', min: 9, max: 32, align: 'left' },
  { id: 'server', title: 'Server', min: 6, max: 40, align: 'left' },
  { id: 'reason', title: 'Reason', min: 6, max: 18, align: 'left' },
  { id: 'text', title: 'Reply', min: 24, max: 400, align: 'left' },
];

/**
 * The bounce list's columns: the recipient keeps its room longest, the server goes first; the reply keeps at
 * least 24 columns and takes what is left.
 */
export const BOUNCE_TABLE: TableSpec<BounceColumnId> = {
  columns: COLUMNS,
  drop: ['server', 'from', 'status', 'reason', 'time', 'stage', 'code', 'id'],
  grow: ['rcpt', 'id', 'stage', 'code', 'status', 'reason', 'from', 'time', 'server', 'text'],
  rest: 'text',
};

export interface BounceRow {
  /** Unique in the view: `<session id>/f<n>` for its n-th failure, `<session id>/d<n>` for its n-th DSN recipient. */
  readonly key: string;
  readonly sessionId: string;
  readonly tsMicros: number;
  readonly severity: Severity;
  readonly source:
    | { readonly kind: 'failure'; readonly row: FailureRow }
    | { readonly kind: 'dsn'; readonly row: DsnRow };
}

/**
 * A session's failures, computed once per session object (a live view builds its rows again whenever packets
 * are read; a session does not change once closed, and its copy joined with the MTA log is a new object).
 */
const FAILURES = new WeakMap<SmtpSession, readonly FailureRow[]>();
function failuresOf(session: SmtpSession): readonly FailureRow[] {
  let rows = FAILURES.get(session);
  if (rows === undefined) {
    rows = sessionFailures(session);
    FAILURES.set(session, rows);
  }
  return rows;
}

/** Failures and DSN recipients of the sessions in view, each session's in time order, sessions in view order. */
export function collectBounceRows(
  inView: readonly SmtpSession[],
  /** Every session kept (DSNs find the message they report on among them, in view or not). */
  kept: readonly SmtpSession[],
  /** Sessions still open: their refusals are listed, not the outcomes they have yet to get. */
  openIds: ReadonlySet<string> = new Set(),
): BounceRow[] {
  const ids = new Set(inView.map((s) => s.id));
  const dsnsBySession = new Map<string, DsnRow[]>();
  // The DSN join looks at every kept session (the original may be outside the view), only when one is in view.
  if (inView.some((s) => s.transactions.some((t) => t.mailFrom === '' && t.message?.dsn != null))) {
    const matcher = createDsnMatcher();
    for (const s of [...kept].sort((a, b) => a.startedAt - b.startedAt)) matcher.add(s);
    for (const d of matcher.finish()) {
      if (!ids.has(d.sessionId)) continue;
      const list = dsnsBySession.get(d.sessionId);
      if (list === undefined) dsnsBySession.set(d.sessionId, [d]);
      else list.push(d);
    }
  }
  const rows: BounceRow[] = [];
  for (const s of inView) {
    const open = openIds.has(s.id);
    failuresOf(s).forEach((row, n) => {
      if (open && row.code === null) return;
      rows.push({
        key: `${s.id}/f${n}`,
        sessionId: s.id,
        tsMicros: row.tsMicros,
        severity: row.severity,
        source: { kind: 'failure', row },
      });
    });
    (dsnsBySession.get(s.id) ?? []).forEach((row, n) => {
      rows.push({
        key: `${s.id}/d${n}`,
        sessionId: s.id,
        tsMicros: row.tsMicros,
        severity: row.severity,
        source: { kind: 'dsn', row },
      });
    });
  }
  return rows;
}

const address = (a: string | null): string => (a === null ? '-' : a === '' ? '<>' : a);
const oneLine = (t: string | null): string => (t === null || t === '' ? '-' : t.replace(/\s*\n\s*/g, ' '));

/** Reply text without the enhanced status it starts with (`5.1.1 <bob@...>: ...` → `<bob@...>: ...`). */
function withoutStatus(text: string, status: string | null): string {
  return status !== null && text.startsWith(`${status} `) ? text.slice(status.length + 1) : text;
}

function failureCells(r: FailureRow): Omit<Record<BounceColumnId, string>, 'id' | 'time'> {
  return {
    stage: r.stage,
    code: r.code === null ? '-' : String(r.code),
    status: r.enhancedStatus ?? '-',
    from: r.kind === 'session' ? '-' : address(r.mailFrom),
    rcpt: r.kind === 'recipient' ? address(r.recipient) : '-',
    server: `${endpoint(r.server)}${r.serverName === null ? '' : ` ${r.serverName}`}`,
    reason: r.reasonClass ?? (r.outcomeUnknown ? 'outcome-unknown' : '-'),
    // What the server said (its enhanced status is a column of its own); after the queue, what the MTA logged;
    // a lost outcome has only its explanation.
    text: r.text === null ? r.explanation : oneLine(withoutStatus(r.text, r.enhancedStatus)),
  };
}

function dsnCells(d: DsnRow): Omit<Record<BounceColumnId, string>, 'id' | 'time'> {
  const diag = parseDiagnostic(d.diagnosticCode);
  const original =
    d.original === null ? 'original not in capture' : `original ${d.original.sessionId}#${d.original.depth}`;
  return {
    stage: `dsn ${d.action ?? '?'}`,
    code: diag.code === null ? '-' : String(diag.code),
    status: d.status ?? '-',
    from: '<>',
    rcpt: address(d.finalRecipient),
    server: d.reportingMta ?? endpoint(d.server),
    reason: d.reasonClass ?? '-',
    text: `${original}${diag.text === '' ? '' : `: ${oneLine(diag.text)}`}`,
  };
}

/** The cells of one row; `time` is the row's clock time (the caller's zone). */
export function bounceCells(row: BounceRow, time: string): Readonly<Record<BounceColumnId, string>> {
  const rest = row.source.kind === 'failure' ? failureCells(row.source.row) : dsnCells(row.source.row);
  return { id: row.sessionId, time, ...rest };
}
