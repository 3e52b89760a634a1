/**
 * The dashboard as data: `toDashboardModel` turns what the analyzer shows now, the kept closed sessions
 * and the interface state into exactly the text each panel draws (pure; no blessed here).
 *
 * All sorting, filtering, counting, truncation and formatting happens here. Wire text is made safe and
 * fitted by sanitize.ts; text in the model is plain (no blessed tags): each line is a list of segments
 * with a tone, and the widgets turn tones into colours and escape `{`/`}` on the way to the screen.
 * Only the rows that fit on the screen are formatted, so the cost per frame does not grow with the
 * number of sessions beyond one filter-and-sort, which the optional memo skips when nothing changed.
 */

import { formatSessionLog } from '../maillog/log-transcript.js';
import { describeFate, isLaterFailure, recipientFateOf } from '../maillog/session-log.js';
import type { RunStats } from '../model/sink.js';
import { tlsDecryptionOf, tlsDecryptionOutcome, tlsDecryptionText } from '../model/tls-decryption.js';
import type { ReasonClass, SmtpSession } from '../model/types.js';
import { type Filter, matchesFilter } from '../query/filter.js';
import { factsOf, type SessionOutcome } from '../query/session-facts.js';
import type { Severity } from '../report/bounce-failures.js';
import { createBounceTally } from '../report/bounce-report.js';
import { enhancedMeaning } from '../report/failure-text.js';
import { byCount, endpoint, formatBytes, formatDuration, increment, isoMicros } from '../text/format.js';
import { dialogueHidden, endDescription } from '../text/session-end.js';
import { type TranscriptLine, transcriptLines } from '../text/transcript.js';
import { clip, displayWidth, fitCell, wrap } from '../util/display-text.js';
import {
  BOUNCE_TABLE,
  type BounceColumnId,
  type BounceRow,
  bounceCells,
  collectBounceRows,
} from './bounce-rows.js';
import { computeLayout, type Rect } from './layout.js';
import {
  type ColumnSpec,
  type ColumnWidths,
  columnSpans,
  fitTable,
  formatTableRow,
  type TableSpec,
} from './table-columns.js';

export type Tone = 'normal' | 'dim' | 'good' | 'warn' | 'bad' | 'accent' | 'heading';

export interface Segment {
  readonly text: string;
  readonly tone: Tone;
}

/** One screen line: segments drawn one after another (their texts are already safe and fitted). */
export type StyledLine = readonly Segment[];

export type PanelId = 'sessions' | 'replies' | 'failures' | 'top' | 'anomalies';
export const PANEL_ORDER: readonly PanelId[] = ['sessions', 'replies', 'failures', 'top', 'anomalies'];

export type SortKey = 'time' | 'server' | 'failures' | 'size';
export const SORT_ORDER: readonly SortKey[] = ['time', 'server', 'failures', 'size'];

export type ScrollPanel = Exclude<PanelId, 'sessions'>;

export interface UiState {
  readonly focus: PanelId;
  /** The session the user moved to; null: the first row. */
  readonly selectedId: string | null;
  /** First session row shown (kept so the table does not jump while moving). */
  readonly sessionsTop: number;
  readonly sort: SortKey;
  /**
   * The sort reversed (a second `s`, or S): newest first for time, most last for failures and size, Z to A for
   * server.
   */
  readonly sortReverse: boolean;
  readonly filter: Filter;
  /** The bounce view (b): the table lists failures and DSN recipients, not sessions. */
  readonly bounceOnly: boolean;
  readonly paused: boolean;
  readonly detailOpen: boolean;
  /** The session whose detail is open; null: the one of the selected row. */
  readonly detailSessionId: string | null;
  /** The anomaly log's cursor (shown while the log has the focus): an index; Infinity follows the newest. */
  readonly anomalyCursor: number;
  /** First detail line shown. */
  readonly detailScroll: number;
  readonly helpOpen: boolean;
  /** First line shown per panel; the anomaly log follows its end while its value is Infinity. */
  readonly panelScroll: Readonly<Record<ScrollPanel, number>>;
  /** A message for the status line (export path, filter error). */
  readonly message: { readonly text: string; readonly tone: Tone } | null;
}

/** What the run looks like now (the analyzer's snapshot plus the numbers only the app can know). */
export interface RunView {
  readonly live: boolean;
  /** Times in UTC (--utc); otherwise in the local time zone, which the header names. */
  readonly utc?: boolean;
  readonly title: string;
  readonly phase: 'reading' | 'finished' | 'failed';
  readonly stats: RunStats;
  readonly open: readonly SmtpSession[];
  /** Wall time since the dashboard started the run. */
  readonly elapsedMs: number;
  readonly packetsPerSecond: number;
  readonly bytesPerSecond: number;
  readonly error: string | null;
  /**
   * Total size of the input as stored, in bytes, when it is known before reading (regular files, gzip ones
   * included: progress counts the compressed bytes consumed, `storedBytes`), for the progress bar; null (or
   * absent) for streams.
   */
  readonly inputBytes?: number | null;
}

/** The kept closed sessions (a SessionWindow fits). */
export interface ClosedView {
  items(): readonly SmtpSession[];
  readonly dropped: number;
  readonly limit: number;
}

export interface PanelModel {
  readonly rect: Rect;
  readonly label: string;
  readonly focused: boolean;
  /** Lines that fit inside the border, already scrolled. */
  readonly lines: readonly StyledLine[];
  readonly scroll: number;
  readonly maxScroll: number;
  /** The line under the cursor, drawn in inverse video (index into `lines`); null: none. */
  readonly cursor: number | null;
}

export interface SessionRow {
  readonly id: string;
  readonly text: string;
  readonly tone: Tone;
  readonly selected: boolean;
}

export interface SessionsModel {
  readonly rect: Rect;
  readonly label: string;
  readonly focused: boolean;
  /** Column titles, fitted like the rows. */
  readonly columns: string;
  /** Where each column sits in the title line, and the sort it stands for (a click on a title sorts). */
  readonly sortSpans: readonly { readonly sort: SortKey; readonly from: number; readonly to: number }[];
  readonly rows: readonly SessionRow[];
  /** Index of the first row shown within the whole ordered list. */
  readonly top: number;
  /** What an empty table says. */
  readonly empty: string;
}

export interface DashboardModel {
  readonly view: 'progress' | 'dashboard';
  readonly header: { readonly rect: Rect; readonly lines: readonly StyledLine[] };
  readonly status: { readonly rect: Rect; readonly line: StyledLine };
  readonly progress: { readonly rect: Rect; readonly lines: readonly StyledLine[] } | null;
  readonly sessions: SessionsModel;
  readonly replies: PanelModel;
  readonly failures: PanelModel;
  readonly top: PanelModel;
  readonly anomalies: PanelModel;
  readonly detail: (PanelModel & { readonly sessionId: string }) | null;
  readonly help: { readonly rect: Rect; readonly lines: readonly StyledLine[] } | null;
  /**
   * Keys of every row of the table in display order (for moving the selection): session ids, or in the bounce
   * view one key per failure or DSN recipient.
   */
  readonly orderedIds: readonly string[];
  /** The session of each row of orderedIds (the same ids outside the bounce view). */
  readonly rowSessionIds: readonly string[];
  /** Position of the selected row in orderedIds, or -1 when the view is empty. */
  readonly selectedIndex: number;
  /** The anomaly under the log's cursor: its index in the log and its session (null: the log is empty). */
  readonly anomalyCursor: { readonly index: number; readonly sessionId: string } | null;
  /** The sessions of the current view in display order, closed ones only (what `e` exports). */
  readonly exportable: readonly SmtpSession[];
  /** Sessions in the view, open and closed. */
  readonly matching: number;
}

