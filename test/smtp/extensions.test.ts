import { describe, expect, it } from 'vitest';
import { parseEhloCapabilities } from '../../src/smtp/extensions.js';

describe('extensions', () => {
  it('reads a Postfix EHLO reply', () => {
    const caps = parseEhloCapabilities([
      'mx.example.org',
      'PIPELINING',
      'SIZE 10240000',
      'VRFY',
      'ETRN',
      'STARTTLS',
      'AUTH PLAIN LOGIN',
      'AUTH=PLAIN LOGIN',
      'ENHANCEDSTATUSCODES',
      '8BITMIME',
      'DSN',
      'SMTPUTF8',
      'CHUNKING',
    ]);
    expect(caps).toEqual({
      keywords: [
        'PIPELINING',
        'SIZE',
        'VRFY',
        'ETRN',
        'STARTTLS',
        'AUTH',
        'AUTH',
        'ENHANCEDSTATUSCODES',
        '8BITMIME',
        'DSN',
        'SMTPUTF8',
        'CHUNKING',
      ],
      size: 10240000,
      pipelining: true,
      chunking: true,
      eightBitMime: true,
      binaryMime: false,
      smtpUtf8: true,
      dsn: true,
      enhancedStatusCodes: true,
      starttls: true,
      authMechanisms: ['PLAIN', 'LOGIN'],
      other: ['VRFY', 'ETRN'],
    });
  });

  it.each([
    [['h', 'size'], null],
    [['h', 'SIZE'], null],
    [['h', 'SIZE 0'], 0],
    [['h', 'SIZE abc'], null],
    [['h', 'size 52428800'], 52428800],
  ])('reads SIZE from %j', (lines, size) => {
    expect(parseEhloCapabilities(lines).size).toBe(size);
  });

  it('accepts the old AUTH= form alone, lower-case keywords, and keeps unknown keywords verbatim', () => {
    const caps = parseEhloCapabilities([
      'h',
      'auth=login cram-md5',
      'binarymime',
      'XCLIENT NAME ADDR',
      'X-EXPS GSSAPI NTLM',
    ]);
    expect(caps.authMechanisms).toEqual(['LOGIN', 'CRAM-MD5']);
    expect(caps.binaryMime).toBe(true);
    expect(caps.other).toEqual(['XCLIENT NAME ADDR', 'X-EXPS GSSAPI NTLM']);
    expect(caps.keywords).toEqual(['AUTH', 'BINARYMIME', 'XCLIENT', 'X-EXPS']);
  });

  it('ignores the greeting line and gives empty capabilities for a one-line reply', () => {
    const caps = parseEhloCapabilities(['mx.example.org PIPELINING']);
    expect(caps.keywords).toEqual([]);
    expect(caps.pipelining).toBe(false);
  });

  it('reads any mix of spacing and case as a word-by-word reading of each line does', () => {
    // Reference: RFC 5321 4.1.1.1 read literally, one line at a time: trim it, split it into words on runs of
    // blanks, the first word is the keyword (AUTH=x gives AUTH with x as its first mechanism).
    const reference = (lines: string[]) => {
      const keywords: string[] = [];
      const auth: string[] = [];
      const other: string[] = [];
      let size: number | null = null;
      for (const line of lines.slice(1)) {
        const text = line.trim();
        if (text === '') continue;
        const words = text.split(/[ \t]+/);
        let keyword = (words[0] as string).toUpperCase();
        let params = words.slice(1);
        if (keyword.startsWith('AUTH=')) {
          params = [keyword.slice(5), ...params].filter((w) => w !== '');
          keyword = 'AUTH';
        }
        keywords.push(keyword);
        if (keyword === 'AUTH') {
          for (const m of params) if (!auth.includes(m.toUpperCase())) auth.push(m.toUpperCase());
        } else if (keyword === 'SIZE') {
          if (params[0] !== undefined && /^[0-9]{1,15}$/.test(params[0])) size = Number(params[0]);
        } else if (
          !['PIPELINING', 'CHUNKING', '8BITMIME', 'BINARYMIME', 'SMTPUTF8', 'DSN'].includes(keyword)
        ) {
          if (!['ENHANCEDSTATUSCODES', 'STARTTLS'].includes(keyword)) other.push(text);
        }
      }
      return { keywords, auth, other, size };
    };
    const tokens = [
      'AUTH',
      'auth=',
      'AUTH=plain',
      'SIZE',
      '123',
      '1234567890123456',
      'x1',
      'PIPELINING',
      'Dsn',
    ];
    const blanks = ['', ' ', '\t', '  \t', '\r', '\u00a0'];
    let seed = 20;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 3000; round++) {
      const lines = ['greeting'];
      for (let l = next(4); l >= 0; l--) {
        let line = blanks[next(blanks.length)] as string;
        for (let w = next(4); w >= 0; w--)
          line += (tokens[next(tokens.length)] as string) + (blanks[next(blanks.length)] as string);
        lines.push(line);
      }
      const caps = parseEhloCapabilities(lines);
      const want = reference(lines);
      expect(
        { keywords: caps.keywords, auth: caps.authMechanisms, other: caps.other, size: caps.size },
        JSON.stringify(lines),
      ).toEqual(want);
    }
  });

  it('gives each reply its own keywords when replies alternate (the latest result is reused only for the same lines)', () => {
    const a = ['mx1.example.org', 'PIPELINING', 'SIZE 1000'];
    const b = ['mx1.example.org', 'PIPELINING', 'SIZE 2000', 'STARTTLS'];
    const aOtherHost = ['mx2.example.org Hello', 'PIPELINING', 'SIZE 1000'];
    expect(parseEhloCapabilities(a).size).toBe(1000);
    expect(parseEhloCapabilities(b)).toMatchObject({ size: 2000, starttls: true });
    const again = parseEhloCapabilities(aOtherHost);
    expect(again).toMatchObject({ size: 1000, starttls: false, keywords: ['PIPELINING', 'SIZE'] });
    // The same keyword lines under another server name: the same (read-only) result.
    expect(parseEhloCapabilities(a)).toBe(again);
    expect(parseEhloCapabilities(['mx1.example.org', 'PIPELINING'])).toMatchObject({ size: null });
  });
});
