import { afterEach, describe, expect, it } from 'vitest';
import { createSessionWindow } from '../../src/dashboard/session-window.js';
import {
  clockTime,
  type DashboardModel,
  INITIAL_UI_STATE,
  toDashboardModel,
  type UiState,
  zoneLabel,
} from '../../src/dashboard/view-model.js';
import type { SmtpSession } from '../../src/model/types.js';
import { runView } from '../helpers/dashboard-run.js';
import { makeRecipient, makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

const run = runView;

function model(sessions: readonly SmtpSession[], ui: Partial<UiState> = {}, view = run()): DashboardModel {
  const window = createSessionWindow(100);
  for (const s of sessions) window.push(s);
  return toDashboardModel(view, window, { ...INITIAL_UI_STATE, ...ui }, 240, 40);
}

const bounce = makeSession({
  id: '4-C000003',
  startedAt: T0 + 2_000_000,
  transactions: [
    makeTransaction({
      mailFrom: '',
      recipients: [
        makeRecipient({ address: 'a@x.example' }),
        makeRecipient({ index: 2, address: 'b@x.example' }),
      ],
    }),
  ],
});
const plain = makeSession({ id: '4-C000001', startedAt: T0 });

const originalTz = process.env['TZ'];
afterEach(() => {
  if (originalTz === undefined) delete process.env['TZ'];
  else process.env['TZ'] = originalTz;
});

describe('dashboard session columns', () => {
  it('shows the session id (as anomalies name it) and the envelope: From (<> for a bounce) and To (+ more)', () => {
    const m = model([plain, bounce]);
    expect(m.sessions.columns).toMatch(/^Session +Time/);
    const row = m.sessions.rows.find((r) => r.id === '4-C000003')?.text ?? '';
    expect(row.startsWith('4-C000003 ')).toBe(true);
    expect(row).toMatch(/ <> +a@x\.example \+1 /);
    expect(m.sessions.rows.find((r) => r.id === '4-C000001')?.text).toContain(' alice@example.org ');
  });

  it('marks the sort column with its direction and reverses it with S', () => {
    const up = model([plain, bounce]);
    expect(up.sessions.columns).toMatch(/Time ▲/);
    expect(up.sessions.rows.map((r) => r.id)).toEqual(['4-C000001', '4-C000003']);
    const down = model([plain, bounce], { sortReverse: true });
    expect(down.sessions.columns).toMatch(/Time ▼/);
    expect(down.sessions.rows.map((r) => r.id)).toEqual(['4-C000003', '4-C000001']);
    expect(model([plain, bounce], { sort: 'failures' }).sessions.columns).toMatch(/Ok\/Fail ▼/);
  });

  it('shows times in local time with the zone named, and in UTC with --utc', () => {
    process.env['TZ'] = 'Asia/Kolkata';
    // T0 is 2024-03-01T12:00:00Z: 17:30 in India (UTC+05:30, no daylight saving).
    expect(clockTime(T0, false)).toBe('17:30:00.000');
    expect(clockTime(T0, true)).toBe('12:00:00.000');
    expect(zoneLabel(false, T0)).toBe('UTC+05:30');
    const local = model([plain]);
    expect(local.sessions.rows[0]?.text).toContain('17:30:00.000');
    expect(local.sessions.label).toContain('UTC+05:30');
    const utc = model([plain], {}, run({ utc: true }));
    expect(utc.sessions.rows[0]?.text).toContain('12:00:00.000');
    expect(utc.sessions.label).toMatch(/· UTC$/);
  });
});
