/**
 * The bounce view (`b`): one row per failed recipient and per DSN recipient, not whole sessions, and the
 * fates the MTA log gives recipients accepted on the wire (in the list and in the session detail). The relay
 * capture and its two Postfix logs are the oracle for the fates: each expectation below is a line of a log or
 * a reply on the wire.
 */

import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createSessionWindow } from '../../src/dashboard/session-window.js';
import { activate } from '../../src/dashboard/ui-actions.js';
import {
  type DashboardModel,
  INITIAL_UI_STATE,
  type RunView,
  type StyledLine,
  toDashboardModel,
  type UiState,
} from '../../src/dashboard/view-model.js';
import { createLogIndex } from '../../src/maillog/log-index.js';
import { createJoinState, joinSession } from '../../src/maillog/session-join.js';
import { withSessionLog } from '../../src/maillog/session-log.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { parseFilter } from '../../src/query/filter.js';
import { runView } from '../helpers/dashboard-run.js';
import { makeRecipient, makeReply, makeSession, makeTransaction, T0 } from '../helpers/sessions.js';

const RUN: RunView = runView({ utc: true });

function model(sessions: readonly SmtpSession[], ui: Partial<UiState> = {}, width = 200): DashboardModel {
  const window = createSessionWindow(100);
  for (const s of sessions) window.push(s);
  return toDashboardModel(RUN, window, { ...INITIAL_UI_STATE, ...ui }, width, 50);
}

const text = (line: StyledLine): string => line.map((s) => s.text).join('');
const rowText = (m: DashboardModel, key: string): string =>
  m.sessions.rows.find((r) => r.id === key)?.text ?? '';

const refused = (address: string, code: number, status: string) =>
  makeRecipient({
    address,
    rcptReply: makeReply(code, status, `${status} <${address}>: Recipient address rejected`),
    finalReply: null,
    disposition: code >= 500 ? 'rejected-rcpt' : 'deferred-rcpt',
    reasonClass: code >= 500 ? 'mailbox-unknown' : 'greylisted',
  });

const clean = makeSession({ id: '1-C000001', startedAt: T0 });
const twoRefused = makeSession({
  id: '1-C000002',
  startedAt: T0 + 1_000_000,
  transactions: [
    makeTransaction({
      recipients: [
        makeRecipient({ address: 'ok@example.net' }),
        refused('nobody@example.net', 550, '5.1.1'),
        refused('later@example.net', 450, '4.2.0'),
      ],
    }),
  ],
});
const oneRefused = makeSession({
  id: '1-C000003',
  startedAt: T0 + 2_000_000,
  transactions: [makeTransaction({ recipients: [refused('gone@example.com', 550, '5.1.1')] })],
});

