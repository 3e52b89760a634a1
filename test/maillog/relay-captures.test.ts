/**
 * The join on the two relay captures made with their logs (captures/make-maillog-captures.sh): two private
 * Postfix instances, and Exim relaying to Postfix. Each expectation is a line of one of the logs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLogIndex } from '../../src/maillog/log-index.js';
import { createJoinState, joinSession, outsideCapture } from '../../src/maillog/session-join.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';

const path = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;

async function joined(capture: string, ports: number[], logs: string[]) {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: path(capture) }],
    ports: new Set(ports),
  });
  const index = createLogIndex({ referenceYear: 2026, utcOffsetMinutes: 0 });
  for (const log of logs) for (const line of readFileSync(path(log), 'utf8').split('\n')) index.addLine(line);
  const state = createJoinState();
  return { sessions, logs: sessions.map((s) => joinSession(s, index, state)), index };
}

describe('postfix-relay: the next hop refuses what the first accepted', () => {
  it('gives the submission the bounce, the relay leg both ends, and ties the notification to its session', async () => {
    const { sessions, logs, index } = await joined(
      'postfix-relay.pcap',
      [2642, 2643],
      ['postfix-relay.a.maillog', 'postfix-relay.b.maillog'],
    );
    expect(sessions.map((s) => s.server.port)).toEqual([2642, 2643, 2643]);
    // swaks: both RCPTs 250 on A.
    expect(sessions[0]?.transactions[0]?.recipients.map((r) => [r.address, r.disposition])).toEqual([
      ['kept@relay.test', 'delivered'],
      ['gone@relay.test', 'delivered'],
    ]);
    const sub = logs[0]?.transactions[0];
    expect(sub?.queueId).toMatch(/^[0-9A-F]{10,12}$/);
    const aLog = readFileSync(path('postfix-relay.a.maillog'), 'utf8');
    expect(aLog).toContain(`${sub?.queueId}: to=<gone@relay.test>`);
    const [kept, gone] = sub?.recipients.map((r) => r.fate) ?? [];
    expect(kept).toMatchObject({ status: 'sent', relay: '127.0.0.1[127.0.0.1]:2643' });
    expect(gone).toMatchObject({ status: 'bounced', dsn: '5.1.1', relay: '127.0.0.1[127.0.0.1]:2643' });
    expect(gone?.reply).toContain('said: 550 5.1.1 <gone@relay.test>');
    // The relay leg: B's queue id from the wire, A's queue id by Message-ID, B's NOQUEUE reject by client port.
    const leg = logs[1];
    expect(leg?.transactions[0]).toMatchObject({ joinedBy: 'queue-id', senderQueueId: sub?.queueId });
    expect(leg?.rejects).toMatchObject([
      { stage: 'RCPT', code: 550, to: 'gone@relay.test', client: { port: sessions[1]?.client.port } },
    ]);
    // The NDR leg: A's notification queue id, about the submission's message, carried by session 3.
    const ndr = logs[2]?.transactions[0];
    expect(ndr?.senderQueueId).toBe(gone?.notificationQueueId);
    expect(ndr?.notificationFor).toEqual({ queueId: sub?.queueId, sessionId: sessions[0]?.id });
    expect(outsideCapture(index)).toEqual({ queueIds: 0, lines: 0 });
  });
});

describe('exim-relay: Exim main log and the Postfix next hop', () => {
  it('joins by the Exim id of "OK id=", matches Exim refusals by client port, and finds Exim bounce by its Message-ID', async () => {
    const { sessions, logs, index } = await joined(
      'exim-relay.pcap',
      [2641, 2643],
      ['exim-relay.exim.maillog', 'exim-relay.b.maillog'],
    );
    expect(sessions.map((s) => s.server.port)).toEqual([2641, 2643, 2641, 2643, 2641]);
    const sub = logs[0]?.transactions[0];
    expect(sub).toMatchObject({
      mta: 'exim',
      joinedBy: 'queue-id',
      queueId: sessions[0]?.transactions[0]?.queueId,
    });
    expect(sub?.queueId).toMatch(/^[0-9A-Za-z]{6}-[0-9A-Za-z]{6}-[0-9A-Za-z]{2}$/);
    const [kept, gone] = sub?.recipients.map((r) => r.fate) ?? [];
    expect(kept).toMatchObject({ status: 'sent', relay: '127.0.0.1[127.0.0.1]' });
    expect(gone).toMatchObject({ status: 'bounced', dsn: '5.1.1' });
    expect(gone?.reply).toBe(
      'SMTP error from remote mail server after RCPT TO:<gone@remote.test>: 550 5.1.1 <gone@remote.test>: Recipient address rejected: User unknown',
    );
    // The sender refused by the ACL, matched by client port.
    expect(logs[2]?.rejects).toMatchObject([
      { stage: 'MAIL', from: 'spammer@bad.test', text: 'Sender refused by local policy' },
    ]);
    expect(logs[2]?.rejects[0]?.client?.port).toBe(sessions[2]?.client.port);
    // Exim's bounce on the wire: Message-ID <E{id}@exim.smtpscope.test>.
    expect(logs[3]?.transactions[0]).toMatchObject({
      senderQueueId: gone?.notificationQueueId,
      notificationFor: { queueId: sub?.queueId, sessionId: sessions[0]?.id },
    });
    // The third session: one RCPT refused (logged without id), one accepted and discarded.
    expect(logs[4]?.rejects).toMatchObject([
      { stage: 'RCPT', to: 'nobody@local.test', text: 'Unknown user' },
    ]);
    expect(logs[4]?.transactions[0]?.recipients.map((r) => r.fate?.status ?? null)).toEqual([
      null,
      'discarded',
    ]);
    expect(outsideCapture(index)).toEqual({ queueIds: 0, lines: 0 });
    expect(index.counters).toMatchObject({ badLines: 0, eximLines: 17, postfixLines: 17 });
  });
});
