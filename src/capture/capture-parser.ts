/**
 * What the classic pcap and pcapng push parsers share: their configuration, their interface and the
 * byte-reading helpers.
 *
 * A parser is fed arbitrary chunks of the file's bytes with `push` and calls `onPacket` synchronously, once
 * per packet, with a reused {@link PacketView}. A record that lies wholly inside a chunk is delivered as a
 * view into that chunk (no copy); only a record that straddles a chunk boundary is assembled in the carry
 * buffer, whose size is bounded by `maxRecordBytes` plus the record or block headers. The parser keeps no
 * reference to a chunk after `push` returns, so the caller may reuse the chunk's memory for the next read.
 */

import type { PacketView, SourceWarning } from './types.js';

/** Largest captured packet accepted by default: 256 KiB, the largest snapshot length libpcap uses. */
export const DEFAULT_MAX_RECORD_BYTES = 262_144;

export interface CaptureParserConfig {
  /** Called for every packet; the view is overwritten for the next packet. */
  readonly onPacket: (packet: PacketView) => void;
  /** Called for damage that did not stop reading, and for the damage that did (then the parser stops). */
  readonly onWarning?: (warning: SourceWarning) => void;
  /**
   * pcapng Decryption Secrets Blocks: called with the secrets type (0x544c534b for a TLS key log) and the
   * secrets data (valid during the call only), in file order, before the packets that follow the block. Without
   * it the blocks are skipped unread.
   */
  readonly onSecrets?: (secretsType: number, data: Uint8Array) => void;
  /**
   * Largest captured length of one packet in bytes (default {@link DEFAULT_MAX_RECORD_BYTES}). A record
   * claiming more is treated as a lying length: warning `oversized-record`, and the parser stops.
   */
  readonly maxRecordBytes?: number;
}

export interface CaptureParserCounts {
  /** Packets delivered. */
  readonly packets: number;
  /** Bytes pushed into the parser. */
  readonly bytes: number;
  /** Packets delivered whose captured length is below their original length. */
  readonly truncated: number;
}

export interface CaptureParser {
  /** Parses the next chunk of input. Throws CaptureFormatError only if the input does not start as this format. */
  push(chunk: Uint8Array): void;
  /** Signals the end of input; an incomplete final record becomes a warning. */
  end(): void;
  /** Stops delivery at once, even in the middle of a chunk; later input is ignored. Idempotent. */
  stop(): void;
  /** Whether the parser has stopped, by `stop()` or because of damage it cannot read past. */
  readonly stopped: boolean;
  counts(): CaptureParserCounts;
}

/** A fresh view object; parsers create one and overwrite it for each packet. */
export function createPacketView(): PacketView {
  return {
    buffer: new Uint8Array(0),
    offset: 0,
    capturedLength: 0,
    originalLength: 0,
    tsMicros: 0,
    linkType: 0,
    interfaceId: 0,
    index: 0,
  };
}

export function readU32(bytes: Uint8Array, offset: number, littleEndian: boolean): number {
  return littleEndian
    ? (bytes[offset]! |
        (bytes[offset + 1]! << 8) |
        (bytes[offset + 2]! << 16) |
        (bytes[offset + 3]! << 24)) >>>
        0
    : ((bytes[offset]! << 24) |
        (bytes[offset + 1]! << 16) |
        (bytes[offset + 2]! << 8) |
        bytes[offset + 3]!) >>>
        0;
}

export function readU16(bytes: Uint8Array, offset: number, littleEndian: boolean): number {
  return littleEndian
    ? bytes[offset]! | (bytes[offset + 1]! << 8)
    : (bytes[offset]! << 8) | bytes[offset + 1]!;
}

/** Two-digit lowercase hex of up to `max` bytes, space separated ("3c 68 74 6d"). */
export function hexPrefix(bytes: Uint8Array, max: number): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length && i < max; i++) parts.push(bytes[i]!.toString(16).padStart(2, '0'));
  return parts.join(' ');
}

/**
 * Growable carry buffer for a record that straddles chunks. Its size is the largest record it has had to
 * hold, or 64 KiB, whichever is more; callers ask only for a record size they have checked against their limit.
 */
export function growCarry(carry: Uint8Array, used: number, needed: number): Uint8Array {
  if (carry.length >= needed) return carry;
  const grown = new Uint8Array(Math.max(needed, 65_536));
  grown.set(carry.subarray(0, used));
  return grown;
}
