import { describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { matchesFilter, parseFilter } from '../../src/query/filter.js';
import { makeRecipient, makeReply, makeSession, makeTransaction } from '../helpers/sessions.js';

function filterOf(text: string) {
  const parsed = parseFilter(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.filter;
}

const matches = (text: string, session: SmtpSession): boolean => matchesFilter(filterOf(text), session);

const delivered = makeSession();
const greylisted = makeSession({
  client: { ip: '203.0.113.7', port: 40000 },
  helo: 'grey.example.com',
  transactions: [
    makeTransaction({
      mailFrom: 'carol@shop.example.com',
      recipients: [
        makeRecipient({
          address: 'dave@mail.example.net',
          rcptReply: makeReply(
            450,
            '4.2.0',
            '4.2.0 <dave@mail.example.net>: Recipient address rejected: Greylisted',
          ),
          finalReply: null,
          disposition: 'deferred-rcpt',
          reasonClass: 'greylisted',
        }),
      ],
      outcome: 'deferred',
      finalReply: null,
      reasonClass: 'greylisted',
    }),
  ],
});

describe('filter', () => {
  it('matches every session with an empty query', () => {
    expect(filterOf('   ').terms).toEqual([]);
    expect(matches('', delivered)).toBe(true);
  });

  it('matches plain words anywhere, ignoring case', () => {
    expect(matches('ALICE@example', delivered)).toBe(true);
    expect(matches('queued', delivered)).toBe(true); // reply text
    expect(matches('Quarterly', delivered)).toBe(true); // subject
    expect(matches('198.51.100.25', delivered)).toBe(true);
    expect(matches('greylisted', delivered)).toBe(false);
    expect(matches('greylisted', greylisted)).toBe(true);
  });

  it('requires every term and negates a term with a minus', () => {
    expect(matches('alice bob', delivered)).toBe(true);
    expect(matches('alice nobody', delivered)).toBe(false);
    expect(matches('-greylisted', delivered)).toBe(true);
    expect(matches('-greylisted', greylisted)).toBe(false);
  });

  it('keeps quoted phrases together', () => {
    expect(filterOf('"queued as" x').terms.map((t) => t.value)).toEqual(['queued as', 'x']);
    expect(matches('"ok: queued as"', delivered)).toBe(true);
    expect(matches('"queued ok"', delivered)).toBe(false);
  });

  it('matches reply codes exactly, by class and by enhanced status', () => {
    expect(matches('code:450', greylisted)).toBe(true);
    expect(matches('code:4xx', greylisted)).toBe(true);
    expect(matches('code:45x', greylisted)).toBe(true);
    expect(matches('code:4.2.0', greylisted)).toBe(true);
    expect(matches('code:550', greylisted)).toBe(false);
    expect(matches('code:4xx', delivered)).toBe(false);
    expect(matches('code:221', delivered)).toBe(true);
  });

  it('matches reason classes by name or prefix', () => {
    expect(matches('reason:greylisted', greylisted)).toBe(true);
    expect(matches('reason:grey', greylisted)).toBe(true);
    expect(matches('reason:greylisted', delivered)).toBe(false);
  });

  it('matches client or server addresses exactly, or by prefix ending in a dot', () => {
    expect(matches('ip:203.0.113.7', greylisted)).toBe(true);
    expect(matches('ip:198.51.100.25', greylisted)).toBe(true);
    expect(matches('ip:203.0.113.', greylisted)).toBe(true);
    expect(matches('ip:203.0.113', greylisted)).toBe(false);
    expect(matches('ip:203.0.113.7', delivered)).toBe(false);
  });

  it('matches a domain and the domains below it, not look-alikes', () => {
    expect(matches('domain:example.com', greylisted)).toBe(true); // shop.example.com
    expect(matches('domain:mail.example.net', greylisted)).toBe(true);
    expect(matches('domain:ample.com', greylisted)).toBe(false);
    expect(matches('domain:example.org', delivered)).toBe(true);
  });

  it('matches envelope sender, recipient, HELO, server and end', () => {
    expect(matches('from:carol', greylisted)).toBe(true);
    expect(matches('from:carol', delivered)).toBe(false);
    expect(matches('to:dave@', greylisted)).toBe(true);
    expect(matches('helo:grey.', greylisted)).toBe(true);
    expect(matches('server:postfix', delivered)).toBe(true);
    expect(matches('end:quit', delivered)).toBe(true);
    expect(matches('end:rst', delivered)).toBe(false);
  });

  it('treats a word with an unknown key as plain text', () => {
    const f = filterOf('::1 foo:bar');
    expect(f.terms.map((t) => t.key)).toEqual(['text', 'text']);
  });

  it('rejects malformed codes and unknown reason classes with a message naming the term', () => {
    const bad = parseFilter('code:abc');
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error).toContain("'abc'");
    expect(parseFilter('code:650').ok).toBe(false);
    expect(parseFilter('reason:nonsense').ok).toBe(false);
    expect(parseFilter('ip:').ok).toBe(false);
  });
});