describe('the bounce view lists failed recipients, one row each', () => {
  it('has a row per refused recipient, none for delivered ones or clean sessions', () => {
    const m = model([clean, twoRefused, oneRefused], { bounceOnly: true });
    expect(m.orderedIds).toEqual(['1-C000002/f0', '1-C000002/f1', '1-C000003/f0']);
    expect(m.rowSessionIds).toEqual(['1-C000002', '1-C000002', '1-C000003']);
    expect(m.sessions.columns).toMatch(
      /^Session +Time ▲ +Stage +Code +Status +From +Recipient +Server +Reason +Reply/,
    );
    expect(rowText(m, '1-C000002/f0')).toMatch(
      /^1-C000002 +12:00:00\.000 +rcpt +550 +5\.1\.1 +alice@example\.org +nobody@example\.net .* mailbox-unknown +<nobody@example\.net>: R/,
    );
    expect(rowText(m, '1-C000002/f1')).toMatch(/ rcpt +450 +4\.2\.0 .* later@example\.net .* greylisted /);
    const all = m.sessions.rows.map((r) => r.text).join('\n');
    expect(all).not.toContain('ok@example.net');
    // Permanent failures red, temporary ones yellow.
    expect(m.sessions.rows.map((r) => r.tone)).toEqual(['bad', 'warn', 'bad']);
    expect(m.sessions.label).toMatch(/^Bounces: 3 failures, 0 DSNs · 1\/3 · sort time ▲ · UTC$/);
    // The panels count the sessions with failures only.
    expect(m.matching).toBe(2);
    expect(m.exportable.map((s) => s.id)).toEqual(['1-C000002', '1-C000003']);
  });

  it('applies the filter to the sessions whose failures are listed, and the sort to the rows', () => {
    const parsed = parseFilter('to:gone@');
    if (!parsed.ok) throw new Error(parsed.error);
    expect(
      model([clean, twoRefused, oneRefused], { bounceOnly: true, filter: parsed.filter }).orderedIds,
    ).toEqual(['1-C000003/f0']);
    const m = model([clean, twoRefused, oneRefused], { bounceOnly: true, sortReverse: true });
    // Reversed time: newest row first.
    expect(m.orderedIds[0]).toBe('1-C000003/f0');
    expect(m.sessions.columns).toContain('Time ▼');
  });

  it('opens the session of the selected failure row on Enter', () => {
    const m = model([clean, twoRefused, oneRefused], { bounceOnly: true, selectedId: '1-C000003/f0' });
    expect(m.selectedIndex).toBe(2);
    const ui = activate({ ...INITIAL_UI_STATE, bounceOnly: true, selectedId: '1-C000003/f0' }, m);
    expect(ui).toMatchObject({ detailOpen: true, detailSessionId: '1-C000003', selectedId: '1-C000003/f0' });
    const opened = model([clean, twoRefused, oneRefused], ui);
    expect(opened.detail?.sessionId).toBe('1-C000003');
    expect(opened.detail?.lines.map(text).join('\n')).toContain('to <gone@example.com> rejected-rcpt');
  });

  it('lists the refusals of a session still open, not the outcome it has yet to get', () => {
    const inProgress = makeSession({
      id: '1-C000004',
      startedAt: T0 + 3_000_000,
      transactions: [
        makeTransaction({
          recipients: [makeRecipient({ address: 'ok@example.net' }), refused('no@example.net', 550, '5.1.1')],
          outcome: 'incomplete',
          finalReply: null,
        }),
      ],
    });
    const window = createSessionWindow(10);
    const open = toDashboardModel(
      { ...RUN, live: true, open: [inProgress] },
      window,
      { ...INITIAL_UI_STATE, bounceOnly: true },
      200,
      50,
    );
    expect(open.orderedIds).toEqual(['1-C000004/f0']);
    expect(open.sessions.rows[0]?.text).toContain('no@example.net');
    // Closed that way, the lost outcome of the accepted recipient is a failure row too.
    window.push(inProgress);
    const closed = toDashboardModel(RUN, window, { ...INITIAL_UI_STATE, bounceOnly: true }, 200, 50);
    expect(closed.orderedIds).toEqual(['1-C000004/f0', '1-C000004/f1']);
  });

  it('says so when nothing failed', () => {
    const m = model([clean], { bounceOnly: true });
    expect(m.sessions.rows).toEqual([]);
    expect(m.sessions.empty).toBe('no failures and no DSNs in this view');
  });
});

