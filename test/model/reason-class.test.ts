import { describe, expect, it, test } from 'vitest';
import { classifyFailure, explainFailure } from '../../src/model/reason-class.js';
import type { FailureStage, ReasonClass } from '../../src/model/types.js';
import { parseEnhancedStatus } from '../../src/smtp/enhanced-status.js';

/** Splits a reply as seen on the wire ("550-5.1.1 text" lines) into code, status and text. */
function split(reply: string): { code: number; status: string | null; text: string } {
  const lines = reply.split('\n');
  const code = Number(lines[0]!.slice(0, 3));
  const text = lines.map((line) => line.slice(4)).join('\n');
  return { code, status: parseEnhancedStatus(text), text };
}

type Row = readonly [source: string, reply: string, stage: FailureStage | undefined, expected: ReasonClass];

// Reply lines in the formats these servers use (addresses and hosts are examples).
const ROWS: readonly Row[] = [
  // Postfix
  [
    'postfix',
    '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in local recipient table',
    'rcpt',
    'mailbox-unknown',
  ],
  [
    'postfix',
    '550 5.1.1 <bob@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
    'rcpt',
    'mailbox-unknown',
  ],
  [
    'postfix',
    '450 4.2.0 <bob@example.org>: Recipient address rejected: Greylisted, see http://postgrey.example/help/example.org.html',
    'rcpt',
    'greylisted',
  ],
  ['postfix', '554 5.7.1 <bob@example.net>: Relay access denied', 'rcpt', 'relay-denied'],
  ['postfix', '530 5.7.0 Must issue a STARTTLS command first', 'mail', 'tls-required'],
  ['postfix', '535 5.7.8 Error: authentication failed: authentication failure', 'auth', 'auth-failed'],
  ['postfix', '552 5.3.4 Message size exceeds fixed limit', 'end-of-data', 'message-too-big'],
  ['postfix', '452 4.5.3 Error: too many recipients', 'rcpt', 'rate-limited'],
  [
    'postfix',
    '421 4.7.0 mx.example.org Error: too many connections from 192.0.2.7',
    'greeting',
    'rate-limited',
  ],
  [
    'postfix',
    '450 4.1.2 <bob@nowhere.invalid>: Recipient address rejected: Domain not found',
    'rcpt',
    'routing-or-dns',
  ],
  [
    'postfix',
    '450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.7]',
    'rcpt',
    'policy-or-spam',
  ],
  [
    'postfix',
    '554 5.7.1 Service unavailable; Client host [192.0.2.7] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.7',
    'rcpt',
    'policy-or-spam',
  ],
  [
    'postfix',
    '504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname',
    'rcpt',
    'protocol-error',
  ],
  ['postfix', '503 5.5.1 Error: need RCPT command', 'data', 'protocol-error'],
  ['postfix', '502 5.5.2 Error: command not recognized', undefined, 'protocol-error'],
  ['postfix', '451 4.3.0 Error: queue file write error', 'end-of-data', 'server-unavailable'],
  [
    'postfix',
    '552 5.2.2 <bob@example.org>: Recipient address rejected: Mailbox full',
    'rcpt',
    'mailbox-full',
  ],
  [
    'postfix',
    '556 5.1.10 <bob@example.com>: Recipient address rejected: Domain example.com does not accept mail (nullMX)',
    'rcpt',
    'routing-or-dns',
  ],
  ['postfix', '421 4.3.2 Service currently unavailable', 'greeting', 'server-unavailable'],
  // Exim
  ['exim', '550 Unrouteable address', 'rcpt', 'routing-or-dns'],
  ['exim', '550 No such user here', 'rcpt', 'mailbox-unknown'],
  ['exim', '451 Temporary local problem - please try later', 'end-of-data', 'server-unavailable'],
  ['exim', '550 Administrative prohibition', 'rcpt', 'policy-or-spam'],
  [
    'exim',
    '550-Verification failed for <noone@example.com>\n550 Sender verify failed',
    'rcpt',
    'policy-or-spam',
  ],
  ['exim', '552 Message size exceeds maximum permitted', 'end-of-data', 'message-too-big'],
  ['exim', '421 mx.example.net: SMTP command timeout - closing connection', undefined, 'server-unavailable'],
  ['exim', '550 relay not permitted', 'rcpt', 'relay-denied'],
  ['exim', '421 Too many concurrent SMTP connections; please try again later.', 'greeting', 'rate-limited'],
  ['exim', '451 Greylisted: please try again in a few minutes', 'rcpt', 'greylisted'],
  // Sendmail
  ['sendmail', '550 5.1.1 <bob@example.org>... User unknown', 'rcpt', 'mailbox-unknown'],
  ['sendmail', '550 5.7.1 <bob@example.net>... Relaying denied', 'rcpt', 'relay-denied'],
  ['sendmail', '452 4.4.5 Insufficient disk space; try again later', 'mail', 'server-unavailable'],
  ['sendmail', '421 4.3.2 Connection rate limit exceeded.', 'greeting', 'rate-limited'],
  ['sendmail', '451 4.7.1 Greylisting in action, please come back later', 'rcpt', 'greylisted'],
  ['sendmail', '451 4.7.1 Please try again later', 'rcpt', 'greylisted'],
  [
    'sendmail',
    '553 5.3.0 <bob@example.org>... Spam blocked see: https://blocklist.example/',
    'rcpt',
    'policy-or-spam',
  ],
  ['sendmail', '552 5.2.3 Message exceeds maximum fixed size (10485760)', 'end-of-data', 'message-too-big'],
  ['sendmail', '500 5.5.1 Command unrecognized: "XYZZY"', undefined, 'protocol-error'],
  ['sendmail', '501 5.5.4 Invalid domain name', 'helo', 'protocol-error'],
  ['sendmail', '503 5.0.0 Need MAIL before RCPT', 'rcpt', 'protocol-error'],
  [
    'sendmail',
    '553 5.1.8 <a@nowhere.invalid>... Domain of sender address a@nowhere.invalid does not exist',
    'mail',
    'policy-or-spam',
  ],
  // Microsoft Exchange / Office 365
  [
    'exchange',
    '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
    'end-of-data',
    'mailbox-unknown',
  ],
  [
    'office365',
    '550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]',
    'rcpt',
    'mailbox-unknown',
  ],
  [
    'office365',
    '550 5.7.606 Access denied, banned sending IP [192.0.2.7]. To request removal from this list please visit https://sender.example/',
    'rcpt',
    'policy-or-spam',
  ],
  [
    'office365',
    '451 4.7.500 Server busy. Please try again later from [192.0.2.7]. (S77714) [AM0EUR02FT004.eop-EUR02.prod.protection.outlook.com]',
    'rcpt',
    'server-unavailable',
  ],
  [
    'office365',
    '530 5.7.57 Client not authenticated to send mail. [AM0PR01CA0123.eurprd01.prod.exchangelabs.com]',
    'mail',
    'auth-failed',
  ],
  ['exchange', '530 5.7.1 Client was not authenticated', 'mail', 'auth-failed'],
  ['exchange', '452 4.3.1 Insufficient system resources', 'mail', 'server-unavailable'],
  ['exchange', '554 5.4.14 Hop count exceeded - possible mail loop ATTR34', 'end-of-data', 'routing-or-dns'],
  ['exchange', '421 4.3.2 Service not available', 'greeting', 'server-unavailable'],
  [
    'exchange',
    '550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP.',
    'rcpt',
    'policy-or-spam',
  ],
  ['exchange', '535 5.7.3 Authentication unsuccessful', 'auth', 'auth-failed'],
  // Gmail
  [
    'gmail',
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\n550-5.1.1 double-checking the recipient's email address for typos or\n550 5.1.1 unnecessary spaces. For more information, go to https://support.example/ - gsmtp",
    'rcpt',
    'mailbox-unknown',
  ],
  [
    'gmail',
    "552-5.2.2 The recipient's inbox is out of storage space and inactive.\n552 5.2.2 Please direct the recipient to https://support.example/ - gsmtp",
    'rcpt',
    'mailbox-full',
  ],
  [
    'gmail',
    "452-4.2.2 The recipient's inbox is out of storage space.\n452 4.2.2 Please direct the recipient to https://support.example/ - gsmtp",
    'rcpt',
    'mailbox-full',
  ],
  [
    'gmail',
    '450-4.2.1 The user you are trying to contact is receiving mail at a rate that\n450 4.2.1 prevents additional messages from being delivered. - gsmtp',
    'rcpt',
    'rate-limited',
  ],
  [
    'gmail',
    '421-4.7.28 Gmail has detected an unusual rate of unsolicited mail from your IP address.\n421 4.7.28 To protect our users from spam, mail has been temporarily rate limited. - gsmtp',
    'end-of-data',
    'rate-limited',
  ],
  [
    'gmail',
    '550-5.7.26 This mail has been blocked because the sender is unauthenticated.\n550 5.7.26 Gmail requires all senders to authenticate with either SPF or DKIM. - gsmtp',
    'end-of-data',
    'policy-or-spam',
  ],
  [
    'gmail',
    "550-5.7.1 [192.0.2.7] The IP you're using to send mail is not authorized to\n550 5.7.1 send email directly to our servers. - gsmtp",
    'rcpt',
    'policy-or-spam',
  ],
  [
    'gmail',
    '530-5.7.0 Authentication Required. Learn more at\n530 5.7.0 https://support.example/ - gsmtp',
    'mail',
    'auth-failed',
  ],
  [
    'gmail',
    '535-5.7.8 Username and Password not accepted. Learn more at\n535 5.7.8 https://support.example/ - gsmtp',
    'auth',
    'auth-failed',
  ],
  [
    'gmail',
    "552-5.3.4 Your message exceeded Google's message size limits. - gsmtp",
    'end-of-data',
    'message-too-big',
  ],
  [
    'gmail',
    '554 5.6.0 Message exceeded 50 hops, this may indicate a mail loop. - gsmtp',
    'end-of-data',
    'routing-or-dns',
  ],
  [
    'gmail',
    '421-4.3.0 Temporary System Problem.  Try again later (10). - gsmtp',
    'end-of-data',
    'server-unavailable',
  ],
  [
    'gmail',
    '550-5.7.25 The IP address sending this message does not have a PTR record setup - gsmtp',
    'end-of-data',
    'policy-or-spam',
  ],
  // Replies from the protocol reference and the RFC text alone
  ['rfc', '550 No such user here', 'rcpt', 'mailbox-unknown'],
  ['rfc', '551 User not local; please try <forward@example.org>', 'rcpt', 'mailbox-unknown'],
  ['rfc', '421 Service not available, closing transmission channel', 'greeting', 'server-unavailable'],
  ['rfc', '554 No SMTP service here', 'greeting', 'server-unavailable'],
  ['rfc', '521 Host does not accept mail', 'greeting', 'routing-or-dns'],
  ['rfc', '538 5.7.11 Encryption required for requested authentication mechanism', 'auth', 'tls-required'],
  ['rfc', '454 4.7.0 Temporary authentication failure', 'auth', 'auth-failed'],
  ['rfc', '454 TLS not available due to temporary reason', 'starttls', 'server-unavailable'],
  ['rfc', '555 5.5.4 Unsupported option: FOO=BAR', 'mail', 'protocol-error'],
  ['rfc', '550 5.7.1 Delivery not authorized, message refused', 'rcpt', 'policy-or-spam'],
];

