import { describe, expect, it } from 'vitest';
import { createQuitControl, EXIT_AT_ONCE, type QuitRequest } from '../../src/dashboard/quit-control.js';

function record(first: QuitRequest, second?: QuitRequest): { quits: number; exits: number[] } {
  const seen = { quits: 0, exits: [] as number[] };
  const control = createQuitControl(
    () => {
      seen.quits++;
    },
    (code) => {
      seen.exits.push(code);
    },
  );
  control.request(first);
  if (second !== undefined) control.request(second);
  return seen;
}

describe('quit-control', () => {
  it.each(['key', 'SIGINT', 'SIGTERM'] as const)('starts the orderly stop on a first %s', (first) => {
    expect(record(first)).toEqual({ quits: 1, exits: [] });
  });

  it.each([
    { first: 'key', second: 'key', code: 130 },
    { first: 'SIGINT', second: 'key', code: 130 },
    { first: 'key', second: 'SIGINT', code: 130 },
    { first: 'SIGINT', second: 'SIGINT', code: 130 },
    { first: 'SIGTERM', second: 'SIGTERM', code: 143 },
    { first: 'key', second: 'SIGTERM', code: 143 },
    { first: 'SIGTERM', second: 'SIGINT', code: 130 },
  ] as const)(
    'leaves at once with $code on a $second while stopping after a $first',
    ({ first, second, code }) => {
      expect(record(first, second)).toEqual({ quits: 1, exits: [code] });
    },
  );

  it('exits with the status of a process killed by the signal', () => {
    expect(EXIT_AT_ONCE).toEqual({ SIGINT: 128 + 2, SIGTERM: 128 + 15 });
  });

  it('says whether the stop has begun', () => {
    const control = createQuitControl(
      () => undefined,
      () => undefined,
    );
    expect(control.quitting).toBe(false);
    control.request('key');
    expect(control.quitting).toBe(true);
  });
});
