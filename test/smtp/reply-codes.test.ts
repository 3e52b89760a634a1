import { describe, expect, it, test } from 'vitest';
import { describeReplyCode, knownReplyCodes, replyCodeClass } from '../../src/smtp/reply-codes.js';

describe('reply-codes', () => {
  // The reply-code table of the protocol reference, plus the AUTH and RFC 7504 codes.
  const tableCodes = [
    211, 214, 220, 221, 250, 251, 252, 253, 354, 355, 421, 432, 450, 451, 452, 453, 454, 458, 459, 500, 501,
    502, 503, 504, 521, 530, 534, 538, 550, 551, 552, 553, 554,
  ];
  const extraCodes = [235, 334, 455, 535, 555, 556];

  test.each([...tableCodes, ...extraCodes])('knows %i', (code) => {
    const d = describeReplyCode(code);
    expect(d.known).toBe(true);
    expect(d.code).toBe(code);
    expect(d.meaning.length).toBeGreaterThan(10);
  });

  test.each([
    [220, 'positive-completion'],
    [354, 'positive-intermediate'],
    [334, 'positive-intermediate'],
    [421, 'transient-negative'],
    [554, 'permanent-negative'],
    [150, 'positive-preliminary'],
  ] as const)('puts %i in class %s', (code, cls) => {
    expect(replyCodeClass(code)).toBe(cls);
    expect(describeReplyCode(code).class).toBe(cls);
  });

  it('gives the meaning that goes with the code', () => {
    expect(describeReplyCode(550).meaning).toMatch(/mailbox unavailable/);
    expect(describeReplyCode(354).meaning).toMatch(/Start mail input/);
    expect(describeReplyCode(535).meaning).toMatch(/credentials invalid/);
    expect(describeReplyCode(556).meaning).toMatch(/Domain does not accept mail/);
  });

  it('describes an unlisted code by its class digit', () => {
    const d = describeReplyCode(599);
    expect(d.known).toBe(false);
    expect(d.class).toBe('permanent-negative');
    expect(d.meaning).toMatch(/Permanent negative/);
    expect(describeReplyCode(299).meaning).toMatch(/Positive completion/);
    expect(describeReplyCode(471).meaning).toMatch(/Transient negative/);
  });

  test.each([0, 99, 600, 999, -250, 250.5, Number.NaN])('calls %d unknown', (code) => {
    const d = describeReplyCode(code);
    expect(d.class).toBe('unknown');
    expect(d.known).toBe(false);
  });

  it('lists its codes in ascending order', () => {
    const codes = knownReplyCodes();
    expect([...codes].sort((a, b) => a - b)).toEqual(codes);
    for (const code of tableCodes) expect(codes).toContain(code);
  });
});
