import fc from 'fast-check';
import { describe, expect, it, test } from 'vitest';
import {
  headerLength,
  MESSAGE_KEEP_BYTES_DEFAULT,
  repairWindows1252,
  summarizeMessage,
  summarizeMessageSync,
} from '../../src/model/message-summary.js';
import { MIME_MAX_DEPTH } from '../../src/model/mime-parts.js';

const encoder = new TextEncoder();
const bytesOf = (lines: readonly string[]): Uint8Array => encoder.encode(lines.join('\r\n'));
const subjectOf = async (encoded: string): Promise<string | null> =>
  (await summarizeMessage(bytesOf([`Subject: ${encoded}`, '', 'body']), false)).subject;

describe('message-summary', () => {
  it('keeps 256 KiB of a message by default', () => {
    expect(MESSAGE_KEEP_BYTES_DEFAULT).toBe(262144);
  });

  it('gives the same addresses and subject for a header value seen again, in results it does not share', async () => {
    const message = bytesOf([
      'From: =?utf-8?q?Z=C3=BCrich?= <z@example.org>',
      'To: Bob <bob@example.net>, Team: erin@example.net;, carol@example.net',
      'Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=',
      '',
      'body',
    ]);
    const first = await summarizeMessage(message, false);
    expect(first.to).toEqual(['Bob <bob@example.net>', 'erin@example.net', 'carol@example.net']);
    expect(first.from).toBe('Zürich <z@example.org>');
    expect(first.subject).toBe('Grüße');
    const second = await summarizeMessage(message, false);
    expect(second.to).toEqual(['Bob <bob@example.net>', 'erin@example.net', 'carol@example.net']);
    expect(second.to).not.toBe(first.to);
    expect(second.from).toBe(first.from);
    expect(second.subject).toBe(first.subject);
  });

  it('summarises the header fields of a plain message', async () => {
    const summary = await summarizeMessage(
      bytesOf([
        'Received: from client.example.org (client.example.org [192.0.2.10])',
        '\tby mail.example.org (Postfix) with ESMTP id 4XyZ9k1Lm2z3',
        '\tfor <bob@example.net>; Mon,  1 Jan 2024 10:00:01 +0000 (UTC)',
        'Received: from [127.0.0.1] by client.example.org; Mon, 1 Jan 2024 10:00:00 +0000',
        'From: "Alice Example" <alice@example.org>',
        'To: Bob <bob@example.net>, carol@example.net',
        'To: dave@example.net',
        'Cc: Team: erin@example.net, frank@example.net;, undisclosed-recipients:;',
        'Reply-To: Help Desk <help@example.org>',
        'Subject: Lunch on Friday?',
        'Date: Mon, 1 Jan 2024 10:00:00 +0000',
        'Message-ID: <7c1e2f3a@example.org>',
        'In-Reply-To: <earlier@example.net>',
        'User-Agent: Mozilla Thunderbird',
        'X-Mailer: should not win over the earlier User-Agent',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'Shall we meet at noon?',
      ]),
      false,
    );
    expect(summary).toEqual({
      from: 'Alice Example <alice@example.org>',
      fromAll: ['Alice Example <alice@example.org>'],
      to: ['Bob <bob@example.net>', 'carol@example.net', 'dave@example.net'],
      cc: ['erin@example.net', 'frank@example.net', 'undisclosed-recipients:;'],
      replyTo: 'Help Desk <help@example.org>',
      subject: 'Lunch on Friday?',
      date: 'Mon, 1 Jan 2024 10:00:00 +0000',
      messageId: '<7c1e2f3a@example.org>',
      inReplyTo: '<earlier@example.net>',
      received: [
        'from client.example.org (client.example.org [192.0.2.10]) by mail.example.org (Postfix) with ESMTP id 4XyZ9k1Lm2z3 for <bob@example.net>; Mon, 1 Jan 2024 10:00:01 +0000 (UTC)',
        'from [127.0.0.1] by client.example.org; Mon, 1 Jan 2024 10:00:00 +0000',
      ],
      userAgent: 'Mozilla Thunderbird',
      contentType: 'text/plain; charset=utf-8',
      // A single-part body runs to the end of the bytes; this one has no final line break.
      parts: [
        {
          contentType: 'text/plain',
          filename: null,
          sizeBytes: 'Shall we meet at noon?'.length,
          disposition: null,
        },
      ],
      dsn: null,
      truncated: false,
    });
  });

  it('takes the X-Mailer when there is no User-Agent', async () => {
    const summary = await summarizeMessage(bytesOf(['X-Mailer: Microsoft Outlook 16.0', '', 'x']), false);
    expect(summary.userAgent).toBe('Microsoft Outlook 16.0');
  });

  test.each([
    // ISO-8859-1, B and Q encodings: "café" (é = 0xE9).
    ['=?ISO-8859-1?B?Y2Fm6Q==?=', 'café'],
    ['=?iso-8859-1?q?caf=E9?=', 'café'],
    // UTF-8 Q with underscores for spaces: "café crème".
    ['=?UTF-8?Q?caf=C3=A9_cr=C3=A8me?=', 'café crème'],
    // windows-1252: 0x93/0x94 are curly double quotes, 0x80 is the euro sign.
    ['=?windows-1252?Q?=93quoted=94_=80?=', '\u201cquoted\u201d \u20ac'],
    // Two encoded words: the white space between them is not part of the text (RFC 2047 section 6.2).
    ['=?UTF-8?Q?Hello_?= =?UTF-8?Q?world?=', 'Hello world'],
    ['=?ISO-8859-1?Q?a?=\r\n =?ISO-8859-1?Q?b?=', 'ab'],
    // Encoded and plain text mixed.
    ['Re: =?UTF-8?B?w6l0w6k=?= plans', 'Re: été plans'],
    // An empty encoded word decodes to nothing.
    ['=?UTF-8?Q??=', ''],
    ['plain', 'plain'],
  ])('decodes the subject %s', async (encoded, expected) => {
    expect(await subjectOf(encoded)).toBe(expected);
  });

  it('keeps every author of a From: field with several, the first as `from`', async () => {
    const summary = await summarizeMessage(
      bytesOf(['From: Alice <alice@example.org>, bob@example.net', 'Sender: alice@example.org', '', 'x']),
      false,
    );
    expect(summary.from).toBe('Alice <alice@example.org>');
    expect(summary.fromAll).toEqual(['Alice <alice@example.org>', 'bob@example.net']);
  });

  it('decodes encoded display names', async () => {
    const summary = await summarizeMessage(
      bytesOf([
        'From: =?ISO-8859-1?Q?Andr=E9?= Pirard <pirard@example.be>',
        'To: =?UTF-8?B?S8O2bmln?= <k@example.de>',
        '',
        'x',
      ]),
      false,
    );
    expect(summary.from).toBe('André Pirard <pirard@example.be>');
    expect(summary.to).toEqual(['König <k@example.de>']);
  });

  it('maps C1 control characters to windows-1252 and leaves other text alone', () => {
    expect(repairWindows1252('\u0091a\u0092 \u0096 \u0099')).toBe('\u2018a\u2019 \u2013 \u2122');
    expect(repairWindows1252('\u0081\u008d')).toBe('\u0081\u008d'); // undefined in windows-1252
    expect(repairWindows1252('naïve ümlaut')).toBe('naïve ümlaut');
  });

  it('reads raw 8-bit header bytes as UTF-8 when valid, else as windows-1252, field by field', async () => {
    const head = Buffer.concat([
      Buffer.from('Subject: It', 'latin1'),
      Buffer.from([0x92]),
      Buffer.from('s due \u20ac5\r\n'.replace('\u20ac', ''), 'latin1'),
      Buffer.from('From: J\u00fcrgen <j@example.org>\r\n', 'utf8'),
      Buffer.from('\r\nbody\r\n', 'latin1'),
    ]);
    const summary = await summarizeMessage(head, false);
    expect(summary.subject).toBe('It\u2019s due 5');
    expect(summary.from).toContain('J\u00fcrgen');
  });

  it('gives null for absent fields and an empty subject for an empty Subject header', async () => {
    const summary = await summarizeMessage(bytesOf(['Subject:', '', 'x']), false);
    expect(summary.subject).toBe('');
    expect(summary.from).toBeNull();
    expect(summary.to).toEqual([]);
    expect(summary.date).toBeNull();
    expect(summary.messageId).toBeNull();
    expect(summary.contentType).toBeNull();
    expect((await summarizeMessage(bytesOf(['From: a@b.example', '', 'x']), false)).subject).toBeNull();
  });

  it('lists MIME parts with type, file name, decoded size and disposition', async () => {
    const attachment = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    const base64 = Buffer.from(attachment).toString('base64').replace(/.{76}/g, '$&\r\n');
    const summary = await summarizeMessage(
      bytesOf([
        'From: a@example.org',
        'Content-Type: multipart/mixed; boundary="outer"',
        '',
        '--outer',
        'Content-Type: multipart/alternative; boundary="inner"',
        '',
        '--inner',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: quoted-printable',
        '',
        'caf=C3=A9',
        '--inner',
        'Content-Type: text/html; charset=utf-8',
        '',
        '<p>hi</p>',
        '--inner--',
        '--outer',
        'Content-Type: application/octet-stream; name="data.bin"',
        'Content-Disposition: attachment; filename="=?UTF-8?Q?r=C3=A9sum=C3=A9.bin?="',
        'Content-Transfer-Encoding: base64',
        '',
        base64,
        '--outer',
        'Content-Type: image/png',
        'Content-Disposition: inline',
        'Content-Transfer-Encoding: base64',
        '',
        'iVBORw0KGgo=',
        '--outer--',
        '',
      ]),
      false,
    );
    expect(summary.contentType).toBe('multipart/mixed; boundary="outer"');
    expect(summary.parts).toEqual([
      // "café" is 5 bytes in UTF-8 ("caf=C3=A9"), "<p>hi</p>" 9; the line break before a boundary is not content.
      { contentType: 'text/plain', filename: null, sizeBytes: 5, disposition: null },
      { contentType: 'text/html', filename: null, sizeBytes: 9, disposition: null },
      {
        contentType: 'application/octet-stream',
        filename: 'résumé.bin',
        sizeBytes: 1000,
        disposition: 'attachment',
      },
      // "iVBORw0KGgo=": 11 base64 characters carry 66 bits, 8 whole bytes.
      { contentType: 'image/png', filename: null, sizeBytes: 8, disposition: 'inline' },
    ]);
  });

  it('copies the truncated flag and summarises a message cut inside a part', async () => {
    const full = bytesOf([
      'Subject: cut',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: application/pdf; name="a.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFI',
    ]);
    const summary = await summarizeMessage(full.subarray(0, full.length - 10), true);
    expect(summary.truncated).toBe(true);
    expect(summary.subject).toBe('cut');
    expect(summary.parts.map((p) => p.contentType)).toEqual(['application/pdf']);
  });

  it('stops entering MIME structure that is too deep and still reads the header', async () => {
    const lines = [
      'From: Deep <deep@example.org>',
      'Subject: =?UTF-8?Q?d=C3=A9ep?=',
      'Content-Type: multipart/mixed; boundary="b0"',
      '',
    ];
    for (let depth = 0; depth <= MIME_MAX_DEPTH + 5; depth++) {
      lines.push(`--b${depth}`, `Content-Type: multipart/mixed; boundary="b${depth + 1}"`, '');
    }
    lines.push('x');
    const summary = await summarizeMessage(bytesOf(lines), false);
    expect(summary.from).toBe('Deep <deep@example.org>');
    expect(summary.subject).toBe('déep');
    // The entity at the depth limit is listed as one part instead of being entered.
    expect(summary.parts.map((p) => p.contentType)).toEqual(['multipart/mixed']);
    expect(summary.dsn).toBeNull();
  });

  it('summarises empty input as all nulls', async () => {
    const summary = await summarizeMessage(new Uint8Array(0), false);
    expect(summary.from).toBeNull();
    expect(summary.subject).toBeNull();
    expect(summary.received).toEqual([]);
    expect(summary.parts).toEqual([]);
  });

  it('never rejects, whatever the bytes', async () => {
    const header = encoder.encode(
      'From: a@b\r\nContent-Type: multipart/report; report-type=delivery-status; boundary="q"\r\n\r\n--q\r\nContent-Type: message/delivery-status\r\n\r\n',
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), fc.boolean(), async (tail, withHeader) => {
        const bytes = withHeader ? new Uint8Array([...header, ...tail]) : tail;
        const summary = await summarizeMessage(bytes, false);
        expect(Array.isArray(summary.parts)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('never rejects on text made of MIME-looking pieces', async () => {
    const pieces = fc.constantFrom(
      'Content-Type: multipart/mixed; boundary="a"\r\n',
      'Content-Type: message/rfc822\r\n',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="a"\r\n',
      'Content-Type: message/delivery-status\r\n',
      'Content-Transfer-Encoding: base64\r\n',
      'Content-Transfer-Encoding: quoted-printable\r\n',
      'Subject: =?UTF-8?B?',
      '=?x?Q?=FF?=',
      '--a\r\n',
      '--a--\r\n',
      '\r\n',
      'Final-Recipient: rfc822;\r\n',
      ' folded\r\n',
      '=\r\n',
      '\u0000\u00ff',
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pieces, { maxLength: 40 }), async (list) => {
        const summary = await summarizeMessage(encoder.encode(list.join('')), true);
        expect(summary.truncated).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe('message-summary header limit', () => {
  test.each([
    ['CRLF header', 'A: 1\r\nB: 2\r\n\r\nbody', 14],
    ['LF header', 'A: 1\nB: 2\n\nbody', 11],
    ['no header (blank first line, CRLF)', '\r\nbody', 2],
    ['no header (blank first line, LF)', '\nbody', 1],
    ['header only, shorter than the limit', 'A: 1\r\n', 6],
  ])('finds where the header ends: %s', (_name, text, want) => {
    expect(headerLength(encoder.encode(text), 100)).toBe(want);
  });

  it('gives null when no header ends within the limit', () => {
    expect(headerLength(encoder.encode(`A: ${'x'.repeat(200)}\r\n\r\nbody`), 100)).toBeNull();
  });

  it('summarises a header longer than the limit from the first bytes only, marked truncated', () => {
    const message = bytesOf([
      'From: <a@example.org>',
      `X-Long: ${'y'.repeat(300)}`,
      'Subject: late',
      '',
      'body',
    ]);
    const cut = summarizeMessageSync(message, false, 100);
    expect(cut.from).toBe('a@example.org');
    expect(cut.subject).toBeNull();
    expect(cut.truncated).toBe(true);
    const whole = summarizeMessageSync(message, false, message.length);
    expect(whole.subject).toBe('late');
    expect(whole.truncated).toBe(false);
    // The limit is on the header: a long body after a short header is no reason to cut.
    const longBody = bytesOf(['Subject: short', '', 'z'.repeat(1000)]);
    expect(summarizeMessageSync(longBody, false, 100)).toMatchObject({ subject: 'short', truncated: false });
  });
});
