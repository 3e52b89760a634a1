import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLogLine } from '../../src/maillog/log-line.js';
import type { LogEvent } from '../../src/maillog/types.js';

const UTC = { referenceYear: 2026, utcOffsetMinutes: 0 };

function event(line: string): LogEvent {
  const r = parseLogLine(line, UTC);
  if (r.kind !== 'event') throw new Error(`not an event: ${line}`);
  return r.event;
}

describe('Postfix lines', () => {
  it('parses every line of the bundled Postfix logs (none bad)', () => {
    for (const name of [
      'postfix-basic',
      'postfix-rejects',
      'bounce-dsn',
      'lmtp',
      'bdat',
      'odd-commands',
      'many-rcpt',
    ]) {
      const lines = readFileSync(new URL(`../../captures/${name}.maillog`, import.meta.url), 'utf8').split(
        '\n',
      );
      for (const line of lines.filter((l) => l !== ''))
        expect(parseLogLine(line, UTC).kind, line).toBe('event');
    }
  });

  it('reads a delivery status line with its relay, delay, dsn and the remote reply', () => {
    const e = event(
      'Nov 23 18:09:22 mx postfix/smtp[16837]: 3B2411622F4: to=<gone@remote.test>, relay=127.0.0.1[127.0.0.1]:2590, delay=0.14, delays=0/0/0.12/0.01, dsn=5.1.1, status=bounced (host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <gone@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command))',
    );
    expect(e).toMatchObject({
      kind: 'delivery',
      origin: { mta: 'postfix', instance: 'postfix', service: 'smtp', pid: 16837, host: 'mx' },
      delivery: {
        queueId: '3B2411622F4',
        to: 'gone@remote.test',
        origTo: null,
        relay: '127.0.0.1[127.0.0.1]:2590',
        delaySeconds: 0.14,
        dsn: '5.1.1',
        status: 'bounced',
        transport: 'smtp',
        reply:
          'host 127.0.0.1[127.0.0.1] said: 550 5.1.1 <gone@remote.test>: Recipient address rejected: User unknown (in reply to RCPT TO command)',
      },
    });
  });

  it('reads orig_to, conn_use and a deferral', () => {
    const e = event(
      '2026-11-23T18:09:22.100+00:00 mx postfix/smtp[5]: 4XyZ9k1Lm2z3: to=<bob@example.net>, orig_to=<b@example.net>, relay=mx.example.net[192.0.2.7]:25, conn_use=2, delay=3600, delays=0.1/0/30/0, dsn=4.7.1, status=deferred (host mx.example.net[192.0.2.7] said: 451 4.7.1 Try again later (in reply to RCPT TO command))',
    );
    expect(e).toMatchObject({
      kind: 'delivery',
      delivery: {
        queueId: '4XyZ9k1Lm2z3',
        origTo: 'b@example.net',
        status: 'deferred',
        delaySeconds: 3600,
        dsn: '4.7.1',
      },
    });
  });

  it('reads NOQUEUE and queued rejects, with the client port when Postfix logs it', () => {
    const e = event(
      'Nov 23 18:14:18 mx postfix/smtpd[30395]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]:40123: 550 5.1.1 <x@y>: Recipient address rejected: User unknown; from=<a@b> to=<x@y> proto=ESMTP helo=<h>',
    );
    expect(e).toMatchObject({
      kind: 'reject',
      reject: {
        queueId: null,
        action: 'reject',
        stage: 'RCPT',
        client: { name: 'unknown', address: '192.0.2.9', port: 40123 },
        code: 550,
        enhancedStatus: '5.1.1',
        text: '<x@y>: Recipient address rejected: User unknown',
        from: 'a@b',
        to: 'x@y',
      },
    });
    const h = event(
      'Nov 23 18:14:18 mx postfix/cleanup[7]: 3A1C81622ED: reject: header Subject: buy now from unknown[192.0.2.9]; from=<a@b> to=<x@y> proto=ESMTP helo=<h>: 5.7.1 Message content rejected',
    );
    expect(h).toMatchObject({
      kind: 'reject',
      reject: {
        queueId: '3A1C81622ED',
        stage: 'header',
        code: 550,
        enhancedStatus: '5.7.1',
        text: 'Message content rejected',
      },
    });
  });

  it('reads notifications, expiry, removal, client and message-id lines, and IPv6 clients', () => {
    expect(
      event(
        'Nov 23 18:09:22 mx postfix/bounce[17041]: 3B2411622F4: sender non-delivery notification: 5D97A1622F7',
      ),
    ).toMatchObject({
      kind: 'notification',
      queueId: '3B2411622F4',
      notificationQueueId: '5D97A1622F7',
      notification: 'non-delivery',
    });
    expect(
      event(
        'Nov 25 18:09:22 mx postfix/qmgr[1]: 3B2411622F4: from=<alice@sender.test>, status=expired, returned to sender',
      ),
    ).toMatchObject({
      kind: 'expired',
      queueId: '3B2411622F4',
    });
    expect(
      event('Nov 23 18:09:22 mx postfix/smtpd[1]: 3B2411622F4: client=unknown[::1]:50000'),
    ).toMatchObject({
      kind: 'client',
      client: { address: '::1', port: 50000 },
    });
    expect(event('Nov 23 18:09:22 mx postfix/cleanup[1]: 3B2411622F4: message-id=<a@b>')).toMatchObject({
      messageId: 'a@b',
    });
    expect(event('Nov 23 18:09:22 mx postfix/submission/smtpd[1]: connect from h[192.0.2.1]')).toMatchObject({
      kind: 'connect',
      origin: { instance: 'postfix/submission', service: 'smtpd' },
    });
  });

  it('counts a damaged status line as bad, and other programs as such', () => {
    expect(
      parseLogLine('Nov 23 18:09:22 mx postfix/smtp[1]: 3B2411622F4: to=<a@b>, relay=x, status', UTC).kind,
    ).toBe('bad');
    expect(parseLogLine('Nov 23 18:09:22 mx CRON[1]: (root) CMD (true)', UTC).kind).toBe('other-program');
    expect(parseLogLine('garbage', UTC).kind).toBe('bad');
    expect(
      parseLogLine('Nov 23 18:09:22 mx postfix/anvil[1]: statistics: max connection rate 1/60s', UTC),
    ).toMatchObject({
      kind: 'event',
      event: { kind: 'ignored', queueId: null },
    });
  });
});

