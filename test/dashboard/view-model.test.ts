import { describe, expect, it } from 'vitest';
import { createSessionWindow, windowFeeds } from '../../src/dashboard/session-window.js';
import {
  createViewMemo,
  type DashboardModel,
  formatEta,
  INITIAL_UI_STATE,
  NO_OPEN_SESSIONS,
  progressBar,
  type RunView,
  type StyledLine,
  toDashboardModel,
  toReadProgress,
  type UiState,
} from '../../src/dashboard/view-model.js';
import { NO_ATTEMPTS } from '../../src/model/connection-attempt.js';
import type { RunStats } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { NO_BUDGET } from '../../src/pipeline/memory-budget.js';
import { parseFilter } from '../../src/query/filter.js';
import { factsOf } from '../../src/query/session-facts.js';
import { displayWidth } from '../../src/util/display-text.js';
import {
  makeAuth,
  makeCommand,
  makeRecipient,
  makeReply,
  makeSession,
  makeTransaction,
  T0,
} from '../helpers/sessions.js';

const STATS: RunStats = {
  source: { packets: 1234, bytes: 56789, storedBytes: 56789, dropped: null, truncated: 0 },
  decode: { tcp: 1200, skipped: {}, malformed: {}, fragmentsReassembled: 0, fragmentSetsDropped: 0 },
  assembler: {
    openFlows: 0,
    totalFlows: 3,
    bufferedBytes: 0,
    gaps: 0,
    overlapsDiffering: 0,
    retransmissions: 0,
    limitHits: { perDirection: 0, total: 0, connections: 0 },
    orphanSegments: 0,
    declined: 0,
  },
  sessionsClosed: 3,
  sessionsOpen: 0,
  attempts: NO_ATTEMPTS,
  connectionsWaiting: 0,
  sinkWaits: 0,
  budget: NO_BUDGET,
  firstTsMicros: T0,
  lastTsMicros: T0 + 5_000_000,
};

function runView(overrides: Partial<RunView> = {}): RunView {
  return {
    live: false,
    title: 'test.pcap',
    phase: 'finished',
    stats: STATS,
    open: [],
    elapsedMs: 1500,
    packetsPerSecond: 800,
    bytesPerSecond: 40000,
    error: null,
    ...overrides,
  };
}

function closedOf(sessions: readonly SmtpSession[]) {
  const window = createSessionWindow(1000);
  for (const s of sessions) window.push(s);
  return window;
}

const text = (line: StyledLine): string => line.map((s) => s.text).join('');

const rejected = (address: string, code: number, status: string, reason: 'mailbox-unknown' | 'greylisted') =>
  makeRecipient({
    address,
    rcptReply: makeReply(code, status, `${status} rejected`),
    finalReply: null,
    disposition: code >= 500 ? 'rejected-rcpt' : 'deferred-rcpt',
    reasonClass: reason,
  });

/** Delivered (green), one of two failed (yellow), everything failed (red), nothing tried (grey). */
const good = makeSession({ client: { ip: '192.0.2.1', port: 1001 }, startedAt: T0 + 1_000_000 });
const mixed = makeSession({
  client: { ip: '192.0.2.2', port: 1002 },
  server: { ip: '198.51.100.30', port: 25 },
  startedAt: T0 + 2_000_000,
  transactions: [
    makeTransaction({
      recipients: [makeRecipient(), rejected('nobody@example.net', 550, '5.1.1', 'mailbox-unknown')],
    }),
  ],
});
const bad = makeSession({
  client: { ip: '192.0.2.3', port: 1003 },
  server: { ip: '198.51.100.1', port: 25 },
  startedAt: T0 + 3_000_000,
  flow: { ...makeSession().flow, c2s: { ...makeSession().flow.c2s, bytes: 900_000 } },
  transactions: [
    makeTransaction({
      recipients: [
        rejected('grey@example.net', 450, '4.2.0', 'greylisted'),
        rejected('x@example.net', 550, '5.1.1', 'mailbox-unknown'),
      ],
      outcome: 'rejected',
      finalReply: null,
    }),
  ],
});
const idle = makeSession({
  client: { ip: '192.0.2.4', port: 1004 },
  startedAt: T0 + 4_000_000,
  transactions: [],
});
const ALL = [good, mixed, bad, idle];

