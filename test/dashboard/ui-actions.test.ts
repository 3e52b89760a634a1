/**
 * The keys that do more than flip a flag: `s` (a second press on a column reverses it), a click on a column
 * title, Enter on an anomaly (jumps to its session) and the anomaly log's cursor.
 */

import { describe, expect, it } from 'vitest';
import { createSessionWindow } from '../../src/dashboard/session-window.js';
import {
  activate,
  clickAnomaly,
  moveAnomalyCursor,
  pressSort,
  sortBy,
} from '../../src/dashboard/ui-actions.js';
import {
  type DashboardModel,
  INITIAL_UI_STATE,
  type RunView,
  type StyledLine,
  toDashboardModel,
  type UiState,
} from '../../src/dashboard/view-model.js';
import type { SmtpSession } from '../../src/model/types.js';
import { runView } from '../helpers/dashboard-run.js';
import { makeRecipient, makeReply, makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

const RUN: RunView = runView({ utc: true });

function model(sessions: readonly SmtpSession[], ui: UiState, width = 120, height = 40): DashboardModel {
  const window = createSessionWindow(100);
  for (const s of sessions) window.push(s);
  return toDashboardModel(RUN, window, ui, width, height);
}

const text = (line: StyledLine): string => line.map((s) => s.text).join('');

const anomaly = (code: string, tsMicros: number) => ({
  code,
  detail: `${code} seen`,
  tsMicros,
  direction: null,
});

// Three sessions: the oldest with one anomaly, the middle one with two and the only failure, the newest with
// none and the most bytes.
const a = makeSession({
  id: '1-C000001',
  startedAt: T0,
  client: { ip: '192.0.2.3', port: 1001 },
  anomalies: [anomaly('bare-lf', T0 + 10)] as unknown as SmtpSession['anomalies'],
});
const b = makeSession({
  id: '1-C000002',
  startedAt: T0 + 1_000_000,
  client: { ip: '192.0.2.1', port: 1002 },
  server: { ip: '198.51.100.1', port: 25 },
  anomalies: [
    anomaly('line-too-long', T0 + 1_000_010),
    anomaly('pipelining-violation', T0 + 1_000_020),
  ] as unknown as SmtpSession['anomalies'],
  transactions: [
    makeTransaction({
      recipients: [
        makeRecipient({
          address: 'x@example.net',
          rcptReply: makeReply(550, '5.1.1', 'no such user'),
          finalReply: null,
          disposition: 'rejected-rcpt',
          reasonClass: 'mailbox-unknown',
        }),
      ],
      outcome: 'rejected',
      finalReply: null,
    }),
  ],
});
const c = makeSession({
  id: '1-C000003',
  startedAt: T0 + 2_000_000,
  client: { ip: '192.0.2.2', port: 1003 },
  flow: { ...makeSession().flow, c2s: { ...makeSession().flow.c2s, bytes: 900_000 } },
});
const ALL = [a, b, c];

describe('sort keys', () => {
  it('reverses the column on a second s, and goes to the next column on a third', () => {
    let ui: UiState = INITIAL_UI_STATE;
    const seen: string[] = [];
    for (let i = 0; i < 9; i++) {
      const m = model(ALL, ui);
      seen.push(`${ui.sort} ${/(\S+) [▲▼]/.exec(m.sessions.columns)?.[0]} ${m.orderedIds.join(',')}`);
      ui = pressSort(ui);
    }
    expect(seen).toEqual([
      'time Time ▲ 1-C000001,1-C000002,1-C000003',
      'time Time ▼ 1-C000003,1-C000002,1-C000001',
      // Server 198.51.100.1 sorts before the default 198.51.100.25.
      'server Server ▲ 1-C000002,1-C000001,1-C000003',
      'server Server ▼ 1-C000003,1-C000001,1-C000002',
      'failures Ok/Fail ▼ 1-C000002,1-C000001,1-C000003',
      'failures Ok/Fail ▲ 1-C000003,1-C000001,1-C000002',
      // The newest session carried the most bytes; the other two the same, then by time.
      'size Tx ▼ 1-C000003,1-C000001,1-C000002',
      'size Tx ▲ 1-C000002,1-C000001,1-C000003',
      'time Time ▲ 1-C000001,1-C000002,1-C000003',
    ]);
  });

  it('sorts by the column whose title was clicked, and reverses on a second click', () => {
    const m = model(ALL, INITIAL_UI_STATE);
    const server = m.sessions.sortSpans.find((s) => s.sort === 'server');
    expect(server).toBeDefined();
    // The span covers the "Client → Server" title in the title line.
    expect(m.sessions.columns.slice(server?.from, server?.to).trim()).toBe('Client → Server');
    const once = sortBy(INITIAL_UI_STATE, 'server');
    expect(once).toMatchObject({ sort: 'server', sortReverse: false });
    expect(sortBy(once, 'server')).toMatchObject({ sort: 'server', sortReverse: true });
  });
});

describe('Enter on an anomaly', () => {
  it('moves a cursor through the anomaly log and opens the session of the anomaly under it', () => {
    const focused: UiState = { ...INITIAL_UI_STATE, focus: 'anomalies' };
    let m = model(ALL, focused);
    // The log follows the newest entry: the cursor starts there.
    expect(m.anomalies.lines.map(text).filter((l) => l.trim() !== '')).toHaveLength(3);
    expect(m.anomalyCursor).toEqual({ index: 2, sessionId: '1-C000002' });
    expect(text(m.anomalies.lines[m.anomalies.cursor ?? -1] ?? [])).toContain('pipelining-violation');
    // Up twice: the oldest anomaly, of the first session.
    let ui = moveAnomalyCursor(focused, m, -1);
    m = model(ALL, ui);
    ui = moveAnomalyCursor(ui, m, -1);
    m = model(ALL, ui);
    expect(m.anomalyCursor).toEqual({ index: 0, sessionId: '1-C000001' });
    expect(text(m.anomalies.lines[m.anomalies.cursor ?? -1] ?? [])).toMatch(/1-C000001 bare-lf/);
    // Enter: the session is selected in the table and its detail opens.
    ui = activate(ui, m);
    expect(ui).toMatchObject({ focus: 'sessions', selectedId: '1-C000001', detailOpen: true });
    const opened = model(ALL, ui);
    expect(opened.detail?.sessionId).toBe('1-C000001');
    expect(opened.sessions.rows.find((r) => r.selected)?.id).toBe('1-C000001');
    expect(opened.detail?.lines.map(text).join('\n')).toContain('bare-lf');
  });

  it('puts the cursor on a clicked entry, and opens its session on a second click', () => {
    const m = model(ALL, INITIAL_UI_STATE);
    const first = clickAnomaly(INITIAL_UI_STATE, m, 0);
    expect(first).toMatchObject({ focus: 'anomalies', anomalyCursor: 0, detailOpen: false });
    const shown = model(ALL, first);
    expect(shown.anomalyCursor).toEqual({ index: 0, sessionId: '1-C000001' });
    const second = clickAnomaly(first, shown, 0);
    expect(second).toMatchObject({ detailOpen: true, detailSessionId: '1-C000001', selectedId: '1-C000001' });
    // A click below the last entry only focuses the log.
    expect(clickAnomaly(INITIAL_UI_STATE, m, 10)).toMatchObject({ focus: 'anomalies', detailOpen: false });
  });

  it('shows no cursor while the log does not have the focus', () => {
    expect(model(ALL, INITIAL_UI_STATE).anomalies.cursor).toBeNull();
  });

  it('selects the first failure row of the session in the bounce view', () => {
    const ui: UiState = { ...INITIAL_UI_STATE, focus: 'anomalies', bounceOnly: true };
    const m = model(ALL, ui);
    expect(m.anomalyCursor?.sessionId).toBe('1-C000002');
    const next = activate(ui, m);
    expect(next).toMatchObject({
      selectedId: '1-C000002/f0',
      detailSessionId: '1-C000002',
      detailOpen: true,
    });
  });

  it('keeps the cursor in view when the log is longer than its panel', () => {
    const many = makeSession({
      id: '1-C000009',
      anomalies: Array.from({ length: 40 }, (_, i) =>
        anomaly(`code-${i}`, T0 + i),
      ) as unknown as SmtpSession['anomalies'],
    });
    let ui: UiState = { ...INITIAL_UI_STATE, focus: 'anomalies' };
    let m = model([many], ui, 80, 24);
    const height = m.anomalies.rect.height - 2;
    expect(m.anomalies.cursor).toBe(height - 1);
    ui = moveAnomalyCursor(ui, m, -(height + 3));
    m = model([many], ui, 80, 24);
    expect(m.anomalies.cursor).toBe(0);
    expect(text(m.anomalies.lines[0] ?? [])).toContain(`code-${39 - height - 3} `);
    // Down to the end again: it follows the newest.
    ui = moveAnomalyCursor(ui, m, 1000);
    expect(ui.anomalyCursor).toBe(Number.POSITIVE_INFINITY);
  });
});
