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
});
