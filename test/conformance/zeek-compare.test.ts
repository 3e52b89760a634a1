import { describe, expect, it } from 'vitest';
import { compareZeek } from '../harness/conformance/zeek-compare.js';
import type { ZeekRow } from '../harness/conformance/zeek-log.js';
import { session, transaction } from './fake-session.js';

const row = (transDepth: string, mailfrom: string): ZeekRow => ({
  'id.orig_h': '10.0.0.1',
  'id.orig_p': '40000',
  'id.resp_p': '25',
  trans_depth: transDepth,
  mailfrom,
});

describe('zeek-compare', () => {
  it("matches a connection's rows with its transactions by order, not by trans_depth", () => {
    // Zeek's trans_depth is the messages delivered so far plus one: a transaction that sent no message (refused
    // at RCPT) leaves the depth where it was, so the next transaction's row has the same depth.
    const s = session({
      transactions: [
        transaction(1, { mailFrom: 'a@x.example' }),
        transaction(2, { mailFrom: 'b@x.example' }),
      ],
    });
    const findings = compareZeek('c', [row('1', 'a@x.example'), row('1', 'b@x.example')], [s]);
    const mailfrom = findings.filter((f) => f.check.endsWith('.mailfrom'));
    expect(mailfrom.map((f) => [f.check, f.ours, f.theirs, f.agree])).toEqual([
      ['40000#1.mailfrom', 'a@x.example', 'a@x.example', true],
      ['40000#2.mailfrom', 'b@x.example', 'b@x.example', true],
    ]);
  });

  it('reports a row beyond the transactions smtpscope has', () => {
    const s = session({ transactions: [transaction(1, { mailFrom: 'a@x.example' })] });
    const findings = compareZeek('c', [row('1', 'a@x.example'), row('2', 'b@x.example')], [s]);
    const extra = findings.find((f) => f.check === '40000#2.trans_depth');
    expect([extra?.ours, extra?.theirs, extra?.agree]).toEqual([
      '1 transactions',
      'row 2 (trans_depth 2)',
      false,
    ]);
  });
});
