/**
 * IPv4 and IPv6 fragment reassembly, bounded in bytes, sets and packet time.
 *
 * Fragments are grouped by (source, destination, identification, protocol) for IPv4 and by (source,
 * destination, identification) for IPv6. Each stored fragment is copied (fragments are rare, so this path
 * may allocate). Policies, chosen to match what a current Linux receiver does:
 *  - an exact duplicate (same offset and length) is ignored;
 *  - any other overlap, or a fragment inconsistent with the known datagram end, discards the whole set
 *    (RFC 5722; Linux does the same for IPv4 since 4.19) and is reported as `overlap`;
 *  - a datagram that would exceed 65,535 bytes, or a set that alone would exceed the byte bound, is discarded
 *    and reported as `too-large`;
 *  - sets older than the timeout (by packet time) and the oldest sets past the byte or set bound are
 *    discarded silently and counted in {@link FragmentReassembler.droppedSets}.
 * A completed datagram is written into one reused output buffer with the lengths in its header fixed up
 * (IPv4: total length set, fragment bits cleared; IPv6: payload length set and the fragment header removed).
 */

import { copyBytes } from '../util/copy-bytes.js';
import type { IpLayerResult } from './ip-layer-result.js';

/** Result of {@link FragmentReassembler.add}. */
export type FragmentAddResult = 'pending' | 'complete' | 'overlap' | 'too-large';

export interface FragmentReassemblerOptions {
  /** Bound on bytes held across all incomplete sets (fragment data plus kept headers). */
  readonly maxBytes: number;
  /** Incomplete sets whose first fragment is older than this (packet time) are dropped. */
  readonly timeoutMicros: number;
}

export interface FragmentReassembler {
  /**
   * Adds the fragment described by `ip` (fully captured: capturedEnd === wireEnd), seen at `tsMicros`.
   * On `complete` the datagram is in `output[0, outputLength)`.
   */
  add(buffer: Uint8Array, ip: IpLayerResult, tsMicros: number): FragmentAddResult;
  readonly output: Uint8Array;
  readonly outputLength: number;
  /** Incomplete sets dropped by timeout or by the bounds so far. */
  droppedSets(): number;
  /** Bytes currently held in incomplete sets. */
  heldBytes(): number;
  /** Number of incomplete sets held. */
  openSets(): number;
}

/** Most incomplete sets held at once; the oldest is dropped past it (bounds the linear key search). */
export const MAX_FRAGMENT_SETS = 256;
/** Largest IP datagram (IPv4 total length; IPv6 payload length without jumbograms). */
const MAX_DATAGRAM_BYTES = 65535;
const IPV6_FIXED_HEADER_BYTES = 40;

interface Piece {
  readonly start: number;
  readonly end: number;
  readonly bytes: Uint8Array;
}

interface FragmentSet {
  readonly ipVersion: 4 | 6;
  readonly addresses: Uint8Array;
  readonly id: number;
  /** IPv4: the header's protocol; IPv6: the next header of the offset-0 fragment's fragment header. */
  protocol: number;
  readonly firstTsMicros: number;
  readonly pieces: Piece[];
  /** Header kept from the offset-0 fragment (null until it arrives). */
  header: Uint8Array | null;
  nextHeaderFieldOffset: number;
  /** End of the datagram's fragmentable part, known from the last fragment; -1 until then. */
  dataEnd: number;
  receivedBytes: number;
  heldBytes: number;
}

function sameAddresses(set: FragmentSet, buffer: Uint8Array, ip: IpLayerResult): boolean {
  const size = ip.ipVersion === 4 ? 4 : 16;
  const a = set.addresses;
  for (let i = 0; i < size; i++) {
    if (a[i] !== buffer[ip.srcAddrOffset + i]) return false;
    if (a[size + i] !== buffer[ip.dstAddrOffset + i]) return false;
  }
  return true;
}