describe('reason-class', () => {
  it('has at least forty real reply lines in its table', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(40);
  });

  test.each(ROWS)('%s: %s (stage %s) → %s', (_source, reply, stage, expected) => {
    const { code, status, text } = split(reply);
    expect(classifyFailure(code, status, text, stage)).toBe(expected);
  });

  test.each([250, 221, 354, 334, 220, 100, 0, 600])('returns null for %i (not a failure)', (code) => {
    expect(classifyFailure(code, null, 'whatever', 'rcpt')).toBeNull();
  });

  it('lets a specific enhanced status win over the code', () => {
    expect(classifyFailure(550, '5.2.2', 'Requested action not taken', 'rcpt')).toBe('mailbox-full');
    expect(classifyFailure(550, '5.3.4', 'Message rejected', 'end-of-data')).toBe('message-too-big');
  });

  it('lets the text refine a generic status', () => {
    expect(classifyFailure(554, '5.7.1', 'Relay access denied', 'rcpt')).toBe('relay-denied');
    expect(classifyFailure(550, '5.7.1', 'Message rejected', 'rcpt')).toBe('policy-or-spam');
  });

  it('uses the stage where the code alone is ambiguous', () => {
    expect(classifyFailure(550, null, 'Rejected', 'rcpt')).toBe('mailbox-unknown');
    expect(classifyFailure(550, null, 'Rejected', 'mail')).toBe('policy-or-spam');
    expect(classifyFailure(552, null, 'Requested mail action aborted', 'rcpt')).toBe('mailbox-full');
    expect(classifyFailure(552, null, 'Requested mail action aborted', 'end-of-data')).toBe(
      'message-too-big',
    );
    expect(classifyFailure(554, null, 'Transaction failed', 'end-of-data')).toBe('other');
  });

  it('does not call a 5xx reply greylisting', () => {
    expect(classifyFailure(550, null, 'greylisted for ever', 'rcpt')).not.toBe('greylisted');
  });

  it('falls back to other for an unexplained code', () => {
    expect(classifyFailure(459, null, 'Node example not allowed: closed', undefined)).toBe('other');
    expect(classifyFailure(557, null, '', undefined)).toBe('other');
  });
});

