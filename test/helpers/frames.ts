/**
 * Frame builders for tests: TCP over IPv4/IPv6 over every link type the decoder reads, with correct or
 * deliberately wrong checksums, IPv4 options, IPv6 extension headers, VLAN stacks and fragments.
 *
 * The one-call form builds a whole frame:
 *
 *   tcpFrame({ link: 'ethernet', src: '10.0.0.1', dst: '10.0.0.2', sport: 40000, dport: 25,
 *              seq: 1, ack: 0, flags: 'S', vlan: [100, 200] })
 *
 * The layered form builds pieces and wraps them, for fragments and hand-made oddities:
 *
 *   const ip = ipv4Packet({ src, dst, protocol: 6, payload: tcpSegment({ src, dst, payload: 'HELO x\r\n' }) });
 *   const frames = fragmentIpv4(ip, 16).map((f) => linkFrame(f, { link: 'ethernet' }));
 *
 * `packetView(frame, { link })` wraps a frame as the capture layer's PacketView (with an optional snaplen).
 * Address family is chosen by the address text: a ':' means IPv6. Defaults: 10.0.0.1:40000 → 10.0.0.2:25,
 * seq 1, ack 0, flags 'A', window 65535, TTL 64, empty payload, correct checksums, Ethernet link.
 * Every builder returns a fresh Uint8Array.
 */

import type { PacketView } from '../../src/capture/types.js';
import { LINKTYPE } from '../../src/capture/types.js';

/** Link types by name. 'null' is BSD loopback written by a little-endian host, 'null-be' by a big-endian one. */
export type LinkKind =
  | 'ethernet'
  | 'sll'
  | 'sll2'
  | 'null'
  | 'null-be'
  | 'loop'
  | 'raw'
  | 'raw-12'
  | 'raw-14'
  | 'ipv4'
  | 'ipv6';

export const LINK_TYPE_OF: Readonly<Record<LinkKind, number>> = {
  ethernet: LINKTYPE.ETHERNET,
  sll: LINKTYPE.LINUX_SLL,
  sll2: LINKTYPE.LINUX_SLL2,
  null: LINKTYPE.NULL,
  'null-be': LINKTYPE.NULL,
  loop: LINKTYPE.LOOP,
  raw: LINKTYPE.RAW,
  'raw-12': LINKTYPE.RAW_12,
  'raw-14': LINKTYPE.RAW_14,
  ipv4: LINKTYPE.IPV4,
  ipv6: LINKTYPE.IPV6,
};

/** 'correct' (default), 'bad' (the correct value plus one, which never verifies), or an exact 16-bit value. */
export type ChecksumSpec = 'correct' | 'bad' | number;

export interface VlanTag {
  readonly id: number;
  /** Tag protocol identifier: 0x8100 (802.1Q, default), 0x88a8 (802.1ad) or 0x9100. */
  readonly tpid?: number;
  readonly priority?: number;
}

export interface LinkOptions {
  /** Default 'ethernet'. */
  readonly link?: LinkKind;
  /** VLAN tags, outermost first (Ethernet, SLL, SLL2). A number is an 802.1Q tag with that VLAN id. */
  readonly vlan?: readonly (number | VlanTag)[];
  readonly srcMac?: string;
  readonly dstMac?: string;
  /** EtherType / SLL protocol written after the tags (default from the IP version nibble). */
  readonly ethertype?: number;
  /** NULL/LOOP address family (default 2 for IPv4, 30 — macOS AF_INET6 — for IPv6). */
  readonly family?: number;
  /** Bytes appended after the IP packet (Ethernet padding or an FCS). */
  readonly trailer?: Uint8Array;
  /** Pad the frame with zero bytes up to this length (60: the Ethernet minimum without FCS). */
  readonly padTo?: number;
  /** SLL/SLL2 packet type (0 to us, 4 outgoing; default 0). */
  readonly sllPacketType?: number;
  /** SLL/SLL2 ARPHRD type (default 1, Ethernet). */
  readonly arphrd?: number;
}

export type ExtensionHeaderKind = 'hop-by-hop' | 'routing' | 'destination-options' | 'authentication';

