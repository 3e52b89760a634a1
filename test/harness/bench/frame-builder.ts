/**
 * Flow templates and the frame builder of the benchmark corpus.
 *
 * A template is one connection (or one UDP datagram) with its addresses left open: each packet says which side
 * sent it, its TCP flags, raw sequence and acknowledgement numbers and payload. The corpus builder stamps copies
 * of a template with distinct client addresses and ports, and this file turns each packet into an Ethernet frame
 * with correct IPv4 header, TCP and UDP checksums.
 */

export interface TemplatePacket {
  readonly fromClient: boolean;
  readonly flags: number;
  readonly seq: number;
  readonly ack: number;
  readonly window: number;
  readonly payload: Uint8Array;
  /** One's-complement sum of the payload's 16-bit words (precomputed once per template packet). */
  readonly payloadSum: number;
}

export interface FlowTemplate {
  readonly name: string;
  readonly transport: 'tcp' | 'udp';
  readonly ipv6: boolean;
  readonly serverPort: number;
  /** Counts towards the SMTP share of the corpus. */
  readonly smtp: boolean;
  readonly packets: readonly TemplatePacket[];
  /** Frame bytes of one copy. */
  readonly frameBytes: number;
}

/** The addresses one copy of a template is stamped with. */
export interface FlowEndpoints {
  readonly clientIp: Uint8Array;
  readonly serverIp: Uint8Array;
  readonly clientPort: number;
  readonly serverPort: number;
}

const ETHERNET_BYTES = 14;
const IPV4_BYTES = 20;
const IPV6_BYTES = 40;
const TCP_BYTES = 20;
const UDP_BYTES = 8;

/** One's-complement sum of `bytes[start, end)` as big-endian 16-bit words (an odd last byte is padded). */
export function onesSum(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i < end) sum += bytes[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
}

export function templatePacket(
  fromClient: boolean,
  flags: number,
  seq: number,
  ack: number,
  payload: Uint8Array,
  window = 65_535,
): TemplatePacket {
  return {
    fromClient,
    flags,
    seq: seq >>> 0,
    ack: ack >>> 0,
    window,
    payload,
    payloadSum: onesSum(payload, 0, payload.length),
  };
}

export function frameLength(ipv6: boolean, transport: 'tcp' | 'udp', payloadLength: number): number {
  return (
    ETHERNET_BYTES +
    (ipv6 ? IPV6_BYTES : IPV4_BYTES) +
    (transport === 'tcp' ? TCP_BYTES : UDP_BYTES) +
    payloadLength
  );
}

export function makeTemplate(
  name: string,
  transport: 'tcp' | 'udp',
  ipv6: boolean,
  serverPort: number,
  smtp: boolean,
  packets: readonly TemplatePacket[],
): FlowTemplate {
  let frameBytes = 0;
  for (const p of packets) frameBytes += frameLength(ipv6, transport, p.payload.length);
  return { name, transport, ipv6, serverPort, smtp, packets, frameBytes };
}

/** Writes packet `p` of `template` as an Ethernet frame into `out` (at least 65 600 bytes); returns its length. */
export function buildFrame(
  out: Uint8Array,
  template: FlowTemplate,
  p: TemplatePacket,
  endpoints: FlowEndpoints,
  ipId: number,
): number {
  const ipv6 = template.ipv6;
  const tcp = template.transport === 'tcp';
  const src = p.fromClient ? endpoints.clientIp : endpoints.serverIp;
  const dst = p.fromClient ? endpoints.serverIp : endpoints.clientIp;
  const sport = p.fromClient ? endpoints.clientPort : endpoints.serverPort;
  const dport = p.fromClient ? endpoints.serverPort : endpoints.clientPort;
  const l4Length = (tcp ? TCP_BYTES : UDP_BYTES) + p.payload.length;
  // Ethernet: locally administered MACs, one per side.
  out.fill(0, 0, 12);
  out[0] = 0x02;
  out[5] = p.fromClient ? 2 : 1;
  out[6] = 0x02;
  out[11] = p.fromClient ? 1 : 2;
  out[12] = ipv6 ? 0x86 : 0x08;
  out[13] = ipv6 ? 0xdd : 0x00;
  let o = ETHERNET_BYTES;
  let pseudo: number;
  if (ipv6) {
    out[o] = 0x60;
    out[o + 1] = 0;
    out[o + 2] = 0;
    out[o + 3] = 0;
    out[o + 4] = l4Length >> 8;
    out[o + 5] = l4Length & 0xff;
    out[o + 6] = tcp ? 6 : 17;
    out[o + 7] = 64;
    out.set(src, o + 8);
    out.set(dst, o + 24);
    pseudo = onesSum(out, o + 8, o + 40, l4Length + (tcp ? 6 : 17));
    o += IPV6_BYTES;
  } else {
    const total = IPV4_BYTES + l4Length;
    out[o] = 0x45;
    out[o + 1] = 0;
    out[o + 2] = total >> 8;
    out[o + 3] = total & 0xff;
    out[o + 4] = (ipId >> 8) & 0xff;
    out[o + 5] = ipId & 0xff;
    out[o + 6] = 0x40;
    out[o + 7] = 0;
    out[o + 8] = 64;
    out[o + 9] = tcp ? 6 : 17;
    out[o + 10] = 0;
    out[o + 11] = 0;
    out.set(src, o + 12);
    out.set(dst, o + 16);
    const sum = ~onesSum(out, o, o + IPV4_BYTES) & 0xffff;
    out[o + 10] = sum >> 8;
    out[o + 11] = sum & 0xff;
    pseudo = onesSum(out, o + 12, o + 20, l4Length + (tcp ? 6 : 17));
    o += IPV4_BYTES;
  }
  out[o] = sport >> 8;
  out[o + 1] = sport & 0xff;
  out[o + 2] = dport >> 8;
  out[o + 3] = dport & 0xff;
  let headerEnd: number;
  if (tcp) {
    out[o + 4] = p.seq >>> 24;
    out[o + 5] = (p.seq >>> 16) & 0xff;
    out[o + 6] = (p.seq >>> 8) & 0xff;
    out[o + 7] = p.seq & 0xff;
    out[o + 8] = p.ack >>> 24;
    out[o + 9] = (p.ack >>> 16) & 0xff;
    out[o + 10] = (p.ack >>> 8) & 0xff;
    out[o + 11] = p.ack & 0xff;
    out[o + 12] = 0x50;
    out[o + 13] = p.flags;
    out[o + 14] = p.window >> 8;
    out[o + 15] = p.window & 0xff;
    out[o + 16] = 0;
    out[o + 17] = 0;
    out[o + 18] = 0;
    out[o + 19] = 0;
    headerEnd = o + TCP_BYTES;
  } else {
    out[o + 4] = l4Length >> 8;
    out[o + 5] = l4Length & 0xff;
    out[o + 6] = 0;
    out[o + 7] = 0;
    headerEnd = o + UDP_BYTES;
  }
  out.set(p.payload, headerEnd);
  let sum = onesSum(out, o, headerEnd, pseudo + p.payloadSum);
  sum = ~sum & 0xffff;
  if (!tcp && sum === 0) sum = 0xffff;
  const at = tcp ? o + 16 : o + 6;
  out[at] = sum >> 8;
  out[at + 1] = sum & 0xff;
  return headerEnd + p.payload.length;
}
