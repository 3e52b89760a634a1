import { describe, expect, it } from 'vitest';
import { compareTshark, TSHARK_RULES } from '../harness/conformance/tshark-compare.js';
import { parseTsharkRows } from '../harness/conformance/tshark-fields.js';
import { command, reply, session } from './fake-session.js';

/** tshark rows with stream and ports: `C VERB` (client row) or `S 250,354` (server row), stream 0, 40000 <> 25. */
const rows = (...lines: string[]) =>
  parseTsharkRows(
    lines
      .map((l) =>
        l.startsWith('C ')
          ? `${l.slice(2)}\t\t\t0\t40000\t25`
          : l.startsWith('S ')
            ? `\t\t${l.slice(2)}\t0\t25\t40000`
            : `\t\t\t0\t40000\t25`,
      )
      .join('\n'),
  );

const at = (ts: number, code: number, extra: Record<string, unknown> = {}) => ({
  tsMicros: ts,
  reply: reply(code, '', ts + 1),
  ...extra,
});

const agreeing = (findings: ReturnType<typeof compareTshark>) =>
  findings.map((f) => [f.check, f.agree, f.rule ?? null]);

describe('tshark-compare', () => {
  it('compares the ordered commands and codes of each stream, not counts', () => {
    const s = session({
      greeting: reply(220, 'x', 1),
      commands: [command('EHLO', 250, at(10, 250)), command('QUIT', 221, at(20, 221))],
    });
    const same = compareTshark('c', rows('S 220', 'C EHLO', 'S 250', 'C QUIT', 'S 221'), [s]);
    expect(agreeing(same)).toEqual([
      ['40000.commands', true, null],
      ['40000.codes', true, null],
      ['streams', true, null],
    ]);
    const swapped = compareTshark('c', rows('S 220', 'C QUIT', 'S 221', 'C EHLO', 'S 250'), [s]);
    expect(swapped.map((f) => f.agree)).toEqual([false, false, true]);
  });

  it('explains commands tshark misses in one client segment, before the greeting, after BDAT or a refused DATA', () => {
    const s = session({
      greeting: reply(220, 'x', 5),
      commands: [
        command('EHLO', 250, at(1, 250)),
        command('MAIL', 250, at(10, 250, { transaction: 1 })),
        command('RCPT', 250, at(10, 250, { transaction: 1 })),
        command('DATA', 503, at(20, 503)),
        command('RSET', 250, at(30, 250)),
        command('BDAT', 250, at(40, 250)),
        command('QUIT', 221, at(50, 221)),
      ],
    });
    const [commands] = compareTshark('c', rows('S 220', 'S 250', 'S 250', 'S 250', 'C DATA', 'S 503'), [s]);
    expect([commands?.agree, commands?.rule]).toEqual([
      true,
      [
        TSHARK_RULES.afterBdat,
        TSHARK_RULES.oneSegment,
        TSHARK_RULES.preGreeting,
        TSHARK_RULES.rejectedData,
      ].join(','),
    ]);
    // The same commands missing without any of these reasons are a difference.
    const plain = session({
      commands: [command('EHLO', 250, at(10, 250)), command('MAIL', 250, at(20, 250))],
    });
    const [c2] = compareTshark('c', rows('S 220', 'C EHLO', 'S 250', 'S 250'), [plain]);
    expect(c2?.agree).toBe(false);
  });

  it('matches an AUTH line tshark labels as a command, reads STAR as STARTTLS', () => {
    const s = session({
      commands: [
        command('STARTTLS', 220, at(5, 220)),
        command('AUTH', 334, at(10, 334)),
        command('AUTH-RESPONSE', null, at(20, 235)),
        command('AUTH-RESPONSE', null, { tsMicros: 30, reply: null }),
      ],
    });
    const [c] = compareTshark('c', rows('C STAR', 'C AUTH', 'C CHVU', ''), [s]);
    expect([c?.agree, c?.ours, c?.rule]).toEqual([true, 'STARTTLS AUTH CHVU', TSHARK_RULES.authLine]);
    const [v] = compareTshark('c', rows('C STAR', 'C AUTH', 'C MAIL'), [s]);
    expect(v?.agree).toBe(false);
  });

  it('explains a code tshark repeats for a multi-line reply split across segments, only after that reply', () => {
    const s = session({
      greeting: reply(220, 'a\nb', 1),
      commands: [command('EHLO', 250, { tsMicros: 10, reply: reply(250, 'x', 11) })],
    });
    const [, codes] = compareTshark('c', rows('S 220', 'S 220', 'C EHLO', 'S 250'), [s]);
    expect([codes?.agree, codes?.rule]).toEqual([true, TSHARK_RULES.splitReply]);
    const [, bad] = compareTshark('c', rows('S 220', 'C EHLO', 'S 250', 'S 250'), [s]);
    expect(bad?.agree).toBe(false);
  });

  it('puts the end of a message back before commands pipelined behind it, then orders replies by time', () => {
    const s = session({
      greeting: reply(220, 'x', 1),
      commands: [
        command('DATA', 354, { tsMicros: 10, reply: reply(354, '', 11), transaction: 1 }),
        command('RSET', 250, { tsMicros: 20, reply: reply(250, '', 30) }),
        command('END-OF-DATA', 251, { tsMicros: 30, reply: reply(251, '', 30), transaction: 1 }),
      ],
    });
    const [, codes] = compareTshark('c', rows('S 220', 'C DATA', 'S 354', 'C RSET', 'S 251,250'), [s]);
    expect([codes?.agree, codes?.ours]).toEqual([true, '220 354 251 250']);
  });

  it('raises a lost session for a tshark stream without a smtpscope session; implicit TLS is not SMTP to tshark', () => {
    const lost = compareTshark('c', rows('S 220', 'C EHLO'), []);
    expect(lost.map((f) => [f.check, f.lostSession ?? false])).toEqual([
      ['40000.session', true],
      ['streams', false],
    ]);
    const tls = session({ greeting: null, tls: { mode: 'implicit' } });
    expect(agreeing(compareTshark('c', [], [tls]))).toEqual([['streams', true, TSHARK_RULES.implicitTls]]);
  });

  it('counts a stream whose rows have ports but no command or code as a stream tshark saw', () => {
    // tshark lists the stream (its filter matched a segment it read as message data) with no command or code.
    const s = session({
      greeting: reply(220, 'x', 1),
      commands: [command('EHLO', 250, at(10, 250))],
    });
    const data = (src: number, dst: number) => `\t\t\t0\t${src}\t${dst}`;
    for (const [src, dst] of [
      [40000, 25],
      [25, 40000],
    ] as const) {
      const findings = compareTshark('c', parseTsharkRows(data(src, dst)), [s]);
      expect(findings.some((f) => f.lostSession === true)).toBe(false);
      expect(findings.find((f) => f.check === 'streams')?.agree).toBe(true);
      expect(findings.find((f) => f.check === '40000.commands')?.theirs).toBe('-');
    }
  });

  it('places replies no command waited for (unmatchedReplies) by their time among the others', () => {
    const s = session({
      greeting: reply(220, 'x', 1),
      commands: [command('EHLO', 250, at(10, 250)), command('QUIT', 221, at(30, 221))],
      unmatchedReplies: [reply(451, 'late', 20)],
    });
    const codes = (f: ReturnType<typeof compareTshark>) => f.find((x) => x.check === '40000.codes');
    const withIt = compareTshark('c', rows('S 220', 'C EHLO', 'S 250', 'S 451', 'C QUIT', 'S 221'), [s]);
    expect(codes(withIt)?.agree).toBe(true);
    expect(codes(withIt)?.ours).toBe('220 250 451 221');
    const without = compareTshark('c', rows('S 220', 'C EHLO', 'S 250', 'S 451', 'C QUIT', 'S 221'), [
      session({ ...s, unmatchedReplies: [] }),
    ]);
    expect(codes(without)?.agree).toBe(false);
  });
});
