/**
 * Classic pcap (libpcap) file parser: a chunk-agnostic push parser.
 *
 * File layout: a 24-byte file header (magic, version, reserved, snapshot length, link type), then records of
 * a 16-byte header (seconds, fraction, captured length, original length) followed by the captured bytes.
 * The magic gives both the byte order and the timestamp unit: 0xa1b2c3d4 means microseconds, 0xa1b23c4d
 * nanoseconds; read in the other byte order they appear as d4c3b2a1 and 4d3cb2a1.
 *
 * The link-type field carries the link type in its low 16 bits; the upper bits may hold the FCS length and
 * flags, which are masked off. Limits: a record claiming a captured length above `maxRecordBytes` is taken as
 * damage (warning `oversized-record`) and reading stops there, so a lying length never causes a large
 * allocation. An input ending inside a record gives warning `truncated-record` with the record's offset.
 */

import {
  type CaptureParser,
  type CaptureParserConfig,
  type CaptureParserCounts,
  createPacketView,
  DEFAULT_MAX_RECORD_BYTES,
  growCarry,
  hexPrefix,
  readU32,
} from './capture-parser.js';
import { CaptureFormatError, type SourceWarning } from './types.js';

/** Magic numbers as read in the file's own byte order. */
export const PCAP_MAGIC = { MICROS: 0xa1b2c3d4, NANOS: 0xa1b23c4d } as const;

export const PCAP_FILE_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;

/** What the file header says; null until the 24 header bytes have arrived. */
export interface PcapFileHeader {
  readonly littleEndian: boolean;
  readonly nanoseconds: boolean;
  readonly versionMajor: number;
  readonly versionMinor: number;
  readonly snaplen: number;
  /** LINKTYPE_* value, FCS bits removed. */
  readonly linkType: number;
  /** The upper 16 bits of the link-type field (FCS length and flags), as found. */
  readonly linkTypeExtra: number;
}

export interface PcapParser extends CaptureParser {
  readonly header: PcapFileHeader | null;
}

/**
 * Recognises the 4-byte classic pcap magic at `offset`: returns the byte order and timestamp unit, or null.
 */
export function sniffPcapMagic(
  bytes: Uint8Array,
  offset = 0,
): { littleEndian: boolean; nanoseconds: boolean } | null {
  if (bytes.length < offset + 4) return null;
  const be = readU32(bytes, offset, false);
  const le = readU32(bytes, offset, true);
  if (be === PCAP_MAGIC.MICROS) return { littleEndian: false, nanoseconds: false };
  if (le === PCAP_MAGIC.MICROS) return { littleEndian: true, nanoseconds: false };
  if (be === PCAP_MAGIC.NANOS) return { littleEndian: false, nanoseconds: true };
  if (le === PCAP_MAGIC.NANOS) return { littleEndian: true, nanoseconds: true };
  return null;
}

