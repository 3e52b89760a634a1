import { describe, expect, it } from 'vitest';
import {
  addressDomain,
  decidingReply,
  FAILED_DISPOSITIONS,
  isFailedDisposition,
} from '../../src/model/session-queries.js';
import type { RecipientDisposition, ReplyRecord } from '../../src/model/types.js';

const reply = (code: number): ReplyRecord => ({ code, enhancedStatus: null, text: '', tsMicros: 0 });

describe('decidingReply', () => {
  it('is the RCPT refusal when RCPT was refused (RFC 5321 4.2: 4yz and 5yz refuse)', () => {
    const refused = reply(550);
    expect(decidingReply({ rcptReply: refused, finalReply: reply(250) })).toBe(refused);
    const deferred = reply(450);
    expect(decidingReply({ rcptReply: deferred, finalReply: null })).toBe(deferred);
  });

  it('is the final reply when RCPT was accepted or not seen', () => {
    const final = reply(554);
    expect(decidingReply({ rcptReply: reply(250), finalReply: final })).toBe(final);
    expect(decidingReply({ rcptReply: reply(251), finalReply: null })).toBeNull();
    expect(decidingReply({ rcptReply: null, finalReply: final })).toBe(final);
  });
});

describe('failed dispositions', () => {
  it('are the refused and deferred ones, at RCPT or after the data (docs/CSV.md recipients_failed)', () => {
    expect([...FAILED_DISPOSITIONS].sort()).toEqual([
      'deferred-data',
      'deferred-rcpt',
      'rejected-data',
      'rejected-rcpt',
    ]);
    const others: RecipientDisposition[] = ['delivered', 'not-sent', 'unknown'];
    for (const d of others) expect(isFailedDisposition(d)).toBe(false);
    for (const d of FAILED_DISPOSITIONS) expect(isFailedDisposition(d)).toBe(true);
  });
});

describe('addressDomain', () => {
  it.each([
    ['user@Example.ORG', 'example.org'],
    ['"a@b"@host.example', 'host.example'],
    ['user@example.org>', 'example.org'],
    ['postmaster', null],
    ['user@', null],
    ['', null],
    [null, null],
  ])('%j has domain %j', (address, domain) => {
    expect(addressDomain(address)).toBe(domain);
  });
});