function model(
  ui: Partial<UiState> = {},
  sessions: readonly SmtpSession[] = ALL,
  run: RunView = runView(),
  w = 120,
  h = 40,
): DashboardModel {
  return toDashboardModel(run, closedOf(sessions), { ...INITIAL_UI_STATE, ...ui }, w, h);
}

function withFilter(q: string): Partial<UiState> {
  const parsed = parseFilter(q);
  if (!parsed.ok) throw new Error(parsed.error);
  return { filter: parsed.filter };
}

describe('view-model', () => {
  it('colours sessions by outcome: all delivered, some failed, all failed, nothing decided', () => {
    expect(ALL.map((s) => factsOf(s).outcome)).toEqual(['delivered', 'partial', 'failed', 'unknown']);
    expect(model().sessions.rows.map((r) => r.tone)).toEqual(['good', 'warn', 'bad', 'dim']);
  });

  it('counts a refused MAIL, a refused greeting and failed AUTH as failures', () => {
    const mailRefused = makeSession({
      transactions: [
        makeTransaction({
          recipients: [],
          outcome: 'rejected',
          reasonClass: 'policy-or-spam',
          mode: null,
          finalReply: null,
        }),
      ],
    });
    expect(factsOf(mailRefused)).toMatchObject({ outcome: 'failed', failed: 1, reasons: ['policy-or-spam'] });
    const greetingRefused = makeSession({ greeting: makeReply(554, '5.7.1', 'go away'), transactions: [] });
    expect(factsOf(greetingRefused).outcome).toBe('failed');
    const authFailed = makeSession({ auth: [makeAuth({ outcome: 'failure' })], transactions: [] });
    expect(factsOf(authFailed)).toMatchObject({ outcome: 'failed', reasons: ['auth-failed'] });
  });

  it('sorts by time (oldest first for files, newest first live), server, failures and size', () => {
    const ids = (m: DashboardModel) => m.orderedIds;
    expect(ids(model())).toEqual(ALL.map((s) => s.id));
    expect(ids(model({}, ALL, runView({ live: true })))).toEqual([...ALL].reverse().map((s) => s.id));
    expect(ids(model({ sort: 'server' }))).toEqual([bad.id, good.id, idle.id, mixed.id]);
    expect(ids(model({ sort: 'failures' }))).toEqual([bad.id, mixed.id, good.id, idle.id]);
    expect(ids(model({ sort: 'size' }))[0]).toBe(bad.id);
  });

  it('filters with the query language and lists only failures, one row each, in the bounce view', () => {
    expect(model(withFilter('reason:greylisted')).orderedIds).toEqual([bad.id]);
    expect(model(withFilter('ip:192.0.2.2')).orderedIds).toEqual([mixed.id]);
    expect(model(withFilter('code:550')).orderedIds).toEqual([mixed.id, bad.id]);
    // mixed: one refused recipient; bad: two.
    expect(model({ bounceOnly: true }).rowSessionIds).toEqual([mixed.id, bad.id, bad.id]);
    expect(model({ bounceOnly: true, ...withFilter('code:4xx') }).rowSessionIds).toEqual([bad.id, bad.id]);
  });

  it('counts reply classes, failing statuses, reasons and top domains over the current view', () => {
    const m = model();
    const replies = m.replies.lines.map(text);
    const count2xx = ALL.flatMap((s) => factsOf(s).replies).filter(
      (r) => r.code >= 200 && r.code < 300,
    ).length;
    expect(replies[0]).toMatch(new RegExp(`^2xx +${count2xx} `));
    expect(replies.some((l) => /2 550 5\.1\.1/.test(l))).toBe(true);
    expect(m.failures.lines.map(text).join('\n')).toMatch(/mailbox-unknown +2/);
    expect(m.failures.label).toBe('Failures by reason (3)');
    const filtered = model(withFilter('reason:greylisted'));
    expect(filtered.failures.lines.map(text).join('\n')).toMatch(/greylisted +1/);
    expect(m.top.lines.map(text).join('\n')).toMatch(/3 example\.org/);
  });

  it('fits every row to the table width, at 80x24 and at 120x40', () => {
    const long = makeSession({ helo: `${'h'.repeat(300)}\x1b[31m{red-fg}`, startedAt: T0 + 9_000_000 });
    for (const [w, h] of [
      [80, 24],
      [120, 40],
      [200, 60],
    ] as const) {
      const m = model({}, [...ALL, long], runView(), w, h);
      const inner = m.sessions.rect.width - 2;
      expect(displayWidth(m.sessions.columns)).toBe(inner);
      for (const row of m.sessions.rows) {
        expect(displayWidth(row.text)).toBe(inner);
        expect(row.text).not.toContain('\x1b');
      }
      // The bounce view's rows too (its reply column keeps at least 24 columns).
      const b = model({ bounceOnly: true }, [...ALL, long], runView(), w, h);
      expect(b.sessions.rows.length).toBe(3);
      expect(displayWidth(b.sessions.columns)).toBe(inner);
      expect(b.sessions.columns).toMatch(/Reply +$/);
      for (const row of b.sessions.rows) expect(displayWidth(row.text)).toBe(inner);
      for (const panel of [m.replies, m.failures, m.top, m.anomalies]) {
        expect(panel.lines.length).toBeLessThanOrEqual(panel.rect.height - 2);
        for (const line of panel.lines)
          expect(displayWidth(text(line))).toBeLessThanOrEqual(panel.rect.width - 2);
      }
      for (const line of m.header.lines) expect(displayWidth(text(line))).toBeLessThanOrEqual(w);
      expect(m.sessions.rect.top + m.sessions.rect.height).toBeLessThanOrEqual(h - 1);
    }
  });

  it('keeps the client and server addresses whole at 80 columns', () => {
    const m = model({}, ALL, runView(), 80, 24);
    expect(m.sessions.rows[0]?.text, m.sessions.columns).toContain('192.0.2.1:1001 → 198.51.100.25:25');
  });

  it('formats only the rows that fit and keeps the selection in view', () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      makeSession({ client: { ip: '192.0.2.9', port: 2000 + i }, startedAt: T0 + i * 1000 }),
    );
    const first = model({}, many, runView(), 80, 24);
    expect(first.sessions.rows.length).toBe(first.sessions.rect.height - 3);
    expect(first.selectedIndex).toBe(0);
    const target = many[150];
    const moved = model({ selectedId: target?.id ?? null }, many, runView(), 80, 24);
    expect(moved.selectedIndex).toBe(150);
    expect(moved.sessions.rows.some((r) => r.selected && r.id === target?.id)).toBe(true);
  });

  it('opens the detail pane with the paired transcript, latencies and anomalies', () => {
    const withAnomaly = makeSession({
      anomalies: [
        { code: 'bare-lf', direction: 'c2s', detail: 'LF without CR', offset: 10, tsMicros: T0 + 5_000 },
      ],
    });
    const m = model({ detailOpen: true, selectedId: withAnomaly.id }, [withAnomaly], runView(), 120, 80);
    const lines = m.detail?.lines.map(text) ?? [];
    expect(m.detail?.sessionId).toBe(withAnomaly.id);
    expect(lines.some((l) => l.includes('C: MAIL FROM:<alice@example.org>'))).toBe(true);
    expect(lines.some((l) => l.includes('S: 250 2.0.0 Ok: queued as 4XyZ1A2b3C'))).toBe(true);
    expect(lines.some((l) => l.startsWith('Reply latency'))).toBe(true);
    expect(lines.some((l) => l.includes('bare-lf c2s: LF without CR'))).toBe(true);
    expect(m.anomalies.lines.map(text).join('\n')).toContain('bare-lf');
  });

  it('colours the transcript by what each line is: commands, replies by code, anomalies, the end', () => {
    const s = makeSession({
      anomalies: [
        {
          code: 'bare-lf',
          direction: 'c2s',
          detail: 'S: 550 looks like a reply',
          offset: 10,
          tsMicros: T0 + 5_000,
        },
      ],
      commands: [
        makeCommand({
          verb: 'RCPT',
          verbText: 'RCPT',
          argument: 'TO:<a@example.net>',
          reply: makeReply(550, '5.1.1', 'No such user'),
        }),
        makeCommand({
          verb: 'RCPT',
          verbText: 'RCPT',
          argument: 'TO:<b@example.net>',
          reply: makeReply(450, '4.2.0', 'Greylisted'),
        }),
        makeCommand({
          verb: 'RCPT',
          verbText: 'RCPT',
          argument: 'TO:<c@example.net>',
          reply: makeReply(250, '2.1.5', 'Ok'),
        }),
      ],
    });
    const lines = model({ detailOpen: true, selectedId: s.id }, [s], runView(), 120, 80).detail?.lines ?? [];
    const start = lines.findIndex((l) => text(l) === 'Transcript:');
    const tones = lines.slice(start + 1).map((l) => [
      text(l)
        .trim()
        .replace(/^\+[0-9.]+ +/, ''),
      l[0]?.tone,
    ]);
    expect(tones.filter(([t]) => String(t).startsWith('C: RCPT')).map(([, tone]) => tone)).toEqual([
      'accent',
      'accent',
      'accent',
    ]);
    expect(tones.find(([t]) => String(t).startsWith('S: 550'))?.[1]).toBe('bad');
    expect(tones.find(([t]) => String(t).startsWith('S: 450'))?.[1]).toBe('warn');
    expect(tones.find(([t]) => String(t).startsWith('S: 250'))?.[1]).toBe('good');
    expect(tones.find(([t]) => String(t).startsWith('!  bare-lf'))?.[1]).toBe('warn');
    expect(tones.find(([t]) => String(t).startsWith('#  550'))?.[1]).toBe('normal');
    expect(tones.at(-1)?.[1]).toBe('dim');
  });

  it('shows drops as n/a when the source cannot know them, and the count when it can', () => {
    expect(text(model().header.lines[1] ?? [])).toContain('drops n/a');
    const counted = runView({ stats: { ...STATS, source: { ...STATS.source, dropped: 7 } } });
    expect(text(model({}, ALL, counted).header.lines[1] ?? [])).toContain('drops 7');
  });

  it('shows connection attempts once there are any', () => {
    expect(text(model().header.lines[1] ?? [])).not.toContain('attempts');
    const attempts = { ...STATS.attempts, total: 300_000 };
    const flood = runView({ stats: { ...STATS, attempts } });
    expect(text(model({}, ALL, flood).header.lines[1] ?? [])).toContain('attempts 300,000');
  });

  it('shows progress while a file is read, and the dashboard once it is read or when live', () => {
    const reading = model({}, ALL, runView({ phase: 'reading' }));
    expect(reading.view).toBe('progress');
    expect(reading.progress?.lines.map(text).join('\n')).toMatch(/packets +1,234/);
    expect(model({}, ALL, runView({ phase: 'reading', live: true })).view).toBe('dashboard');
  });

  it('draws a bar, the percentage and the time left when the size of the input is known', () => {
    // 56,789 of 227,156 bytes read at 40,000 bytes/s: 25.0%, 170,367 bytes left, about 4.26 s.
    const reading = model({}, ALL, runView({ phase: 'reading', inputBytes: 227_156 }));
    const lines = reading.progress?.lines.map(text) ?? [];
    const bar = lines.find((l) => l.includes('█')) ?? '';
    expect(bar).toMatch(/^█+░+ +25\.0%$/);
    expect(displayWidth(bar)).toBe(62);
    expect((bar.match(/█/g) ?? []).length).toBe(13); // a quarter of 54 cells, rounded down
    expect(lines).toContainEqual(
      expect.stringMatching(/^bytes read +55\.5 KiB of 221\.8 KiB \(56,789 of 227,156\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^remaining +about 5 s$/));
    for (const line of lines) expect(displayWidth(line)).toBeLessThanOrEqual(62);
  });

  it('measures gzip input by its compressed bytes, with the time left at the compressed rate', () => {
    // A quarter of a 56,788-byte compressed file consumed, which decompressed to 56,789 bytes at 40,000 B/s:
    // 10,000 compressed bytes a second, so the 42,591 left take about 5 s.
    const stats = { ...STATS, source: { ...STATS.source, storedBytes: 14_197 } };
    const lines =
      model({}, ALL, runView({ phase: 'reading', stats, inputBytes: 56_788 })).progress?.lines.map(text) ??
      [];
    expect(lines.find((l) => l.includes('█'))).toMatch(/^█+░+ +25\.0%$/);
    expect(lines).toContainEqual(
      expect.stringMatching(/^bytes read +13\.9 KiB of 55\.5 KiB compressed \(55\.5 KiB out\)$/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^remaining +about 5 s$/));
  });

  it('shows no bar and no percentage when the size of the input is not known', () => {
    for (const inputBytes of [null, undefined]) {
      const lines =
        model(
          {},
          ALL,
          runView({ phase: 'reading', ...(inputBytes === null ? { inputBytes } : {}) }),
        ).progress?.lines.map(text) ?? [];
      expect(lines.join('\n')).not.toMatch(/[█%]/);
      expect(lines).toContainEqual(expect.stringMatching(/no percentage/));
      expect(lines).toContainEqual(expect.stringMatching(/^bytes read +55\.5 KiB \(56,789\)$/));
      expect(lines).toContainEqual(expect.stringMatching(/^remaining +unknown$/));
    }
  });

  it('says every byte is read when the bar is full but the run has not finished', () => {
    const lines =
      model({}, ALL, runView({ phase: 'reading', inputBytes: 56_789 })).progress?.lines.map(text) ?? [];
    expect(lines).toContainEqual(expect.stringMatching(/^█+ +100\.0%$/));
    expect(lines).toContainEqual(expect.stringMatching(/^remaining +every byte read/));
  });

  it.each([
    { read: 0, total: 1000, rate: 0, fraction: 0, percent: '0.0%', eta: null },
    { read: 0, total: 1000, rate: 100, fraction: 0, percent: '0.0%', eta: 10_000 },
    { read: 999, total: 1000, rate: 1, fraction: 0.999, percent: '99.9%', eta: 1000 },
    { read: 9999, total: 10_000, rate: 1, fraction: 0.9999, percent: '99.9%', eta: 1000 },
    { read: 1000, total: 1000, rate: 0, fraction: 1, percent: '100.0%', eta: 0 },
    { read: 1500, total: 1000, rate: 5, fraction: 1, percent: '100.0%', eta: 0 },
  ])(
    'reads $read of $total bytes at $rate B/s as $percent, $eta ms left',
    ({ read, total, rate, fraction, percent, eta }) => {
      expect(toReadProgress(read, total, rate)).toEqual({ fraction, percent, etaMs: eta });
    },
  );

  it('knows no progress without a total', () => {
    expect(toReadProgress(10, null, 5)).toBeNull();
    expect(toReadProgress(10, undefined, 5)).toBeNull();
    expect(toReadProgress(10, 0, 5)).toBeNull();
  });

  it.each([
    { fraction: 0, width: 10, bar: '░░░░░░░░░░' },
    { fraction: 0.09, width: 10, bar: '░░░░░░░░░░' },
    { fraction: 0.5, width: 10, bar: '█████░░░░░' },
    { fraction: 0.999, width: 10, bar: '█████████░' },
    { fraction: 1, width: 10, bar: '██████████' },
    { fraction: 2, width: 4, bar: '████' },
    { fraction: 0.5, width: 0, bar: '' },
  ])('draws $fraction in $width cells as "$bar"', ({ fraction, width, bar }) => {
    expect(progressBar(fraction, width)).toBe(bar);
  });

  it.each([
    { ms: 1, text: '1 s' },
    { ms: 42_000, text: '42 s' },
    { ms: 59_001, text: '1:00' },
    { ms: 125_000, text: '2:05' },
    { ms: 3_725_000, text: '1:02:05' },
  ])('writes $ms ms left as $text', ({ ms, text: eta }) => {
    expect(formatEta(ms)).toBe(eta);
  });

  it('lists open sessions in grey with the state "open" and does not export them', () => {
    const open = makeSession({ client: { ip: '192.0.2.77', port: 7777 }, startedAt: T0 + 8_000_000 });
    const m = model({}, [good], runView({ live: true, phase: 'reading', open: [open] }));
    expect(m.orderedIds).toEqual([open.id, good.id]);
    expect(m.sessions.rows[0]?.tone).toBe('dim');
    expect(m.sessions.rows[0]?.text).toMatch(/open\s*$/);
    expect(m.exportable).toEqual([good]);
  });

  it('reuses the ordered view while nothing changed', () => {
    const memo = createViewMemo();
    const closed = closedOf(ALL);
    const run = runView();
    toDashboardModel(run, closed, INITIAL_UI_STATE, 120, 40, memo);
    const data = memo.data;
    toDashboardModel(run, closed, { ...INITIAL_UI_STATE, detailScroll: 3 }, 100, 30, memo);
    expect(memo.data).toBe(data);
    closed.push(makeSession({ startedAt: T0 + 10_000_000 }));
    toDashboardModel(run, closed, INITIAL_UI_STATE, 120, 40, memo);
    expect(memo.data).not.toBe(data);
  });

  it('reuses the ordered view for a second identical frame built afresh, as the app builds each frame', () => {
    const memo = createViewMemo();
    const closed = closedOf(ALL);
    // Every frame the app makes a new run view (and, when nothing is open, a new empty array).
    toDashboardModel(runView({ open: [] }), closed, INITIAL_UI_STATE, 120, 40, memo);
    const data = memo.data;
    expect(data).not.toBeNull();
    toDashboardModel(runView({ open: [] }), closed, INITIAL_UI_STATE, 120, 40, memo);
    expect(memo.data).toBe(data);
    toDashboardModel(runView({ open: NO_OPEN_SESSIONS }), closed, INITIAL_UI_STATE, 120, 40, memo);
    expect(memo.data).toBe(data);
  });

  it('reuses the view of open sessions until packets are read, then builds it again', () => {
    const memo = createViewMemo();
    const closed = closedOf([good]);
    const open = makeSession({ client: { ip: '192.0.2.77', port: 7777 }, startedAt: T0 + 8_000_000 });
    const frame = (packets: number, sessions: readonly SmtpSession[]) =>
      toDashboardModel(
        runView({
          live: true,
          phase: 'reading',
          // A snapshot copies the open sessions every frame.
          open: sessions.map((s) => ({ ...s })),
          stats: { ...STATS, source: { ...STATS.source, packets } },
        }),
        closed,
        INITIAL_UI_STATE,
        120,
        40,
        memo,
      );
    frame(100, [open]);
    const data = memo.data;
    frame(100, [open]);
    expect(memo.data).toBe(data);
    frame(101, [open]);
    expect(memo.data).not.toBe(data);
    const second = makeSession({ client: { ip: '192.0.2.78', port: 7778 }, startedAt: T0 + 9_000_000 });
    const again = memo.data;
    expect(frame(101, [open, second]).orderedIds).toHaveLength(3);
    expect(memo.data).not.toBe(again);
  });

  it('notes in the header how many old sessions the window dropped', () => {
    const window = createSessionWindow(2);
    for (const s of ALL) window.push(s);
    const m = toDashboardModel(runView(), window, INITIAL_UI_STATE, 160, 40);
    expect(m.orderedIds).toEqual([bad.id, idle.id]);
    expect(text(m.header.lines[1] ?? [])).toContain('oldest 2 not kept: limit 2');
  });
});