describe('explainFailure', () => {
  it('names the mailbox and the status for an unknown user', () => {
    expect(
      explainFailure(550, '5.1.1', 'User unknown', { stage: 'rcpt', recipient: 'alice@example.org' }),
    ).toBe('The receiving server does not know the mailbox alice@example.org (5.1.1).');
  });

  it('uses the reply code when there is no enhanced status', () => {
    expect(explainFailure(550, null, 'No such user here', { recipient: 'green@beta.example' })).toBe(
      'The receiving server does not know the mailbox green@beta.example (550).',
    );
  });

  it('says that greylisting is retried', () => {
    const line = explainFailure(450, '4.2.0', 'Greylisted, see http://postgrey.example/', { stage: 'rcpt' });
    expect(line).toMatch(/^The receiving server greylisted the message \(4\.2\.0\): /);
    expect(line).toMatch(/try again later/);
  });

  it('mentions that a temporary refusal may be retried', () => {
    expect(explainFailure(452, '4.2.2', 'over quota', { recipient: 'bob@example.org' })).toBe(
      'The mailbox bob@example.org is full or over its quota (4.2.2). The refusal is temporary, so the sender may retry.',
    );
  });

  it('says when a reply is not a failure', () => {
    expect(explainFailure(250, '2.0.0', 'Ok')).toBe('The reply 2.0.0 is not a failure.');
  });

  it('writes one sentence for every reason class', () => {
    for (const [, reply, stage] of ROWS) {
      const { code, status, text } = split(reply);
      const line = explainFailure(code, status, text, stage === undefined ? {} : { stage });
      expect(line).toMatch(/^[A-Z].*\(([245]\.\d+\.\d+|\d{3})\)/);
      expect(line.endsWith('.')).toBe(true);
      expect(line).not.toContain('\n');
    }
  });
});

