import { describe, expect, it } from 'vitest';
import { compareSuricata, SURICATA_RULES } from '../harness/conformance/suricata-compare.js';
import { parseYamlSubset } from '../harness/conformance/yaml-subset.js';
import { command, session, transaction } from './fake-session.js';

const recipient = (address: string, index: number) => ({ index, address, params: {} });

/** One session: EHLO mx, MAIL alice, RCPT bob, DATA with an attachment, QUIT. */
const mailSession = (filename = 'a.txt') =>
  session({
    helo: 'mx',
    commands: [
      command('EHLO', 250),
      command('MAIL', 250, { transaction: 1 }),
      command('RCPT', 250, { transaction: 1 }),
      command('DATA', 354, { transaction: 1 }),
      command('END-OF-DATA', 250, { transaction: 1 }),
      command('QUIT', 221),
    ],
    transactions: [
      transaction(1, {
        mailFrom: 'alice@example.com',
        recipients: [recipient('bob@example.com', 0)],
        mode: 'DATA',
        messageComplete: true,
        message: {
          from: 'alice@example.com',
          to: ['bob@example.com'],
          subject: null,
          messageId: null,
          date: null,
          received: [],
          parts: [{ filename }],
        },
      }),
    ],
  });

const test = (name: string, yaml: string) => ({ name, doc: parseYamlSubset(yaml) });

describe('suricata-compare', () => {
  it('compares indexed keys and array presence keys of smtp filters', () => {
    const yaml = [
      'checks:',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: smtp',
      '        smtp.rcpt_to[0]: <bob@example.com>',
      '        email.attachment[0]: a.txt',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: smtp',
      '        not-has-key: smtp.rcpt_to',
    ].join('\n');
    const r = compareSuricata('c', [test('t', yaml)], [mailSession()]);
    expect(r.findings.map((f) => [f.check, f.agree])).toEqual([
      ['t#1.count', true],
      ['t#2.count', false],
      ['t.smtp-flow', true],
    ]);
    expect(r.findings[1]?.ours).toBe('0 × {no smtp.rcpt_to}');
  });

  it('checks the transaction fields of alert, fileinfo and untyped filters as present in some transaction', () => {
    const yaml = [
      'checks:',
      '  - filter:',
      '      match:',
      '        smtp.helo: mx',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: fileinfo',
      '        fileinfo.filename: a.txt',
      '        email.attachment[0]: a.txt',
      '        email.to[0]: <carol@example.com>',
      '  - filter:',
      '      count: 0',
      '      match:',
      '        event_type: alert',
      '        smtp.mail_from: <nobody@example.com>',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: alert',
      '        alert.signature_id: 1',
      '        email.url[0]: example.org',
    ].join('\n');
    const r = compareSuricata('c', [test('t', yaml)], [mailSession()]);
    expect(r.findings.map((f) => [f.check, f.agree, f.ours])).toEqual([
      ['t#1.event', true, 'present {smtp.helo=mx}'],
      ['t#2.fileinfo', false, 'absent {email.attachment[0]=a.txt, email.to[0]=carol@example.com}'],
      ['t.smtp-flow', true, 'present'],
    ]);
    expect([...r.notCompared]).toEqual(['email.url[0]']);
  });

  it('accepts fewer smtp events from Suricata only when its firewall blocked the flow', () => {
    const filter = ['checks:', '  - filter:', '      count: 0', '      match:', '        event_type: smtp'];
    const blocked = [...filter, '  - stats:', '      firewall.blocked: 9'].join('\n');
    const open = [...filter, '  - stats:', '      firewall.blocked: 0'].join('\n');
    const r = compareSuricata('c', [test('b', blocked), test('o', open)], [mailSession()]);
    const counts = r.findings.filter((f) => f.check.endsWith('.count'));
    expect(counts.map((f) => [f.check, f.agree, f.rule ?? null])).toEqual([
      ['b#1.count', true, SURICATA_RULES.firewallBlocked],
      ['o#1.count', false, null],
    ]);
  });

  it('compares file names on the first 255 characters, as Suricata keeps them', () => {
    const long = 'x'.repeat(300);
    const yaml = [
      'checks:',
      '  - filter:',
      '      match:',
      '        event_type: smtp',
      `        email.attachment[0]: ${long.slice(0, 255)}`,
    ].join('\n');
    const [f] = compareSuricata('c', [test('t', yaml)], [mailSession(long)]).findings;
    expect([f?.agree, f?.rule]).toEqual([true, SURICATA_RULES.filenameCut]);
  });

  it('raises a lost session when Suricata logged an SMTP flow or transaction and smtpscope has none', () => {
    const yaml = [
      'checks:',
      '  - filter:',
      '      match:',
      '        event_type: flow',
      '        app_proto: smtp',
      '  - stats:',
      '      app_layer.tx.smtp: 1',
    ].join('\n');
    const lost = compareSuricata('c', [test('t', yaml)], []).findings;
    expect(lost.map((f) => [f.check, f.agree, f.lostSession])).toEqual([['t.smtp-flow', false, true]]);
    const seen = compareSuricata('c', [test('t', yaml)], [mailSession()]).findings;
    expect(seen.map((f) => f.agree)).toEqual([true]);
  });

  it('skips a count check some of whose keys are not compared, and says so, instead of counting on the rest', () => {
    const yaml = [
      'checks:',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: smtp',
      '        smtp.mail_from: <alice@example.com>',
      '        email.x_mailer: Mutt',
      '  - filter:',
      '      count: 1',
      '      match:',
      '        event_type: smtp',
      '        smtp.mail_from: <alice@example.com>',
    ].join('\n');
    const r = compareSuricata('c', [test('t', yaml)], [mailSession()]);
    expect(r.findings.map((f) => [f.check, f.agree])).toEqual([
      ['t#2.count', true],
      ['t.smtp-flow', true],
    ]);
    expect(r.skippedCounts).toEqual(['t#1 (email.x_mailer)']);
    expect([...r.notCompared]).toEqual(['email.x_mailer']);
  });

  it('compares a Received value Suricata unfolded without the fold white space (suricata-received-unfold)', () => {
    // Sent as "Received: from a.example\r\n\tby mx.example": Suricata drops the line break and the tab.
    const s = mailSession();
    const withReceived = session({
      ...s,
      transactions: s.transactions.map((t) => ({
        ...t,
        message: { ...t.message, received: ['from a.example by mx.example'] },
      })),
    });
    const filter = (value: string) =>
      [
        'checks:',
        '  - filter:',
        '      count: 1',
        '      match:',
        '        event_type: smtp',
        `        email.received[0]: ${value}`,
      ].join('\n');
    const joined = compareSuricata('c', [test('t', filter('from a.exampleby mx.example'))], [withReceived]);
    expect(joined.findings.map((f) => [f.check, f.agree, f.rule ?? null])).toEqual([
      ['t#1.count', true, SURICATA_RULES.receivedUnfold],
      ['t.smtp-flow', true, null],
    ]);
    const same = compareSuricata('c', [test('t', filter('from a.example by mx.example'))], [withReceived]);
    expect(same.findings[0]?.rule).toBeUndefined();
    const other = compareSuricata('c', [test('t', filter('from b.example by mx.example'))], [withReceived]);
    expect(other.findings[0]?.agree).toBe(false);
  });
});
