/** IPv4 header decoding (RFC 791), options included. */

import { checksumVerifies, sumWords } from './internet-checksum.js';
import type { IpLayerResult } from './ip-layer-result.js';
import { CODE, CONTINUE } from './outcome-codes.js';

const MIN_HEADER_BYTES = 20;

/**
 * Decodes the IPv4 header at `buffer[offset]`, where the packet's captured bytes end at `end` and
 * `missingBytes` more were on the wire (cut by the snaplen). Returns CONTINUE with `out` filled, or an
 * outcome code (`ip-bad-version`, `ipv4-truncated`, `ipv4-bad-header-length`, `ipv4-bad-total-length`).
 *
 * Lengths: a total length below the captured length is Ethernet padding and is trimmed; above it, the
 * datagram was cut by the snaplen when the frame's original length covers the difference, and the total
 * length is bogus otherwise. A total length of 0 is taken as "unknown" (segmentation offload captured on the
 * sender) and the captured length is used.
 */
export function decodeIpv4Header(
  buffer: Uint8Array,
  offset: number,
  end: number,
  missingBytes: number,
  out: IpLayerResult,
): number {
  const available = end - offset;
  if (available < MIN_HEADER_BYTES) {
    if (available >= 1 && buffer[offset]! >> 4 !== 4) return CODE.IP_BAD_VERSION;
    return CODE.IPV4_TRUNCATED;
  }
  const b0 = buffer[offset]!;
  if (b0 >> 4 !== 4) return CODE.IP_BAD_VERSION;
  const headerLength = (b0 & 0x0f) << 2;
  if (headerLength < MIN_HEADER_BYTES) return CODE.IPV4_BAD_HEADER_LENGTH;
  let totalLength = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
  if (totalLength === 0) totalLength = available;
  if (totalLength < headerLength) return CODE.IPV4_BAD_TOTAL_LENGTH;
  if (headerLength > available) return CODE.IPV4_TRUNCATED;

  if (totalLength <= available) {
    out.capturedEnd = offset + totalLength;
  } else if (totalLength - available <= missingBytes) {
    out.capturedEnd = end;
  } else {
    return CODE.IPV4_BAD_TOTAL_LENGTH;
  }
  out.wireEnd = offset + totalLength;

  const b6 = buffer[offset + 6]!;
  const fragmentOffset = (((b6 & 0x1f) << 8) | buffer[offset + 7]!) << 3;
  const moreFragments = (b6 & 0x20) !== 0;
  out.ipVersion = 4;
  out.headerOffset = offset;
  out.srcAddrOffset = offset + 12;
  out.dstAddrOffset = offset + 16;
  out.protocol = buffer[offset + 9]!;
  out.payloadOffset = offset + headerLength;
  out.fragment = moreFragments || fragmentOffset !== 0;
  out.fragmentOffset = fragmentOffset;
  out.moreFragments = moreFragments;
  out.fragmentId = (buffer[offset + 4]! << 8) | buffer[offset + 5]!;
  out.unfragmentableLength = headerLength;
  out.nextHeaderFieldOffset = 9;
  out.pseudoHeaderKnown = true;
  return CONTINUE;
}

/** Whether the header checksum of the IPv4 header at `offset` (fully present) verifies. */
export function ipv4HeaderChecksumOk(buffer: Uint8Array, offset: number): boolean {
  const headerLength = (buffer[offset]! & 0x0f) << 2;
  return checksumVerifies(sumWords(buffer, offset, offset + headerLength, 0));
}
