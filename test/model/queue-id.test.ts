import { describe, expect, test } from 'vitest';
import { parseQueueId } from '../../src/model/queue-id.js';

describe('queue-id', () => {
  test.each([
    // Postfix (short and long queue ids), as in the seed dialogue and with enhanced status codes.
    ['250 Ok: queued as 12345', 'Ok: queued as 12345', '12345'],
    ['Postfix long id', '2.0.0 Ok: queued as 4XyZ9k1Lm2z3vB', '4XyZ9k1Lm2z3vB'],
    ['Postfix classic hex id', '2.0.0 Ok: queued as 3F1A2B04C5', '3F1A2B04C5'],
    // smtp-server with a custom accept message.
    ['smtp-server', 'Message queued as abc123', 'abc123'],
    // Exim, classic and 4.97+ ids.
    ['Exim', 'OK id=1Mugho-0003Dg-Un', '1Mugho-0003Dg-Un'],
    ['smtp-server application', 'OK id=1hEC046C01', '1hEC046C01'],
    ['smtp-server application, with status', '2.0.0 OK id=1hEC046C01', '1hEC046C01'],
    ['Exim 4.97', 'OK id=1rE3Zg-00000000AbC-1x2y', '1rE3Zg-00000000AbC-1x2y'],
    // Sendmail and OpenSMTPD.
    ['Sendmail', '2.0.0 x9ABC123456789 Message accepted for delivery', 'x9ABC123456789'],
    ['Sendmail without status', 'x9ABC123456789 Message accepted for delivery', 'x9ABC123456789'],
    ['OpenSMTPD', '2.0.0: 0a1b2c3d Message accepted for delivery', '0a1b2c3d'],
    // Exchange and Microsoft 365.
    [
      'Exchange',
      '2.6.0 <4f1c9a1e2b3d4c5e@mail.example.org> [InternalId=12345678901234, Hostname=EX01.example.org] Queued mail for delivery',
      '4f1c9a1e2b3d4c5e@mail.example.org',
    ],
    [
      'Microsoft 365',
      '2.6.0 <AM0PR01MB1234.eurprd01.prod.outlook.com@example.com> [InternalId=1, Hostname=AM0PR01MB1234.eurprd01.prod.outlook.com] 5120 bytes in 0.021, 238.095 KB/sec Queued mail for delivery',
      'AM0PR01MB1234.eurprd01.prod.outlook.com@example.com',
    ],
    // Gmail: the id after the Unix time.
    ['Gmail', '2.0.0 OK  1589291234 a1si123456qkh.123 - gsmtp', 'a1si123456qkh.123'],
    // qmail: the qmail-queue process number, as qmail's log names it.
    ['qmail', 'ok 1589291234 qp 4567', 'qp 4567'],
    // Haraka.
    [
      'Haraka',
      'Message Queued (8A2B1C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D.1)',
      '8A2B1C3D-4E5F-4A6B-8C7D-9E0F1A2B3C4D.1',
    ],
  ])('%s', (_name, text, expected) => {
    expect(parseQueueId(text)).toBe(expected);
  });

  test.each([
    'Ok',
    '2.0.0 Ok',
    'OK: message queued',
    'Requested mail action okay, completed',
    '2.1.5 Ok',
    'Queued mail for delivery',
    '',
  ])('finds no id in "%s"', (text) => {
    expect(parseQueueId(text)).toBeNull();
  });
});