describe('reason-class code fallbacks', () => {
  test.each([
    [421, undefined, 'server-unavailable'],
    [451, undefined, 'server-unavailable'],
    [452, undefined, 'server-unavailable'],
    [432, undefined, 'auth-failed'],
    [454, 'auth', 'auth-failed'],
    [454, 'starttls', 'server-unavailable'],
    [500, undefined, 'protocol-error'],
    [501, undefined, 'protocol-error'],
    [502, undefined, 'protocol-error'],
    [503, undefined, 'protocol-error'],
    [504, undefined, 'protocol-error'],
    [521, 'greeting', 'routing-or-dns'],
    [530, undefined, 'auth-failed'],
    [534, 'auth', 'auth-failed'],
    [535, 'auth', 'auth-failed'],
    [538, 'auth', 'tls-required'],
    [551, 'rcpt', 'mailbox-unknown'],
    [553, 'rcpt', 'mailbox-unknown'],
    [553, 'mail', 'policy-or-spam'],
    [555, 'mail', 'protocol-error'],
    [556, 'rcpt', 'routing-or-dns'],
    [450, 'rcpt', 'other'],
  ] as const)('classifies a bare %i (stage %s) as %s', (code, stage, expected) => {
    // "x" matches no text rule, so only the code and stage decide.
    expect(classifyFailure(code, null, 'x', stage)).toBe(expected);
  });
});

describe('explainFailure at MAIL FROM', () => {
  it('names the refused sender', () => {
    expect(
      explainFailure(553, '5.1.8', 'Domain of sender address does not exist', {
        stage: 'mail',
        sender: 'a@nowhere.invalid',
      }),
    ).toBe(
      'The receiving server refused the sender a@nowhere.invalid by policy (5.1.8), for example by spam filtering, a block list or a sender check.',
    );
  });
});

describe('the enhanced status subject before the text (RFC 3463)', () => {
  it('keeps a busy mailbox (X.2.0) about the mailbox, not the server being unavailable', () => {
    const text = '<bob@example.org>: Mailbox temporarily busy, try again later';
    expect(classifyFailure(450, '4.2.0', text, 'rcpt')).toBe('other');
    const sentence = explainFailure(450, '4.2.0', text, { stage: 'rcpt', recipient: 'bob@example.org' });
    expect(sentence).toBe(
      'The mailbox bob@example.org is not taking mail right now (4.2.0): busy, locked or otherwise unavailable. The refusal is temporary, so the sender may retry.',
    );
    expect(sentence).not.toContain('server is not available');
    // Texts that do speak of the mailbox still refine a generic X.2.0.
    expect(classifyFailure(452, '4.2.0', 'Mailbox over quota', 'rcpt')).toBe('mailbox-full');
    expect(classifyFailure(550, '5.2.0', 'User unknown', 'rcpt')).toBe('mailbox-unknown');
    // Without a status the text decides, as before.
    expect(classifyFailure(450, null, text, 'rcpt')).toBe('server-unavailable');
  });
});
