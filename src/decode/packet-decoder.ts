/**
 * The packet decoder: link → IPv4/IPv6 (with fragment reassembly) → TCP, once per packet.
 *
 * Hot-path rules kept here: no allocation, no DataView, no strings and no try/catch per packet in the common
 * case. Layer functions return small integer codes; the decoder counts them in a typed array and returns the
 * preallocated outcome object for the code. The one {@link TcpSegment} is filled in place. Only fragments
 * allocate (they are copied until their datagram is complete).
 */

import type { PacketView } from '../capture/types.js';
import { createFragmentReassembler, type FragmentReassembler } from './fragment-reassembler.js';
import { createIpLayerResult } from './ip-layer-result.js';
import { decodeIpv4Header, ipv4HeaderChecksumOk } from './ipv4-header.js';
import { decodeIpv6Header } from './ipv6-header.js';
import { createLinkLayerResult, decodeLinkLayer } from './link-layer.js';
import {
  CODE,
  CONTINUE,
  malformedKindOf,
  OUTCOME_CODE_COUNT,
  OUTCOMES,
  skipReasonOf,
} from './outcome-codes.js';
import { decodeTcpHeader, tcpChecksumOk } from './tcp-header.js';
import type {
  DecodeCounters,
  DecodeOutcome,
  DecoderOptions,
  MalformedKind,
  PacketDecoder,
  SkipReason,
  TcpSegment,
} from './types.js';
import { IP_PROTO } from './wire-constants.js';

/**
 * Defaults: checksums not verified (captures taken on the sending host carry offloaded, unfinished sums);
 * fragments reassembled with at most 4 MiB held and a 30 s timeout (Linux's ipfrag_time); all ports.
 */
export const DEFAULT_DECODER_OPTIONS: DecoderOptions = Object.freeze({
  verifyChecksums: false,
  reassembleFragments: true,
  maxFragmentBytes: 4 * 1024 * 1024,
  fragmentTimeoutMs: 30_000,
  ports: null,
});

/** Whether an IPv6 fragment's next header may lead to TCP inside the reassembled datagram. */
function mayCarryTcp6(protocol: number): boolean {
  switch (protocol) {
    case IP_PROTO.TCP:
    case IP_PROTO.HOP_BY_HOP:
    case IP_PROTO.ROUTING:
    case IP_PROTO.FRAGMENT:
    case IP_PROTO.AH:
    case IP_PROTO.DESTINATION_OPTIONS:
    case IP_PROTO.MOBILITY:
    case IP_PROTO.HIP:
    case IP_PROTO.SHIM6:
      return true;
    default:
      return false;
  }
}

function createSegment(): TcpSegment {
  return {
    tsMicros: 0,
    frameIndex: 0,
    buffer: new Uint8Array(0),
    ipVersion: 4,
    srcAddrOffset: 0,
    dstAddrOffset: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    payloadOffset: 0,
    payloadLength: 0,
    wirePayloadLength: 0,
    checksumOk: null,
  };
}

/**
 * Creates a decoder. Options not given take {@link DEFAULT_DECODER_OPTIONS}. Each decoder owns its segment,
 * counters and fragment state; use one per packet stream.
 */
