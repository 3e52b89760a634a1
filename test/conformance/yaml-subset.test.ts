import { describe, expect, it } from 'vitest';
import { parseYamlSubset } from '../harness/conformance/yaml-subset.js';

describe('yaml-subset', () => {
  it('reads a checks list with nested filters, flow sequences, comments and numbers', () => {
    const text = [
      'requires:',
      '  min-version: 8.0.7',
      '',
      'pcap: ../bug-1045/x.pcap',
      'checks:',
      '  # first check',
      '  - filter:',
      '      count: 2',
      '      match:',
      '        event_type: smtp',
      '        smtp.mail_from: <alice@example.com>',
      '        not-has-key: ["smtp.rcpt_to[0]", "email.from"]',
      '- ignored: "a # not a comment"',
    ].join('\n');
    const doc = parseYamlSubset(text) as Record<string, unknown>;
    expect(doc['requires']).toEqual({ 'min-version': '8.0.7' });
    expect(doc['pcap']).toBe('../bug-1045/x.pcap');
    expect(doc['checks']).toEqual([
      {
        filter: {
          count: 2,
          match: {
            event_type: 'smtp',
            'smtp.mail_from': '<alice@example.com>',
            'not-has-key': ['smtp.rcpt_to[0]', 'email.from'],
          },
        },
      },
    ]);
  });

  it('reads sequences written at the same indent as their key', () => {
    const doc = parseYamlSubset(
      'checks:\n- filter:\n    count: 0\n    match:\n      tx_id: 1\nargs:\n- -k none\n',
    );
    expect(doc).toEqual({ checks: [{ filter: { count: 0, match: { tx_id: 1 } } }], args: ['-k none'] });
  });

  it('keeps keys with an index or brackets inside them, and flow values after the colon', () => {
    const text = [
      'checks:',
      '  - filter:',
      '      match:',
      '        smtp.rcpt_to[0]: <bob@example.com>',
      '        email.to[1]: alice@example.com',
      '        email.attachment[0]: "a: b.txt"',
      '        email.received[0]: from x ([10.0.0.1]) by y',
      '        email.url[0]: test-site.org/blah/123/',
      '        not-has-key: [smtp.rcpt_to]',
      '  - [a, b]',
    ].join('\n');
    expect(parseYamlSubset(text)).toEqual({
      checks: [
        {
          filter: {
            match: {
              'smtp.rcpt_to[0]': '<bob@example.com>',
              'email.to[1]': 'alice@example.com',
              'email.attachment[0]': 'a: b.txt',
              'email.received[0]': 'from x ([10.0.0.1]) by y',
              'email.url[0]': 'test-site.org/blah/123/',
              'not-has-key': ['smtp.rcpt_to'],
            },
          },
        },
        ['a', 'b'],
      ],
    });
  });

  it('returns null for an empty document', () => {
    expect(parseYamlSubset('# only a comment\n\n')).toBeNull();
  });
});
