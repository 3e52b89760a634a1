/** TCP header decoding (RFC 9293) and checksum verification. */

import { checksumVerifies, sumWords } from './internet-checksum.js';
import type { IpLayerResult } from './ip-layer-result.js';
import { CODE, CONTINUE } from './outcome-codes.js';
import type { TcpSegment } from './types.js';
import { IP_PROTO } from './wire-constants.js';

const MIN_HEADER_BYTES = 20;

/**
 * Validates the TCP header at `offset` (its ports already read) and fills the TCP fields of `segment`:
 * seq/ack (unsigned 32-bit), flags, window, payload offset and lengths. Options are not parsed; the data
 * offset is checked against the minimum header and the IP payload. Returns CONTINUE or an outcome code
 * (`tcp-truncated`: the header is not all captured, or the IP payload is shorter than 20 bytes;
 * `tcp-bad-data-offset`: below 20 or past the end of the IP payload).
 */
export function decodeTcpHeader(
  buffer: Uint8Array,
  offset: number,
  capturedEnd: number,
  wireEnd: number,
  segment: TcpSegment,
): number {
  if (wireEnd - offset < MIN_HEADER_BYTES || capturedEnd - offset < MIN_HEADER_BYTES)
    return CODE.TCP_TRUNCATED;
  const headerLength = (buffer[offset + 12]! >> 4) << 2;
  if (headerLength < MIN_HEADER_BYTES || headerLength > wireEnd - offset) return CODE.TCP_BAD_DATA_OFFSET;
  if (headerLength > capturedEnd - offset) return CODE.TCP_TRUNCATED;
  segment.seq =
    ((buffer[offset + 4]! << 24) |
      (buffer[offset + 5]! << 16) |
      (buffer[offset + 6]! << 8) |
      buffer[offset + 7]!) >>>
    0;
  segment.ack =
    ((buffer[offset + 8]! << 24) |
      (buffer[offset + 9]! << 16) |
      (buffer[offset + 10]! << 8) |
      buffer[offset + 11]!) >>>
    0;
  segment.flags = buffer[offset + 13]!;
  segment.window = (buffer[offset + 14]! << 8) | buffer[offset + 15]!;
  const payloadOffset = offset + headerLength;
  segment.payloadOffset = payloadOffset;
  segment.payloadLength = capturedEnd - payloadOffset;
  segment.wirePayloadLength = wireEnd - payloadOffset;
  return CONTINUE;
}

/**
 * Whether the TCP checksum of the segment `buffer[offset, end)` verifies, with the pseudo-header built from
 * the addresses in `ip` (IPv4: RFC 9293; IPv6: RFC 8200 section 8.1). The whole segment must be present.
 */
export function tcpChecksumOk(buffer: Uint8Array, ip: IpLayerResult, offset: number, end: number): boolean {
  const addressBytes = ip.ipVersion === 4 ? 4 : 16;
  let sum = sumWords(buffer, ip.srcAddrOffset, ip.srcAddrOffset + addressBytes, 0);
  sum = sumWords(buffer, ip.dstAddrOffset, ip.dstAddrOffset + addressBytes, sum);
  sum += IP_PROTO.TCP + (end - offset);
  return checksumVerifies(sumWords(buffer, offset, end, sum));
}
