/** IPv6 header and extension-header chain decoding (RFC 8200, AH per RFC 4302). */

import type { IpLayerResult } from './ip-layer-result.js';
import { CODE, CONTINUE } from './outcome-codes.js';
import { IP_PROTO } from './wire-constants.js';

const FIXED_HEADER_BYTES = 40;
const FRAGMENT_HEADER_BYTES = 8;
/** Longest extension-header chain followed; a longer one is counted as `ipv6-bad-extension`. */
export const MAX_EXTENSION_HEADERS = 16;

/**
 * Decodes the IPv6 header at `buffer[offset]` and walks its extension headers (hop-by-hop, routing,
 * destination options, mobility, HIP, shim6, AH) up to the upper-layer header or a fragment header.
 * Returns CONTINUE with `out` filled, or an outcome code (`ip-bad-version`, `ipv6-truncated`,
 * `ipv6-bad-payload-length`, `ipv6-bad-extension`). `out.protocol` is the first header that is not one of
 * those extensions (TCP, ESP, no-next-header, ...); after a fragment header it is the fragment header's
 * next header and decoding stops there (the rest of the chain is inside the fragmentable part).
 *
 * Lengths follow the IPv4 rules: payload length below the captured length is padding, above it is a snaplen
 * cut when `missingBytes` covers it. A payload length of 0 (jumbogram, or offload captured on the sender)
 * takes the captured length. A fragment header with offset 0 and no more fragments (an atomic fragment,
 * RFC 6946) is skipped over like any extension.
 */
export function decodeIpv6Header(
  buffer: Uint8Array,
  offset: number,
  end: number,
  missingBytes: number,
  out: IpLayerResult,
): number {
  const available = end - offset;
  if (available >= 1 && buffer[offset]! >> 4 !== 6) return CODE.IP_BAD_VERSION;
  if (available < FIXED_HEADER_BYTES) return CODE.IPV6_TRUNCATED;
  const payloadLength = (buffer[offset + 4]! << 8) | buffer[offset + 5]!;
  const totalLength = payloadLength === 0 ? available : FIXED_HEADER_BYTES + payloadLength;
  let capturedEnd: number;
  if (totalLength <= available) {
    capturedEnd = offset + totalLength;
  } else if (totalLength - available <= missingBytes) {
    capturedEnd = end;
  } else {
    return CODE.IPV6_BAD_PAYLOAD_LENGTH;
  }
  const wireEnd = offset + totalLength;

  out.ipVersion = 6;
  out.headerOffset = offset;
  out.srcAddrOffset = offset + 8;
  out.dstAddrOffset = offset + 24;
  out.capturedEnd = capturedEnd;
  out.wireEnd = wireEnd;
  out.fragment = false;
  out.fragmentOffset = 0;
  out.moreFragments = false;
  out.fragmentId = 0;
  out.pseudoHeaderKnown = true;

  let nextHeaderField = offset + 6;
  let nextHeader = buffer[nextHeaderField]!;
  let position = offset + FIXED_HEADER_BYTES;
  for (let count = 0; ; count++) {
    let length: number;
    switch (nextHeader) {
      case IP_PROTO.HOP_BY_HOP:
      case IP_PROTO.ROUTING:
      case IP_PROTO.DESTINATION_OPTIONS:
      case IP_PROTO.MOBILITY:
      case IP_PROTO.HIP:
      case IP_PROTO.SHIM6:
      case IP_PROTO.AH:
      case IP_PROTO.FRAGMENT:
        break;
      default:
        out.protocol = nextHeader;
        out.payloadOffset = position;
        out.unfragmentableLength = position - offset;
        out.nextHeaderFieldOffset = nextHeaderField - offset;
        return CONTINUE;
    }
    if (count >= MAX_EXTENSION_HEADERS) return CODE.IPV6_BAD_EXTENSION;
    if (nextHeader === IP_PROTO.HOP_BY_HOP && count !== 0) return CODE.IPV6_BAD_EXTENSION;
    if (wireEnd - position < FRAGMENT_HEADER_BYTES) return CODE.IPV6_BAD_EXTENSION;
    if (capturedEnd - position < FRAGMENT_HEADER_BYTES) return CODE.IPV6_TRUNCATED;

    if (nextHeader === IP_PROTO.FRAGMENT) {
      const fragmentOffset = ((buffer[position + 2]! << 8) | buffer[position + 3]!) & 0xfff8;
      const moreFragments = (buffer[position + 3]! & 1) !== 0;
      if (fragmentOffset !== 0 || moreFragments) {
        out.fragment = true;
        out.fragmentOffset = fragmentOffset;
        out.moreFragments = moreFragments;
        out.fragmentId =
          (buffer[position + 4]! * 0x1000000 +
            ((buffer[position + 5]! << 16) | (buffer[position + 6]! << 8) | buffer[position + 7]!)) >>>
          0;
        out.protocol = buffer[position]!;
        out.payloadOffset = position + FRAGMENT_HEADER_BYTES;
        out.unfragmentableLength = position - offset;
        out.nextHeaderFieldOffset = nextHeaderField - offset;
        return CONTINUE;
      }
      length = FRAGMENT_HEADER_BYTES;
    } else if (nextHeader === IP_PROTO.AH) {
      length = (buffer[position + 1]! + 2) << 2;
    } else {
      length = (buffer[position + 1]! + 1) << 3;
      if (nextHeader === IP_PROTO.ROUTING && buffer[position + 3]! !== 0) out.pseudoHeaderKnown = false;
    }
    if (wireEnd - position < length) return CODE.IPV6_BAD_EXTENSION;
    if (capturedEnd - position < length) return CODE.IPV6_TRUNCATED;
    nextHeaderField = position;
    nextHeader = buffer[position]!;
    position += length;
  }
}