export interface ExtensionHeader {
  readonly kind: ExtensionHeaderKind;
  /** Total header bytes: a multiple of 8 (AH: of 4), at least 8. Default 8. Body bytes are zero (Pad1 options). */
  readonly length?: number;
  /** Routing header "segments left" (default 0). */
  readonly segmentsLeft?: number;
}

export interface IpOptions {
  /** Source and destination addresses (default 10.0.0.1 → 10.0.0.2); IPv6 when the text has a ':'. */
  readonly src?: string;
  readonly dst?: string;
  /** TTL / hop limit (default 64). */
  readonly ttl?: number;
  /** IPv4 identification (default 1). */
  readonly ipId?: number;
  readonly dontFragment?: boolean;
  /** IPv4 options, zero-padded to a multiple of 4 bytes (at most 40). */
  readonly ipOptions?: Uint8Array;
  /** IPv4 header checksum. */
  readonly ipChecksum?: ChecksumSpec;
  /** Override the IPv4 total length or the IPv6 payload length written in the header. */
  readonly ipLength?: number;
  /** Override the IPv4 header length field, in 32-bit words. */
  readonly ihl?: number;
  /** Override the version nibble. */
  readonly ipVersion?: number;
  /** IPv6 extension headers, in order, between the fixed header and the upper layer. */
  readonly extensionHeaders?: readonly ExtensionHeader[];
}

export interface TcpOptions {
  /** Default 40000. */
  readonly sport?: number;
  /** Default 25. */
  readonly dport?: number;
  /** Default 1. */
  readonly seq?: number;
  /** Default 0. */
  readonly ack?: number;
  /** Flag letters F S R P A U E C in any order ('SA', 'PA', 'FA'), or a bit set. Default 'A'. */
  readonly flags?: string | number;
  /** Default 65535. */
  readonly window?: number;
  /** Raw TCP option bytes, padded with EOL (0) to a multiple of 4. */
  readonly tcpOptions?: Uint8Array;
  /** Override the data offset field, in 32-bit words. */
  readonly dataOffset?: number;
  /** Payload bytes, or text written as latin1. */
  readonly payload?: Uint8Array | string;
  readonly tcpChecksum?: ChecksumSpec;
}

export type TcpFrameSpec = LinkOptions & IpOptions & TcpOptions;

const DEFAULT_SRC = '10.0.0.1';
const DEFAULT_DST = '10.0.0.2';

// ---------------------------------------------------------------------------------------------------------
// Small pieces

/** Parses dotted IPv4 or IPv6 text (with `::` and an optional trailing dotted quad) into bytes. */
export function parseIp(text: string): Uint8Array {
  if (!text.includes(':')) {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new Error(`bad IPv4 address: ${text}`);
    }
    return Uint8Array.from(parts);
  }
  let head = text;
  let tailQuad: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    tailQuad = parseIp(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split('::');
  if (halves.length > 2) throw new Error(`bad IPv6 address: ${text}`);
  const toGroups = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => parseInt(g, 16));
  const left = toGroups(halves[0] ?? '');
  const right = halves.length === 2 ? toGroups(halves[1] ?? '') : [];
  const fill = halves.length === 2 ? 8 - left.length - right.length : 0;
  const groups = [...left, ...new Array<number>(fill).fill(0), ...right];
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) {
    throw new Error(`bad IPv6 address: ${text}`);
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  if (tailQuad !== null) bytes.set(tailQuad, 12);
  return bytes;
}

