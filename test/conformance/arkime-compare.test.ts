import { describe, expect, it } from 'vitest';
import { ARKIME_RULES, compareArkime, parseArkimeTest } from '../harness/conformance/arkime-compare.js';
import { session } from './fake-session.js';

const record = (extra: Record<string, unknown>) => ({
  body: {
    protocol: ['smtp', 'tcp'],
    source: { ip: '10.0.0.1', port: 40000 },
    destination: { ip: '10.0.0.2', port: 25 },
    email: {},
    tags: [],
    packetPos: [1, 2, 3],
    ...extra,
  },
});

describe('arkime-compare', () => {
  it('does not count the empty linked record Arkime adds for a connection it already has', () => {
    const text = JSON.stringify({ sessions3: [record({}), record({ packetPos: [], rootId: 'r1' })] });
    const findings = compareArkime('c', parseArkimeTest(text), [session()]);
    const empty = findings.find((f) => f.check === '40000>25#2.record');
    expect([empty?.agree, empty?.rule]).toEqual([true, ARKIME_RULES.emptyRecord]);
    expect(findings.find((f) => f.check === 'sessions')?.agree).toBe(true);
  });

  it('still compares a record without packets that names no root session', () => {
    const text = JSON.stringify({ sessions3: [record({}), record({ packetPos: [] })] });
    const findings = compareArkime('c', parseArkimeTest(text), [session()]);
    expect(findings.find((f) => f.check === 'sessions')?.agree).toBe(false);
  });
});
