import { describe, expect, it } from 'vitest';
import { ARKIME_RULES, compareArkime, parseArkimeTest } from '../harness/conformance/arkime-compare.js';
import { reply, session, transaction } from './fake-session.js';

const record = (extra: Record<string, unknown>) => ({
  body: {
    protocol: ['smtp', 'tcp'],
    source: { ip: '10.0.0.1', port: 40000 },
    destination: { ip: '10.0.0.2', port: 25 },
    email: {},
    tags: [],
    packetPos: [1, 2, 3],
    ...extra,
  },
});

describe('arkime-compare', () => {
  it('does not count the empty linked record Arkime adds for a connection it already has', () => {
    const text = JSON.stringify({ sessions3: [record({}), record({ packetPos: [], rootId: 'r1' })] });
    const findings = compareArkime('c', parseArkimeTest(text), [session()]);
    const empty = findings.find((f) => f.check === '40000>25#2.record');
    expect([empty?.agree, empty?.rule]).toEqual([true, ARKIME_RULES.emptyRecord]);
    expect(findings.find((f) => f.check === 'sessions')?.agree).toBe(true);
  });

  it('still compares a record without packets that names no root session', () => {
    const text = JSON.stringify({ sessions3: [record({}), record({ packetPos: [] })] });
    const findings = compareArkime('c', parseArkimeTest(text), [session()]);
    expect(findings.find((f) => f.check === 'sessions')?.agree).toBe(false);
  });

  const check = (findings: ReturnType<typeof compareArkime>, name: string) => {
    const f = findings.find((x) => x.check === `40000>25#1.${name}`);
    return [f?.ours, f?.theirs, f?.agree, f?.rule ?? null];
  };
  const message = (extra: Record<string, unknown>) => ({
    from: null,
    fromAll: [],
    to: [],
    cc: [],
    subject: null,
    ...extra,
  });

  it('takes email.src from MAIL FROM and every From: address, email.dst from RCPT TO, To: and Cc:', () => {
    const s = session({
      transactions: [
        transaction(1, {
          mailFrom: 'Bounce@x.example',
          recipients: [{ address: 'rcpt@y.example' }],
          message: message({
            from: 'Alice <Alice@x.example>',
            fromAll: ['Alice <Alice@x.example>', 'dave@x.example'],
            to: ['Bob <bob@y.example>'],
            cc: ['carol@y.example'],
          }),
        }),
      ],
    });
    const email = {
      src: ['bounce@x.example', 'alice@x.example', 'dave@x.example'],
      dst: ['rcpt@y.example', 'bob@y.example', 'carol@y.example'],
    };
    const findings = compareArkime('c', parseArkimeTest(JSON.stringify({ sessions3: [record({ email })] })), [
      s,
    ]);
    expect(check(findings, 'src')).toEqual([
      'alice@x.example,bounce@x.example,dave@x.example',
      'alice@x.example,bounce@x.example,dave@x.example',
      true,
      null,
    ]);
    expect(check(findings, 'dst')[2]).toBe(true);
  });

  it('expects no statuscode tag for a BDAT message (arkime-statuscode-data), but does for DATA', () => {
    const bdat = session({
      transactions: [transaction(1, { mode: 'BDAT', finalReply: reply(250) })],
    });
    const text = JSON.stringify({ sessions3: [record({})] });
    expect(check(compareArkime('c', parseArkimeTest(text), [bdat]), 'statuscode')).toEqual([
      '250',
      '-',
      true,
      ARKIME_RULES.statuscodeData,
    ]);
    const data = session({
      transactions: [transaction(1, { mode: 'DATA', finalReply: reply(250) })],
    });
    expect(check(compareArkime('c', parseArkimeTest(text), [data]), 'statuscode')).toEqual([
      '250',
      '-',
      false,
      null,
    ]);
  });

  it('compares subjects without the leading white space Arkime keeps after the first space', () => {
    const s = session({ transactions: [transaction(1, { message: message({ subject: 'hello' }) })] });
    const text = (subject: string) =>
      JSON.stringify({ sessions3: [record({ email: { subject: [subject] } })] });
    expect(check(compareArkime('c', parseArkimeTest(text('  hello')), [s]), 'subject')).toEqual([
      'hello',
      '  hello',
      true,
      ARKIME_RULES.subjectSpace,
    ]);
    expect(check(compareArkime('c', parseArkimeTest(text('hello!')), [s]), 'subject')[2]).toBe(false);
  });
});