export function createPacketDecoder(options: Partial<DecoderOptions> = {}): PacketDecoder {
  const config: DecoderOptions = { ...DEFAULT_DECODER_OPTIONS, ...options };
  const verify = config.verifyChecksums;
  let portMap: Uint8Array | null = null;
  if (config.ports !== null) {
    portMap = new Uint8Array(65536);
    for (const port of config.ports)
      if (Number.isInteger(port) && port >= 0 && port <= 0xffff) portMap[port] = 1;
  }
  const fragments: FragmentReassembler | null = config.reassembleFragments
    ? createFragmentReassembler({
        maxBytes: config.maxFragmentBytes,
        timeoutMicros: config.fragmentTimeoutMs * 1000,
      })
    : null;

  const counts = new Float64Array(OUTCOME_CODE_COUNT);
  let fragmentsReassembled = 0;
  const link = createLinkLayerResult();
  const ip = createIpLayerResult();
  const segment = createSegment();

  /** TCP layer of the datagram described by `ip`; `reassembled` when it lives in the fragment output. */
  function decodeTcp(buffer: Uint8Array, reassembled: boolean): number {
    const offset = ip.payloadOffset;
    const capturedEnd = ip.capturedEnd;
    if (capturedEnd - offset < 4 || ip.wireEnd - offset < 4) return CODE.TCP_TRUNCATED;
    const srcPort = (buffer[offset]! << 8) | buffer[offset + 1]!;
    const dstPort = (buffer[offset + 2]! << 8) | buffer[offset + 3]!;
    if (portMap !== null && portMap[srcPort] === 0 && portMap[dstPort] === 0) return CODE.PORT_FILTERED;
    if (verify && ip.ipVersion === 4 && !reassembled && !ipv4HeaderChecksumOk(buffer, ip.headerOffset)) {
      return CODE.IPV4_BAD_CHECKSUM;
    }
    const code = decodeTcpHeader(buffer, offset, capturedEnd, ip.wireEnd, segment);
    if (code !== CONTINUE) return code;
    segment.buffer = buffer;
    segment.ipVersion = ip.ipVersion;
    segment.srcAddrOffset = ip.srcAddrOffset;
    segment.dstAddrOffset = ip.dstAddrOffset;
    segment.srcPort = srcPort;
    segment.dstPort = dstPort;
    if (verify && capturedEnd === ip.wireEnd && ip.pseudoHeaderKnown) {
      const ok = tcpChecksumOk(buffer, ip, offset, capturedEnd);
      segment.checksumOk = ok;
      if (!ok) return CODE.TCP_BAD_CHECKSUM;
    } else {
      segment.checksumOk = null;
    }
    return CODE.TCP;
  }

  /**
   * IP layer at `offset`, then TCP; reassembles fragments and decodes the datagram once complete. Takes the
   * packet, not its time: a time passed as an argument is a boxed number (16 bytes) per packet, read here only
   * for fragments.
   */
  function decodeIp(
    buffer: Uint8Array,
    offset: number,
    end: number,
    missingBytes: number,
    ipVersion: 4 | 6,
    packet: PacketView,
    reassembled: boolean,
  ): number {
    const code =
      ipVersion === 4
        ? decodeIpv4Header(buffer, offset, end, missingBytes, ip)
        : decodeIpv6Header(buffer, offset, end, missingBytes, ip);
    if (code !== CONTINUE) return code;
    const protocol = ip.protocol;
    if (!ip.fragment) {
      if (protocol === IP_PROTO.TCP) return decodeTcp(buffer, reassembled);
      return protocol === IP_PROTO.IPV4_IN_IP || protocol === IP_PROTO.IPV6_IN_IP
        ? CODE.IP_IN_IP
        : CODE.NOT_TCP;
    }
    // A fragment header inside a reassembled datagram (IPv4 reassembly clears the fragment fields).
    if (reassembled) return CODE.IPV6_BAD_EXTENSION;
    if (protocol === IP_PROTO.IPV4_IN_IP || protocol === IP_PROTO.IPV6_IN_IP) return CODE.IP_IN_IP;
    if (ipVersion === 4 ? protocol !== IP_PROTO.TCP : !mayCarryTcp6(protocol)) return CODE.NOT_TCP;
    if (verify && ipVersion === 4 && !ipv4HeaderChecksumOk(buffer, ip.headerOffset))
      return CODE.IPV4_BAD_CHECKSUM;
    if (fragments === null || ip.capturedEnd !== ip.wireEnd) return CODE.FRAGMENT_DROPPED;
    switch (fragments.add(buffer, ip, packet.tsMicros)) {
      case 'pending':
        return CODE.FRAGMENT_PENDING;
      case 'overlap':
        return CODE.FRAGMENT_OVERLAP;
      case 'too-large':
        return CODE.FRAGMENT_TOO_LARGE;
      case 'complete':
        fragmentsReassembled++;
        return decodeIp(fragments.output, 0, fragments.outputLength, 0, ipVersion, packet, true);
    }
  }

  /** Decodes one packet and counts its outcome; returns the outcome code. */
  function decodeCode(packet: PacketView): number {
    const buffer = packet.buffer;
    const start = packet.offset;
    let end = start + packet.capturedLength;
    if (end > buffer.length) end = buffer.length;
    let missingBytes = packet.originalLength - packet.capturedLength;
    if (!(missingBytes > 0)) missingBytes = 0;
    let code = decodeLinkLayer(buffer, start, end, packet.linkType, link);
    if (code === CONTINUE) {
      code = decodeIp(buffer, link.networkOffset, end, missingBytes, link.ipVersion, packet, false);
    }
    if (code === CODE.TCP) {
      segment.tsMicros = packet.tsMicros;
      segment.frameIndex = packet.index;
    }
    counts[code]! += 1;
    return code;
  }

  function decode(packet: PacketView): DecodeOutcome {
    return OUTCOMES[decodeCode(packet)]!;
  }

  function decodeSegment(packet: PacketView): boolean {
    return decodeCode(packet) === CODE.TCP;
  }

  function counters(): DecodeCounters {
    const skipped: Partial<Record<SkipReason, number>> = {};
    const malformed: Partial<Record<MalformedKind, number>> = {};
    for (let code = 1; code < OUTCOME_CODE_COUNT; code++) {
      const count = counts[code]!;
      if (count === 0) continue;
      const reason = skipReasonOf(code);
      if (reason !== null) skipped[reason] = count;
      const kind = malformedKindOf(code);
      if (kind !== null) malformed[kind] = count;
    }
    return {
      tcp: counts[CODE.TCP]!,
      skipped,
      malformed,
      fragmentsReassembled,
      fragmentSetsDropped: fragments === null ? 0 : fragments.droppedSets(),
    };
  }

  return { decode, decodeSegment, segment, counters };
}
