import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { WILD_JUMP_MICROS } from '../../src/pipeline/packet-loop.js';
import { connectionFrames } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';

const work = mkdtempSync(join(tmpdir(), 'smtpscope-wild-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const START = 1_700_000_000; // seconds
const YEARS_37 = 37 * 365 * 86_400;

/** One whole SMTP connection (client port `port`), its packets one millisecond apart from `startS`. */
function connection(port: number, startS: number): { seconds: number; fraction: number; data: Uint8Array }[] {
  const client = { ip: '192.0.2.10', port };
  const server = { ip: '198.51.100.25', port: 25 };
  const script: ['c2s' | 's2c', string][] = [
    ['s2c', '220 mx.example.org ESMTP\r\n'],
    ['c2s', 'EHLO c.example\r\n'],
    ['s2c', '250 mx.example.org\r\n'],
    ['c2s', 'MAIL FROM:<a@c.example>\r\n'],
    ['s2c', '250 2.1.0 Ok\r\n'],
    ['c2s', 'RCPT TO:<b@mx.example.org>\r\n'],
    ['s2c', '250 2.1.5 Ok\r\n'],
    ['c2s', 'QUIT\r\n'],
    ['s2c', '221 2.0.0 Bye\r\n'],
  ];
  const frames = connectionFrames(client, server, script, 's2c');
  return frames.map((data, i) => ({ seconds: startS, fraction: i * 1000, data }));
}

function write(name: string, records: { seconds: number; fraction: number; data: Uint8Array }[]): string {
  const path = join(work, name);
  writeFileSync(path, buildPcap({ endian: 'le', records }));
  return path;
}

describe('a packet with a wild timestamp', () => {
  it('does not split its connection: one session ended by QUIT, and the packet is flagged', async () => {
    const records = connection(40_001, START);
    // The SYN-ACK stamped 37 years after its SYN, as in a public capture.
    const synAck = records[1];
    if (synAck === undefined) throw new Error('no SYN-ACK');
    records[1] = { ...synAck, seconds: START + YEARS_37 };
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: write('wild.pcap', records) }],
    });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.end).toBe('quit');
    expect(sessions[0]?.transactions[0]?.recipients).toHaveLength(1);
    const wild = summary.warnings.filter((w) => w.code === 'wild-timestamp');
    expect(wild).toHaveLength(1);
    expect(wild[0]?.message).toMatch(/^1 packet\(s\) stamped far outside .* packet 2, 37\.0 years after/);
    // The capture's span is that of the trusted packets.
    expect(summary.stats.lastTsMicros).toBeLessThan((START + 60) * 1e6);
  });

  it('keeps a real jump of the clock: a connection an hour later has its own time and nothing is flagged', async () => {
    const later = START + 3600;
    expect(3600e6).toBeGreaterThan(WILD_JUMP_MICROS);
    const records = [...connection(40_001, START), ...connection(40_002, later)];
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: write('jump.pcap', records) }],
    });
    expect(sessions.map((s) => s.end)).toEqual(['quit', 'quit']);
    expect(sessions[1]?.startedAt).toBe(later * 1e6);
    expect(summary.warnings.filter((w) => w.code === 'wild-timestamp')).toEqual([]);
  });
});
