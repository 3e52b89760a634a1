/**
 * The join on the bundled captures and the Postfix logs written while they were recorded: each expectation is a
 * line of the .maillog file (the MTA's own word) or of the client's transcript.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createLogIndex, type LogIndex } from '../../src/maillog/log-index.js';
import { createJoinState, joinSession, outsideCapture } from '../../src/maillog/session-join.js';
import type { SessionLog } from '../../src/maillog/types.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';

const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2590, 2592]);

async function joined(name: string, logText?: string) {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: new URL(`../../captures/${name}.pcap`, import.meta.url).pathname }],
    ports: PORTS,
  });
  // The capture machine wrote its log in UTC; a syslog stamp has no year, the join aligns it.
  const index = createLogIndex({ referenceYear: 2031, utcOffsetMinutes: 0 });
  const text = logText ?? readFileSync(new URL(`../../captures/${name}.maillog`, import.meta.url), 'utf8');
  for (const line of text.split('\n')) index.addLine(line);
  const state = createJoinState();
  const logs = sessions.map((s) => joinSession(s, index, state));
  return { sessions, logs, index, state };
}

function fateOf(logs: readonly (SessionLog | null)[], session: number, depth: number, rcpt: number) {
  return logs[session]?.transactions.find((t) => t.depth === depth)?.recipients.find((r) => r.index === rcpt)
    ?.fate;
}

describe('join of captures with their Postfix logs', () => {
  it('bounce-dsn: the recipient accepted on the wire bounced at the next hop; the notification is tied both ways', async () => {
    const { sessions, logs, index } = await joined('bounce-dsn');
    expect(sessions.map((s) => s.server.port)).toEqual([25, 2590, 2590]);
    const submission = logs[0]?.transactions[0];
    expect(submission).toMatchObject({ queueId: '3B2411622F4', joinedBy: 'queue-id' });
    // swaks saw both RCPTs accepted...
    expect(sessions[0]?.transactions[0]?.recipients.map((r) => r.rcptReply?.code)).toEqual([250, 250]);
    // ...the log: "to=<gone@remote.test>, relay=127.0.0.1[127.0.0.1]:2590, ..., dsn=5.1.1, status=bounced (host ... said: 550 5.1.1 ...)"
    expect(fateOf(logs, 0, 1, 1)).toMatchObject({
      status: 'bounced',
      dsn: '5.1.1',
      relay: '127.0.0.1[127.0.0.1]:2590',
      delaySeconds: 0.14,
      notificationQueueId: '5D97A1622F7',
    });
    expect(fateOf(logs, 0, 1, 1)?.reply).toContain('said: 550 5.1.1 <gone@remote.test>');
    expect(fateOf(logs, 0, 1, 2)).toMatchObject({ status: 'sent', dsn: '2.0.0', notificationQueueId: null });
    // The relay leg (Postfix as client) carries the same Message-ID.
    expect(logs[1]?.transactions[0]).toMatchObject({ queueId: '3B2411622F4', joinedBy: 'message-id' });
    // The DSN leg: cleanup gave 5D97A1622F7 its Message-ID, bounce says it reports on 3B2411622F4.
    expect(logs[2]?.transactions[0]).toMatchObject({
      queueId: '5D97A1622F7',
      joinedBy: 'message-id',
      notificationFor: { queueId: '3B2411622F4', sessionId: sessions[0]?.id },
    });
    expect(outsideCapture(index)).toEqual({ queueIds: 0, lines: 0 });
  });

  it('postfix-rejects: a NOQUEUE reject goes to its session by client and time; rejects under a queue id stay with it', async () => {
    const { logs } = await joined('postfix-rejects');
    expect(logs[0]?.transactions).toEqual([]);
    expect(logs[0]?.rejects).toMatchObject([
      { stage: 'MAIL', code: 554, enhancedStatus: '5.7.1', from: 'spammer@bad.test' },
    ]);
    const t = logs[1]?.transactions[0];
    expect(t).toMatchObject({ queueId: '3A1C81622ED', joinedBy: 'queue-id' });
    expect(t?.rejects.map((r) => [r.to, r.code])).toEqual([
      ['nosuchuser@localhost', 550],
      ['greylist@sink.test', 450],
    ]);
    expect(t?.recipients.map((r) => r.fate?.status ?? null)).toEqual(['sent', null, null, 'sent']);
    // The too-big message never got a queue id on the wire (552): its Message-ID finds 8ED021622ED.
    expect(logs[2]?.transactions[0]).toMatchObject({ queueId: '8ED021622ED', joinedBy: 'message-id' });
    expect(logs[2]?.transactions[0]?.recipients[0]?.fate).toBeNull();
  });

  it('lmtp: the per-recipient 552 after DATA of the LMTP hop is the fate of a recipient Postfix accepted', async () => {
    const { logs } = await joined('lmtp');
    expect(fateOf(logs, 0, 1, 1)).toMatchObject({
      status: 'sent',
      dsn: '2.1.5',
      relay: '127.0.0.1[127.0.0.1]:2592',
    });
    expect(fateOf(logs, 0, 1, 2)).toMatchObject({
      status: 'bounced',
      dsn: '5.2.2',
      notificationQueueId: 'F0F241622FB',
    });
  });

  it('odd-commands: a transaction ended by RSET keeps the queue id Postfix had given it (by client)', async () => {
    const { sessions, logs } = await joined('odd-commands');
    expect(sessions[0]?.transactions.map((t) => t.queueId)).toEqual([null, '148F8162300']);
    expect(logs[0]?.transactions.map((t) => [t.depth, t.queueId, t.joinedBy])).toEqual([
      [1, '140C4162300', 'client'],
      [2, '148F8162300', 'queue-id'],
    ]);
    expect(logs[0]?.rejects).toMatchObject([{ stage: 'VRFY', code: 550, to: 'nosuchuser' }]);
    expect(logs[0]?.rejects[0]?.text).toBe(
      '<nosuchuser>: Recipient address rejected: User unknown in local recipient table',
    );
  });

  it('many-rcpt: 60 recipients, 60 status=sent lines', async () => {
    const { logs, state } = await joined('many-rcpt');
    const fates = logs[0]?.transactions[0]?.recipients.map((r) => r.fate?.status);
    expect(fates).toHaveLength(60);
    expect(new Set(fates)).toEqual(new Set(['sent']));
    expect(state.recipientFates).toBe(60);
  });

  it('counts the log entries of queue ids no session has', async () => {
    const extra = [
      'Nov 23 18:20:00 mx postfix/smtpd[1]: 0A1B2C3D4E5: client=other[192.0.2.50]',
      'Nov 23 18:20:00 mx postfix/qmgr[1]: 0A1B2C3D4E5: from=<z@z>, size=1, nrcpt=1 (queue active)',
      'Nov 23 18:20:01 mx postfix/qmgr[1]: 0A1B2C3D4E5: removed',
      'not a log line',
    ].join('\n');
    const text = `${readFileSync(new URL('../../captures/postfix-basic.maillog', import.meta.url), 'utf8')}${extra}\n`;
    const { index, logs } = await joined('postfix-basic', text);
    expect(logs.every((l) => l !== null)).toBe(true);
    expect(outsideCapture(index)).toEqual({ queueIds: 1, lines: 3 });
    expect(index.counters.badLines).toBe(1);
  });
});

describe('join without logs', () => {
  it('says nothing about a session the logs do not know', async () => {
    const index: LogIndex = createLogIndex({ referenceYear: 2026, utcOffsetMinutes: 0 });
    const { sessions } = await analyzeToArray({
      inputs: [
        { kind: 'file', path: new URL('../../captures/postfix-basic.pcap', import.meta.url).pathname },
      ],
      ports: PORTS,
    });
    expect(sessions.map((s: SmtpSession) => joinSession(s, index, createJoinState()))).toEqual([null, null]);
  });
});
