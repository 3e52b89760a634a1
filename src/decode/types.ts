/**
 * Packet decoding contracts: link → IP → TCP.
 *
 * The decoder fills a reused {@link TcpSegment} instead of allocating one per packet; addresses stay as byte
 * ranges in the packet buffer so that flow lookup hashes bytes and only a new flow formats address strings.
 */

import type { PacketView } from '../capture/types.js';

export const TCP_FLAG = {
  FIN: 0x01,
  SYN: 0x02,
  RST: 0x04,
  PSH: 0x08,
  ACK: 0x10,
  URG: 0x20,
  ECE: 0x40,
  CWR: 0x80,
} as const;

export interface Endpoint {
  /** Dotted IPv4 or RFC 5952 IPv6 text. */
  readonly ip: string;
  readonly port: number;
}

/** One decoded TCP segment. Reused by the decoder: valid only until the next decode call. */
export interface TcpSegment {
  tsMicros: number;
  /** 0-based frame index in the source, for error messages and per-packet references. */
  frameIndex: number;
  /** Buffer the offsets below point into (the packet buffer, or a reassembled IPv4 datagram). */
  buffer: Uint8Array;
  ipVersion: 4 | 6;
  /** Offsets of the source and destination address bytes (4 bytes for IPv4, 16 for IPv6). */
  srcAddrOffset: number;
  dstAddrOffset: number;
  srcPort: number;
  dstPort: number;
  /** Raw 32-bit sequence and acknowledgement numbers; only reassembly/seq.ts interprets them. */
  seq: number;
  ack: number;
  /** TCP_FLAG bit set. */
  flags: number;
  window: number;
  payloadOffset: number;
  /** Payload bytes present in the capture. */
  payloadLength: number;
  /** Payload bytes the segment carried on the wire (from the IP length); above payloadLength when cut by snaplen. */
  wirePayloadLength: number;
  /** null when checksums are not verified; otherwise whether the TCP checksum verified. */
  checksumOk: boolean | null;
}

/** Malformed-header kinds, counted per kind and reported (never thrown). */
export type MalformedKind =
  | 'link-truncated'
  | 'vlan-truncated'
  /** The IP version nibble disagrees with the link layer's protocol (e.g. EtherType 0x0800 with version 6). */
  | 'ip-bad-version'
  | 'ipv4-truncated'
  | 'ipv4-bad-header-length'
  | 'ipv4-bad-total-length'
  | 'ipv4-bad-checksum'
  | 'ipv6-truncated'
  /** The IPv6 payload length claims more bytes than the packet had on the wire. */
  | 'ipv6-bad-payload-length'
  | 'ipv6-bad-extension'
  | 'tcp-truncated'
  | 'tcp-bad-data-offset'
  | 'tcp-bad-checksum'
  | 'fragment-overlap'
  | 'fragment-too-large';

/** Reasons a well-formed packet is not passed on. */
export type SkipReason =
  | 'unsupported-link'
  | 'not-ip'
  | 'not-tcp'
  | 'fragment-pending'
  | 'fragment-dropped'
  | 'ip-in-ip'
  | 'port-filtered';

export type DecodeOutcome =
  | { readonly kind: 'tcp' }
  | { readonly kind: 'skipped'; readonly reason: SkipReason }
  | { readonly kind: 'malformed'; readonly reason: MalformedKind };

export interface DecoderOptions {
  /** Verify IPv4 header and TCP checksums (off by default: captures on the sender carry offloaded sums). */
  readonly verifyChecksums: boolean;
  /** Reassemble IPv4/IPv6 fragments (on by default); off counts them as skipped. */
  readonly reassembleFragments: boolean;
  /** Bound on bytes held in incomplete fragment sets; the oldest set is dropped past it. */
  readonly maxFragmentBytes: number;
  /** Incomplete fragment sets older than this (packet time) are dropped. */
  readonly fragmentTimeoutMs: number;
  /** Only segments with one of these ports (either side) are decoded past TCP; null: all ports. */
  readonly ports: ReadonlySet<number> | null;
}

export interface DecodeCounters {
  readonly tcp: number;
  readonly skipped: Readonly<Partial<Record<SkipReason, number>>>;
  readonly malformed: Readonly<Partial<Record<MalformedKind, number>>>;
  readonly fragmentsReassembled: number;
  /** Incomplete fragment sets discarded by the timeout or by the byte bound (their fragments were counted as pending). */
  readonly fragmentSetsDropped: number;
}

export interface PacketDecoder {
  /** Decodes one packet into the reused segment; returns what happened. Never throws on traffic. */
  decode(packet: PacketView): DecodeOutcome;
  /**
   * The same as `decode(packet).kind === 'tcp'`, for the packet loop: a boolean instead of outcome objects of
   * several shapes, so the loop's check stays monomorphic.
   */
  decodeSegment(packet: PacketView): boolean;
  /** The segment filled by the last decode that returned `tcp`. */
  readonly segment: TcpSegment;
  counters(): DecodeCounters;
}
