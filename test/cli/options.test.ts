import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/options.js';

describe('options', () => {
  it('takes -s 0 as the largest snapshot length, as tcpdump does', () => {
    expect(parseCli(['-i', 'lo', '-s', '0']).live?.snaplen).toBe(0);
    expect(parseCli(['-i', 'lo', '--snaplen', '1500']).live?.snaplen).toBe(1500);
    expect(parseCli(['-i', 'lo']).live?.snaplen).toBe(262_144);
  });

  it('refuses a snapshot length that is not a whole number', () => {
    expect(() => parseCli(['-i', 'lo', '-s', '-1'])).toThrow(UsageError);
    expect(() => parseCli(['-i', 'lo', '-s', 'max'])).toThrow('--snaplen takes a whole number');
  });
});
