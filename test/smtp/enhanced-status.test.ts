import { describe, expect, it, test } from 'vitest';
import {
  describeEnhancedStatus,
  parseEnhancedStatus,
  registeredEnhancedStatusDetails,
} from '../../src/smtp/enhanced-status.js';

describe('enhanced-status', () => {
  test.each([
    { text: '5.1.1 <bob@example.org>: Recipient address rejected', expected: '5.1.1' },
    { text: '2.0.0 Ok: queued as 4XyZ', expected: '2.0.0' },
    { text: '4.7.1 Greylisted', expected: '4.7.1' },
    { text: '5.7.606 Access denied, banned sending IP', expected: '5.7.606' },
    { text: '4.4.5', expected: '4.4.5' },
    { text: '  5.5.2 Syntax error', expected: '5.5.2' },
    { text: '5.1.10 RESOLVER.ADR.RecipientNotFound', expected: '5.1.10' },
    { text: '5.7.1: Relay access denied', expected: '5.7.1' },
    { text: '999.1.1 nope', expected: null },
    { text: '3.1.1 class 3 does not exist', expected: null },
    { text: '5.1 missing detail', expected: null },
    { text: '5.1.1000 detail too long', expected: null },
    { text: '5.1000.1 subject too long', expected: null },
    { text: '5.01.1 leading zero', expected: null },
    { text: '5.1.01 leading zero', expected: null },
    { text: '5.1.1.2 four fields', expected: null },
    { text: '5.1.1x glued text', expected: null },
    { text: 'Ok 5.1.1 not at the start', expected: null },
    { text: '', expected: null },
  ])('parses "$text" as $expected', ({ text, expected }) => {
    expect(parseEnhancedStatus(text)).toBe(expected);
  });

  it('describes a registered status with class, subject and detail', () => {
    const d = describeEnhancedStatus('5.1.1');
    expect(d).toMatchObject({
      status: '5.1.1',
      statusClass: 'permanent',
      permanent: true,
      transient: false,
      subjectNumber: 1,
      detailNumber: 1,
      subject: 'Addressing status',
      known: true,
    });
    expect(d?.detail).toMatch(/Bad destination mailbox address/);
  });

  it('gives the same subject.detail meaning under every class', () => {
    const transient = describeEnhancedStatus('4.2.2');
    const permanent = describeEnhancedStatus('5.2.2');
    expect(transient?.detail).toBe(permanent?.detail);
    expect(transient?.statusClass).toBe('persistent-transient');
    expect(transient?.transient).toBe(true);
    expect(describeEnhancedStatus('2.0.0')?.statusClass).toBe('success');
  });

  test.each([
    ['4.7.0', /Other or undefined security/],
    ['5.7.1', /not authorized/],
    ['5.7.8', /credentials invalid/i],
    ['5.7.25', /Reverse DNS/],
    ['5.7.26', /Multiple authentication checks/],
    ['5.7.27', /null MX/],
    ['4.4.5', /congestion/],
    ['5.3.4', /too big/],
    ['5.2.3', /exceeds an administrative limit/],
    ['4.5.3', /Too many recipients/],
    ['5.1.10', /null MX/],
    ['5.6.10', /UTF-8/],
    ['4.7.28', /flood/],
    ['5.7.30', /REQUIRETLS/],
    ['5.5.6', /too long/],
    ['5.3.6', /priority/],
  ])('knows %s', (status, meaning) => {
    const d = describeEnhancedStatus(status);
    expect(d?.known).toBe(true);
    expect(d?.detail).toMatch(meaning);
  });

  it('falls back to the subject meaning for an unregistered detail', () => {
    const d = describeEnhancedStatus('5.7.606');
    expect(d?.known).toBe(false);
    expect(d?.subject).toBe('Security or policy status');
    expect(d?.detail).toBe(describeEnhancedStatus('5.7.0')?.detail);
  });

  it('describes an unregistered subject without claiming a meaning', () => {
    const d = describeEnhancedStatus('5.9.1');
    expect(d?.known).toBe(false);
    expect(d?.subject).toMatch(/Unregistered subject 9/);
  });

  it('rejects text that is not a lone status', () => {
    expect(describeEnhancedStatus('5.1.1 extra')).toBeNull();
    expect(describeEnhancedStatus('550')).toBeNull();
  });

  it('covers every detail range the registry defines', () => {
    const all = new Set(registeredEnhancedStatusDetails());
    const ranges: [number, number][] = [
      [0, 0],
      [1, 10],
      [2, 4],
      [3, 6],
      [4, 7],
      [5, 6],
      [6, 10],
      [7, 30],
    ];
    for (const [subject, last] of ranges) {
      for (let detail = subject === 0 ? 0 : 1; detail <= last; detail++) {
        expect(all.has(`${subject}.${detail}`), `${subject}.${detail}`).toBe(true);
      }
      expect(all.has(`${subject}.0`)).toBe(true);
    }
  });
});
