import { describe, expect, it } from 'vitest';
import { createPcapParser, sniffPcapMagic } from '../../src/capture/pcap-reader.js';
import { CaptureFormatError, type PacketView } from '../../src/capture/types.js';
import {
  buildPcap,
  buildPcapHeader,
  buildPcapRecord,
  concatBytes,
  type Endian,
  sampleFrame,
} from '../helpers/pcap-builder.js';
import { forEachSplit } from '../helpers/splits.js';
import { createLog, type ParseLog, toHex } from './record-log.js';

function parseChunks(chunks: readonly Uint8Array[], maxRecordBytes?: number): ParseLog {
  const log = createLog();
  const parser = createPcapParser(
    maxRecordBytes === undefined
      ? { onPacket: log.onPacket, onWarning: log.onWarning }
      : { onPacket: log.onPacket, onWarning: log.onWarning, maxRecordBytes },
  );
  for (const chunk of chunks) parser.push(chunk);
  parser.end();
  return { packets: log.packets, warnings: log.warnings };
}

const frameA = sampleFrame(1, 10);
const frameB = sampleFrame(2, 200);
const frameC = Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 0x01);

describe('pcap-reader', () => {
  it.each<Endian>(['le', 'be'])('reads a microsecond file in %s byte order', (endian) => {
    const file = buildPcap({
      endian,
      records: [
        { seconds: 1_700_000_000, fraction: 123_456, data: frameA },
        { seconds: 1_700_000_001, fraction: 999_999, data: frameB },
        { seconds: 0, fraction: 0, data: frameC },
      ],
    });
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
        tsMicros: 1_700_000_001_999_999,
        capturedLength: frameB.length,
        originalLength: frameB.length,
        linkType: 1,
        interfaceId: 0,
        hex: toHex(frameB),
      },
      {
        index: 2,
        tsMicros: 0,
        capturedLength: 5,
        originalLength: 5,
        linkType: 1,
        interfaceId: 0,
        hex: 'deadbeef01',
      },
    ]);
  });

  it.each<Endian>(['le', 'be'])(
    'reads a nanosecond file in %s byte order, flooring to microseconds',
    (endian) => {
      const file = buildPcap({
        endian,
        nanoseconds: true,
        records: [
          { seconds: 1_700_000_000, fraction: 123_456_789, data: frameA },
          { seconds: 4_294_967_295, fraction: 999_999_999, data: frameC },
        ],
      });
      const parser = createPcapParser({ onPacket: () => undefined });
      const { packets } = parseChunks([file]);
      parser.push(file);
      expect(parser.header?.nanoseconds).toBe(true);
      expect(parser.header?.littleEndian).toBe(endian === 'le');
      // 123456789 ns = 123456.789 us -> 123456; 2^32 - 1 s is still exact in a double (4.29e15 us < 2^53).
      expect(packets.map((p) => p.tsMicros)).toEqual([1_700_000_000_123_456, 4_294_967_295_999_999]);
    },
  );

  it('recognises the four magics and nothing else', () => {
    expect(sniffPcapMagic(Uint8Array.of(0xa1, 0xb2, 0xc3, 0xd4))).toEqual({
      littleEndian: false,
      nanoseconds: false,
    });
    expect(sniffPcapMagic(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1))).toEqual({
      littleEndian: true,
      nanoseconds: false,
    });
    expect(sniffPcapMagic(Uint8Array.of(0xa1, 0xb2, 0x3c, 0x4d))).toEqual({
      littleEndian: false,
      nanoseconds: true,
    });
    expect(sniffPcapMagic(Uint8Array.of(0x4d, 0x3c, 0xb2, 0xa1))).toEqual({
      littleEndian: true,
      nanoseconds: true,
    });
    expect(sniffPcapMagic(Uint8Array.of(0x0a, 0x0d, 0x0d, 0x0a))).toBeNull();
    expect(sniffPcapMagic(Uint8Array.of(0xa1, 0xb2, 0xc3))).toBeNull();
  });

  it('reports the captured and original length of a record cut by the snapshot length', () => {
    const full = sampleFrame(3, 1460);
    const file = buildPcap({
      endian: 'le',
      snaplen: 96,
      records: [{ seconds: 10, fraction: 5, data: full.subarray(0, 96), originalLength: full.length }],
    });
    const log = createLog();
    const parser = createPcapParser(log);
    parser.push(file);
    parser.end();
    expect(parser.header?.snaplen).toBe(96);
    expect(log.packets[0]?.capturedLength).toBe(96);
    expect(log.packets[0]?.originalLength).toBe(1514);
    expect(log.packets[0]?.hex).toBe(toHex(full.subarray(0, 96)));
    expect(parser.counts()).toEqual({ packets: 1, bytes: file.length, truncated: 1 });
  });

  it('masks the FCS length and flag bits off the link-type field', () => {
    // FCS len 2 (16-bit words, i.e. 4 bytes) in bits 28-31, P flag in bit 26, link type 113 (Linux SLL).
    const file = buildPcap({
      endian: 'be',
      linkTypeField: 0x24000000 | 113,
      records: [{ seconds: 1, fraction: 2, data: frameC }],
    });
    const log = createLog();
    const parser = createPcapParser(log);
    parser.push(file);
    expect(log.packets[0]?.linkType).toBe(113);
    expect(parser.header?.linkType).toBe(113);
    expect(parser.header?.linkTypeExtra).toBe(0x2400);
  });

  it('delivers a record that lies inside a chunk as a view into that chunk, without copying', () => {
    const file = buildPcap({ endian: 'le', records: [{ seconds: 1, fraction: 0, data: frameB }] });
    const seen: { buffer: Uint8Array; offset: number }[] = [];
    const parser = createPcapParser({
      onPacket: (p: PacketView) => {
        seen.push({ buffer: p.buffer, offset: p.offset });
      },
    });
    parser.push(file);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.buffer).toBe(file);
    expect(seen[0]?.offset).toBe(24 + 16);
  });

  it('accepts records with zero captured bytes', () => {
    const file = buildPcap({
      endian: 'le',
      records: [
        { seconds: 5, fraction: 6, data: new Uint8Array(0), originalLength: 60 },
        { seconds: 7, fraction: 8, data: frameC },
      ],
    });
    const { packets, warnings } = parseChunks([file]);
    expect(warnings).toEqual([]);
    expect(packets.map((p) => [p.capturedLength, p.originalLength, p.hex])).toEqual([
      [0, 60, ''],
      [5, 5, 'deadbeef01'],
    ]);
  });

  it('stops cleanly with oversized-record at a lying captured length, after the packets before it', () => {
    const header = buildPcapHeader({ endian: 'le' });
    const good = buildPcapRecord('le', { seconds: 1, fraction: 0, data: frameA });
    const lying = buildPcapRecord('le', {
      seconds: 2,
      fraction: 0,
      data: frameC,
      capturedLengthField: 0xfffffff0,
    });
    const after = buildPcapRecord('le', { seconds: 3, fraction: 0, data: frameC });
    const file = concatBytes(header, good, lying, after);
    forEachSplit(file, (chunks, label) => {
      const { packets, warnings } = parseChunks(chunks);
      expect(packets, label).toHaveLength(1);
      expect(warnings, label).toHaveLength(1);
      expect(warnings[0]?.code, label).toBe('oversized-record');
      expect(warnings[0]?.byteOffset, label).toBe(header.length + good.length);
    });
  });

  it('honours a smaller maxRecordBytes limit', () => {
    const file = buildPcap({
      endian: 'le',
      records: [
        { seconds: 1, fraction: 0, data: frameA },
        { seconds: 2, fraction: 0, data: frameB },
      ],
    });
    const { packets, warnings } = parseChunks([file], 100);
    expect(packets).toHaveLength(1);
    expect(warnings.map((w) => w.code)).toEqual(['oversized-record']);
  });

  it('delivers every complete record of a file truncated mid-record and warns with the record offset', () => {
    const header = buildPcapHeader({ endian: 'be' });
    const one = buildPcapRecord('be', { seconds: 1, fraction: 0, data: frameA });
    const two = buildPcapRecord('be', { seconds: 2, fraction: 0, data: frameB });
    for (const cut of [1, 15, 16, 17, two.length - 1]) {
      const file = concatBytes(header, one, two.subarray(0, cut));
      const { packets, warnings } = parseChunks([file]);
      expect(packets).toHaveLength(1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.code).toBe('truncated-record');
      expect(warnings[0]?.byteOffset).toBe(header.length + one.length);
    }
  });

  it('warns when the input ends inside the file header', () => {
    const { packets, warnings } = parseChunks([buildPcapHeader({ endian: 'le' }).subarray(0, 10)]);
    expect(packets).toEqual([]);
    expect(warnings.map((w) => [w.code, w.byteOffset])).toEqual([['truncated-record', 0]]);
  });

  it('throws CaptureFormatError when the input is not a pcap file', () => {
    const parser = createPcapParser({ onPacket: () => undefined });
    expect(() => parser.push(new TextEncoder().encode('<html><body>not a capture</body></html>'))).toThrow(
      CaptureFormatError,
    );
  });

  it('stops delivery at once when stop() is called from a packet callback', () => {
    const file = buildPcap({
      endian: 'le',
      records: [1, 2, 3, 4].map((s) => ({ seconds: s, fraction: 0, data: frameC })),
    });
    const seen: number[] = [];
    const parser = createPcapParser({
      onPacket: (p) => {
        seen.push(p.index);
        if (p.index === 1) parser.stop();
      },
    });
    parser.push(file);
    parser.push(file);
    parser.end();
    expect(seen).toEqual([0, 1]);
    expect(parser.stopped).toBe(true);
  });

  it('emits identical packets and warnings for every chunking of the input', () => {
    const file = concatBytes(
      buildPcap({
        endian: 'le',
        nanoseconds: true,
        records: [
          { seconds: 1, fraction: 999, data: frameA },
          { seconds: 2, fraction: 1000, data: new Uint8Array(0) },
          { seconds: 3, fraction: 1001, data: frameB, originalLength: 1514 },
          { seconds: 4, fraction: 5, data: frameC },
        ],
      }),
      Uint8Array.of(1, 2, 3, 4, 5, 6, 7),
    );
    const whole = parseChunks([file]);
    expect(whole.packets).toHaveLength(4);
    expect(whole.warnings.map((w) => w.code)).toEqual(['truncated-record']);
    forEachSplit(file, (chunks, label) => {
      expect(parseChunks(chunks), label).toEqual(whole);
    });
  });

  it('does not depend on a chunk after push returns', () => {
    const file = buildPcap({
      endian: 'le',
      records: [
        { seconds: 1, fraction: 0, data: frameB },
        { seconds: 2, fraction: 0, data: frameA },
      ],
    });
    const expected = parseChunks([file]);
    const log = createLog();
    const parser = createPcapParser(log);
    const scratch = new Uint8Array(37);
    for (let start = 0; start < file.length; start += scratch.length) {
      const piece = file.subarray(start, start + scratch.length);
      scratch.fill(0xee);
      scratch.set(piece);
      parser.push(scratch.subarray(0, piece.length));
    }
    parser.end();
    expect(log.packets).toEqual(expected.packets);
  });
});
