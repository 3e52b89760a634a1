/**
 * pcapng file parser: a chunk-agnostic push parser.
 *
 * A pcapng file is a sequence of blocks: type (4 bytes), total length (4), body, total length again (4).
 * Every block length is a multiple of 4 and at least 12. A Section Header Block (SHB, type 0x0a0d0d0a, the
 * same in both byte orders) starts each section; its byte-order magic 0x1a2b3c4d sets the byte order of the
 * section, and the section's Interface Description Blocks (IDB) are numbered from 0 again. Each IDB has its
 * own link type, snapshot length, timestamp resolution (`if_tsresol`: 10^-n, or 2^-n when the high bit is
 * set; default 10^-6) and timestamp offset in seconds (`if_tsoffset`).
 *
 * Packets come from Enhanced Packet Blocks (EPB, type 6), Simple Packet Blocks (SPB, type 3: interface 0, no
 * timestamp, captured length = min(original length, snapshot length, room in the block)) and the obsolete
 * Packet Block (type 2). Decryption Secrets Blocks (type 10: TLS key logs that `editcap --inject-secrets` wrote)
 * are handed to `onSecrets` when the caller gives one. Other blocks are skipped without being buffered; block
 * types this parser does not know at all give one `unknown-block` warning per type.
 *
 * Timestamps are converted to exact integer microseconds: the 64-bit count hi*2^32+lo can exceed 2^53 (for
 * nanosecond resolution it always does), so it is divided in two exact steps (see `writeMicros`).
 *
 * Limits: blocks that are parsed (SHB, IDB, packet blocks) may be at most `maxRecordBytes` + 64 KiB (room for
 * the block header and options); a longer one is a lying length (`oversized-record` for packet blocks,
 * `bad-block-length` otherwise) and reading stops. A block length below 12, not a multiple of 4, or not
 * repeated at the block's end is `bad-block-length` and reading stops. At most 65 536 interfaces per section.
 * An input ending inside a packet block gives `truncated-record`, inside any other block `truncated-block`.
 */

import {
  type CaptureParser,
  type CaptureParserConfig,
  type CaptureParserCounts,
  createPacketView,
  DEFAULT_MAX_RECORD_BYTES,
  growCarry,
  hexPrefix,
  readU16,
  readU32,
} from './capture-parser.js';
import { CaptureFormatError, type SourceWarning } from './types.js';

export const PCAPNG_BLOCK = {
  SECTION_HEADER: 0x0a0d0d0a,
  INTERFACE_DESCRIPTION: 0x00000001,
  PACKET: 0x00000002,
  SIMPLE_PACKET: 0x00000003,
  NAME_RESOLUTION: 0x00000004,
  INTERFACE_STATISTICS: 0x00000005,
  ENHANCED_PACKET: 0x00000006,
  SYSTEMD_JOURNAL: 0x00000009,
  DECRYPTION_SECRETS: 0x0000000a,
  CUSTOM: 0x00000bad,
  CUSTOM_NO_COPY: 0x40000bad,
} as const;

export const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;

/** Bytes a parsed block may have beyond `maxRecordBytes`: block header, packet header and options. */
export const PCAPNG_BLOCK_HEADROOM_BYTES = 65_536;

const MIN_BLOCK_BYTES = 12;
const SHB_MIN_BYTES = 28;
const MAX_INTERFACES = 65_536;
const MAX_UNKNOWN_TYPES_REPORTED = 64;
const TWO_POW_32 = 4_294_967_296;
/** Above this divisor, hr * 2^32 + lo may exceed 2^53 and the exact double path does not apply. */
const EXACT_DIVISOR_LIMIT = 2_097_152;

const OPT_END = 0;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;

