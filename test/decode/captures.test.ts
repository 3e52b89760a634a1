import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createPacketDecoder } from '../../src/decode/packet-decoder.js';
import { walkCapture } from './capture-file.js';

const CAPTURES = fileURLToPath(new URL('../../captures/', import.meta.url));
const files = existsSync(CAPTURES)
  ? readdirSync(CAPTURES)
      .filter((name) => /\.(pcap|pcapng|cap)(\.gz)?$/.test(name))
      .sort()
  : [];

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const tshark = hasTshark();

/** One line per decoded TCP segment: frame number, ports, raw seq, wire payload length. */
function decodeFile(name: string): { lines: string[]; malformed: object; packets: number } {
  const decoder = createPacketDecoder();
  const lines: string[] = [];
  let packets = 0;
  walkCapture(readFileSync(CAPTURES + name), (packet) => {
    packets++;
    if (decoder.decode(packet).kind !== 'tcp') return;
    const s = decoder.segment;
    lines.push(`${s.frameIndex + 1} ${s.srcPort} ${s.dstPort} ${s.seq} ${s.wirePayloadLength}`);
  });
  return { lines, malformed: decoder.counters().malformed, packets };
}

describe('captures', () => {
  it.skipIf(files.length === 0).each(files)(
    'decodes every packet of %s without a malformed outcome',
    (name) => {
      const { malformed, packets } = decodeFile(name);
      expect(packets).toBeGreaterThan(0);
      expect(malformed).toEqual({});
    },
  );

  it.skipIf(files.length === 0 || !tshark)('finds the same TCP segments as tshark in every capture', () => {
    // One tshark run over all files concatenated (mergecap -a keeps each file's link types as interfaces);
    // frame numbers are then shifted back per file.
    const dir = mkdtempSync(join(tmpdir(), 'captures-'));
    try {
      const merged = join(dir, 'all.pcapng');
      execFileSync('mergecap', ['-a', '-F', 'pcapng', '-w', merged, ...files.map((f) => CAPTURES + f)], {
        stdio: 'ignore',
      });
      const out = execFileSync(
        'tshark',
        ['-r', merged, '-n', '-o', 'tcp.relative_sequence_numbers:FALSE', '-Y', 'tcp && !icmp && !icmpv6']
          .concat(['-T', 'fields', '-e', 'frame.number', '-e', 'tcp.srcport', '-e', 'tcp.dstport'])
          .concat(['-e', 'tcp.seq_raw', '-e', 'tcp.len']),
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
      );
      const rows = out
        .split('\n')
        .filter((line) => line.length > 0)
        .map((line) => line.split('\t'));
      let first = 0;
      for (const name of files) {
        const { lines, packets } = decodeFile(name);
        const expected = rows
          .filter((row) => Number(row[0]) > first && Number(row[0]) <= first + packets)
          .map(([frame, ...rest]) => [Number(frame) - first, ...rest].join(' '));
        expect(lines, name).toEqual(expected);
        first += packets;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
