import { describe, expect, it } from 'vitest';
import { createPcapngParser, describeResolution, sniffPcapngMagic } from '../../src/capture/pcapng-reader.js';
import { CaptureFormatError, LINKTYPE } from '../../src/capture/types.js';
import {
  ByteWriter,
  buildPcapngBlock,
  buildPcapngSection,
  concatBytes,
  type Endian,
  sampleFrame,
} from '../helpers/pcap-builder.js';
import { forEachSplit } from '../helpers/splits.js';
import { createLog, type ParseLog, toHex } from './record-log.js';

function parseChunks(chunks: readonly Uint8Array[], maxRecordBytes?: number): ParseLog {
  const log = createLog();
  const parser = createPcapngParser(
    maxRecordBytes === undefined
      ? { onPacket: log.onPacket, onWarning: log.onWarning }
      : { onPacket: log.onPacket, onWarning: log.onWarning, maxRecordBytes },
  );
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { packets: log.packets, warnings: log.warnings };
}

const frameA = sampleFrame(1, 10);
const frameB = sampleFrame(2, 121);
const odd = Uint8Array.of(1, 2, 3, 4, 5, 6, 7);

/** Seconds 1_700_000_000 expressed in a unit of 10^-n s. */
const BASE_SECONDS = 1_700_000_000n;