/** How an interface's 64-bit timestamp becomes microseconds. */
type TimestampMode =
  /** ts * factor (resolution 10^-n, n <= 6). */
  | 'multiply'
  /** floor(ts / factor) in two exact steps (resolution 10^-n, 6 < n <= 12). */
  | 'divide'
  /** seconds = ts >> shift, fraction scaled (resolution 2^-n, n <= 32). */
  | 'binary'
  /** BigInt arithmetic, for the rare resolutions the double paths cannot do exactly. */
  | 'bigint';

interface InterfaceInfo {
  readonly linkType: number;
  readonly snaplen: number;
  readonly mode: TimestampMode;
  /** multiply: 10^(6-n); divide: 10^(n-6); binary: 2^n. */
  readonly factor: number;
  /** bigint: units per second. */
  readonly unitsPerSecond: bigint;
  /** if_tsoffset in microseconds. */
  readonly offsetMicros: number;
}

/** Classifies an `if_tsresol` byte into an exact conversion; exported for tests. */
export function describeResolution(tsresol: number): {
  mode: TimestampMode;
  factor: number;
  unitsPerSecond: bigint;
} {
  const exponent = tsresol & 0x7f;
  if ((tsresol & 0x80) !== 0) {
    const unitsPerSecond = 1n << BigInt(exponent);
    if (exponent <= 32) return { mode: 'binary', factor: 2 ** exponent, unitsPerSecond };
    return { mode: 'bigint', factor: 0, unitsPerSecond };
  }
  const unitsPerSecond = 10n ** BigInt(exponent);
  if (exponent <= 6) return { mode: 'multiply', factor: 10 ** (6 - exponent), unitsPerSecond };
  const divisor = 10 ** (exponent - 6);
  if (divisor < EXACT_DIVISOR_LIMIT) return { mode: 'divide', factor: divisor, unitsPerSecond };
  return { mode: 'bigint', factor: 0, unitsPerSecond };
}

/**
 * Writes the time of the packet whose 8-byte timestamp (high word first) is at `at` in `b` into `out[0]`:
 * exact floor(ts * 10^6 / unitsPerSecond) for ts = hi * 2^32 + lo (unsigned), plus the interface's offset.
 * - divide: with hi = hq * D + hr, ts / D = hq * 2^32 + (hr * 2^32 + lo) / D, and hr * 2^32 + lo < D * 2^32
 *   < 2^53, so both the numerator and the floor of the quotient are exact in doubles.
 * - binary: seconds = hi * 2^(32-n) + floor(lo / 2^n); the fraction lo mod 2^n is below 2^32, so
 *   fraction * 10^6 < 2^52 is exact, and dividing by 2^n is exact.
 * It reads the words and stores the result itself: a time (or a word past 2^30) passed in or returned as a
 * number by a call that is not inlined is a new heap number per packet.
 */
function writeMicros(
  iface: InterfaceInfo,
  b: Uint8Array,
  at: number,
  littleEndian: boolean,
  out: Float64Array,
): void {
  const hi = readU32(b, at, littleEndian);
  const lo = readU32(b, at + 4, littleEndian);
  // Each case stores its own result: a variable joining the BigInt case's number would box the others'.
  switch (iface.mode) {
    case 'multiply':
      out[0] = (hi * TWO_POW_32 + lo) * iface.factor + iface.offsetMicros;
      return;
    case 'divide': {
      const divisor = iface.factor;
      const hq = Math.floor(hi / divisor);
      const hr = hi - hq * divisor;
      out[0] = hq * TWO_POW_32 + Math.floor((hr * TWO_POW_32 + lo) / divisor) + iface.offsetMicros;
      return;
    }
    case 'binary': {
      const units = iface.factor;
      const loSeconds = Math.floor(lo / units);
      const fraction = lo - loSeconds * units;
      const seconds = hi * (TWO_POW_32 / units) + loSeconds;
      out[0] = seconds * 1_000_000 + Math.floor((fraction * 1_000_000) / units) + iface.offsetMicros;
      return;
    }
    case 'bigint': {
      const ts = (BigInt(hi) << 32n) | BigInt(lo);
      out[0] = Number((ts * 1_000_000n) / iface.unitsPerSecond) + iface.offsetMicros;
      return;
    }
  }
}

