import { describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { createDsnMatcher } from '../../src/report/bounce-dsns.js';
import { OUTCOME_UNKNOWN_NOTE, sessionFailures } from '../../src/report/bounce-failures.js';
import { collectFailures, formatBounceCsv } from '../../src/report/bounce-report.js';
import { formatBounceReport } from '../../src/text/bounce-text.js';
import {
  makeAuth,
  makeCommand,
  makeDsn,
  makeDsnRecipient,
  makeMessage,
  makeRecipient,
  makeReply,
  makeSession,
  makeTls,
  makeTransaction,
  SERVER,
  T0,
} from '../helpers/sessions.js';

const ms = (n: number): number => T0 + n * 1000;

describe('bounce-report', () => {
  it('reports nothing for a clean delivery', () => {
    const report = collectFailures([makeSession()]);
    expect(report.failures).toEqual([]);
    expect(report.dsns).toEqual([]);
  });

  it('reports a refused greeting at the greeting stage', () => {
    const s = makeSession({
      greeting: makeReply(
        554,
        '5.7.1',
        '5.7.1 mx.example.net: client host blocked using zen.spamhaus.org',
        ms(5),
      ),
      transactions: [],
      helo: null,
    });
    const [row] = sessionFailures(s);
    expect(row).toMatchObject({
      kind: 'session',
      stage: 'greeting',
      code: 554,
      severity: 'permanent',
      enhancedStatus: '5.7.1',
    });
    expect(row?.enhancedMeaning).toMatch(/not authorized/i);
    expect(row?.reasonClass).toBe('policy-or-spam');
  });

  it('reports a connection closed before any greeting', () => {
    const s = makeSession({
      greeting: null,
      transactions: [],
      commands: [],
      end: 'rst',
      closeReason: 'rst',
      helo: null,
    });
    expect(sessionFailures(s)).toMatchObject([{ stage: 'connection', code: null, severity: 'unknown' }]);
  });

  it('reports refusals of EHLO, STARTTLS and AUTH at their stages', () => {
    const s = makeSession({
      transactions: [],
      tls: makeTls({ refused: true }),
      auth: [makeAuth({ outcome: 'failure' })],
      commands: [
        makeCommand({
          seq: 0,
          verb: 'EHLO',
          verbText: 'EHLO',
          argument: 'x',
          tsMicros: ms(10),
          reply: makeReply(550, '5.7.1', 'EHLO refused', ms(11)),
        }),
        makeCommand({
          seq: 1,
          verb: 'HELO',
          verbText: 'HELO',
          argument: 'x',
          tsMicros: ms(12),
          reply: makeReply(250, null, 'ok', ms(13)),
        }),
        makeCommand({
          seq: 2,
          verb: 'STARTTLS',
          verbText: 'STARTTLS',
          tsMicros: ms(14),
          reply: makeReply(454, '4.7.0', 'TLS not available due to local problem', ms(15)),
        }),
        makeCommand({
          seq: 3,
          verb: 'AUTH',
          verbText: 'AUTH',
          argument: 'PLAIN [redacted]',
          tsMicros: ms(16),
          reply: makeReply(535, '5.7.8', 'Error: authentication failed', ms(17)),
        }),
        makeCommand({
          seq: 4,
          verb: 'NOOP',
          verbText: 'NOOP',
          tsMicros: ms(18),
          reply: makeReply(421, '4.4.2', 'timeout exceeded', ms(19)),
        }),
      ],
    });
    const rows = sessionFailures(s);
    expect(rows.map((r) => [r.stage, r.code])).toEqual([
      ['helo', 550],
      ['starttls', 454],
      ['auth', 535],
      ['connection', 421],
    ]);
    expect(rows[2]?.reasonClass).toBe('auth-failed');
    expect(rows[1]?.severity).toBe('temporary');
  });

  it('reports a refused MAIL once for the envelope', () => {
    const t = makeTransaction({
      mailReply: makeReply(553, '5.7.1', '5.7.1 Sender address rejected: not owned by user', ms(51)),
      recipients: [
        makeRecipient({
          rcptReply: makeReply(503, '5.5.1', 'need MAIL', ms(61)),
          disposition: 'rejected-rcpt',
          finalReply: null,
        }),
      ],
      mode: null,
      dataReply: null,
      finalReply: null,
      outcome: 'rejected',
      failureStage: 'mail',
      reasonClass: 'policy-or-spam',
      message: null,
      queueId: null,
    });
    const rows = sessionFailures(makeSession({ transactions: [t] }));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'transaction',
      stage: 'mail',
      code: 553,
      mailFrom: 'alice@example.org',
      recipient: null,
    });
  });

  const unknownRcpt = makeRecipient({
    index: 2,
    address: 'nobody@example.net',
    rcptTsMicros: ms(62),
    rcptReply: makeReply(
      550,
      '5.1.1',
      '5.1.1 <nobody@example.net>: Recipient address rejected: User unknown in virtual mailbox table',
      ms(63),
    ),
    finalReply: null,
    disposition: 'rejected-rcpt',
    reasonClass: 'mailbox-unknown',
  });

  it('reports each refused recipient at RCPT, beside a delivered one', () => {
    const s = makeSession({
      transactions: [makeTransaction({ recipients: [makeRecipient(), unknownRcpt] })],
    });
    const rows = sessionFailures(s);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: 'recipient',
      stage: 'rcpt',
      recipient: 'nobody@example.net',
      recipientIndex: 2,
      depth: 1,
      code: 550,
      enhancedStatus: '5.1.1',
      reasonClass: 'mailbox-unknown',
      client: { ip: '192.0.2.10', port: 50123 },
      server: SERVER,
      tsMicros: ms(63),
    });
    expect(rows[0]?.enhancedMeaning).toMatch(/mailbox/i);
    expect(rows[0]?.explanation).toContain('nobody@example.net');
  });

  it('reports a refused DATA and a refused end of data for every accepted recipient', () => {
    const dataRefused = makeTransaction({
      dataReply: makeReply(554, '5.5.1', '5.5.1 Error: no valid recipients', ms(70)),
      mode: 'DATA',
      messageComplete: false,
      sizeBytes: null,
      finalReply: null,
      queueId: null,
      outcome: 'rejected',
      failureStage: 'data',
      recipients: [makeRecipient({ finalReply: null, disposition: 'rejected-data' })],
    });
    const eodRefused = makeTransaction({
      depth: 2,
      startedAt: ms(120),
      finalReply: makeReply(552, '5.3.4', '5.3.4 Message size exceeds fixed limit', ms(150)),
      queueId: null,
      outcome: 'rejected',
      failureStage: 'end-of-data',
      recipients: [
        makeRecipient({
          finalReply: makeReply(552, '5.3.4', '5.3.4 Message size exceeds fixed limit', ms(150)),
          disposition: 'rejected-data',
        }),
        makeRecipient({
          index: 2,
          address: 'carol@example.org',
          finalReply: makeReply(552, '5.3.4', '5.3.4 Message size exceeds fixed limit', ms(150)),
          disposition: 'rejected-data',
        }),
      ],
    });
    const rows = sessionFailures(makeSession({ transactions: [dataRefused, eodRefused] }));
    expect(rows.map((r) => [r.depth, r.stage, r.recipient, r.code])).toEqual([
      [1, 'data', 'bob@example.net', 554],
      [2, 'end-of-data', 'bob@example.net', 552],
      [2, 'end-of-data', 'carol@example.org', 552],
    ]);
    expect(rows[1]?.reasonClass).toBe('message-too-big');
  });

  it('reports a deferral at end of data as temporary', () => {
    const t = makeTransaction({
      finalReply: makeReply(451, '4.7.1', '4.7.1 Greylisted, please try again later', ms(100)),
      queueId: null,
      outcome: 'deferred',
      failureStage: 'end-of-data',
      recipients: [
        makeRecipient({
          finalReply: makeReply(451, '4.7.1', '4.7.1 Greylisted, please try again later', ms(100)),
          disposition: 'deferred-data',
        }),
      ],
    });
    const [row] = sessionFailures(makeSession({ transactions: [t] }));
    expect(row).toMatchObject({ stage: 'end-of-data', severity: 'temporary', reasonClass: 'greylisted' });
  });

  it('flags a message sent without a captured final reply as outcome unknown', () => {
    const t = makeTransaction({
      finalReply: null,
      queueId: null,
      outcome: 'incomplete',
      failureStage: 'connection-lost',
      endedAt: null,
      recipients: [makeRecipient({ finalReply: null, disposition: 'unknown' })],
    });
    const s = makeSession({ transactions: [t], end: 'rst', closeReason: 'rst' });
    const rows = sessionFailures(s);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      stage: 'connection-lost',
      outcomeUnknown: true,
      code: null,
      recipient: 'bob@example.net',
      tsMicros: s.endedAt,
    });
    expect(rows[0]?.explanation).toContain(OUTCOME_UNKNOWN_NOTE);
    expect(formatBounceReport(collectFailures([s]))).toContain(OUTCOME_UNKNOWN_NOTE);
  });

  it('reports a final reply hidden by a capture gap at the capture-gap stage, as outcome unknown', () => {
    const t = makeTransaction({
      finalReply: null,
      queueId: null,
      outcome: 'incomplete',
      failureStage: 'capture-gap',
      endedAt: null,
      recipients: [makeRecipient({ finalReply: null, disposition: 'unknown' })],
    });
    const rows = sessionFailures(makeSession({ transactions: [t] }));
    expect(rows).toMatchObject([
      { stage: 'capture-gap', outcomeUnknown: true, recipient: 'bob@example.net' },
    ]);
    expect(rows[0]?.explanation).toContain('gap in the capture');
  });

  it('reports a transaction cut before DATA as connection lost without the duplicate warning', () => {
    const t = makeTransaction({
      mode: null,
      dataReply: null,
      finalReply: null,
      messageComplete: false,
      sizeBytes: null,
      queueId: null,
      message: null,
      outcome: 'incomplete',
      failureStage: 'connection-lost',
      endedAt: null,
      recipients: [makeRecipient({ finalReply: null, disposition: 'not-sent' })],
    });
    const rows = sessionFailures(makeSession({ transactions: [t], end: 'rst' }));
    expect(rows).toMatchObject([{ stage: 'connection-lost', outcomeUnknown: false }]);
  });

  it('ignores aborted transactions without refusals', () => {
    const t = makeTransaction({
      mode: null,
      dataReply: null,
      finalReply: null,
      queueId: null,
      message: null,
      outcome: 'aborted',
      recipients: [makeRecipient({ finalReply: null, disposition: 'not-sent' })],
    });
    expect(sessionFailures(makeSession({ transactions: [t] }))).toEqual([]);
  });

  describe('DSNs', () => {
    const original = makeSession({ startedAt: T0, transactions: [makeTransaction()] });
    const dsnTransaction = (dsnOverrides: Parameters<typeof makeDsn>[0]) =>
      makeTransaction({
        mailFrom: '',
        startedAt: T0 + 3_600_000_000,
        endedAt: T0 + 3_600_100_000,
        recipients: [makeRecipient({ address: 'alice@example.org', rcptTsMicros: T0 + 3_600_010_000 })],
        message: makeMessage({
          from: 'MAILER-DAEMON@relay.example.org',
          subject: 'Undelivered Mail Returned to Sender',
          messageId: '<dsn.1@relay.example.org>',
          dsn: makeDsn(dsnOverrides),
        }),
      });
    const dsnSession = (dsnOverrides: Parameters<typeof makeDsn>[0]): SmtpSession =>
      makeSession({
        startedAt: T0 + 3_599_000_000,
        endedAt: T0 + 3_601_000_000,
        client: { ip: '203.0.113.5', port: 40000 },
        server: { ip: '192.0.2.10', port: 25 },
        transactions: [dsnTransaction(dsnOverrides)],
      });

    it('keeps a bounded index of originals: a DSN whose original was forgotten is reported alone, and counted', () => {
      // Three other transactions between the original and its DSN, with room for two: the original is forgotten.
      const others = [1, 2, 3].map((k) =>
        makeSession({
          id: `C00000${k + 1}`,
          startedAt: T0 + k,
          transactions: [
            makeTransaction({
              recipients: [makeRecipient({ address: `x${k}@example.net` })],
              message: makeMessage({ messageId: `<other.${k}@example.org>` }),
            }),
          ],
        }),
      );
      const small = createDsnMatcher(2);
      for (const s of [original, ...others, dsnSession({})]) small.add(s);
      expect(small.finish()[0]?.original).toBeNull();
      expect(small.forgotten()).toBe(2);
      // With room for the four, the same sessions join.
      const roomy = createDsnMatcher(4);
      for (const s of [original, ...others, dsnSession({})]) roomy.add(s);
      expect(roomy.finish()[0]?.original).toMatchObject({ sessionId: original.id, matchedBy: 'message-id' });
      expect(roomy.forgotten()).toBe(0);
      const text = formatBounceReport({
        ...collectFailures([original, dsnSession({})]),
        dsnIndexForgotten: 2,
      });
      expect(text).toContain('2 older ones were forgotten');
    });

    it('joins a DSN to the original by Message-ID', () => {
      const { dsns } = collectFailures([original, dsnSession({})]);
      expect(dsns).toHaveLength(1);
      expect(dsns[0]).toMatchObject({
        action: 'failed',
        status: '5.1.1',
        finalRecipient: 'bob@example.net',
        notified: ['alice@example.org'],
        severity: 'permanent',
        reasonClass: 'mailbox-unknown',
        original: {
          sessionId: original.id,
          depth: 1,
          matchedBy: 'message-id',
          queueId: '4XyZ1A2b3C',
          mailFrom: 'alice@example.org',
        },
      });
    });

    it('lists every hop of a relayed message and takes the queue id from the hop that has one', () => {
      // Submission into the reporting MTA (queued, with a queue id), then its relay hop (no queue id).
      const relay = makeSession({
        id: 'C000002',
        startedAt: T0 + 60_000_000,
        server: { ip: '192.0.2.99', port: 25 },
        transactions: [makeTransaction({ startedAt: T0 + 60_050_000, queueId: null })],
      });
      const { dsns } = collectFailures([original, relay, dsnSession({})]);
      expect(dsns[0]?.original).toMatchObject({
        sessionId: 'C000002',
        queueId: null,
        matchedBy: 'message-id',
      });
      expect(dsns[0]?.original?.hops.map((h) => [h.sessionId, h.queueId])).toEqual([
        [original.id, '4XyZ1A2b3C'],
        ['C000002', null],
      ]);
      const csv = formatBounceCsv({ failures: [], dsns }).trimEnd().split('\n');
      expect(csv[1]).toContain(`"4XyZ1A2b3C"`);
      expect(csv[1]).toContain(`"${original.id}#1 queue 4XyZ1A2b3C, C000002#1"`);
      expect(formatBounceReport({ ...collectFailures([original, relay, dsnSession({})]) })).toContain(
        `same message in: ${original.id}#1 queue 4XyZ1A2b3C, C000002#1`,
      );
    });

    it('joins by recipient address when the Message-ID is missing', () => {
      const { dsns } = collectFailures([
        original,
        dsnSession({
          originalMessageId: null,
          recipients: [makeDsnRecipient({ finalRecipient: 'rfc822; BOB@example.net' })],
        }),
      ]);
      expect(dsns[0]?.original).toMatchObject({ sessionId: original.id, matchedBy: 'recipient' });
    });

    it('leaves the original empty when it is not in the capture', () => {
      const { dsns } = collectFailures([
        dsnSession({
          originalMessageId: '<other@x>',
          recipients: [makeDsnRecipient({ finalRecipient: 'rfc822; zed@example.com' })],
        }),
      ]);
      expect(dsns[0]?.original).toBeNull();
      expect(formatBounceReport(collectFailures([dsnSession({ originalMessageId: null })]))).toContain(
        'not in capture',
      );
    });

    it('writes DSN rows after reply rows in bounces.csv', () => {
      const s = makeSession({
        transactions: [makeTransaction({ recipients: [makeRecipient(), unknownRcpt] })],
      });
      const csv = formatBounceCsv(collectFailures([s, original, dsnSession({})]))
        .trimEnd()
        .split('\n');
      expect(csv[0]?.startsWith('source,time,time_us,session_id,')).toBe(true);
      expect(csv).toHaveLength(3);
      expect(csv[1]?.startsWith('"reply",')).toBe(true);
      expect(csv[2]?.startsWith('"dsn",')).toBe(true);
      expect(csv[2]).toContain('"message-id"');
    });
  });

  it('groups failures by reason class, server, sender and recipient domain', () => {
    const full = makeRecipient({
      index: 3,
      address: 'dave@other.example',
      rcptReply: makeReply(452, '4.2.2', '4.2.2 Mailbox full', ms(64)),
      finalReply: null,
      disposition: 'deferred-rcpt',
      reasonClass: 'mailbox-full',
    });
    const s1 = makeSession({
      transactions: [makeTransaction({ recipients: [makeRecipient(), unknownRcpt, full] })],
    });
    const s2 = makeSession({
      startedAt: ms(1000),
      endedAt: ms(1200),
      transactions: [makeTransaction({ startedAt: ms(1050), recipients: [unknownRcpt] })],
    });
    const { groups } = collectFailures([s1, s2]);
    expect(groups.reasonClass).toEqual([
      { key: 'mailbox-unknown', count: 2 },
      { key: 'mailbox-full', count: 1 },
    ]);
    expect(groups.server).toEqual([{ key: '198.51.100.25 (mx.example.net)', count: 3 }]);
    expect(groups.senderDomain).toEqual([{ key: 'example.org', count: 3 }]);
    expect(groups.recipientDomain).toEqual([
      { key: 'example.net', count: 2 },
      { key: 'other.example', count: 1 },
    ]);
  });

  it('never prints control characters from the wire', () => {
    const evil = makeRecipient({
      address: 'x\u001b]2;pwned\u0007@example.net',
      rcptReply: makeReply(550, '5.1.1', 'no \u001b[2J such\r\nuser \u009b31m', ms(63)),
      finalReply: null,
      disposition: 'rejected-rcpt',
      reasonClass: 'mailbox-unknown',
    });
    const text = formatBounceReport(
      collectFailures([makeSession({ transactions: [makeTransaction({ recipients: [evil] })] })]),
    );
    // eslint-style check: only LF as a control character, nothing in C1, no bidi overrides
    expect(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.test(text)).toBe(false);
    expect(text).toContain('\\x1B[2J');
    expect(text).toContain('Failures');
  });
});

describe('bounce-report queue ids', () => {
  it('does not give a recipient refused at RCPT the queue id of the accepted message', () => {
    const refused = makeRecipient({
      index: 2,
      address: 'nobody@example.net',
      rcptReply: makeReply(550, '5.1.1', 'User unknown'),
      finalReply: null,
      disposition: 'rejected-rcpt',
      reasonClass: 'mailbox-unknown',
    });
    const [row] = sessionFailures(
      makeSession({ transactions: [makeTransaction({ recipients: [makeRecipient(), refused] })] }),
    );
    expect(row?.queueId).toBeNull();
  });
});
