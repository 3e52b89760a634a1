/**
 * Oracle test: for every classic microsecond pcap we can find (the real captures under captures/, plus files
 * built here), our reader and the independent npm `pcap-parser` must yield identical packets. pcap-parser
 * reads neither pcapng nor nanosecond pcap, so those are left out of the comparison.
 */

import type { EventEmitter } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource } from '../../src/capture/open-file.js';
import { sniffPcapMagic } from '../../src/capture/pcap-reader.js';
import { buildPcap, sampleFrame } from '../helpers/pcap-builder.js';

interface OraclePacket {
  header: {
    timestampSeconds: number;
    timestampMicroseconds: number;
    capturedLength: number;
    originalLength: number;
  };
  data: Buffer;
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(path: string): EventEmitter };

interface Comparable {
  tsMicros: number;
  capturedLength: number;
  originalLength: number;
  hex: string;
}

function readWithOracle(path: string): Promise<Comparable[]> {
  return new Promise((resolve, reject) => {
    const packets: Comparable[] = [];
    const parser = pcapParser.parse(path);
    parser.on('packet', (packet: OraclePacket) => {
      packets.push({
        tsMicros: packet.header.timestampSeconds * 1_000_000 + packet.header.timestampMicroseconds,
        capturedLength: packet.header.capturedLength,
        originalLength: packet.header.originalLength,
        hex: packet.data.toString('hex'),
      });
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(packets));
  });
}

async function readWithOurs(path: string): Promise<Comparable[]> {
  const packets: Comparable[] = [];
  const source = await openFileSource(path, { readBufferBytes: 4096 });
  await source.forEach((p) => {
    packets.push({
      tsMicros: p.tsMicros,
      capturedLength: p.capturedLength,
      originalLength: p.originalLength,
      hex: Buffer.from(p.buffer.subarray(p.offset, p.offset + p.capturedLength)).toString('hex'),
    });
  });
  expect(source.warnings()).toEqual([]);
  return packets;
}

const capturesDir = join(import.meta.dirname, '..', '..', 'captures');
const builtDir = mkdtempSync(join(tmpdir(), 'smtpscope-oracle-'));
afterAll(() => {
  rmSync(builtDir, { recursive: true, force: true });
});

function isMicrosecondPcap(path: string): boolean {
  const magic = sniffPcapMagic(readFileSync(path).subarray(0, 4));
  return magic !== null && !magic.nanoseconds;
}

function discover(): string[] {
  const real = readdirSync(capturesDir)
    .map((name) => join(capturesDir, name))
    .filter(isMicrosecondPcap);
  const built = (['le', 'be'] as const).map((endian) => {
    const path = join(builtDir, `built-${endian}.pcap`);
    const records = Array.from({ length: 500 }, (_, i) => ({
      seconds: 1_700_000_000 + i * 17,
      fraction: (i * 7919) % 1_000_000,
      data: sampleFrame(i, (i * 131) % 1460).subarray(0, 54 + ((i * 131) % 1460) - (i % 3 === 0 ? 10 : 0)),
      originalLength: 54 + ((i * 131) % 1460),
    }));
    writeFileSync(path, buildPcap({ endian, snaplen: 1514, records }));
    return path;
  });
  return [...real, ...built];
}

describe('pcap-parser-oracle', () => {
  const files = discover();

  it('finds classic pcap files to compare, including real captures', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(files.some((f) => f.startsWith(capturesDir))).toBe(true);
  });

  it.each(files.map((f) => [f.slice(f.lastIndexOf('/') + 1), f]))(
    'reads %s exactly as pcap-parser does',
    async (_name, path) => {
      const expected = await readWithOracle(path);
      const actual = await readWithOurs(path);
      expect(actual.length).toBe(expected.length);
      expect(actual.length).toBeGreaterThan(0);
      expect(actual).toEqual(expected);
    },
  );
});