describe('with the MTA log: postfix-relay.pcap and the logs of both Postfix instances', () => {
  const path = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;
  let sessions: SmtpSession[] = [];
  beforeAll(async () => {
    const result = await analyzeToArray({
      inputs: [{ kind: 'file', path: path('postfix-relay.pcap') }],
      ports: new Set([2642, 2643]),
    });
    const index = createLogIndex({ referenceYear: 2026, utcOffsetMinutes: 0 });
    for (const log of ['postfix-relay.a.maillog', 'postfix-relay.b.maillog'])
      for (const line of readFileSync(path(log), 'utf8').split('\n')) index.addLine(line);
    const state = createJoinState();
    sessions = result.sessions.map((s) => {
      const log = joinSession(s, index, state);
      return log === null ? s : withSessionLog(s, log);
    });
  });

  it('lists the recipient the next hop refused after the first server accepted it, the refusal and the DSN', () => {
    const [submission, relay, ndr] = sessions;
    // swaks: both RCPTs accepted by Postfix A on the wire.
    expect(submission?.transactions[0]?.recipients.map((r) => r.disposition)).toEqual([
      'delivered',
      'delivered',
    ]);
    const m = model(sessions, { bounceOnly: true }, 320);
    const rows = m.sessions.rows.map((r) => r.text);
    expect(rows).toHaveLength(3);
    // Postfix A's log: "to=<gone@relay.test>, relay=127.0.0.1[127.0.0.1]:2643, ... dsn=5.1.1, status=bounced
    // (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 ...)".
    const aLog = readFileSync(path('postfix-relay.a.maillog'), 'utf8');
    expect(aLog).toMatch(
      /to=<gone@relay\.test>.*dsn=5\.1\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1/,
    );
    const afterQueue = rowText(m, `${submission?.id}/f0`);
    expect(afterQueue).toMatch(
      / after-queue +550 +5\.1\.1 +alice@sender\.test +gone@relay\.test .* mailbox-unknown +host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1/,
    );
    // Postfix B refused it at RCPT on the relay leg (550 5.1.1 on the wire).
    expect(rowText(m, `${relay?.id}/f0`)).toMatch(/ rcpt +550 +5\.1\.1 .* gone@relay\.test /);
    // Postfix A's non-delivery notification (MAIL FROM:<>) carries a delivery-status for gone@relay.test.
    const dsn = rowText(m, `${ndr?.id}/d0`);
    expect(dsn).toMatch(
      / dsn failed +550 +5\.1\.1 +<> +gone@relay\.test +a\.smtpscope\.test .* original \S+#1/,
    );
    expect(m.sessions.rows.map((r) => r.text).join('\n')).not.toContain('kept@relay.test');
    expect(m.sessions.label).toMatch(/^Bounces: 2 failures, 1 DSN · /);
    // The failures panel counts the listed failures (the after-queue one too), as `bounces` groups them.
    expect(m.failures.label).toBe('Failures by reason (2)');
    expect(m.failures.lines.map(text).join('\n')).toMatch(/mailbox-unknown 2 /);
    // Outside the bounce view it counts the failures on the wire.
    expect(model(sessions, {}, 320).failures.label).toBe('Failures by reason (1)');
  });

  it('shows each recipient’s later fate in the session detail, and the MTA log after the transcript', () => {
    const submission = sessions[0];
    const m = model(sessions, { detailOpen: true, detailSessionId: submission?.id ?? null }, 200);
    const detail = m.detail?.lines ?? [];
    const lines = detail.map(text);
    // Both accepted on the wire; Postfix A's log: one sent on, one bounced by the next hop.
    expect(lines).toContain('Outcome delivered: 2 delivered, 0 failed of 2 recipient(s)');
    expect(lines).toContain('After the queue (MTA log): 1 bounced, 1 sent');
    const kept = lines.findIndex((l) => l.includes('to <kept@relay.test> delivered'));
    const gone = lines.findIndex((l) => l.includes('to <gone@relay.test> delivered'));
    expect(lines[kept + 1]).toMatch(
      /^ {4}later \(MTA log\): sent via 127\.0\.0\.1\[127\.0\.0\.1\]:2643 \(dsn 2\.0\.0\)/,
    );
    expect(lines[gone + 1]).toMatch(
      /^ {4}later \(MTA log\): bounced via 127\.0\.0\.1\[127\.0\.0\.1\]:2643 \(dsn 5\.1\.1\) \[[0-9A-F]+\]: host 127\.0\.0\.1/,
    );
    expect(detail[gone + 1]?.[0]?.tone).toBe('bad');
    expect(detail[kept + 1]?.[0]?.tone).toBe('good');
    const log = lines.indexOf('MTA log:');
    expect(log).toBeGreaterThan(lines.indexOf('Transcript:'));
    expect(lines[log + 1]).toMatch(/^ {2}transaction 1: postfix queue id [0-9A-F]+ \(by queue-id\)/);
  });
});
