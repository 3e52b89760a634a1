/** The IP layer as the decoder sees it: filled in place by the IPv4 and IPv6 header decoders. */

export interface IpLayerResult {
  ipVersion: 4 | 6;
  /** Offset of the IP header. */
  headerOffset: number;
  srcAddrOffset: number;
  dstAddrOffset: number;
  /** Upper-layer protocol: after any IPv6 extension headers; for a fragment, the protocol of its data. */
  protocol: number;
  /** Offset of the upper-layer header; for a fragment, of the fragment's data. */
  payloadOffset: number;
  /** End of the bytes present in the capture (Ethernet padding trimmed). */
  capturedEnd: number;
  /** End of the datagram as sent (from the IP length); above capturedEnd when the snaplen cut it. */
  wireEnd: number;
  /** True for a fragment of a larger datagram (IPv6 atomic fragments are not fragments). */
  fragment: boolean;
  /** Byte offset of this fragment's data within the datagram's fragmentable part. */
  fragmentOffset: number;
  moreFragments: boolean;
  fragmentId: number;
  /**
   * Bytes from headerOffset kept at the front of a reassembled datagram: the IPv4 header, or the IPv6 header
   * and the extension headers before the fragment header.
   */
  unfragmentableLength: number;
  /** IPv6: position, relative to headerOffset, of the next-header byte that names the fragment header. */
  nextHeaderFieldOffset: number;
  /** False when an IPv6 routing header with segments left makes the TCP pseudo-header destination unknown. */
  pseudoHeaderKnown: boolean;
}

export function createIpLayerResult(): IpLayerResult {
  return {
    ipVersion: 4,
    headerOffset: 0,
    srcAddrOffset: 0,
    dstAddrOffset: 0,
    protocol: 0,
    payloadOffset: 0,
    capturedEnd: 0,
    wireEnd: 0,
    fragment: false,
    fragmentOffset: 0,
    moreFragments: false,
    fragmentId: 0,
    unfragmentableLength: 0,
    nextHeaderFieldOffset: 0,
    pseudoHeaderKnown: true,
  };
}
