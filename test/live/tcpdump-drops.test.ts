/**
 * Live capture through the tcpdump helper counts what the kernel dropped (src/capture/tcpdump-source.ts): with
 * a deliberately tiny kernel buffer (tcpdump -B) and a reader that stops reading for a moment, a burst of UDP
 * datagrams on the loopback interface overflows the buffer, and stats().dropped reports a non-zero count taken
 * from tcpdump's own statistics. Loopback only, bounded: 20,000 datagrams sent to a port nothing listens on.
 */

import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { openTcpdumpSource, parseTcpdumpDrops, tcpdumpArgs } from '../../src/capture/tcpdump-source.js';

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const isRoot = process.getuid?.() === 0;
const skip = !isRoot ? 'needs root' : !hasTcpdump ? 'needs tcpdump' : null;

describe('tcpdump helper', () => {
  it('reads tcpdump statistics lines', () => {
    expect(parseTcpdumpDrops('1234 packets dropped by kernel')).toEqual({ kernel: 1234 });
    expect(parseTcpdumpDrops('0 packets dropped by interface')).toEqual({ interface: 0 });
    expect(parseTcpdumpDrops('1 packet dropped by kernel')).toEqual({ kernel: 1 });
    expect(parseTcpdumpDrops('5 packets captured')).toBeNull();
    expect(
      tcpdumpArgs({
        device: 'lo',
        filter: 'tcp port 25',
        snaplen: 0,
        bufferMb: 2,
        count: null,
        durationMs: null,
        promiscuous: true,
      }),
    ).toEqual(['-i', 'lo', '-U', '-w', '-', '-n', '-s', '262144', '-B', '2048', 'tcp port 25']);
  });

  it.skipIf(skip !== null)(
    'counts kernel drops when a burst overflows a tiny capture buffer while the reader waits',
    async () => {
      const port = 40_000 + (process.pid % 5000);
      const source = await openTcpdumpSource({
        device: 'lo',
        filter: `udp and dst port ${port}`,
        snaplen: 0,
        bufferMb: 1 / 1024,
        count: null,
        durationMs: null,
        promiscuous: true,
      });
      expect(source.format).toBe('live');
      let packets = 0;
      let firstTs: number | null = null;
      let held = false;
      const running = source.forEach(
        (packet) => {
          packets++;
          firstTs ??= packet.tsMicros;
        },
        () => {
          // Stop reading once, for long enough that the pipe and the kernel buffer fill during the burst.
          if (held) return null;
          held = true;
          return new Promise((resolve) => setTimeout(resolve, 1500));
        },
      );
      const socket = createSocket('udp4');
      const payload = Buffer.alloc(1000, 0x61);
      for (let i = 0; i < 20_000; i++) {
        await new Promise<void>((resolve) => socket.send(payload, port, '127.0.0.1', () => resolve()));
      }
      socket.close();
      await new Promise((resolve) => setTimeout(resolve, 2000));
      await source.close();
      await running;
      const dropped = source.stats().dropped;
      expect(dropped).not.toBeNull();
      expect(dropped!).toBeGreaterThan(0);
      expect(packets).toBeGreaterThan(0);
      // On the loopback interface the kernel counts a drop for the packet sent and for the packet received
      // (libpcap keeps only the received copy), so drops can reach twice the datagrams sent.
      expect(packets).toBeLessThan(20_000);
      expect(packets + dropped!).toBeLessThanOrEqual(2 * 20_000 + 10);
      expect(source.stats().packets).toBe(packets);
      // Kernel timestamps, carried in the records: this burst's time, within a minute.
      expect(Math.abs((firstTs ?? 0) / 1000 - Date.now())).toBeLessThan(60_000);
    },
    60_000,
  );
});