/** Recognises the pcapng magic (the SHB block type) at `offset`. */
export function sniffPcapngMagic(bytes: Uint8Array, offset = 0): boolean {
  return bytes.length >= offset + 4 && readU32(bytes, offset, true) === PCAPNG_BLOCK.SECTION_HEADER;
}

export interface PcapngParser extends CaptureParser {
  /** Number of sections started so far. */
  readonly sections: number;
}

/** What to do with the block whose header was just inspected. */
type Action = 'parse' | 'skip' | 'fail';

export function createPcapngParser(config: CaptureParserConfig): PcapngParser {
  const onPacket = config.onPacket;
  const onWarning = config.onWarning;
  const onSecrets = config.onSecrets;
  const maxRecordBytes = config.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  const maxBlockBytes = maxRecordBytes + PCAPNG_BLOCK_HEADROOM_BYTES;
  const view = createPacketView();

  let littleEndian = true;
  let sections = 0;
  let interfaces: InterfaceInfo[] = [];
  /** Interfaces already reported as unknown in this section (reported once each). */
  let unknownInterfaces = new Set<number>();
  const unknownTypes = new Set<number>();
  /**
   * [0]: the time of the packet being delivered, which is also the time given to Simple Packet Blocks (they
   * carry none: the previous packet's). In a typed array: a microsecond time is no small integer, and one kept
   * in a closure variable or passed as an argument is a new heap number per packet.
   */
  const packetMicros = new Float64Array(1);

  let carry: Uint8Array = new Uint8Array(0);
  let carryLength = 0;
  let carryOffset = 0;
  /** Total length of the block in the carry once its header was inspected; 0 before. */
  let carryBlockLength = 0;
  /** Type of the block in the carry (or being skipped) once inspected. */
  let carryBlockType = 0;
  /** Bytes of a skipped block still to be passed over. */
  let skipRemaining = 0;
  let chunkOffset = 0;
  /** Set by inspect(): total length of the block just inspected. */
  let blockLength = 0;

  let packets = 0;
  let bytes = 0;
  let truncated = 0;
  let stopped = false;

  /** Every warning says how many packets came before it (a block need not be a packet, so no record number). */
  function warn(code: SourceWarning['code'], byteOffset: number, message: string): void {
    if (onWarning !== undefined)
      onWarning({ code, byteOffset, packetsBefore: packets, message: `after packet ${packets}: ${message}` });
  }

  function fail(code: SourceWarning['code'], byteOffset: number, message: string): Action {
    warn(code, byteOffset, `${message}; reading stopped`);
    stopped = true;
    return 'fail';
  }

  /**
   * Reads the block header at `p` (12 bytes present), sets `blockLength`, and decides what to do. For an
   * SHB it also sets the byte order, which the block length is written in.
   */
  function inspect(b: Uint8Array, p: number, at: number): Action {
    const type = readU32(b, p, littleEndian);
    if (type === PCAPNG_BLOCK.SECTION_HEADER) {
      const magicLe = readU32(b, p + 8, true);
      if (magicLe === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = true;
      else if (readU32(b, p + 8, false) === PCAPNG_BYTE_ORDER_MAGIC) littleEndian = false;
      else if (sections === 0) {
        stopped = true;
        throw new CaptureFormatError(
          `not a pcapng file: unknown byte-order magic ${hexPrefix(b.subarray(p + 8), 4)}`,
        );
      } else {
        return fail('bad-block-length', at, `section header at byte ${at} has unknown byte-order magic`);
      }
    } else if (sections === 0) {
      stopped = true;
      throw new CaptureFormatError(`not a pcapng file: starts with ${hexPrefix(b.subarray(p), 4)}`);
    }
    const length = readU32(b, p + 4, littleEndian);
    blockLength = length;
    if (
      length < MIN_BLOCK_BYTES ||
      length % 4 !== 0 ||
      (type === PCAPNG_BLOCK.SECTION_HEADER && length < SHB_MIN_BYTES)
    ) {
      return fail(
        'bad-block-length',
        at,
        `block of type 0x${type.toString(16)} at byte ${at} has invalid length ${length}`,
      );
    }
    switch (type) {
      case PCAPNG_BLOCK.ENHANCED_PACKET:
      case PCAPNG_BLOCK.SIMPLE_PACKET:
      case PCAPNG_BLOCK.PACKET:
        if (length > maxBlockBytes) {
          return fail(
            'oversized-record',
            at,
            `packet block at byte ${at} claims ${length} bytes, more than the ${maxBlockBytes}-byte limit`,
          );
        }
        return 'parse';
      case PCAPNG_BLOCK.SECTION_HEADER:
      case PCAPNG_BLOCK.INTERFACE_DESCRIPTION:
        if (length > maxBlockBytes) {
          return fail(
            'bad-block-length',
            at,
            `block at byte ${at} claims ${length} bytes, more than the ${maxBlockBytes}-byte limit`,
          );
        }
        return 'parse';
      case PCAPNG_BLOCK.DECRYPTION_SECRETS:
        if (onSecrets === undefined) return 'skip';
        if (length > maxBlockBytes) {
          warn(
            'bad-block-length',
            at,
            `decryption secrets block at byte ${at} claims ${length} bytes, more than the ${maxBlockBytes}-byte limit; skipped`,
          );
          return 'skip';
        }
        return 'parse';
      case PCAPNG_BLOCK.NAME_RESOLUTION:
      case PCAPNG_BLOCK.INTERFACE_STATISTICS:
      case PCAPNG_BLOCK.SYSTEMD_JOURNAL:
      case PCAPNG_BLOCK.CUSTOM:
      case PCAPNG_BLOCK.CUSTOM_NO_COPY:
        return 'skip';
      default:
        if (!unknownTypes.has(type) && unknownTypes.size < MAX_UNKNOWN_TYPES_REPORTED) {
          unknownTypes.add(type);
          warn(
            'unknown-block',
            at,
            `skipped block of unknown type 0x${type.toString(16)} at byte ${at} (reported once per type)`,
          );
        }
        return 'skip';
    }
  }

  function parseInterface(b: Uint8Array, p: number, length: number, at: number): void {
    const linkType = readU16(b, p + 8, littleEndian);
    const snaplen = readU32(b, p + 12, littleEndian);
    let tsresol = 6;
    let offsetSeconds = 0;
    const end = p + length - 4;
    let q = p + 16;
    while (q + 4 <= end) {
      const code = readU16(b, q, littleEndian);
      const optionLength = readU16(b, q + 2, littleEndian);
      if (code === OPT_END) break;
      if (q + 4 + optionLength > end) break;
      if (code === OPT_IF_TSRESOL && optionLength >= 1) tsresol = b[q + 4]!;
      else if (code === OPT_IF_TSOFFSET && optionLength >= 8) {
        const first = readU32(b, q + 4, littleEndian);
        const second = readU32(b, q + 8, littleEndian);
        const hi = littleEndian ? second : first;
        const lo = littleEndian ? first : second;
        offsetSeconds = (hi | 0) * TWO_POW_32 + lo;
      }
      q += 4 + ((optionLength + 3) & ~3);
    }
    if (interfaces.length >= MAX_INTERFACES) {
      warn(
        'unknown-interface',
        at,
        `more than ${MAX_INTERFACES} interfaces in one section; interface ignored`,
      );
      return;
    }
    const resolution = describeResolution(tsresol);
    interfaces.push({
      linkType,
      snaplen,
      mode: resolution.mode,
      factor: resolution.factor,
      unitsPerSecond: resolution.unitsPerSecond,
      offsetMicros: offsetSeconds * 1_000_000,
    });
  }

  function unknownInterface(interfaceId: number, at: number): void {
    if (unknownInterfaces.has(interfaceId) || unknownInterfaces.size >= MAX_UNKNOWN_TYPES_REPORTED) return;
    unknownInterfaces.add(interfaceId);
    warn(
      'unknown-interface',
      at,
      `packet at byte ${at} names interface ${interfaceId}, but the section describes ${interfaces.length}; such packets are skipped (reported once per interface)`,
    );
  }

  function deliver(
    b: Uint8Array,
    dataOffset: number,
    capturedLength: number,
    originalLength: number,
    iface: InterfaceInfo,
    interfaceId: number,
  ): void {
    view.buffer = b;
    view.offset = dataOffset;
    view.capturedLength = capturedLength;
    view.originalLength = originalLength;
    view.tsMicros = packetMicros[0]!;
    view.linkType = iface.linkType;
    view.interfaceId = interfaceId;
    view.index = packets;
    packets++;
    if (capturedLength < originalLength) truncated++;
    onPacket(view);
  }

  /** Parses the whole block at `p` (its `length` bytes are present in `b`). */
  function parseBlock(b: Uint8Array, p: number, length: number, at: number): void {
    if (readU32(b, p + length - 4, littleEndian) !== length) {
      fail(
        'bad-block-length',
        at,
        `block at byte ${at}: trailing length does not repeat the leading length ${length}`,
      );
      return;
    }
    const type = readU32(b, p, littleEndian);
    switch (type) {
      case PCAPNG_BLOCK.ENHANCED_PACKET:
      case PCAPNG_BLOCK.PACKET: {
        const interfaceId =
          type === PCAPNG_BLOCK.ENHANCED_PACKET
            ? readU32(b, p + 8, littleEndian)
            : readU16(b, p + 8, littleEndian);
        const iface = interfaces[interfaceId];
        if (iface === undefined) {
          unknownInterface(interfaceId, at);
          return;
        }
        if (length < 32) {
          warn('bad-block-length', at, `packet block at byte ${at} is too short (${length} bytes); skipped`);
          return;
        }
        const capturedLength = readU32(b, p + 20, littleEndian);
        if (28 + capturedLength > length - 4) {
          warn(
            'bad-block-length',
            at,
            `packet block at byte ${at}: captured length ${capturedLength} does not fit in the ${length}-byte block; skipped`,
          );
          return;
        }
        writeMicros(iface, b, p + 12, littleEndian, packetMicros);
        deliver(b, p + 28, capturedLength, readU32(b, p + 24, littleEndian), iface, interfaceId);
        return;
      }
      case PCAPNG_BLOCK.SIMPLE_PACKET: {
        const iface = interfaces[0];
        if (iface === undefined) {
          unknownInterface(0, at);
          return;
        }
        if (length < 16) {
          warn(
            'bad-block-length',
            at,
            `simple packet block at byte ${at} is too short (${length} bytes); skipped`,
          );
          return;
        }
        const originalLength = readU32(b, p + 8, littleEndian);
        let capturedLength = Math.min(originalLength, length - 16);
        if (iface.snaplen > 0 && iface.snaplen < capturedLength) capturedLength = iface.snaplen;
        deliver(b, p + 12, capturedLength, originalLength, iface, 0);
        return;
      }
      case PCAPNG_BLOCK.INTERFACE_DESCRIPTION:
        if (length < 20) {
          warn(
            'bad-block-length',
            at,
            `interface block at byte ${at} is too short (${length} bytes); skipped`,
          );
          return;
        }
        parseInterface(b, p, length, at);
        return;
      case PCAPNG_BLOCK.DECRYPTION_SECRETS: {
        // Secrets type (4), secrets length (4), the secrets padded to 32 bits, options.
        const secretsLength = length >= 20 ? readU32(b, p + 12, littleEndian) : -1;
        if (secretsLength < 0 || 16 + secretsLength > length - 4) {
          warn(
            'bad-block-length',
            at,
            `decryption secrets block at byte ${at}: secrets length does not fit in the ${length}-byte block; skipped`,
          );
          return;
        }
        onSecrets?.(readU32(b, p + 8, littleEndian), b.subarray(p + 16, p + 16 + secretsLength));
        return;
      }
      case PCAPNG_BLOCK.SECTION_HEADER:
        sections++;
        interfaces = [];
        unknownInterfaces = new Set<number>();
        return;
      default:
        return;
    }
  }

  function fill(chunk: Uint8Array, pos: number, needed: number): number {
    const take = Math.min(needed - carryLength, chunk.length - pos);
    if (take <= 0) return pos;
    carry = growCarry(carry, carryLength, needed);
    carry.set(chunk.subarray(pos, pos + take), carryLength);
    carryLength += take;
    return pos + take;
  }

  /** Continues the skip or the block held in the carry with the start of `chunk`; returns the new pos. */
  function drainCarry(chunk: Uint8Array): number {
    const n = chunk.length;
    let pos = 0;
    if (skipRemaining > 0) {
      const take = Math.min(skipRemaining, n);
      skipRemaining -= take;
      return take;
    }
    if (carryBlockLength === 0) {
      pos = fill(chunk, pos, MIN_BLOCK_BYTES);
      if (carryLength < MIN_BLOCK_BYTES) return pos;
      const action = inspect(carry, 0, carryOffset);
      if (action === 'fail') return n;
      if (action === 'skip') {
        const rest = blockLength - carryLength;
        carryLength = 0;
        const take = Math.min(rest, n - pos);
        skipRemaining = rest - take;
        return pos + take;
      }
      carryBlockLength = blockLength;
      carryBlockType = readU32(carry, 0, littleEndian);
    }
    pos = fill(chunk, pos, carryBlockLength);
    if (carryLength < carryBlockLength) return pos;
    const length = carryBlockLength;
    carryLength = 0;
    carryBlockLength = 0;
    parseBlock(carry, 0, length, carryOffset);
    return pos;
  }

  function push(chunk: Uint8Array): void {
    if (stopped) return;
    const n = chunk.length;
    bytes += n;
    let pos = 0;
    if (skipRemaining > 0 || carryLength > 0) {
      pos = drainCarry(chunk);
      if (skipRemaining > 0 || carryLength > 0 || stopped) {
        chunkOffset += n;
        return;
      }
    }
    while (n - pos >= MIN_BLOCK_BYTES) {
      const at = chunkOffset + pos;
      const action = inspect(chunk, pos, at);
      if (action === 'fail') break;
      const length = blockLength;
      if (action === 'skip') {
        if (length <= n - pos) {
          pos += length;
          continue;
        }
        skipRemaining = length - (n - pos);
        carryOffset = at;
        carryBlockType = 0;
        pos = n;
        break;
      }
      if (length > n - pos) {
        carryBlockLength = length;
        carryBlockType = readU32(chunk, pos, littleEndian);
        break;
      }
      parseBlock(chunk, pos, length, at);
      pos += length;
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
    if (skipRemaining > 0) {
      warn(
        'truncated-block',
        carryOffset,
        `input ends inside a skipped block (${skipRemaining} bytes missing)`,
      );
    } else if (carryLength > 0) {
      const expected = carryBlockLength > 0 ? `${carryBlockLength}-byte block` : 'block header';
      const isPacket =
        carryBlockLength > 0 &&
        (carryBlockType === PCAPNG_BLOCK.ENHANCED_PACKET ||
          carryBlockType === PCAPNG_BLOCK.SIMPLE_PACKET ||
          carryBlockType === PCAPNG_BLOCK.PACKET);
      warn(
        isPacket ? 'truncated-record' : 'truncated-block',
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
    get sections(): number {
      return sections;
    },
    counts,
  };
}
