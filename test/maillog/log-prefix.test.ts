import { describe, expect, it } from 'vitest';
import { parseLogPrefix } from '../../src/maillog/log-prefix.js';

const UTC = { referenceYear: 2026, utcOffsetMinutes: 0 };
const us = (iso: string) => Date.parse(iso) * 1000;

describe('log prefixes', () => {
  it('reads BSD syslog and journald short stamps in the given zone and reference year', () => {
    const p = parseLogPrefix('Nov  3 08:09:22 mx postfix/smtpd[16830]: connect from x[1.2.3.4]', UTC);
    expect(p).toMatchObject({
      format: 'syslog',
      yearless: true,
      host: 'mx',
      program: 'postfix/smtpd',
      pid: 16830,
    });
    expect(p?.tsMicros).toBe(us('2026-11-03T08:09:22Z'));
    expect(p?.text).toBe('connect from x[1.2.3.4]');
    const east = parseLogPrefix('Nov 23 18:09:22 mx postfix/qmgr[1]: x', {
      referenceYear: 2026,
      utcOffsetMinutes: 60,
    });
    expect(east?.tsMicros).toBe(us('2026-11-23T17:09:22Z'));
  });

  it('reads journald short-precise and RFC 3339 stamps with their own zone', () => {
    expect(parseLogPrefix('Nov 23 18:09:22.123456 mx postfix/smtp[7]: x', UTC)?.tsMicros).toBe(
      us('2026-11-23T18:09:22Z') + 123456,
    );
    const iso = parseLogPrefix('2026-11-23T18:09:22.5+01:00 mx postfix-relay/smtpd[9]: y', UTC);
    expect(iso).toMatchObject({ yearless: false, program: 'postfix-relay/smtpd', text: 'y' });
    expect(iso?.tsMicros).toBe(us('2026-11-23T17:09:22.5Z'));
    expect(parseLogPrefix('2026-11-23T18:09:22+0000 mx postfix/postlog: z', UTC)).toMatchObject({
      pid: null,
      program: 'postfix/postlog',
      text: 'z',
    });
  });

  it("reads Exim's own stamps, with the optional zone and process id", () => {
    const p = parseLogPrefix('2026-11-23 18:09:22 +0100 [4242] 1abcDe-000123-Xy Completed', UTC);
    expect(p).toMatchObject({ format: 'exim', pid: 4242, text: '1abcDe-000123-Xy Completed', host: null });
    expect(p?.tsMicros).toBe(us('2026-11-23T17:09:22Z'));
    expect(parseLogPrefix('2026-11-23 18:09:22.250 1abcDe-000123-Xy Completed', UTC)?.tsMicros).toBe(
      us('2026-11-23T18:09:22.25Z'),
    );
  });

  it('refuses text without a prefix and impossible dates', () => {
    expect(parseLogPrefix('hello world', UTC)).toBeNull();
    expect(parseLogPrefix('Foo 23 18:09:22 mx postfix/smtpd[1]: x', UTC)).toBeNull();
    expect(parseLogPrefix('2026-13-23 18:09:22 x', UTC)).toBeNull();
  });
});