describe('pcapng-reader', () => {
  it('recognises the section header type as the magic', () => {
    expect(sniffPcapngMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))).toBe(true);
    expect(sniffPcapngMagic(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toBe(false);
  });

  it.each<Endian>(['le', 'be'])('reads enhanced packet blocks in %s byte order', (endian) => {
    const file = buildPcapngSection(endian, [
      { kind: 'idb', linkType: LINKTYPE.ETHERNET, snaplen: 262144, name: 'eth0' },
      { kind: 'epb', interfaceId: 0, timestamp: BASE_SECONDS * 1_000_000n + 123_456n, data: frameA },
      {
        kind: 'epb',
        interfaceId: 0,
        timestamp: BASE_SECONDS * 1_000_000n + 123_457n,
        data: odd,
        originalLength: 60,
        comment: 'hello',
      },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(warnings).toEqual([]);
    expect(packets).toEqual([
      {
        index: 0,
        tsMicros: 1_700_000_000_123_456,
        capturedLength: frameA.length,
        originalLength: frameA.length,
        linkType: 1,
        interfaceId: 0,
        hex: toHex(frameA),
      },
      {
        index: 1,
        tsMicros: 1_700_000_000_123_457,
        capturedLength: 7,
        originalLength: 60,
        linkType: 1,
        interfaceId: 0,
        hex: '01020304050607',
      },
    ]);
  });

  it('keeps link type and timestamp resolution per interface', () => {
    const file = buildPcapngSection('le', [
      { kind: 'idb', linkType: LINKTYPE.ETHERNET },
      // nanoseconds: the 64-bit count (about 1.7e18) is far above 2^53.
      { kind: 'idb', linkType: LINKTYPE.LINUX_SLL, tsresol: 9 },
      // 2^-10 s units.
      { kind: 'idb', linkType: LINKTYPE.RAW, tsresol: 0x80 | 10 },
      { kind: 'epb', interfaceId: 1, timestamp: BASE_SECONDS * 1_000_000_000n + 123_456_789n, data: frameA },
      { kind: 'epb', interfaceId: 0, timestamp: 5_000_001n, data: frameB },
      // 3.5 s = 3 * 1024 + 512 units.
      { kind: 'epb', interfaceId: 2, timestamp: 3n * 1024n + 512n, data: odd },
      // 1 unit = 976.5625 us -> 976.
      { kind: 'epb', interfaceId: 2, timestamp: 1n, data: odd },
      // Just below the next microsecond: 999 ns must not round up.
      { kind: 'epb', interfaceId: 1, timestamp: BASE_SECONDS * 1_000_000_000n + 999_999_999n, data: odd },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(warnings).toEqual([]);
    expect(packets.map((p) => [p.interfaceId, p.linkType, p.tsMicros])).toEqual([
      [1, 113, 1_700_000_000_123_456],
      [0, 1, 5_000_001],
      [2, 101, 3_500_000],
      [2, 101, 976],
      [1, 113, 1_700_000_000_999_999],
    ]);
  });

  it.each([
    // tsresol byte, timestamp in those units, expected microseconds (worked out by hand)
    { tsresol: 0, ts: 1_700_000_000n, micros: 1_700_000_000_000_000 },
    { tsresol: 3, ts: 1_700_000_000_123n, micros: 1_700_000_000_123_000 },
    { tsresol: 6, ts: 1_700_000_000_123_456n, micros: 1_700_000_000_123_456 },
    { tsresol: 7, ts: 17_000_000_001_234_569n, micros: 1_700_000_000_123_456 },
    { tsresol: 9, ts: 1_700_000_000_123_456_999n, micros: 1_700_000_000_123_456 },
    // Year 2255: the largest microsecond count below 2^53, from a nanosecond count near 2^63.
    { tsresol: 9, ts: 9_000_000_000_000_000_999n, micros: 9_000_000_000_000_000 },
    { tsresol: 12, ts: 18_000_000_000_123_456_999n, micros: 18_000_000_000_123 },
    { tsresol: 15, ts: 1_234_567_890_123_456_789n, micros: 1_234_567_890 },
    { tsresol: 0x80, ts: 1_700_000_000n, micros: 1_700_000_000_000_000 },
    { tsresol: 0x80 | 20, ts: (1_700_000_000n << 20n) + 524_288n, micros: 1_700_000_000_500_000 },
    { tsresol: 0x80 | 32, ts: (1_700_000_000n << 32n) + 1n, micros: 1_700_000_000_000_000 },
    { tsresol: 0x80 | 40, ts: (1_000n << 40n) + (1n << 39n), micros: 1_000_500_000 },
  ])('converts tsresol $tsresol timestamps exactly', ({ tsresol, ts, micros }) => {
    expect(ts < 1n << 64n).toBe(true);
    const file = buildPcapngSection('be', [
      { kind: 'idb', linkType: 1, tsresol },
      { kind: 'epb', interfaceId: 0, timestamp: ts, data: odd },
    ]);
    const { packets } = parseChunks([file]);
    expect(packets[0]?.tsMicros).toBe(micros);
  });

  it('chooses an exact conversion path for each resolution', () => {
    expect(describeResolution(6).mode).toBe('multiply');
    expect(describeResolution(9)).toMatchObject({ mode: 'divide', factor: 1000 });
    expect(describeResolution(12)).toMatchObject({ mode: 'divide', factor: 1_000_000 });
    expect(describeResolution(13).mode).toBe('bigint');
    expect(describeResolution(0x80 | 32)).toMatchObject({ mode: 'binary', factor: 2 ** 32 });
    expect(describeResolution(0x80 | 33).mode).toBe('bigint');
  });

  it('adds if_tsoffset seconds, positive or negative', () => {
    const file = buildPcapngSection('le', [
      { kind: 'idb', linkType: 1, tsoffset: 1_600_000_000n },
      { kind: 'idb', linkType: 1, tsoffset: -100n, tsresol: 9 },
      { kind: 'epb', interfaceId: 0, timestamp: 2_500_000n, data: odd },
      { kind: 'epb', interfaceId: 1, timestamp: 1_000_000_000_000n, data: odd },
    ]);
    const { packets } = parseChunks([file]);
    expect(packets.map((p) => p.tsMicros)).toEqual([1_600_000_002_500_000, 900_000_000]);
  });

  it('starts a new interface list at each section, whose byte order may differ', () => {
    const first = buildPcapngSection('le', [
      { kind: 'idb', linkType: LINKTYPE.ETHERNET },
      { kind: 'idb', linkType: LINKTYPE.LINUX_SLL2 },
      { kind: 'epb', interfaceId: 1, timestamp: 10n, data: frameA },
    ]);
    const second = buildPcapngSection('be', [
      { kind: 'idb', linkType: LINKTYPE.RAW },
      { kind: 'epb', interfaceId: 0, timestamp: 20n, data: frameB },
      { kind: 'epb', interfaceId: 1, timestamp: 30n, data: odd },
      { kind: 'epb', interfaceId: 1, timestamp: 31n, data: odd },
      { kind: 'epb', interfaceId: 0, timestamp: 40n, data: odd },
    ]);
    const file = concatBytes(first, second);
    const log = createLog();
    const parser = createPcapngParser(log);
    parser.push(file);
    parser.end();
    expect(parser.sections).toBe(2);
    expect(log.packets.map((p) => [p.index, p.interfaceId, p.linkType, p.tsMicros])).toEqual([
      [0, 1, 276, 10],
      [1, 0, 101, 20],
      [2, 0, 101, 40],
    ]);
    // Interface 1 does not exist in the second section: reported once, its packets skipped.
    expect(log.warnings.map((w) => w.code)).toEqual(['unknown-interface']);
    const skippedAt = first.length + 28 + 20 + 32 + frameB.length + 3;
    expect(log.warnings[0]?.byteOffset).toBe(skippedAt - (skippedAt % 4));
  });

  it('reads simple packet blocks on interface 0 with the previous timestamp', () => {
    const file = buildPcapngSection('le', [
      { kind: 'idb', linkType: 1, snaplen: 64 },
      { kind: 'epb', interfaceId: 0, timestamp: 777n, data: odd },
      // Stored 121+54 bytes, snaplen 64: captured = min(original, snaplen, room) = 64.
      { kind: 'spb', data: frameB },
      // 7 bytes stored (room 8 after padding), original 7: captured 7, not the padded 8.
      { kind: 'spb', data: odd },
      // 7 bytes stored, original 1500: captured limited by the room in the block (8 with padding).
      { kind: 'spb', data: odd, originalLength: 1500 },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(warnings).toEqual([]);
    expect(
      packets.slice(1).map((p) => [p.interfaceId, p.tsMicros, p.capturedLength, p.originalLength, p.hex]),
    ).toEqual([
      [0, 777, 64, frameB.length, toHex(frameB.subarray(0, 64))],
      [0, 777, 7, 7, '01020304050607'],
      [0, 777, 8, 1500, '0102030405060700'],
    ]);
  });

  it('reports a simple packet block before any interface as unknown-interface', () => {
    const { packets, warnings } = parseChunks([buildPcapngSection('le', [{ kind: 'spb', data: odd }])]);
    expect(packets).toEqual([]);
    expect(warnings.map((w) => w.code)).toEqual(['unknown-interface']);
  });

  it('reads the obsolete packet block with its 16-bit interface id', () => {
    const file = buildPcapngSection('be', [
      { kind: 'idb', linkType: 1 },
      { kind: 'idb', linkType: 113, tsresol: 3 },
      { kind: 'pb', interfaceId: 1, timestamp: 1_234n, data: frameA, originalLength: 100 },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(warnings).toEqual([]);
    expect(packets).toEqual([
      {
        index: 0,
        tsMicros: 1_234_000,
        capturedLength: frameA.length,
        originalLength: 100,
        linkType: 113,
        interfaceId: 1,
        hex: toHex(frameA),
      },
    ]);
  });

  it('skips unknown blocks with one warning per type and known side blocks silently', () => {
    const file = buildPcapngSection('le', [
      { kind: 'idb', linkType: 1 },
      { kind: 'raw', type: 0x0000_0004, body: new Uint8Array(16) },
      { kind: 'raw', type: 0x0000_0005, body: new Uint8Array(24) },
      { kind: 'raw', type: 0x0000_7777, body: new Uint8Array(5) },
      { kind: 'epb', interfaceId: 0, timestamp: 1n, data: odd },
      { kind: 'raw', type: 0x0000_7777, body: new Uint8Array(100_000) },
      { kind: 'epb', interfaceId: 0, timestamp: 2n, data: odd },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(packets.map((p) => p.tsMicros)).toEqual([1, 2]);
    expect(warnings.map((w) => w.code)).toEqual(['unknown-block']);
    expect(warnings[0]?.byteOffset).toBe(28 + 20 + 28 + 36);
  });

  it('skips a packet whose captured length does not fit its block and goes on', () => {
    const file = buildPcapngSection('le', [
      { kind: 'idb', linkType: 1 },
      { kind: 'epb', interfaceId: 0, timestamp: 1n, data: odd, capturedLengthField: 9 },
      { kind: 'epb', interfaceId: 0, timestamp: 2n, data: odd },
    ]);
    const { packets, warnings } = parseChunks([file]);
    expect(packets.map((p) => p.tsMicros)).toEqual([2]);
    expect(warnings.map((w) => w.code)).toEqual(['bad-block-length']);
  });

  it.each([
    { name: 'zero', length: 0, code: 'bad-block-length' },
    { name: 'below the minimum', length: 8, code: 'bad-block-length' },
    { name: 'not a multiple of 4', length: 34, code: 'bad-block-length' },
    { name: 'huge', length: 0xfffffff0, code: 'oversized-record' },
  ])('stops cleanly at a $name packet block length', ({ length, code }) => {
    const good = buildPcapngSection('le', [
      { kind: 'idb', linkType: 1 },
      { kind: 'epb', interfaceId: 0, timestamp: 1n, data: odd },
    ]);
    const lying = new ByteWriter('le').u32(6).u32(length).u32(0).u32(0).u32(0).toBytes();
    const after = buildPcapngBlock('le', { kind: 'epb', interfaceId: 0, timestamp: 2n, data: odd });
    const file = concatBytes(good, lying, after);
    forEachSplit(
      file,
      (chunks, label) => {
        const { packets, warnings } = parseChunks(chunks);
        expect(
          packets.map((p) => p.tsMicros),
          label,
        ).toEqual([1]);
        expect(
          warnings.map((w) => [w.code, w.byteOffset]),
          label,
        ).toEqual([[code, good.length]]);
      },
      { randomRuns: 10 },
    );
  });

  it('stops when the trailing block length differs from the leading one', () => {
    const epb = buildPcapngBlock('le', { kind: 'epb', interfaceId: 0, timestamp: 2n, data: odd });
    epb[epb.length - 4] = (epb[epb.length - 4] ?? 0) + 4;
    const head = buildPcapngSection('le', [{ kind: 'idb', linkType: 1 }]);
    const { packets, warnings } = parseChunks([concatBytes(head, epb)]);
    expect(packets).toEqual([]);
    expect(warnings.map((w) => [w.code, w.byteOffset])).toEqual([['bad-block-length', head.length]]);
  });

  it('delivers every complete packet of a truncated file and names the cut block', () => {
    const head = buildPcapngSection('be', [
      { kind: 'idb', linkType: 1 },
      { kind: 'epb', interfaceId: 0, timestamp: 1n, data: frameA },
    ]);
    const last = buildPcapngBlock('be', { kind: 'epb', interfaceId: 0, timestamp: 2n, data: frameB });
    const skipped = buildPcapngBlock('be', { kind: 'raw', type: 5, body: new Uint8Array(40) });
    for (const cut of [3, 12, 20, last.length - 1]) {
      const { packets, warnings } = parseChunks([concatBytes(head, last.subarray(0, cut))]);
      expect(packets).toHaveLength(1);
      expect(warnings.map((w) => [w.code, w.byteOffset])).toEqual([
        [cut >= 12 ? 'truncated-record' : 'truncated-block', head.length],
      ]);
    }
    const { warnings } = parseChunks([concatBytes(head, skipped.subarray(0, 30))]);
    expect(warnings.map((w) => [w.code, w.byteOffset])).toEqual([['truncated-block', head.length]]);
  });

  it('throws CaptureFormatError when the input does not start with a section header', () => {
    const parser = createPcapngParser({ onPacket: () => undefined });
    expect(() => parser.push(buildPcapngBlock('le', { kind: 'idb', linkType: 1 }))).toThrow(
      CaptureFormatError,
    );
  });

  it('emits identical packets and warnings for every chunking of a file with every block kind', () => {
    const file = concatBytes(
      buildPcapngSection('le', [
        { kind: 'idb', linkType: 1, tsresol: 9, tsoffset: 3n, name: 'lo' },
        { kind: 'idb', linkType: 113, tsresol: 0x80 | 16 },
        { kind: 'epb', interfaceId: 0, timestamp: 1_700_000_000_123_456_789n, data: frameA, comment: 'x' },
        { kind: 'raw', type: 0x1234, body: new Uint8Array(300) },
        { kind: 'epb', interfaceId: 1, timestamp: 65_536n * 3n + 1n, data: frameB },
        { kind: 'spb', data: odd },
        { kind: 'pb', interfaceId: 1, timestamp: 9n, data: odd },
        { kind: 'epb', interfaceId: 4, timestamp: 1n, data: odd },
      ]),
      buildPcapngSection('be', [
        { kind: 'idb', linkType: 101 },
        { kind: 'epb', interfaceId: 0, timestamp: 42n, data: frameB, originalLength: 1000 },
      ]),
      buildPcapngBlock('be', { kind: 'epb', interfaceId: 0, timestamp: 43n, data: frameA }).subarray(0, 50),
    );
    const whole = parseChunks([file]);
    expect(whole.packets).toHaveLength(5);
    expect(whole.warnings.map((w) => w.code)).toEqual([
      'unknown-block',
      'unknown-interface',
      'truncated-record',
    ]);
    forEachSplit(file, (chunks, label) => {
      expect(parseChunks(chunks), label).toEqual(whole);
    });
  });
});
