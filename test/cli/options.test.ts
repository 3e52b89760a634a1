import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/cli/options.js';
import { runMain } from '../helpers/run-main.js';

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

  it('refuses -C without -w, or without live capture, naming what to add', () => {
    expect(() => parseCli(['-i', 'lo', '-C', '100'])).toThrow(
      new UsageError('--rotate-mb rotates the packet file: add -w FILE'),
    );
    expect(() => parseCli(['capture.pcap', '-C', '100'])).toThrow(
      new UsageError('--rotate-mb rotates the packet file of a live capture: add -i INTERFACE -w FILE'),
    );
    expect(parseCli(['-i', 'lo', '-w', 'out.pcap', '-C', '100']).rotateBytes).toBe(100_000_000);
  });

  it('makes -C without -w a usage error: exit 2 with the fix in the message', async () => {
    const r = await runMain([join(import.meta.dirname, '../../captures/postfix-basic.pcap'), '-C', '100']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('add -i INTERFACE -w FILE');
    expect(r.out).toBe('');
  });

  it('takes --threads as a whole number of one or more, null by default (one per core)', () => {
    expect(parseCli(['a.pcap']).threads).toBeNull();
    expect(parseCli(['a.pcap', '--threads', '1']).threads).toBe(1);
    expect(parseCli(['a.pcap', '--threads', '4']).threads).toBe(4);
    expect(() => parseCli(['a.pcap', '--threads', '0'])).toThrow(UsageError);
    expect(() => parseCli(['a.pcap', '--threads', 'all'])).toThrow('--threads takes a whole number');
  });
});