export const INITIAL_UI_STATE: UiState = {
  focus: 'sessions',
  selectedId: null,
  sessionsTop: 0,
  sort: 'time',
  sortReverse: false,
  filter: { source: '', terms: [] },
  bounceOnly: false,
  paused: false,
  detailOpen: false,
  detailSessionId: null,
  anomalyCursor: Number.POSITIVE_INFINITY,
  detailScroll: 0,
  helpOpen: false,
  panelScroll: { replies: 0, failures: 0, top: 0, anomalies: Number.POSITIVE_INFINITY },
  message: null,
};

export const OUTCOME_TONE: Readonly<Record<SessionOutcome, Tone>> = {
  delivered: 'good',
  partial: 'warn',
  failed: 'bad',
  unknown: 'dim',
};

const seg = (text: string, tone: Tone = 'normal'): Segment => ({ text, tone });

function toneOfCode(code: number): Tone {
  if (code >= 500) return 'bad';
  if (code >= 400) return 'warn';
  return 'good';
}

// ---------------------------------------------------------------------------------------------------------
// Ordering and filtering (memoised: the expensive part when 50,000 sessions are kept)

interface ViewData {
  /** The sessions in view (in the bounce view: those with a failure or a DSN), in display order. */
  readonly sessions: readonly SmtpSession[];
  /** The bounce view's rows; null outside it. */
  readonly bounce: readonly BounceRow[] | null;
  readonly orderedIds: readonly string[];
  readonly rowSessionIds: readonly string[];
  readonly exportable: readonly SmtpSession[];
  readonly openIds: ReadonlySet<string>;
  readonly replyClasses: readonly number[];
  readonly failingStatuses: readonly [string, number][];
  /** Failures by reason class (in the bounce view, the listed failures grouped as `bounces` groups them). */
  readonly reasons: readonly (readonly [string, number])[];
  readonly failures: number;
  readonly senderDomains: readonly [string, number][];
  readonly recipientDomains: readonly [string, number][];
  readonly servers: readonly [string, number][];
  readonly anomalies: readonly {
    readonly tsMicros: number;
    readonly id: string;
    readonly code: string;
    readonly detail: string;
  }[];
}

/** Remembers the last ordered view, so an unchanged run is not re-sorted every frame. */
export interface ViewMemo {
  key: readonly unknown[] | null;
  data: ViewData | null;
}

export function createViewMemo(): ViewMemo {
  return { key: null, data: null };
}

/** The open sessions of a run that has none (or has finished): one shared array for every frame. */
export const NO_OPEN_SESSIONS: readonly SmtpSession[] = Object.freeze([]);