describe('session-window', () => {
  it('keeps the most recent sessions up to its limit, oldest first, and counts the rest', () => {
    const window = createSessionWindow(3);
    const sessions = Array.from({ length: 7 }, (_, i) => makeSession({ startedAt: T0 + i }));
    for (const s of sessions) window.push(s);
    expect(window.items()).toEqual(sessions.slice(4));
    expect(window.dropped).toBe(4);
    expect(window.total).toBe(7);
    expect(() => createSessionWindow(0)).toThrow(RangeError);
  });

  it('replaces a kept session by a later copy of it in its place, and knows which ids it keeps', () => {
    const window = createSessionWindow(3);
    const sessions = Array.from({ length: 4 }, (_, i) =>
      makeSession({ id: `1-C00000${i + 1}`, startedAt: T0 + i }),
    );
    for (const s of sessions) window.push(s);
    // 1-C000001 was pushed out by the limit: nothing to replace.
    expect(window.has('1-C000001')).toBe(false);
    expect(window.replace({ ...sessions[0]!, helo: 'late' })).toBe(false);
    const before = window.items();
    const copy = { ...sessions[2]!, helo: 'joined' };
    expect(window.replace(copy)).toBe(true);
    const after = window.items();
    expect(after).not.toBe(before);
    expect(after.map((s) => s.id)).toEqual(['1-C000002', '1-C000003', '1-C000004']);
    expect(after[1]).toBe(copy);
    expect(window.total).toBe(4);
    // Pushing on past the limit forgets the ids that go.
    window.push(makeSession({ id: '1-C000005' }));
    expect(window.has('1-C000002')).toBe(false);
    expect(window.has('1-C000005')).toBe(true);
  });

  it('keeps one copy of each session when it comes again after the MTA log join, the joined one', () => {
    const s = (n: number, helo = 'wire') => makeSession({ id: `1-C00000${n}`, helo, startedAt: T0 + n });
    // A capture file: the join hands each session on first, then the analyzer gives it as it closed.
    const file = createSessionWindow(10);
    const fileFeeds = windowFeeds(file, true);
    fileFeeds.joined(s(1, 'joined'));
    fileFeeds.closed(s(1));
    expect(file.items().map((x) => x.helo)).toEqual(['joined']);
    // Live: as it closed first, its joined copy later takes its place.
    const live = createSessionWindow(2);
    const liveFeeds = windowFeeds(live, true);
    liveFeeds.closed(s(1));
    liveFeeds.closed(s(2));
    liveFeeds.joined(s(1, 'joined'));
    expect(live.items().map((x) => `${x.id} ${x.helo}`)).toEqual(['1-C000001 joined', '1-C000002 wire']);
    // 1-C000002 is dropped by the limit before its joined copy comes: that copy is not kept again.
    liveFeeds.closed(s(3));
    liveFeeds.closed(s(4));
    liveFeeds.joined(s(2, 'joined'));
    liveFeeds.joined(s(3, 'joined'));
    expect(live.items().map((x) => `${x.id} ${x.helo}`)).toEqual(['1-C000003 joined', '1-C000004 wire']);
  });
});