function parseMac(text: string): Uint8Array {
  const parts = text.split(':').map((p) => parseInt(p, 16));
  if (parts.length !== 6 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad MAC address: ${text}`);
  }
  return Uint8Array.from(parts);
}

/** TCP flag bit set from letters F S R P A U E C (FIN SYN RST PSH ACK URG ECE CWR). */
export function tcpFlags(letters: string): number {
  const bits: Record<string, number> = {
    F: 0x01,
    S: 0x02,
    R: 0x04,
    P: 0x08,
    A: 0x10,
    U: 0x20,
    E: 0x40,
    C: 0x80,
  };
  let value = 0;
  for (const letter of letters.toUpperCase()) {
    const bit = bits[letter];
    if (bit === undefined) throw new Error(`unknown TCP flag letter: ${letter}`);
    value |= bit;
  }
  return value;
}

/** RFC 1071 checksum (the value to store) over the concatenation of `parts`. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) sum += ((part[i] ?? 0) << 8) | (part[i + 1] ?? 0);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

function applyChecksum(correct: number, spec: ChecksumSpec | undefined): number {
  if (spec === undefined || spec === 'correct') return correct;
  if (spec === 'bad') return (correct + 1) & 0xffff;
  return spec & 0xffff;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function u16(value: number): Uint8Array {
  return Uint8Array.of((value >>> 8) & 0xff, value & 0xff);
}

function u32(value: number): Uint8Array {
  return Uint8Array.of((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function padTo4(bytes: Uint8Array): Uint8Array {
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return padded;
}

function toBytes(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  if (typeof payload === 'string') return Uint8Array.from(payload, (c) => c.charCodeAt(0) & 0xff);
  return payload;
}

/** Pseudo-header for the TCP checksum (RFC 9293 for IPv4, RFC 8200 section 8.1 for IPv6). */
function pseudoHeader(src: Uint8Array, dst: Uint8Array, length: number): Uint8Array {
  return src.length === 4
    ? concat(src, dst, Uint8Array.of(0, 6), u16(length))
    : concat(src, dst, u32(length), Uint8Array.of(0, 0, 0, 6));
}

// ---------------------------------------------------------------------------------------------------------
// Layers

/** A TCP header plus payload; the checksum covers the pseudo-header built from `src`/`dst`. */
export function tcpSegment(spec: TcpOptions & Pick<IpOptions, 'src' | 'dst'> = {}): Uint8Array {
  const options = padTo4(spec.tcpOptions ?? new Uint8Array(0));
  const payload = toBytes(spec.payload);
  const headerLength = 20 + options.length;
  const flags = typeof spec.flags === 'number' ? spec.flags : tcpFlags(spec.flags ?? 'A');
  const header = concat(
    u16(spec.sport ?? 40000),
    u16(spec.dport ?? 25),
    u32(spec.seq ?? 1),
    u32(spec.ack ?? 0),
    Uint8Array.of(((spec.dataOffset ?? headerLength / 4) & 0x0f) << 4, flags & 0xff),
    u16(spec.window ?? 65535),
    u16(0),
    u16(0),
    options,
  );
  const segment = concat(header, payload);
  const src = parseIp(spec.src ?? DEFAULT_SRC);
  const dst = parseIp(spec.dst ?? DEFAULT_DST);
  const checksum = applyChecksum(
    internetChecksum(pseudoHeader(src, dst, segment.length), segment),
    spec.tcpChecksum,
  );
  segment.set(u16(checksum), 16);
  return segment;
}

export interface Ipv4PacketSpec extends IpOptions {
  readonly protocol: number;
  readonly payload: Uint8Array;
  readonly moreFragments?: boolean;
  /** Fragment offset in bytes (a multiple of 8). */
  readonly fragmentOffset?: number;
}

/** An IPv4 header (with options) followed by `payload`. */
export function ipv4Packet(spec: Ipv4PacketSpec): Uint8Array {
  const options = padTo4(spec.ipOptions ?? new Uint8Array(0));
  const headerLength = 20 + options.length;
  const flagsAndOffset =
    (spec.dontFragment === true ? 0x4000 : 0) |
    (spec.moreFragments === true ? 0x2000 : 0) |
    (((spec.fragmentOffset ?? 0) >> 3) & 0x1fff);
  const header = concat(
    Uint8Array.of(((spec.ipVersion ?? 4) << 4) | ((spec.ihl ?? headerLength / 4) & 0x0f), 0),
    u16(spec.ipLength ?? headerLength + spec.payload.length),
    u16(spec.ipId ?? 1),
    u16(flagsAndOffset),
    Uint8Array.of(spec.ttl ?? 64, spec.protocol),
    u16(0),
    parseIp(spec.src ?? DEFAULT_SRC),
    parseIp(spec.dst ?? DEFAULT_DST),
    options,
  );
  header.set(u16(applyChecksum(internetChecksum(header), spec.ipChecksum)), 10);
  return concat(header, spec.payload);
}

const EXTENSION_NUMBER: Readonly<Record<ExtensionHeaderKind, number>> = {
  'hop-by-hop': 0,
  routing: 43,
  'destination-options': 60,
  authentication: 51,
};

function extensionHeader(header: ExtensionHeader, nextHeader: number): Uint8Array {
  const length = header.length ?? 8;
  const bytes = new Uint8Array(length);
  bytes[0] = nextHeader;
  bytes[1] = header.kind === 'authentication' ? length / 4 - 2 : length / 8 - 1;
  if (header.kind === 'routing') bytes[3] = header.segmentsLeft ?? 0;
  return bytes;
}

export interface Ipv6PacketSpec extends IpOptions {
  /** Protocol of `payload` (after the extension headers). */
  readonly nextHeader: number;
  readonly payload: Uint8Array;
}

/** An IPv6 header, the extension headers of `spec.extensionHeaders`, then `payload`. */
export function ipv6Packet(spec: Ipv6PacketSpec): Uint8Array {
  const headers = spec.extensionHeaders ?? [];
  const parts: Uint8Array[] = [];
  for (let i = 0; i < headers.length; i++) {
    const following = headers[i + 1];
    parts.push(
      extensionHeader(
        headers[i]!,
        following === undefined ? spec.nextHeader : EXTENSION_NUMBER[following.kind],
      ),
    );
  }
  const first = headers[0];
  const body = concat(...parts, spec.payload);
  const fixed = concat(
    Uint8Array.of((spec.ipVersion ?? 6) << 4, 0, 0, 0),
    u16(spec.ipLength ?? body.length),
    Uint8Array.of(first === undefined ? spec.nextHeader : EXTENSION_NUMBER[first.kind], spec.ttl ?? 64),
    parseIp(spec.src ?? '2001:db8::1'),
    parseIp(spec.dst ?? '2001:db8::2'),
  );
  return concat(fixed, body);
}

function vlanTags(tags: readonly (number | VlanTag)[] | undefined): Uint8Array[] {
  return (tags ?? []).map((tag) => {
    const t = typeof tag === 'number' ? { id: tag } : tag;
    return concat(u16(t.tpid ?? 0x8100), u16((((t.priority ?? 0) & 7) << 13) | (t.id & 0x0fff)));
  });
}

/**
 * Wraps an IP packet (or any bytes, with `ethertype`/`family` given) in the link header of `options.link`.
 * For 'ipv4', 'ipv6' and the raw types there is no header.
 */
export function linkFrame(packet: Uint8Array, options: LinkOptions = {}): Uint8Array {
  const link = options.link ?? 'ethernet';
  const isV6 = (packet[0] ?? 0) >> 4 === 6;
  const ethertype = options.ethertype ?? (isV6 ? 0x86dd : 0x0800);
  const family = options.family ?? (isV6 ? 30 : 2);
  const tags = vlanTags(options.vlan);
  let header: Uint8Array;
  switch (link) {
    case 'ethernet': {
      // With tags, each tag's TPID sits where the EtherType would be; the real EtherType follows the last tag.
      header = concat(
        parseMac(options.dstMac ?? '02:00:00:00:00:02'),
        parseMac(options.srcMac ?? '02:00:00:00:00:01'),
        ...tags,
        u16(ethertype),
      );
      break;
    }
    case 'sll': {
      // The protocol field holds the first TPID when tagged; each tag is then TCI + next protocol.
      const protocols = [...tags.map((t) => t.subarray(0, 2)), u16(ethertype)];
      const tagBodies = tags.map((t, i) => concat(t.subarray(2, 4), protocols[i + 1]!));
      header = concat(
        u16(options.sllPacketType ?? 0),
        u16(options.arphrd ?? 1),
        u16(6),
        parseMac(options.srcMac ?? '02:00:00:00:00:01'),
        Uint8Array.of(0, 0),
        protocols[0]!,
        ...tagBodies,
      );
      break;
    }
    case 'sll2': {
      const protocols = [...tags.map((t) => t.subarray(0, 2)), u16(ethertype)];
      const tagBodies = tags.map((t, i) => concat(t.subarray(2, 4), protocols[i + 1]!));
      header = concat(
        protocols[0]!,
        u16(0),
        u32(2),
        u16(options.arphrd ?? 1),
        Uint8Array.of(options.sllPacketType ?? 0, 6),
        parseMac(options.srcMac ?? '02:00:00:00:00:01'),
        Uint8Array.of(0, 0),
        ...tagBodies,
      );
      break;
    }
    case 'null':
      header = Uint8Array.of(family & 0xff, (family >>> 8) & 0xff, (family >>> 16) & 0xff, family >>> 24);
      break;
    case 'null-be':
    case 'loop':
      header = u32(family);
      break;
    case 'raw':
    case 'raw-12':
    case 'raw-14':
    case 'ipv4':
    case 'ipv6':
      header = new Uint8Array(0);
      break;
  }
  let frame = concat(header, packet, options.trailer ?? new Uint8Array(0));
  if (options.padTo !== undefined && frame.length < options.padTo) {
    frame = concat(frame, new Uint8Array(options.padTo - frame.length));
  }
  return frame;
}

/** The IP packet of a TCP frame spec (TCP segment inside IPv4 or IPv6), without a link header. */
export function tcpIpPacket(spec: TcpFrameSpec = {}): Uint8Array {
  const src = spec.src ?? (spec.dst?.includes(':') === true ? '2001:db8::1' : DEFAULT_SRC);
  const dst = spec.dst ?? (src.includes(':') ? '2001:db8::2' : DEFAULT_DST);
  const segment = tcpSegment({ ...spec, src, dst });
  return src.includes(':')
    ? ipv6Packet({ ...spec, src, dst, nextHeader: 6, payload: segment })
    : ipv4Packet({ ...spec, src, dst, protocol: 6, payload: segment });
}

/** A whole frame: TCP in IPv4/IPv6 in the link of `spec.link` (default Ethernet). */
export function tcpFrame(spec: TcpFrameSpec = {}): Uint8Array {
  return linkFrame(tcpIpPacket(spec), spec);
}

/** One side of a scripted connection. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/**
 * The frames of one whole TCP connection: the handshake, one segment per scripted payload (each in its
 * direction, PSH+ACK), then a FIN from each side, first from `firstFin`. Sequence and acknowledgment numbers
 * follow the bytes sent (client ISN 999, server ISN 4999).
 */
export function connectionFrames(
  client: Endpoint,
  server: Endpoint,
  script: readonly (readonly ['c2s' | 's2c', string | Uint8Array])[],
  firstFin: 'c2s' | 's2c' = 'c2s',
): Uint8Array[] {
  const next = { c2s: 1000, s2c: 5000 };
  const frames: Uint8Array[] = [];
  const frame = (direction: 'c2s' | 's2c', flags: string, payload: string | Uint8Array = ''): void => {
    const [from, to] = direction === 'c2s' ? [client, server] : [server, client];
    const other = direction === 'c2s' ? 's2c' : 'c2s';
    frames.push(
      tcpFrame({
        src: from.ip,
        dst: to.ip,
        sport: from.port,
        dport: to.port,
        seq: next[direction],
        ack: flags === 'S' ? 0 : next[other],
        flags,
        payload,
      }),
    );
    next[direction] += payload.length + (flags.includes('S') || flags.includes('F') ? 1 : 0);
  };
  frame('c2s', 'S');
  frame('s2c', 'SA');
  frame('c2s', 'A');
  for (const [direction, payload] of script) frame(direction, 'PA', payload);
  frame(firstFin, 'FA');
  frame(firstFin === 'c2s' ? 's2c' : 'c2s', 'FA');
  return frames;
}

// ---------------------------------------------------------------------------------------------------------
// Fragments

/**
 * Splits an IPv4 packet into fragments carrying at most `dataBytes` bytes each (rounded down to a multiple
 * of 8), in order. Options stay in the first fragment only; every fragment gets a correct header checksum.
 */
export function fragmentIpv4(packet: Uint8Array, dataBytes: number): Uint8Array[] {
  const headerLength = (packet[0]! & 0x0f) * 4;
  const step = Math.max(8, dataBytes - (dataBytes % 8));
  const data = packet.subarray(headerLength);
  const header = packet.subarray(0, headerLength);
  const fragments: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += step) {
    const piece = data.subarray(offset, Math.min(offset + step, data.length));
    const more = offset + step < data.length;
    const h = new Uint8Array(offset === 0 ? header : header.subarray(0, 20));
    h[0] = 0x40 | (h.length / 4);
    h.set(u16(h.length + piece.length), 2);
    h.set(u16(((packet[6]! & 0x40) << 8) | (more ? 0x2000 : 0) | (offset >> 3)), 6);
    h.set(u16(0), 10);
    h.set(u16(internetChecksum(h)), 10);
    fragments.push(concat(h, piece));
  }
  return fragments;
}

/**
 * Splits an IPv6 packet into fragments with identification `id`, each carrying at most `dataBytes` bytes of
 * the fragmentable part (rounded down to a multiple of 8). Hop-by-hop and routing headers form the
 * unfragmentable part and are repeated in every fragment; everything after them is fragmented.
 */
export function fragmentIpv6(packet: Uint8Array, dataBytes: number, id: number): Uint8Array[] {
  let nextHeaderAt = 6;
  let position = 40;
  while (packet[nextHeaderAt] === 0 || packet[nextHeaderAt] === 43) {
    nextHeaderAt = position;
    position += (packet[position + 1]! + 1) * 8;
  }
  const fragmentedProtocol = packet[nextHeaderAt]!;
  const unfragmentable = packet.subarray(0, position);
  const data = packet.subarray(position);
  const step = Math.max(8, dataBytes - (dataBytes % 8));
  const fragments: Uint8Array[] = [];
  for (let offset = 0; offset < data.length; offset += step) {
    const piece = data.subarray(offset, Math.min(offset + step, data.length));
    const more = offset + step < data.length;
    const head = new Uint8Array(unfragmentable);
    head[nextHeaderAt] = 44;
    head.set(u16(head.length - 40 + 8 + piece.length), 4);
    const fragmentHeader = concat(
      Uint8Array.of(fragmentedProtocol, 0),
      u16(offset | (more ? 1 : 0)),
      u32(id),
    );
    fragments.push(concat(head, fragmentHeader, piece));
  }
  return fragments;
}

// ---------------------------------------------------------------------------------------------------------
// Packet views

export interface PacketViewOptions {
  /** Link of the frame (default 'ethernet'); ignored when `linkType` is given. */
  readonly link?: LinkKind;
  readonly linkType?: number;
  readonly tsMicros?: number;
  readonly index?: number;
  /** Keep only this many bytes (capturedLength); originalLength stays the frame length. */
  readonly snaplen?: number;
  /** Override originalLength. */
  readonly originalLength?: number;
  /** Place the frame at this offset inside a larger buffer filled with 0xee on both sides. */
  readonly offset?: number;
}

/** Wraps a frame as a PacketView, as a capture source would deliver it. */
export function packetView(frame: Uint8Array, options: PacketViewOptions = {}): PacketView {
  const captured = Math.min(frame.length, options.snaplen ?? frame.length);
  const offset = options.offset ?? 0;
  let buffer: Uint8Array;
  if (offset === 0 && captured === frame.length) {
    buffer = frame;
  } else {
    buffer = new Uint8Array(offset + captured + 16).fill(0xee);
    buffer.set(frame.subarray(0, captured), offset);
  }
  return {
    buffer,
    offset,
    capturedLength: captured,
    originalLength: options.originalLength ?? frame.length,
    tsMicros: options.tsMicros ?? 1_700_000_000_000_000,
    linkType: options.linkType ?? LINK_TYPE_OF[options.link ?? 'ethernet'],
    interfaceId: 0,
    index: options.index ?? 0,
  };
}