function compareSessions(sort: SortKey, live: boolean): (a: SmtpSession, b: SmtpSession) => number {
  const byTime = (a: SmtpSession, b: SmtpSession): number =>
    (live ? b.startedAt - a.startedAt : a.startedAt - b.startedAt) ||
    (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  switch (sort) {
    case 'time':
      return byTime;
    case 'server':
      return (a, b) =>
        (a.server.ip < b.server.ip ? -1 : a.server.ip > b.server.ip ? 1 : 0) ||
        a.server.port - b.server.port ||
        byTime(a, b);
    case 'failures':
      return (a, b) => factsOf(b).failed - factsOf(a).failed || byTime(a, b);
    case 'size':
      return (a, b) => factsOf(b).sizeBytes - factsOf(a).sizeBytes || byTime(a, b);
  }
}

/** The sessions of the view: open and kept closed ones that pass the filter (and the bounce view), sorted. */
export function selectSessions(
  open: readonly SmtpSession[],
  closed: readonly SmtpSession[],
  filter: Filter,
  bounceOnly: boolean,
  sort: SortKey,
  live: boolean,
  reverse = false,
): SmtpSession[] {
  const out: SmtpSession[] = [];
  const take = (s: SmtpSession): void => {
    if (bounceOnly && factsOf(s).failed === 0) return;
    if (filter.terms.length > 0 && !matchesFilter(filter, s)) return;
    out.push(s);
  };
  for (const s of closed) take(s);
  for (const s of open) take(s);
  const compare = compareSessions(sort, live);
  out.sort(reverse ? (a, b) => compare(b, a) : compare);
  return out;
}

/** Maximum anomaly log entries kept for display (the newest). */
export const ANOMALY_LOG_LIMIT = 1_000;

/**
 * The bounce view's rows: in time order when sorted by time (newest first live, or reversed), else grouped by
 * session in the sessions' order, each session's in time order.
 */
function orderBounceRows(rows: BounceRow[], ui: UiState, live: boolean): BounceRow[] {
  if (ui.sort !== 'time') return rows;
  const direction = live !== ui.sortReverse ? -1 : 1;
  return rows.sort((a, b) => direction * (a.tsMicros - b.tsMicros));
}

function buildViewData(run: RunView, closed: readonly SmtpSession[], ui: UiState): ViewData {
  const inView = selectSessions(run.open, closed, ui.filter, false, ui.sort, run.live, ui.sortReverse);
  const bounce = ui.bounceOnly
    ? orderBounceRows(
        collectBounceRows(inView, [...closed, ...run.open], new Set(run.open.map((s) => s.id))),
        ui,
        run.live,
      )
    : null;
  let sessions = inView;
  if (bounce !== null) {
    const withRows = new Set(bounce.map((r) => r.sessionId));
    sessions = inView.filter((s) => withRows.has(s.id));
  }
  const replyClasses = [0, 0, 0, 0, 0, 0];
  const failing = new Map<string, number>();
  const reasons = new Map<ReasonClass, number>();
  const senders = new Map<string, number>();
  const recipients = new Map<string, number>();
  const servers = new Map<string, number>();
  let failures = 0;
  const anomalies: { tsMicros: number; id: string; code: string; detail: string }[] = [];
  for (const s of sessions) {
    const f = factsOf(s);
    for (const r of f.replies) {
      const cls = Math.floor(r.code / 100);
      if (cls >= 1 && cls <= 5) replyClasses[cls] = (replyClasses[cls] ?? 0) + 1;
      if (r.code >= 400) increment(failing, `${r.code} ${r.enhancedStatus ?? ''}`.trim());
    }
    for (const reason of f.reasons) increment(reasons, reason);
    failures += f.failed;
    for (const d of f.senderDomains) increment(senders, d);
    for (const d of f.recipientDomains) increment(recipients, d);
    increment(servers, s.serverName === null ? endpoint(s.server) : `${endpoint(s.server)} ${s.serverName}`);
    for (const a of s.anomalies)
      anomalies.push({ tsMicros: a.tsMicros, id: s.id, code: a.code, detail: a.detail });
    if (s.anomaliesDropped > 0)
      anomalies.push({
        tsMicros: s.endedAt,
        id: s.id,
        code: 'anomalies-not-kept',
        detail: `${s.anomaliesDropped} more (limit)`,
      });
    const q = s.quality;
    if (q.gaps > 0)
      anomalies.push({
        tsMicros: s.endedAt,
        id: s.id,
        code: 'capture-gap',
        detail: `${q.gaps} gap(s), ${q.gapBytes} bytes missing`,
      });
    if (q.midstream)
      anomalies.push({
        tsMicros: s.startedAt,
        id: s.id,
        code: 'midstream',
        detail: 'connection start not captured',
      });
    if (q.oneSided !== null)
      anomalies.push({ tsMicros: s.startedAt, id: s.id, code: 'one-sided', detail: q.oneSided });
  }
  anomalies.sort((a, b) => a.tsMicros - b.tsMicros);
  const openIds = new Set(run.open.map((s) => s.id));
  let byReason: readonly (readonly [string, number])[] = byCount(reasons);
  if (bounce !== null) {
    // The failures listed, counted as the bounce report counts them (after-queue ones and lost outcomes too).
    const tally = createBounceTally();
    for (const r of bounce) if (r.source.kind === 'failure') tally.add(r.source.row);
    byReason = tally.groups().reasonClass.map((g) => [g.key, g.count] as const);
    failures = tally.totals().failures;
  }
  return {
    sessions,
    bounce,
    orderedIds: bounce === null ? sessions.map((s) => s.id) : bounce.map((r) => r.key),
    rowSessionIds: bounce === null ? sessions.map((s) => s.id) : bounce.map((r) => r.sessionId),
    exportable: sessions.filter((s) => !openIds.has(s.id)),
    openIds,
    replyClasses,
    failingStatuses: byCount(failing),
    reasons: byReason,
    failures,
    senderDomains: byCount(senders),
    recipientDomains: byCount(recipients),
    servers: byCount(servers),
    anomalies: anomalies.length > ANOMALY_LOG_LIMIT ? anomalies.slice(-ANOMALY_LOG_LIMIT) : anomalies,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Sessions table

export type ColumnId =
  | 'time'
  | 'flow'
  | 'id'
  | 'from'
  | 'to'
  | 'helo'
  | 'software'
  | 'tls'
  | 'auth'
  | 'tx'
  | 'rcpt'
  | 'last'
  | 'end';

/** Columns in display order. */
const COLUMNS: readonly ColumnSpec<ColumnId>[] = [
  { id: 'id', title: 'Session', min: 9, max: 14, align: 'left' },
  { id: 'time', title: 'Time', min: 8, max: 12, align: 'left' },
  { id: 'flow', title: 'Client → Server', min: 20, max: 60, align: 'left' },
  { id: 'from', title: 'From', min: 6, max: 28, align: 'left' },
  { id: 'to', title: 'To', min: 6, max: 28, align: 'left' },
  { id: 'helo', title: 'HELO', min: 10, max: 32, align: 'left' },
  { id: 'software', title: 'Server', min: 7, max: 13, align: 'left' },
  { id: 'tls', title: 'TLS', min: 4, max: 8, align: 'left' },
  { id: 'auth', title: 'AUTH', min: 4, max: 12, align: 'left' },
  { id: 'tx', title: 'Tx', min: 2, max: 4, align: 'right' },
  { id: 'rcpt', title: 'Ok/Fail', min: 7, max: 9, align: 'right' },
  { id: 'last', title: 'Last reply', min: 10, max: 400, align: 'left' },
  { id: 'end', title: 'State', min: 5, max: 16, align: 'left' },
];

/** The column each sort orders by. */
const SORT_COLUMN: Readonly<Record<SortKey, ColumnId>> = {
  time: 'time',
  server: 'flow',
  failures: 'rcpt',
  size: 'tx',
};

/**
 * ▲ when the rows go up the column (oldest first, A to Z), ▼ when they go down: a live view shows the newest
 * first, failures and size the most first; S reverses each.
 */
function sortArrow(sort: SortKey, reverse: boolean, live: boolean): string {
  const descending = sort === 'failures' || sort === 'size' || (sort === 'time' && live);
  return descending !== reverse ? '▼' : '▲';
}

/** Columns dropped first when the table is too narrow. */
const DROP_ORDER: readonly ColumnId[] = [
  'auth',
  'tls',
  'software',
  'helo',
  'tx',
  'end',
  'to',
  'from',
  'time',
  'rcpt',
  'id',
];
/** Columns grown first when there is room. */
const GROW_ORDER: readonly ColumnId[] = [
  'flow',
  'id',
  'from',
  'to',
  'rcpt',
  'tx',
  'time',
  'end',
  'tls',
  'auth',
  'software',
  'helo',
  'last',
];

/** The sessions table; the client → server column keeps its full width as long as another column can go. */
const SESSION_TABLE: TableSpec<ColumnId> = {
  columns: COLUMNS,
  drop: DROP_ORDER,
  grow: GROW_ORDER,
  rest: 'last',
  keepWhole: 'flow',
};

function tlsCell(s: SmtpSession): string {
  // ENCRYPTED_MARK's "~": the dialogue inside TLS was decrypted (as the transcript marks its lines).
  const decrypted = s.tls.decryption?.kind === 'decrypted' ? '~' : '';
  if (s.tls.mode === 'starttls') return `STLS${decrypted}`;
  if (s.tls.mode === 'implicit') return `TLS${decrypted}`;
  return s.tls.refused ? 'refused' : '-';
}

function authCell(s: SmtpSession): string {
  const last = s.auth[s.auth.length - 1];
  if (last === undefined) return '-';
  const outcome =
    last.outcome === 'success'
      ? 'ok'
      : last.outcome === 'failure'
        ? 'fail'
        : last.outcome === 'aborted'
          ? 'abort'
          : '?';
  return `${last.mechanism} ${outcome}`;
}

function firstLine(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl);
}

/** The envelope of a session's first transaction: sender (`<>` for the null path) and first recipient (+ more). */
function envelopeCells(s: SmtpSession): { from: string; to: string } {
  const t = s.transactions[0];
  if (t === undefined) return { from: '-', to: '-' };
  const from = t.mailFrom === null ? '?' : t.mailFrom === '' ? '<>' : t.mailFrom;
  const all = s.transactions.flatMap((x) => x.recipients);
  const first = all[0];
  const to =
    first === undefined ? '-' : all.length > 1 ? `${first.address} +${all.length - 1}` : first.address;
  return { from, to };
}

/** HH:MM:SS.mmm of a packet time, in UTC or in the local time zone. */
export function clockTime(tsMicros: number, utc: boolean): string {
  if (utc) return isoMicros(tsMicros).slice(11, 23);
  const d = new Date(Math.floor(tsMicros / 1000));
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** The time zone the dashboard's times are in: "UTC", or the local offset ("UTC+05:30"). */
export function zoneLabel(utc: boolean, atMicros: number = Date.now() * 1000): string {
  if (utc) return 'UTC';
  const offset = -new Date(Math.floor(atMicros / 1000)).getTimezoneOffset();
  if (offset === 0) return 'UTC';
  const abs = Math.abs(offset);
  return `UTC${offset > 0 ? '+' : '-'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

export function sessionCells(s: SmtpSession, open: boolean, utc = false): Readonly<Record<ColumnId, string>> {
  const f = factsOf(s);
  return {
    id: s.id,
    ...envelopeCells(s),
    time: clockTime(s.startedAt, utc),
    flow: `${endpoint(s.client)} → ${endpoint(s.server)}`,
    helo: s.helo ?? '-',
    software: s.software === 'unknown' ? '?' : s.software,
    tls: tlsCell(s),
    auth: authCell(s),
    tx: String(s.transactions.length),
    rcpt: `${f.delivered}/${f.failed}`,
    last: f.lastReply === null ? '-' : `${f.lastReply.code} ${firstLine(f.lastReply.text)}`,
    end: open ? 'open' : dialogueHidden(s) ? 'encrypted' : s.end,
  };
}

/** Which columns of the sessions table fit in `width` and how wide each is, given the rows on screen. */
export function fitColumns(
  width: number,
  cells: readonly Readonly<Record<ColumnId, string>>[],
  sortColumn: ColumnId | null = null,
): ColumnWidths<ColumnId> {
  return fitTable(SESSION_TABLE, width, cells, sortColumn);
}

// ---------------------------------------------------------------------------------------------------------
// Panels

function inner(rect: Rect): { width: number; height: number } {
  return { width: Math.max(0, rect.width - 2), height: Math.max(0, rect.height - 2) };
}

function scrolled(
  rect: Rect,
  label: string,
  focused: boolean,
  all: readonly StyledLine[],
  wanted: number,
): PanelModel {
  const { height } = inner(rect);
  const maxScroll = Math.max(0, all.length - height);
  const shownLabel = clip(label, Math.max(0, rect.width - 6));
  const scroll = Math.min(maxScroll, Math.max(0, Number.isFinite(wanted) ? wanted : maxScroll));
  return {
    rect,
    label: shownLabel,
    focused,
    lines: all.slice(scroll, scroll + height),
    scroll,
    maxScroll,
    cursor: null,
  };
}

function bar(count: number, max: number, width: number): string {
  if (max <= 0 || width <= 0 || count <= 0) return '';
  return '█'.repeat(Math.max(1, Math.round((count / max) * width)));
}

function countLines(entries: readonly (readonly [string, number, Tone])[], width: number): StyledLine[] {
  const labelWidth = Math.min(Math.max(0, width - 8), Math.max(0, ...entries.map((e) => displayWidth(e[0]))));
  const numWidth = Math.max(0, ...entries.map((e) => String(e[1]).length));
  const max = Math.max(0, ...entries.map((e) => e[1]));
  const barWidth = Math.max(0, width - labelWidth - numWidth - 2);
  return entries.map(([label, count, tone]) => [
    seg(`${fitCell(label, labelWidth)} ${String(count).padStart(numWidth)} `),
    seg(bar(count, max, barWidth), tone),
  ]);
}

function repliesPanel(rect: Rect, data: ViewData, focused: boolean, wanted: number): PanelModel {
  const { width } = inner(rect);
  const classes: [string, number, Tone][] = [
    ['2xx', data.replyClasses[2] ?? 0, 'good'],
    ['3xx', data.replyClasses[3] ?? 0, 'accent'],
    ['4xx', data.replyClasses[4] ?? 0, 'warn'],
    ['5xx', data.replyClasses[5] ?? 0, 'bad'],
  ];
  const lines: StyledLine[] = countLines(classes, width);
  lines.push([seg(fitCell('Top 4xx/5xx replies', width), 'heading')]);
  if (data.failingStatuses.length === 0) lines.push([seg(fitCell('none', width), 'dim')]);
  for (const [key, count] of data.failingStatuses) {
    const status = key.split(' ')[1] ?? null;
    const meaning = enhancedMeaning(status) ?? '';
    const code = Number.parseInt(key, 10);
    const head = `${String(count).padStart(4)} ${key}`;
    lines.push([
      seg(clip(head, width), toneOfCode(code)),
      seg(meaning === '' ? '' : clip(`  ${meaning}`, Math.max(0, width - displayWidth(head))), 'dim'),
    ]);
  }
  return scrolled(rect, 'Reply codes', focused, lines, wanted);
}

function failuresPanel(rect: Rect, data: ViewData, focused: boolean, wanted: number): PanelModel {
  const { width } = inner(rect);
  const lines: StyledLine[] = [];
  if (data.reasons.length === 0) lines.push([seg(fitCell('no failures in this view', width), 'dim')]);
  lines.push(
    ...countLines(
      data.reasons.map(([reason, count]) => [reason, count, 'bad'] as const),
      width,
    ),
  );
  return scrolled(rect, `Failures by reason (${data.failures})`, focused, lines, wanted);
}

function topPanel(rect: Rect, data: ViewData, focused: boolean, wanted: number): PanelModel {
  const { width, height } = inner(rect);
  const per = Math.max(1, Math.floor((height - 3) / 3));
  const lines: StyledLine[] = [];
  const section = (title: string, entries: readonly [string, number][]): void => {
    lines.push([seg(fitCell(title, width), 'heading')]);
    if (entries.length === 0) lines.push([seg(fitCell('  none', width), 'dim')]);
    for (const [key, count] of entries.slice(0, focused ? entries.length : per)) {
      const num = String(count).padStart(5);
      lines.push([seg(num, 'accent'), seg(` ${fitCell(key, Math.max(0, width - num.length - 1))}`)]);
    }
  };
  section('Sender domains', data.senderDomains);
  section('Recipient domains', data.recipientDomains);
  section('Servers', data.servers);
  return scrolled(rect, 'Top', focused, lines, wanted);
}

/** Where the anomaly log's cursor is: the wanted index within the log (Infinity: the newest); -1 when empty. */
function anomalyCursorIndex(data: ViewData, wanted: number): number {
  const n = data.anomalies.length;
  if (n === 0) return -1;
  return Number.isFinite(wanted) ? Math.min(n - 1, Math.max(0, wanted)) : n - 1;
}

function anomaliesPanel(
  rect: Rect,
  data: ViewData,
  focused: boolean,
  wanted: number,
  cursorWanted: number,
  utc: boolean,
): PanelModel {
  const { width, height } = inner(rect);
  const lines: StyledLine[] = data.anomalies.map((a) => {
    const head = `${clockTime(a.tsMicros, utc)} ${a.id} `;
    const code = `${a.code} `;
    const rest = Math.max(0, width - displayWidth(head) - displayWidth(code));
    return [
      seg(clip(head, width), 'dim'),
      seg(clip(code, Math.max(0, width - displayWidth(head))), 'warn'),
      seg(fitCell(a.detail, rest)),
    ];
  });
  if (lines.length === 0) lines.push([seg(fitCell('no anomalies in this view', width), 'dim')]);
  // While the log has the focus, a cursor marks the anomaly Enter opens, and the log scrolls to keep it in view.
  const cursor = focused ? anomalyCursorIndex(data, cursorWanted) : -1;
  let top = Number.isFinite(wanted) ? wanted : Math.max(0, lines.length - height);
  if (cursor >= 0) {
    if (cursor < top) top = cursor;
    else if (cursor >= top + height) top = cursor - height + 1;
  }
  const panel = scrolled(rect, `Anomalies (${data.anomalies.length})`, focused, lines, top);
  return { ...panel, cursor: cursor < 0 ? null : cursor - panel.scroll };
}

// ---------------------------------------------------------------------------------------------------------
// Session detail

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
}

/** The MTA log's fates of the session's recipients counted by status (`1 bounced, 1 sent`); null when none. */
function laterFates(s: SmtpSession): { text: string; failed: boolean } | null {
  const counts = new Map<string, number>();
  let failed = false;
  for (const t of s.transactions)
    for (const r of t.recipients) {
      const fate = recipientFateOf(s, t.depth, r.index);
      if (fate === null) continue;
      increment(counts, fate.status);
      if (isLaterFailure(fate)) failed = true;
    }
  if (counts.size === 0) return null;
  return {
    text: byCount(counts)
      .map(([status, n]) => `${n} ${status}`)
      .join(', '),
    failed,
  };
}

/** The detail text of one session: summary, transactions, latencies, anomalies, then the transcript. */
export function detailLines(s: SmtpSession, width: number): StyledLine[] {
  const out: StyledLine[] = [];
  const f = factsOf(s);
  const add = (text: string, tone: Tone = 'normal'): void => {
    for (const part of wrap(text, width)) out.push([seg(part, tone)]);
  };
  add(
    `${endpoint(s.client)} → ${endpoint(s.server)}   ${s.protocol.toUpperCase()}, oriented by ${s.orientation}`,
    'heading',
  );
  add(
    `Started ${isoMicros(s.startedAt)}, lasted ${formatDuration(s.endedAt - s.startedAt)}, ended ${endDescription(s)} (${s.closeReason})`,
  );
  add(`Server ${s.serverName ?? '?'} (${s.software}); ${s.heloVerb ?? 'HELO'} ${s.helo ?? '-'}`);
  const decryption = tlsDecryptionOf(s.tls);
  const tls =
    s.tls.mode === 'none'
      ? `none${s.tls.offered ? ' (offered)' : ''}${s.tls.refused ? ' (refused)' : ''}`
      : `${s.tls.mode}${decryption === null ? '' : `, ${tlsDecryptionText(decryption)}`}`;
  const auth =
    s.auth.length === 0
      ? 'none'
      : s.auth
          .map((a) => `${a.mechanism}${a.username === null ? '' : ` ${a.username}`} ${a.outcome}`)
          .join(', ');
  add(
    `TLS ${tls}; AUTH ${auth}; bytes ${formatBytes(s.flow.c2s.bytes)} out, ${formatBytes(s.flow.s2c.bytes)} back`,
  );
  add(
    `Outcome ${f.outcome}: ${f.delivered} delivered, ${f.failed} failed of ${f.recipients} recipient(s)`,
    OUTCOME_TONE[f.outcome],
  );
  const fates = laterFates(s);
  if (fates !== null) add(`After the queue (MTA log): ${fates.text}`, fates.failed ? 'bad' : 'good');
  for (const t of s.transactions) {
    const size = t.sizeBytes === null ? '' : `, ${formatBytes(t.sizeBytes)}`;
    const queue = t.queueId === null ? '' : `, queue id ${t.queueId}`;
    const reason =
      t.reasonClass === null
        ? ''
        : ` (${t.reasonClass}${t.failureStage === null ? '' : ` at ${t.failureStage}`})`;
    const tone: Tone =
      t.outcome === 'accepted'
        ? 'good'
        : t.outcome === 'rejected'
          ? 'bad'
          : t.outcome === 'deferred'
            ? 'warn'
            : 'dim';
    add(`Transaction ${t.depth}: from <${t.mailFrom ?? ''}> ${t.outcome}${reason}${size}${queue}`, tone);
    if (t.message?.subject != null) add(`  Subject: ${t.message.subject}`);
    for (const r of t.recipients) {
      const reply = r.finalReply ?? r.rcptReply;
      const rtone: Tone =
        r.disposition === 'delivered'
          ? 'good'
          : r.disposition.startsWith('rejected')
            ? 'bad'
            : r.disposition.startsWith('deferred')
              ? 'warn'
              : 'dim';
      add(
        `  to <${r.address}> ${r.disposition}${r.reasonClass === null ? '' : ` (${r.reasonClass})`}${reply === null ? '' : `: ${reply.code} ${firstLine(reply.text)}`}`,
        rtone,
      );
      // What the MTA's log says became of the recipient after the queue (--maillog).
      const fate = recipientFateOf(s, t.depth, r.index);
      if (fate !== null)
        add(
          `    later (MTA log): ${describeFate(fate)}`,
          fate.status === 'sent'
            ? 'good'
            : fate.status === 'deferred' || fate.status === 'softbounce'
              ? 'warn'
              : isLaterFailure(fate)
                ? 'bad'
                : 'dim',
        );
    }
  }
  const latencies = new Map<string, number[]>();
  for (const c of s.commands) {
    if (c.latencyMicros === null) continue;
    const list = latencies.get(c.verbText.toUpperCase()) ?? [];
    list.push(c.latencyMicros);
    latencies.set(c.verbText.toUpperCase(), list);
  }
  if (latencies.size > 0) {
    add('Reply latency (median / max):', 'heading');
    const parts: string[] = [];
    for (const [verb, list] of latencies) {
      const sorted = [...list].sort((a, b) => a - b);
      parts.push(
        `${verb} ${formatDuration(percentile(sorted, 0.5))} / ${formatDuration(sorted[sorted.length - 1] ?? 0)}`,
      );
    }
    add(`  ${parts.join('; ')}`);
  }
  if (s.anomalies.length > 0 || s.anomaliesDropped > 0) {
    add(`Anomalies (${s.anomalies.length + s.anomaliesDropped}):`, 'heading');
    for (const a of s.anomalies)
      add(
        `  ${a.code}${a.direction === null ? '' : ` ${a.direction}`}${a.detail === '' ? '' : `: ${a.detail}`}`,
        'warn',
      );
  }
  add('Transcript:', 'heading');
  for (const line of transcriptLines(s).slice(1)) add(line.text, transcriptTone(line));
  // Then what `smtpscope transcript --maillog` prints after the transcript: queue ids, fates, logged refusals.
  const log = formatSessionLog(s);
  if (log !== '')
    for (const [i, line] of log.split('\n').entries()) add(line, i === 0 ? 'heading' : 'normal');
  return out;
}

/** The colour of a transcript line, from what the line is (never from its text). */
function transcriptTone(line: TranscriptLine): Tone {
  switch (line.kind) {
    case 'command':
      return 'accent';
    case 'reply':
      return toneOfCode(line.code);
    case 'anomaly':
      return 'warn';
    case 'end':
      return 'dim';
    case 'header':
    case 'meaning':
    case 'note':
      return 'normal';
  }
}

// ---------------------------------------------------------------------------------------------------------
// Header, progress, status, help

function rateText(run: RunView): string {
  return `${Math.round(run.packetsPerSecond).toLocaleString('en-US')} pkt/s ${formatBytes(Math.round(run.bytesPerSecond))}/s`;
}

/**
 * TLS sessions decrypted against not decrypted (by reason), of the sessions kept: `tls decrypted 2 not 1 (no key
 * 1)  `; empty when no decryption was tried (no key material), so the header stays as without decryption.
 */
export function tlsDecryptionHeader(open: readonly SmtpSession[], closed: readonly SmtpSession[]): string {
  let decrypted = 0;
  let not = 0;
  const reasons = new Map<string, number>();
  for (const list of [open, closed])
    for (const s of list) {
      const status = tlsDecryptionOf(s.tls);
      if (status === null) continue;
      if (status.kind === 'decrypted') decrypted++;
      else {
        not++;
        increment(reasons, tlsDecryptionOutcome(status.kind));
      }
    }
  if (decrypted + not === 0) return '';
  const why =
    not === 0
      ? ''
      : ` (${byCount(reasons)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')})`;
  return `tls decrypted ${decrypted} not ${not}${why}  `;
}

function headerLines(run: RunView, closed: ClosedView, ui: UiState, width: number): StyledLine[] {
  const st = run.stats;
  const phase: Segment =
    run.phase === 'failed'
      ? seg('error', 'bad')
      : ui.paused
        ? seg('PAUSED', 'warn')
        : run.phase === 'reading'
          ? seg(run.live ? 'capturing' : 'reading', 'accent')
          : seg('finished', 'good');
  const span =
    st.firstTsMicros !== null && st.lastTsMicros !== null
      ? `  span ${formatDuration(st.lastTsMicros - st.firstTsMicros)}`
      : '';
  const first = `smtpscope  ${run.live ? 'live' : 'file'} `;
  const rest = `  elapsed ${formatDuration(run.elapsedMs * 1000)}${span}`;
  const titleWidth = Math.max(0, width - displayWidth(first) - phase.text.length - rest.length - 2);
  const line1: StyledLine = [
    seg(first, 'heading'),
    seg(`${clip(run.title, titleWidth)}  `),
    phase,
    seg(rest, 'dim'),
  ];
  const drops = st.source.dropped === null ? 'n/a' : st.source.dropped.toLocaleString('en-US');
  const note =
    closed.dropped > 0
      ? `  (oldest ${closed.dropped.toLocaleString('en-US')} not kept: limit ${closed.limit.toLocaleString('en-US')})`
      : '';
  // Connections that carried no byte: counted, not sessions (shown once there are any).
  const attempts = st.attempts.total > 0 ? `attempts ${st.attempts.total.toLocaleString('en-US')}  ` : '';
  const line2Text =
    `sessions open ${st.sessionsOpen} total ${(st.sessionsOpen + st.sessionsClosed).toLocaleString('en-US')}  ` +
    tlsDecryptionHeader(run.open, closed.items()) +
    attempts +
    `packets ${st.source.packets.toLocaleString('en-US')}  bytes ${formatBytes(st.source.bytes)}  drops ${drops}  rate ${rateText(run)}`;
  const line2: StyledLine = [
    seg(clip(line2Text, width)),
    seg(clip(note, Math.max(0, width - displayWidth(line2Text))), 'warn'),
  ];
  return [line1, line2];
}

/** How far the reading of a file of known size is, for the progress box. */
export interface ReadProgress {
  /** Share of the input read, 0 to 1 (a file that grew while read counts as 1). */
  readonly fraction: number;
  /** The share as text, rounded down so that 100.0% means every byte was read: `37.4%`. */
  readonly percent: string;
  /** Wall time left at the current rate; 0 once every byte is read; null while the rate is 0. */
  readonly etaMs: number | null;
}

/** Progress of reading `readBytes` of `totalBytes` at `bytesPerSecond`; null when the total is unknown. */
export function toReadProgress(
  readBytes: number,
  totalBytes: number | null | undefined,
  bytesPerSecond: number,
): ReadProgress | null {
  if (totalBytes === null || totalBytes === undefined || !(totalBytes > 0)) return null;
  const fraction = Math.min(1, Math.max(0, readBytes / totalBytes));
  const left = Math.max(0, totalBytes - readBytes);
  const etaMs = left === 0 ? 0 : bytesPerSecond > 0 ? (left * 1000) / bytesPerSecond : null;
  return { fraction, percent: `${(Math.floor(fraction * 1000) / 10).toFixed(1)}%`, etaMs };
}

/** A bar of `width` cells, filled in proportion (a cell is filled only once wholly reached). */
export function progressBar(fraction: number, width: number): string {
  const cells = Math.max(0, Math.floor(width));
  const full = Math.min(cells, Math.max(0, Math.floor(fraction * cells)));
  return '█'.repeat(full) + '░'.repeat(cells - full);
}

/** A time left: `42 s` below a minute, then `m:ss`, then `h:mm:ss` (whole seconds, rounded up). */
export function formatEta(ms: number): string {
  const total = Math.ceil(ms / 1000);
  if (total < 60) return `${total} s`;
  const s = total % 60;
  const m = Math.floor(total / 60) % 60;
  const h = Math.floor(total / 3600);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

function progressLines(run: RunView, width: number): StyledLine[] {
  const st = run.stats;
  const w = Math.max(0, width - 2);
  const row = (label: string, value: string): StyledLine => [
    seg(fitCell(label, 16), 'dim'),
    seg(clip(value, Math.max(0, w - 16))),
  ];
  const read = st.source.bytes;
  const stored = st.source.storedBytes;
  // The rate is of bytes read (decompressed for gzip): as stored bytes, it scales by the ratio so far.
  const storedRate = read > 0 ? (run.bytesPerSecond * stored) / read : run.bytesPerSecond;
  const progress = toReadProgress(stored, run.inputBytes, storedRate);
  const total = run.inputBytes ?? 0;
  const barLine: StyledLine =
    progress === null
      ? [seg(clip('total size not known (a stream): no percentage', w), 'dim')]
      : [
          seg(progressBar(progress.fraction, Math.max(0, w - 8)), 'accent'),
          seg(clip(progress.percent.padStart(8), Math.min(w, 8))),
        ];
  const bytesText =
    progress === null
      ? `${formatBytes(read)} (${read.toLocaleString('en-US')})`
      : stored !== read
        ? `${formatBytes(stored)} of ${formatBytes(total)} compressed (${formatBytes(read)} out)`
        : `${formatBytes(read)} of ${formatBytes(total)} (${read.toLocaleString('en-US')} of ${total.toLocaleString('en-US')})`;
  const remaining =
    progress === null
      ? 'unknown'
      : progress.etaMs === 0
        ? 'every byte read; closing sessions and outputs'
        : progress.etaMs === null
          ? 'unknown until the rate is known'
          : `about ${formatEta(progress.etaMs)}`;
  return [
    [seg(clip(`Reading ${run.title}`, w), 'heading')],
    [],
    barLine,
    row('bytes read', bytesText),
    row('packets', st.source.packets.toLocaleString('en-US')),
    row('TCP packets', st.decode.tcp.toLocaleString('en-US')),
    row('sessions', `${st.sessionsClosed.toLocaleString('en-US')} closed, ${st.sessionsOpen} open`),
    row('rate', rateText(run)),
    row('elapsed', formatDuration(run.elapsedMs * 1000)),
    row('remaining', remaining),
    [],
    [seg(clip('The dashboard opens when the file is read. q stops here.', w), 'dim')],
  ];
}

export const HELP_TEXT: readonly (readonly [string, string])[] = [
  ['↑ ↓  j k', 'move in the focused panel'],
  ['PgUp PgDn Home End', 'move by a page / to the ends'],
  ['Enter', 'open the session of the row or anomaly; Esc closes'],
  ['Tab  Shift-Tab', 'next / previous panel'],
  ['/', 'filter (Enter applies, empty clears, Escape cancels)'],
  ['s  S', 'sort: again reverses, then next column; S reverses'],
  ['b', 'bounce view: failed recipients and DSNs, one each'],
  ['e', 'export the current view to CSV'],
  ['p', 'pause the display (live; capture goes on)'],
  ['?', 'this help'],
  ['q  Ctrl-C', 'quit (again while stopping: at once)'],
  ['', ''],
  ['Filter terms', 'all must match; -term negates'],
  ['word "a phrase"', 'anywhere: address, HELO, IP, reply, subject'],
  ['code:550 code:5xx', 'a reply code, class or 5.1.1 status'],
  ['reason:greylisted', 'failure reason class (prefix ok)'],
  ['ip:127.0.0.1 ip:10.', 'client or server address (prefix with . :)'],
  ['domain:example.org', 'sender or recipient domain, or below'],
  ['from: to: helo:', 'envelope sender, recipient, HELO'],
  ['server: end:', 'server software/name, how it ended'],
];

function helpLines(width: number): StyledLine[] {
  const w = Math.max(0, width - 2);
  return HELP_TEXT.map(([keys, text]) => [
    seg(fitCell(keys, 22), 'accent'),
    seg(clip(text, Math.max(0, w - 22))),
  ]);
}

function statusLine(run: RunView, ui: UiState, data: ViewData | null, width: number): StyledLine {
  const parts: Segment[] = [];
  if (run.error !== null) parts.push(seg(`${run.error}  `, 'bad'));
  if (ui.message !== null) parts.push(seg(`${ui.message.text}  `, ui.message.tone));
  if (data !== null) {
    const rows = data.bounce === null ? '' : `${data.bounce.length.toLocaleString('en-US')} row(s) in `;
    const view = `${rows}${data.sessions.length.toLocaleString('en-US')} session(s)  sort ${ui.sort}${ui.sortReverse ? ' reversed' : ''}`;
    parts.push(seg(view));
    if (ui.bounceOnly) parts.push(seg('  bounces only', 'warn'));
    if (ui.filter.source !== '') parts.push(seg(`  filter ${ui.filter.source}`, 'accent'));
  }
  parts.push(seg('  ? help  q quit', 'dim'));
  const out: Segment[] = [];
  let left = width;
  for (const p of parts) {
    const text = clip(p.text, left);
    if (text === '') break;
    out.push({ text, tone: p.tone });
    left -= displayWidth(text);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

/**
 * The whole screen as data. `width`/`height` are the terminal size. `memo` (optional) keeps the ordered view
 * between frames: it is recomputed only when the sessions, the filter, the sort or the bounce view changed.
 */
export function toDashboardModel(
  run: RunView,
  closed: ClosedView,
  ui: UiState,
  width: number,
  height: number,
  memo: ViewMemo = createViewMemo(),
): DashboardModel {
  const layout = computeLayout(width, height);
  const closedItems = closed.items();
  const showDashboard = run.live || run.phase !== 'reading';
  const header = { rect: layout.header, lines: headerLines(run, closed, ui, width) };

  if (!showDashboard) {
    const empty = (rect: Rect, label: string): PanelModel => ({
      rect,
      label,
      focused: false,
      lines: [],
      scroll: 0,
      maxScroll: 0,
      cursor: null,
    });
    return {
      view: 'progress',
      header,
      status: { rect: layout.status, line: statusLine(run, ui, null, width) },
      progress: { rect: layout.progress, lines: progressLines(run, layout.progress.width) },
      sessions: {
        rect: layout.sessions,
        label: 'Sessions',
        focused: false,
        columns: '',
        sortSpans: [],
        rows: [],
        top: 0,
        empty: '',
      },
      replies: empty(layout.replies, 'Reply codes'),
      failures: empty(layout.failures, 'Failures'),
      top: empty(layout.top, 'Top'),
      anomalies: empty(layout.anomalies, 'Anomalies'),
      detail: null,
      help: ui.helpOpen ? { rect: layout.help, lines: helpLines(layout.help.width) } : null,
      orderedIds: [],
      rowSessionIds: [],
      selectedIndex: -1,
      anomalyCursor: null,
      exportable: [],
      matching: 0,
    };
  }

  // The closed sessions array is shared until the window changes. The open ones are a new snapshot every
  // frame, but they change only as packets are read: key them on their count and the packet counter.
  const openKey = run.open.length === 0 ? 0 : `${run.open.length} ${run.stats.source.packets}`;
  const key = [closedItems, openKey, ui.filter, ui.bounceOnly, ui.sort, ui.sortReverse, run.live];
  let data = memo.data;
  if (
    data === null ||
    memo.key === null ||
    memo.key.length !== key.length ||
    key.some((k, i) => memo.key?.[i] !== k)
  ) {
    data = buildViewData(run, closedItems, ui);
    memo.key = key;
    memo.data = data;
  }
  const sessions = data.sessions;
  const orderedIds = data.orderedIds;
  let selectedIndex = ui.selectedId === null ? -1 : orderedIds.indexOf(ui.selectedId);
  if (selectedIndex < 0 && orderedIds.length > 0) selectedIndex = 0;

  // The table: keep the selection in view without jumping.
  const tableInner = inner(layout.sessions);
  const rowCount = Math.max(0, tableInner.height - 1);
  let top = Math.min(Math.max(0, ui.sessionsTop), Math.max(0, orderedIds.length - rowCount));
  if (selectedIndex >= 0) {
    if (selectedIndex < top) top = selectedIndex;
    else if (selectedIndex >= top + rowCount) top = selectedIndex - rowCount + 1;
  }
  const utc = run.utc === true;
  const arrow = sortArrow(ui.sort, ui.sortReverse, run.live);
  const table =
    data.bounce === null
      ? sessionsTable(data, top, rowCount, selectedIndex, tableInner.width, ui, arrow, utc)
      : bounceTable(data.bounce, top, rowCount, selectedIndex, tableInner.width, ui, arrow, utc);
  const position =
    orderedIds.length === 0 ? '0' : `${selectedIndex + 1}/${orderedIds.length.toLocaleString('en-US')}`;
  const label = `${table.title} ${position}${ui.filter.source === '' ? '' : ' · filtered'} · sort ${ui.sort} ${arrow} · ${zoneLabel(utc)}`;

  const focusedOn = (p: PanelId): boolean => ui.focus === p && !ui.detailOpen;
  let detail: DashboardModel['detail'] = null;
  if (ui.detailOpen) {
    const id = ui.detailSessionId ?? data.rowSessionIds[selectedIndex] ?? null;
    const shown = id === null ? undefined : findSession(id, sessions, closedItems, run.open);
    if (shown !== undefined) {
      const lines = detailLines(shown, inner(layout.detail).width);
      detail = {
        ...scrolled(
          layout.detail,
          `Session ${shown.id}  (Escape closes, ↑↓ PgUp PgDn scroll)`,
          true,
          lines,
          ui.detailScroll,
        ),
        sessionId: shown.id,
      };
    }
  }
  const cursorAt = anomalyCursorIndex(data, ui.anomalyCursor);
  const cursorEntry = cursorAt < 0 ? undefined : data.anomalies[cursorAt];

  return {
    view: 'dashboard',
    header,
    status: { rect: layout.status, line: statusLine(run, ui, data, width) },
    progress: null,
    sessions: {
      rect: layout.sessions,
      label: clip(label, Math.max(0, layout.sessions.width - 6)),
      focused: focusedOn('sessions'),
      columns: table.columns,
      sortSpans: table.sortSpans,
      rows: table.rows,
      top,
      empty: data.bounce === null ? 'no sessions in this view' : 'no failures and no DSNs in this view',
    },
    replies: repliesPanel(layout.replies, data, focusedOn('replies'), ui.panelScroll.replies),
    failures: failuresPanel(layout.failures, data, focusedOn('failures'), ui.panelScroll.failures),
    top: topPanel(layout.top, data, focusedOn('top'), ui.panelScroll.top),
    anomalies: anomaliesPanel(
      layout.anomalies,
      data,
      focusedOn('anomalies'),
      ui.panelScroll.anomalies,
      ui.anomalyCursor,
      utc,
    ),
    detail,
    help: ui.helpOpen ? { rect: layout.help, lines: helpLines(layout.help.width) } : null,
    orderedIds,
    rowSessionIds: data.rowSessionIds,
    selectedIndex,
    anomalyCursor: cursorEntry === undefined ? null : { index: cursorAt, sessionId: cursorEntry.id },
    exportable: data.exportable,
    matching: sessions.length,
  };
}

/** A session by id: in the view, else among the kept or open ones (a detail stays open when the view changes). */
function findSession(id: string, ...lists: readonly (readonly SmtpSession[])[]): SmtpSession | undefined {
  for (const list of lists) {
    const found = list.find((s) => s.id === id);
    if (found !== undefined) return found;
  }
  return undefined;
}

interface TableModel {
  readonly title: string;
  readonly columns: string;
  readonly sortSpans: SessionsModel['sortSpans'];
  readonly rows: readonly SessionRow[];
}

/** The sorts of columns: a click on a column title sorts by it. */
function sortSpansOf<Id extends string>(
  layout: ColumnWidths<Id>,
  sortOf: Readonly<Partial<Record<Id, SortKey>>>,
): SessionsModel['sortSpans'] {
  const out: { sort: SortKey; from: number; to: number }[] = [];
  for (const span of columnSpans(layout)) {
    const sort = sortOf[span.id];
    if (sort !== undefined) out.push({ sort, from: span.from, to: span.to });
  }
  return out;
}

function sessionsTable(
  data: ViewData,
  top: number,
  rowCount: number,
  selectedIndex: number,
  width: number,
  ui: UiState,
  arrow: string,
  utc: boolean,
): TableModel {
  const visible = data.sessions.slice(top, top + rowCount);
  const cells = visible.map((s) => sessionCells(s, data.openIds.has(s.id), utc));
  const sortColumn = SORT_COLUMN[ui.sort];
  const columns = fitColumns(width, cells, sortColumn);
  const titleCells = Object.fromEntries(COLUMNS.map((c) => [c.id, c.title])) as Record<ColumnId, string>;
  // The sort column shows the direction: ▲ ascending (oldest, A to Z, fewest), ▼ the reverse.
  titleCells[sortColumn] = `${titleCells[sortColumn]} ${arrow}`;
  const rows: SessionRow[] = visible.map((s, i) => {
    const row = cells[i];
    const isOpen = data.openIds.has(s.id);
    return {
      id: s.id,
      text: row === undefined ? '' : formatTableRow(columns, row, width),
      tone: isOpen ? 'dim' : OUTCOME_TONE[factsOf(s).outcome],
      selected: top + i === selectedIndex,
    };
  });
  const sortOf: Partial<Record<ColumnId, SortKey>> = {};
  for (const key of SORT_ORDER) sortOf[SORT_COLUMN[key]] = key;
  return {
    title: 'Sessions',
    columns: formatTableRow(columns, titleCells, width),
    sortSpans: sortSpansOf(columns, sortOf),
    rows,
  };
}

/** The bounce view's column of each sort (failures and size order the sessions, which have no column here). */
const BOUNCE_SORT_COLUMN: Readonly<Record<SortKey, BounceColumnId | null>> = {
  time: 'time',
  server: 'server',
  failures: null,
  size: null,
};

const SEVERITY_TONE: Readonly<Record<Severity, Tone>> = {
  permanent: 'bad',
  temporary: 'warn',
  unknown: 'dim',
};

function bounceTable(
  all: readonly BounceRow[],
  top: number,
  rowCount: number,
  selectedIndex: number,
  width: number,
  ui: UiState,
  arrow: string,
  utc: boolean,
): TableModel {
  const visible = all.slice(top, top + rowCount);
  const cells = visible.map((r) => bounceCells(r, clockTime(r.tsMicros, utc)));
  const sortColumn = BOUNCE_SORT_COLUMN[ui.sort];
  const columns = fitTable(BOUNCE_TABLE, width, cells, sortColumn);
  const titleCells = Object.fromEntries(BOUNCE_TABLE.columns.map((c) => [c.id, c.title])) as Record<
    BounceColumnId,
    string
  >;
  if (sortColumn !== null) titleCells[sortColumn] = `${titleCells[sortColumn]} ${arrow}`;
  const rows: SessionRow[] = visible.map((r, i) => {
    const row = cells[i];
    return {
      id: r.key,
      text: row === undefined ? '' : formatTableRow(columns, row, width),
      tone: SEVERITY_TONE[r.severity],
      selected: top + i === selectedIndex,
    };
  });
  let failures = 0;
  for (const r of all) if (r.source.kind === 'failure') failures++;
  const dsns = all.length - failures;
  return {
    title: `Bounces: ${failures} failure${failures === 1 ? '' : 's'}, ${dsns} DSN${dsns === 1 ? '' : 's'} ·`,
    columns: formatTableRow(columns, titleCells, width),
    sortSpans: sortSpansOf(columns, { time: 'time', server: 'server' }),
    rows,
  };
}