export function createFragmentReassembler(options: FragmentReassemblerOptions): FragmentReassembler {
  const sets: FragmentSet[] = [];
  let totalHeld = 0;
  let dropped = 0;
  let output = new Uint8Array(0);
  let outputLength = 0;

  function removeAt(index: number): void {
    const set = sets[index];
    if (set === undefined) return;
    totalHeld -= set.heldBytes;
    sets.splice(index, 1);
  }

  function expire(tsMicros: number): void {
    const cutoff = tsMicros - options.timeoutMicros;
    for (let i = sets.length - 1; i >= 0; i--) {
      const set = sets[i];
      if (set !== undefined && set.firstTsMicros < cutoff) {
        removeAt(i);
        dropped++;
      }
    }
  }

  function find(buffer: Uint8Array, ip: IpLayerResult): number {
    for (let i = 0; i < sets.length; i++) {
      const set = sets[i]!;
      if (
        set.ipVersion === ip.ipVersion &&
        set.id === ip.fragmentId &&
        (ip.ipVersion === 6 || set.protocol === ip.protocol) &&
        sameAddresses(set, buffer, ip)
      ) {
        return i;
      }
    }
    return -1;
  }

  function assemble(set: FragmentSet): boolean {
    const header = set.header!;
    const length = header.length + set.dataEnd;
    if (length > MAX_DATAGRAM_BYTES + (set.ipVersion === 6 ? IPV6_FIXED_HEADER_BYTES : 0)) return false;
    if (output.length < length) output = new Uint8Array(Math.max(length, MAX_DATAGRAM_BYTES + 64));
    output.set(header, 0);
    for (const piece of set.pieces) output.set(piece.bytes, header.length + piece.start);
    if (set.ipVersion === 4) {
      output[2] = length >>> 8;
      output[3] = length & 0xff;
      output[6] = output[6]! & 0x40;
      output[7] = 0;
    } else {
      const payloadLength = length - IPV6_FIXED_HEADER_BYTES;
      output[4] = payloadLength >>> 8;
      output[5] = payloadLength & 0xff;
      output[set.nextHeaderFieldOffset] = set.protocol;
    }
    outputLength = length;
    return true;
  }

  function add(buffer: Uint8Array, ip: IpLayerResult, tsMicros: number): FragmentAddResult {
    expire(tsMicros);
    const start = ip.fragmentOffset;
    const dataLength = ip.capturedEnd - ip.payloadOffset;
    const end = start + dataLength;
    const last = !ip.moreFragments;

    let index = find(buffer, ip);
    let set = index >= 0 ? sets[index]! : null;
    if (set === null) {
      const size = ip.ipVersion === 4 ? 4 : 16;
      const addresses = new Uint8Array(2 * size);
      addresses.set(buffer.subarray(ip.srcAddrOffset, ip.srcAddrOffset + size), 0);
      addresses.set(buffer.subarray(ip.dstAddrOffset, ip.dstAddrOffset + size), size);
      set = {
        ipVersion: ip.ipVersion,
        addresses,
        id: ip.fragmentId,
        protocol: ip.protocol,
        firstTsMicros: tsMicros,
        pieces: [],
        header: null,
        nextHeaderFieldOffset: 0,
        dataEnd: -1,
        receivedBytes: 0,
        heldBytes: 0,
      };
      if (sets.length >= MAX_FRAGMENT_SETS) {
        removeAt(0);
        dropped++;
      }
      sets.push(set);
      index = sets.length - 1;
    }

    if (end > MAX_DATAGRAM_BYTES) {
      removeAt(index);
      return 'too-large';
    }
    if (set.dataEnd >= 0 && (end > set.dataEnd || (last && end !== set.dataEnd))) {
      removeAt(index);
      return 'overlap';
    }
    for (const piece of set.pieces) {
      if (start < piece.end && piece.start < end) {
        if (piece.start === start && piece.end === end) return 'pending';
        removeAt(index);
        return 'overlap';
      }
      if (last && piece.end > end) {
        removeAt(index);
        return 'overlap';
      }
    }

    const headerBytes = start === 0 ? ip.unfragmentableLength : 0;
    const cost = dataLength + headerBytes;
    if (set.heldBytes + cost > options.maxBytes) {
      removeAt(index);
      return 'too-large';
    }
    while (totalHeld + cost > options.maxBytes && sets.length > 1) {
      const oldest = sets[0] === set ? 1 : 0;
      removeAt(oldest);
      dropped++;
    }

    set.pieces.push({ start, end, bytes: copyBytes(buffer.subarray(ip.payloadOffset, ip.capturedEnd)) });
    if (start === 0) {
      set.header = copyBytes(buffer.subarray(ip.headerOffset, ip.headerOffset + ip.unfragmentableLength));
      set.nextHeaderFieldOffset = ip.nextHeaderFieldOffset;
      set.protocol = ip.protocol;
    }
    if (last) set.dataEnd = end;
    set.receivedBytes += dataLength;
    set.heldBytes += cost;
    totalHeld += cost;

    if (set.header === null || set.dataEnd < 0 || set.receivedBytes !== set.dataEnd) return 'pending';
    removeAt(sets.indexOf(set));
    return assemble(set) ? 'complete' : 'too-large';
  }

  return {
    add,
    get output() {
      return output;
    },
    get outputLength() {
      return outputLength;
    },
    droppedSets: () => dropped,
    heldBytes: () => totalHeld,
    openSets: () => sets.length,
  };
}