export function createPcapParser(config: CaptureParserConfig): PcapParser {
  const onPacket = config.onPacket;
  const onWarning = config.onWarning;
  const maxRecordBytes = config.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const view = createPacketView();

  let header: PcapFileHeader | null = null;
  let littleEndian = true;
  let nanoseconds = false;
  let linkType = 0;

  /** Holds the file header, or one record that straddles chunks. */
  let carry: Uint8Array = new Uint8Array(0);
  let carryLength = 0;
  /** Input offset of carry[0]. */
  let carryOffset = 0;
  /** Input offset of the first byte of the chunk being parsed. */
  let chunkOffset = 0;

  let packets = 0;
  let bytes = 0;
  let truncated = 0;
  let stopped = false;

  /** Every warning names the record it is about by number (1-based, as tcpdump and Wireshark count). */
  function warn(code: SourceWarning['code'], byteOffset: number, message: string): void {
    if (onWarning !== undefined)
      onWarning({ code, byteOffset, packetsBefore: packets, message: `record ${packets + 1}: ${message}` });
  }

  function parseFileHeader(b: Uint8Array): void {
    const magic = sniffPcapMagic(b, 0);
    if (magic === null) {
      stopped = true;
      throw new CaptureFormatError(`not a pcap file: starts with ${hexPrefix(b, 4)}`);
    }
    littleEndian = magic.littleEndian;
    nanoseconds = magic.nanoseconds;
    const rawLinkType = readU32(b, 20, littleEndian);
    linkType = rawLinkType & 0xffff;
    header = {
      littleEndian,
      nanoseconds,
      versionMajor: littleEndian ? b[4]! | (b[5]! << 8) : (b[4]! << 8) | b[5]!,
      versionMinor: littleEndian ? b[6]! | (b[7]! << 8) : (b[6]! << 8) | b[7]!,
      snaplen: readU32(b, 16, littleEndian),
      linkType,
      linkTypeExtra: rawLinkType >>> 16,
    };
  }

  /** Checks a record's captured length; false (and stopped) when it is a lying length. */
  function acceptLength(capturedLength: number, recordOffset: number): boolean {
    if (capturedLength <= maxRecordBytes) return true;
    warn(
      'oversized-record',
      recordOffset,
      `record at byte ${recordOffset} claims ${capturedLength} captured bytes, more than the ${maxRecordBytes}-byte limit; reading stopped`,
    );
    stopped = true;
    return false;
  }

  /** Delivers the record whose 16-byte header starts at `p` in `b`; the whole record is present. */
  function deliver(b: Uint8Array, p: number, capturedLength: number): void {
    const seconds = readU32(b, p, littleEndian);
    const fraction = readU32(b, p + 4, littleEndian);
    const originalLength = readU32(b, p + 12, littleEndian);
    view.buffer = b;
    view.offset = p + PCAP_RECORD_HEADER_BYTES;
    view.capturedLength = capturedLength;
    view.originalLength = originalLength;
    view.tsMicros = seconds * 1_000_000 + (nanoseconds ? Math.floor(fraction / 1000) : fraction);
    view.linkType = linkType;
    view.interfaceId = 0;
    view.index = packets;
    packets++;
    if (capturedLength < originalLength) truncated++;
    onPacket(view);
  }

  /** Copies bytes from `chunk[pos...]` into the carry until it holds `needed` bytes; returns the new pos. */
  function fill(chunk: Uint8Array, pos: number, needed: number): number {
    const take = Math.min(needed - carryLength, chunk.length - pos);
    if (take <= 0) return pos;
    carry = growCarry(carry, carryLength, needed);
    carry.set(chunk.subarray(pos, pos + take), carryLength);
    carryLength += take;
    return pos + take;
  }

  /** Continues the header or record held in the carry with the start of `chunk`; returns the new pos. */
  function drainCarry(chunk: Uint8Array): number {
    let pos = 0;
    if (header === null) {
      pos = fill(chunk, pos, PCAP_FILE_HEADER_BYTES);
      if (carryLength < PCAP_FILE_HEADER_BYTES) return pos;
      parseFileHeader(carry);
      carryLength = 0;
      return pos;
    }
    pos = fill(chunk, pos, PCAP_RECORD_HEADER_BYTES);
    if (carryLength < PCAP_RECORD_HEADER_BYTES) return pos;
    const capturedLength = readU32(carry, 8, littleEndian);
    if (!acceptLength(capturedLength, carryOffset)) return chunk.length;
    const recordLength = PCAP_RECORD_HEADER_BYTES + capturedLength;
    pos = fill(chunk, pos, recordLength);
    if (carryLength < recordLength) return pos;
    carryLength = 0;
    deliver(carry, 0, capturedLength);
    return pos;
  }

  function push(chunk: Uint8Array): void {
    if (stopped) return;
    const n = chunk.length;
    bytes += n;
    let pos = 0;
    if (carryLength > 0 || header === null) {
      pos = drainCarry(chunk);
      if (carryLength > 0 || header === null || stopped) {
        chunkOffset += n;
        return;
      }
    }
    while (pos + PCAP_RECORD_HEADER_BYTES <= n) {
      const capturedLength = readU32(chunk, pos + 8, littleEndian);
      if (capturedLength > maxRecordBytes) {
        acceptLength(capturedLength, chunkOffset + pos);
        break;
      }
      const end = pos + PCAP_RECORD_HEADER_BYTES + capturedLength;
      if (end > n) break;
      deliver(chunk, pos, capturedLength);
      pos = end;
      if (stopped) break;
    }
    if (!stopped && pos < n) {
      carryOffset = chunkOffset + pos;
      fill(chunk, pos, n - pos);
    }
    chunkOffset += n;
  }

  function end(): void {
    if (stopped) return;
    stopped = true;
    if (header === null) {
      if (carryLength > 0) {
        warn(
          'truncated-record',
          0,
          `input ends inside the ${PCAP_FILE_HEADER_BYTES}-byte file header (${carryLength} bytes)`,
        );
      }
      return;
    }
    if (carryLength > 0) {
      const expected =
        carryLength >= PCAP_RECORD_HEADER_BYTES
          ? `${PCAP_RECORD_HEADER_BYTES + readU32(carry, 8, littleEndian)}-byte record`
          : `${PCAP_RECORD_HEADER_BYTES}-byte record header`;
      warn(
        'truncated-record',
        carryOffset,
        `input ends inside the ${expected} at byte ${carryOffset} (${carryLength} bytes present)`,
      );
    }
  }

  function counts(): CaptureParserCounts {
    return { packets, bytes, truncated };
  }

  return {
    push,
    end,
    stop(): void {
      stopped = true;
    },
    get stopped(): boolean {
      return stopped;
    },
    get header(): PcapFileHeader | null {
      return header;
    },
    counts,
  };
}