describe('Exim lines', () => {
  it('reads an arrival with its client, size, Message-ID, and a bounce arrival with R=', () => {
    expect(
      event(
        '2026-11-23 18:09:22 1tQxyz-000ABC-Qr <= alice@sender.test H=(client.test) [127.0.0.1]:41234 P=esmtp S=455 id=m-1@smtpscope.test',
      ),
    ).toMatchObject({
      kind: 'queued',
      queueId: '1tQxyz-000ABC-Qr',
      from: 'alice@sender.test',
      size: 455,
      client: { address: '127.0.0.1', port: 41234 },
      messageId: 'm-1@smtpscope.test',
      bounceOf: null,
    });
    expect(
      event('2026-11-23 18:09:23 1tQxz0-000ABD-Rs <= <> R=1tQxyz-000ABC-Qr U=Debian-exim P=local S=1800'),
    ).toMatchObject({
      kind: 'queued',
      from: '',
      bounceOf: '1tQxyz-000ABC-Qr',
    });
  });

  it('reads deliveries, failures, deferrals and Completed', () => {
    expect(
      event(
        '2026-11-23 18:09:22 1tQxyz-000ABC-Qr => bob@remote.test <b@remote.test> R=smarthost T=remote_smtp_smarthost H=127.0.0.1 [127.0.0.1]:2590 C="250 OK: message accepted" DT=1.5s',
      ),
    ).toMatchObject({
      kind: 'delivery',
      delivery: {
        to: 'bob@remote.test',
        origTo: 'b@remote.test',
        status: 'sent',
        relay: '127.0.0.1[127.0.0.1]:2590',
        reply: '250 OK: message accepted',
        transport: 'remote_smtp_smarthost',
        delaySeconds: 1.5,
      },
    });
    expect(
      event(
        '2026-11-23 18:09:22 1tQxyz-000ABC-Qr ** gone@remote.test R=smarthost T=remote_smtp_smarthost H=127.0.0.1 [127.0.0.1]:2590: SMTP error from remote mail server after RCPT TO:<gone@remote.test>: 550 5.1.1 User unknown',
      ),
    ).toMatchObject({
      kind: 'delivery',
      delivery: {
        status: 'bounced',
        dsn: '5.1.1',
        reply: 'SMTP error from remote mail server after RCPT TO:<gone@remote.test>: 550 5.1.1 User unknown',
      },
    });
    expect(
      event(
        '2026-11-23 18:09:22 1tQxyz-000ABC-Qr == later@remote.test R=smarthost T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<later@remote.test>: 451 4.7.1 Greylisted',
      ),
    ).toMatchObject({
      kind: 'delivery',
      delivery: { status: 'deferred', dsn: '4.7.1' },
    });
    expect(
      event('2026-11-23 18:09:22 1tQxyz-000ABC-Qr ** nobody@nowhere.test: Unrouteable address'),
    ).toMatchObject({
      kind: 'delivery',
      delivery: { to: 'nobody@nowhere.test', status: 'bounced', reply: 'Unrouteable address' },
    });
    expect(event('2026-11-23 18:09:22 1tQxyz-000ABC-Qr Completed')).toMatchObject({
      kind: 'removed',
      queueId: '1tQxyz-000ABC-Qr',
    });
  });

  it('reads refusals while receiving, with the client port', () => {
    expect(
      event(
        '2026-11-23 18:09:22 H=(client.test) [127.0.0.1]:41236 F=<alice@sender.test> rejected RCPT <nobody@local.test>: Unknown user',
      ),
    ).toMatchObject({
      kind: 'reject',
      reject: {
        queueId: null,
        stage: 'RCPT',
        to: 'nobody@local.test',
        from: 'alice@sender.test',
        client: { port: 41236 },
      },
    });
  });

  it('reads Exim lines that came through syslog', () => {
    expect(event('Nov 23 18:09:22 mx exim4[123]: 1tQxyz-000ABC-Qr Completed')).toMatchObject({
      kind: 'removed',
      origin: { mta: 'exim', yearless: true },
    });
  });
});
