import { describe, expect, it, test } from 'vitest';
import { guessMtaSoftware, serverNameFromGreeting } from '../../src/model/mta-software.js';
import type { MtaSoftware } from '../../src/model/types.js';

describe('mta-software', () => {
  test.each([
    ['mail.example.org ESMTP Postfix', 'postfix'],
    ['mail.example.org ESMTP Postfix (Debian/GNU)', 'postfix'],
    ['mx.example.net ESMTP Exim 4.96 Mon, 01 Jan 2024 10:00:00 +0000', 'exim'],
    ['mail.example.com ESMTP Sendmail 8.17.1/8.17.1; Mon, 1 Jan 2024 10:00:00 GMT', 'sendmail'],
    [
      'EX01.corp.example.com Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 10:00:00 +0000',
      'exchange',
    ],
    [
      'AM0PR01MB1234.eurprd01.prod.exchangelabs.com Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 10:00:00 +0000',
      'microsoft-365',
    ],
    [
      'DB5EUR03FT012.mail.protection.outlook.com Microsoft ESMTP MAIL Service ready at Mon, 1 Jan 2024 10:00:00 +0000',
      'microsoft-365',
    ],
    ['mx.google.com ESMTP a1si123456qkh.123 - gsmtp', 'gmail'],
    ['mail.example.org ESMTP Haraka/3.0.3 ready', 'haraka'],
    ['mail.example.org ESMTP OpenSMTPD', 'opensmtpd'],
    ['mail.example.org ESMTP qmail', 'qmail'],
    ['mail.example.org ESMTP MDaemon 23.0.1; Mon, 01 Jan 2024 10:00:00 +0000', 'mdaemon'],
    ['mail.example.org ESMTP', 'unknown'],
    ['mail.example.org Simple Mail Transfer Service Ready', 'unknown'],
  ] as const)('reads "%s" as %s', (greeting, expected) => {
    expect(guessMtaSoftware(greeting, [])).toBe(expected satisfies MtaSoftware);
  });

  it('recognises nodemailer smtp-server by its EHLO reply, not by its bare banner', () => {
    expect(guessMtaSoftware('localhost ESMTP', [])).toBe('unknown');
    expect(
      guessMtaSoftware('localhost ESMTP', [
        'localhost Nice to meet you, [127.0.0.1]',
        'PIPELINING',
        '8BITMIME',
      ]),
    ).toBe('smtp-server');
  });

  it('recognises Exchange by its private EHLO keywords', () => {
    expect(
      guessMtaSoftware('mail.example.com ESMTP', [
        'mail.example.com Hello [192.0.2.7]',
        'SIZE',
        'X-ANONYMOUSTLS',
      ]),
    ).toBe('exchange');
  });

  it('recognises Gmail by its EHLO line', () => {
    expect(guessMtaSoftware(null, ['mx.google.com at your service, [192.0.2.7]', 'SIZE 157286400'])).toBe(
      'gmail',
    );
  });

  it('does not name sendmail from the "pleased to meet you" phrase that OpenSMTPD shares', () => {
    expect(
      guessMtaSoftware('mail.example.org ESMTP', [
        'mail.example.org Hello client [192.0.2.7], pleased to meet you',
      ]),
    ).toBe('unknown');
  });

  it('prefers the greeting over EHLO lines', () => {
    expect(guessMtaSoftware('mail.example.org ESMTP Postfix', ['mail.example.org Nice to meet you, x'])).toBe(
      'postfix',
    );
  });

  test.each([
    ['mail.example.org ESMTP Postfix', 'mail.example.org'],
    ['BBN-UNIX.ARPA Simple Mail Transfer Service Ready', 'BBN-UNIX.ARPA'],
    ['localhost ESMTP', 'localhost'],
    ['[192.0.2.1] ESMTP ready', '[192.0.2.1]'],
    ['192.0.2.1 ESMTP ready', '192.0.2.1'],
    ['mx.example.net ESMTP Exim 4.96\nwelcome, no UCE', 'mx.example.net'],
    ['2.0.0 mail.example.org ready', 'mail.example.org'],
    ['mailhub ready', 'mailhub'],
    ['ESMTP ready', null],
    ['Welcome to the mail service', null],
    ['Service ready', null],
    ['', null],
    ['*** ESMTP', null],
  ])('finds the server name in "%s"', (text, expected) => {
    expect(serverNameFromGreeting(text)).toBe(expected);
  });

  it('answers each question afresh when the same server comes back after another (one remembered answer)', () => {
    const postfix = ['mx.example.org ESMTP Postfix (Debian/GNU)', ['mx.example.org', 'PIPELINING']] as const;
    const exim = ['mx.example.net ESMTP Exim 4.96', ['mx.example.net Hello', 'SIZE 52428800']] as const;
    for (let round = 0; round < 3; round++) {
      expect(guessMtaSoftware(postfix[0], postfix[1])).toBe('postfix');
      expect(guessMtaSoftware(postfix[0], postfix[1])).toBe('postfix');
      expect(serverNameFromGreeting(postfix[0])).toBe('mx.example.org');
      expect(guessMtaSoftware(exim[0], exim[1])).toBe('exim');
      expect(serverNameFromGreeting(exim[0])).toBe('mx.example.net');
      // Same greeting, EHLO lines that differ: not the remembered answer.
      expect(guessMtaSoftware('localhost ESMTP', ['localhost', 'XEXCH50'])).toBe('exchange');
      expect(guessMtaSoftware('localhost ESMTP', ['localhost', 'SIZE 1'])).toBe('unknown');
    }
  });
});
