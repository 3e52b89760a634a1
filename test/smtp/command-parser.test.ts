import { describe, expect, it } from 'vitest';
import {
  decodeXtext,
  parseBdatArgument,
  parseCommandLine,
  parseEsmtpParams,
} from '../../src/smtp/command-parser.js';

describe('command-parser', () => {
  it.each([
    { line: 'MAIL FROM:<a@b>', verb: 'MAIL', path: 'a@b' },
    { line: 'mail from:<a@b>', verb: 'MAIL', path: 'a@b' },
    { line: 'MAIL FROM: <a@b>', verb: 'MAIL', path: 'a@b' },
    { line: 'MAIL FROM : <a@b>', verb: 'MAIL', path: 'a@b' },
    { line: 'MAIL FROM:a@b', verb: 'MAIL', path: 'a@b' },
    { line: 'MAIL FROM: a@b SIZE=10', verb: 'MAIL', path: 'a@b' },
    { line: 'MAIL FROM:<>', verb: 'MAIL', path: '' },
    { line: 'MAIL FROM:', verb: 'MAIL', path: null },
    { line: 'RCPT TO:<@a,@b:c@d>', verb: 'RCPT', path: 'c@d' },
    { line: 'RCPT TO:<"john doe>x"@example.com>', verb: 'RCPT', path: '"john doe>x"@example.com' },
    { line: 'RCPT TO:<Postmaster>', verb: 'RCPT', path: 'Postmaster' },
    { line: 'RCPT <a@b>', verb: 'RCPT', path: null },
    { line: 'EHLO example.com', verb: 'EHLO', path: null },
    { line: 'STARTTLS', verb: 'STARTTLS', path: null },
    { line: 'x-link2state', verb: 'X-LINK2STATE', path: null },
    { line: 'XEXCH50 1 2', verb: 'XEXCH50', path: null },
  ])('parses $line', ({ line, verb, path }) => {
    const parsed = parseCommandLine(line);
    expect(parsed.verb).toBe(verb);
    expect(parsed.path).toBe(path);
  });

  it('keeps unknown verbs verbatim as UNKNOWN', () => {
    expect(parseCommandLine('Xyzzy plugh  now')).toMatchObject({
      verb: 'UNKNOWN',
      verbText: 'Xyzzy',
      argument: 'plugh  now',
    });
    expect(parseCommandLine('')).toMatchObject({ verb: 'UNKNOWN', verbText: '', argument: '' });
  });

  it('keeps the verb as sent and the argument after the spaces', () => {
    expect(parseCommandLine('helo   client.example')).toMatchObject({
      verb: 'HELO',
      verbText: 'helo',
      argument: 'client.example',
    });
  });

  it('reads ESMTP parameters of MAIL and RCPT, decoding xtext where the RFCs say so', () => {
    const mail = parseCommandLine(
      'MAIL FROM:<a@b> SIZE=1000 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=QQ+2B1 AUTH=<a+3Db> X-FOO=bar+2B',
    );
    expect(mail.params).toEqual({
      SIZE: '1000',
      BODY: '8BITMIME',
      SMTPUTF8: true,
      RET: 'HDRS',
      ENVID: 'QQ+1',
      AUTH: '<a=b>',
      'X-FOO': 'bar+2B',
    });
    const rcpt = parseCommandLine('RCPT TO:<c@d> notify=SUCCESS,DELAY orcpt=rfc822;c+2Bx@d');
    expect(rcpt.params).toEqual({ NOTIFY: 'SUCCESS,DELAY', ORCPT: 'rfc822;c+x@d' });
  });

  it.each([
    ['plain', 'plain'],
    ['a+2Bb', 'a+b'],
    ['+3D+3d', '=='],
    ['a+2', 'a+2'],
    ['a+zz', 'a+zz'],
  ])('decodes xtext %s', (input, output) => {
    expect(decodeXtext(input)).toBe(output);
  });

  it('parses bare parameter lists', () => {
    expect(parseEsmtpParams('  a=1   B ')).toEqual({ A: '1', B: true });
  });

  it.each([
    ['100', { ok: true, size: 100, last: false }],
    ['0 LAST', { ok: true, size: 0, last: true }],
    ['7 last', { ok: true, size: 7, last: true }],
    ['', { ok: false }],
    ['-1', { ok: false }],
    ['12x', { ok: false }],
    ['10 LAST more', { ok: false }],
    ['10 FIRST', { ok: false }],
    ['1234567890123456', { ok: false }],
  ])('checks BDAT argument %j', (argument, expected) => {
    expect(parseBdatArgument(argument)).toMatchObject(expected);
  });
});
