import { describe, expect, it } from 'vitest';
import {
  createReplyAssembler,
  extractEnhancedStatus,
  isValidReplyCode,
  parseReplyLine,
  ReplyAssembler,
} from '../../src/smtp/reply-parser.js';
import type { SmtpReply } from '../../src/smtp/types.js';

describe('reply-parser', () => {
  it.each([
    ['250 OK', { code: 250, continued: false, text: 'OK' }],
    ['250-PIPELINING', { code: 250, continued: true, text: 'PIPELINING' }],
    ['250', { code: 250, continued: false, text: '' }],
    ['250-', { code: 250, continued: true, text: '' }],
    ['354 ', { code: 354, continued: false, text: '' }],
    ['999 odd', { code: 999, continued: false, text: 'odd' }],
    ['050 low', { code: 50, continued: false, text: 'low' }],
  ])('parses %j', (line, expected) => {
    expect(parseReplyLine(line)).toEqual(expected);
  });

  it.each(['', '25', '25x OK', '250OK', 'OK 250', ' 250 OK'])('rejects %j', (line) => {
    expect(parseReplyLine(line)).toBeNull();
  });

  it.each([
    [220, true],
    [554, true],
    [199, false],
    [600, false],
    [299, false],
    [250, true],
  ])('judges code %i valid: %s', (code, valid) => {
    expect(isValidReplyCode(code)).toBe(valid);
  });

  it.each([
    [250, '2.1.0 Ok', '2.1.0'],
    [550, '5.1.1 <x>: unknown', '5.1.1'],
    [452, '4.2.2', '4.2.2'],
    [550, '5.7.001 policy', '5.7.1'],
    [550, '2.1.0 wrong class', null],
    [250, '2.1 Ok', null],
    [250, '2.1.0000 Ok', null],
    [250, '2.1.0.5 Ok', null],
    [250, 'Ok 2.1.0', null],
    [354, '3.0.0 go', null],
    [421, ' 4.4.2 spaced', '4.4.2'],
  ])('extracts the enhanced status of %i %j', (code, text, status) => {
    expect(extractEnhancedStatus(code, text)).toBe(status);
  });

  it('reads the enhanced status as the RFC 3463 grammar does, for every short text over its characters', () => {
    // The grammar as a regular expression (RFC 3463 section 2: class "." subject "." detail, subject and detail
    // of 1 to 3 digits), leading blanks allowed, a blank or the end after it; the numbers are kept without
    // leading zeros.
    const grammar = /^[ \t]*([245])\.([0-9]{1,3})\.([0-9]{1,3})(?=$|[ \t])/;
    const oracle = (code: number, text: string): string | null => {
      const m = grammar.exec(text);
      if (m === null || Number(m[1]) !== Math.floor(code / 100)) return null;
      return `${m[1]}.${Number(m[2])}.${Number(m[3])}`;
    };
    const alphabet = [' ', '\t', '0', '1', '2', '5', '.', 'x'];
    let texts = [''];
    let checked = 0;
    for (let length = 1; length <= 6; length++) {
      const longer: string[] = [];
      for (const text of texts) for (const c of alphabet) longer.push(text + c);
      texts = longer;
      for (const text of texts) {
        for (const code of [250, 550]) {
          if (extractEnhancedStatus(code, text) !== oracle(code, text))
            expect(extractEnhancedStatus(code, text), `${code} ${JSON.stringify(text)}`).toBe(
              oracle(code, text),
            );
          checked++;
        }
      }
    }
    for (const text of [
      '5.007.0100 x',
      '5.000.000',
      '5.010.100\tx',
      '2.0.00 ok',
      '5.1.1x',
      '5.1.1\t',
      '5..1',
    ]) {
      expect(extractEnhancedStatus(550, text), JSON.stringify(text)).toBe(oracle(550, text));
      expect(extractEnhancedStatus(250, text), JSON.stringify(text)).toBe(oracle(250, text));
    }
    expect(checked).toBe(2 * (8 + 8 ** 2 + 8 ** 3 + 8 ** 4 + 8 ** 5 + 8 ** 6));
  });

  function assemble(lines: string[]): { replies: SmtpReply[]; mismatches: number[] } {
    const replies: SmtpReply[] = [];
    const mismatches: number[] = [];
    const assembler = createReplyAssembler({
      maxReplyLines: 3,
      onReply: (r) => replies.push(r),
      onCodeMismatch: (_e, got) => mismatches.push(got),
    });
    lines.forEach((line, i) => {
      assembler.pushLine(line, i * 10, i);
    });
    return { replies, mismatches };
  }

  it('assembles multi-line replies with first offset, first and last times', () => {
    const { replies } = assemble(['250-a', '250-b', '250 c', '221 bye']);
    expect(replies).toEqual([
      {
        code: 250,
        enhancedStatus: null,
        lines: ['a', 'b', 'c'],
        offset: 0,
        tsMicros: 0,
        endTsMicros: 2,
        encrypted: false,
      },
      {
        code: 221,
        enhancedStatus: null,
        lines: ['bye'],
        offset: 30,
        tsMicros: 3,
        endTsMicros: 3,
        encrypted: false,
      },
    ]);
  });

  it('a reusing assembler fills one reply object again; a reply of several lines keeps its own lines', () => {
    const seen: { reply: SmtpReply; copy: SmtpReply }[] = [];
    const assembler = new ReplyAssembler(
      {
        maxReplyLines: 10,
        onReply: (r) => seen.push({ reply: r, copy: { ...r, lines: [...r.lines] } }),
        onCodeMismatch: () => {},
      },
      true,
    );
    const lines = ['220 mx ESMTP', '250-mx', '250-PIPELINING', '250 SIZE 10', '250 2.1.0 Ok'];
    lines.forEach((line, i) => {
      assembler.pushLine(line, i * 10, i);
    });
    expect(seen.map((s) => s.copy)).toEqual([
      {
        code: 220,
        enhancedStatus: null,
        lines: ['mx ESMTP'],
        offset: 0,
        tsMicros: 0,
        endTsMicros: 0,
        encrypted: false,
      },
      {
        code: 250,
        enhancedStatus: null,
        lines: ['mx', 'PIPELINING', 'SIZE 10'],
        offset: 10,
        tsMicros: 1,
        endTsMicros: 3,
        encrypted: false,
      },
      {
        code: 250,
        enhancedStatus: '2.1.0',
        lines: ['2.1.0 Ok'],
        offset: 40,
        tsMicros: 4,
        endTsMicros: 4,
        encrypted: false,
      },
    ]);
    const [first, second, third] = seen.map((s) => s.reply);
    expect(first).toBe(second);
    expect(second).toBe(third);
    // The multi-line reply's lines were an array of its own while it was handed out; it is not filled again.
    expect(seen[1]?.copy.lines).toEqual(['mx', 'PIPELINING', 'SIZE 10']);
  });

  it('reports a continuation with another code and keeps the first code', () => {
    const { replies, mismatches } = assemble(['250-a', '251 b']);
    expect(mismatches).toEqual([251]);
    expect(replies[0]?.code).toBe(250);
  });

  it('keeps only maxReplyLines lines but still ends at the last line', () => {
    const { replies } = assemble(['250-1', '250-2', '250-3', '250-4', '250 5']);
    expect(replies).toHaveLength(1);
    expect(replies[0]?.lines).toEqual(['1', '2', '3']);
  });

  it('keeps a non-reply line inside a multi-line reply as text', () => {
    const { replies } = assemble(['250-a', 'free text', '250 b']);
    expect(replies[0]?.lines).toEqual(['a', 'free text', 'b']);
  });
});
