/**
 * Ethernet/IPv4/TCP frames for adversarial captures. The IPv4 header checksum is computed; the TCP checksum is
 * left zero (smtpscope does not verify checksums by default, as captures on the sender carry offloaded sums).
 * One scratch buffer is reused for the headers; every frame returned is a fresh array.
 */

import { TCP_FLAG } from '../../../src/decode/types.js';

export { TCP_FLAG };

const HEADERS = 14 + 20 + 20;

export interface FrameSpec {
  /** IPv4 address as a 32-bit number. */
  readonly srcIp: number;
  readonly dstIp: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
}

/** `a.b.c.d` as a 32-bit number. */
export function ipv4(text: string): number {
  const [a = 0, b = 0, c = 0, d = 0] = text.split('.').map(Number);
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

function put32(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 24) & 0xff;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

function put16(out: Uint8Array, at: number, value: number): void {
  out[at] = (value >>> 8) & 0xff;
  out[at + 1] = value & 0xff;
}

export function tcpFrame(spec: FrameSpec, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADERS + payload.length);
  // Ethernet: locally administered MACs, EtherType IPv4.
  out.set([0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00], 0);
  const ip = 14;
  out[ip] = 0x45;
  put16(out, ip + 2, 40 + payload.length);
  out[ip + 6] = 0x40; // don't fragment
  out[ip + 8] = 64;
  out[ip + 9] = 6;
  put32(out, ip + 12, spec.srcIp);
  put32(out, ip + 16, spec.dstIp);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += (out[ip + i]! << 8) | out[ip + i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  put16(out, ip + 10, ~sum & 0xffff);
  const tcp = ip + 20;
  put16(out, tcp, spec.srcPort);
  put16(out, tcp + 2, spec.dstPort);
  put32(out, tcp + 4, spec.seq >>> 0);
  put32(out, tcp + 8, spec.ack >>> 0);
  out[tcp + 12] = 0x50;
  out[tcp + 13] = spec.flags;
  put16(out, tcp + 14, 65535);
  out.set(payload, HEADERS);
  return out;
}

/**
 * One TCP connection seen from the wire: tracks both sequence numbers so callers send payloads in order
 * (or at chosen offsets) without arithmetic of their own.
 */
export class TcpConversation {
  private clientNext: number;
  private serverNext: number;

  constructor(
    readonly clientIp: number,
    readonly clientPort: number,
    readonly serverIp: number,
    readonly serverPort: number,
    readonly clientIsn = 1000,
    readonly serverIsn = 900_000,
  ) {
    this.clientNext = (clientIsn + 1) >>> 0;
    this.serverNext = (serverIsn + 1) >>> 0;
  }

  private spec(fromClient: boolean, seq: number, flags: number): FrameSpec {
    return fromClient
      ? {
          srcIp: this.clientIp,
          dstIp: this.serverIp,
          srcPort: this.clientPort,
          dstPort: this.serverPort,
          seq,
          ack: this.serverNext,
          flags,
        }
      : {
          srcIp: this.serverIp,
          dstIp: this.clientIp,
          srcPort: this.serverPort,
          dstPort: this.clientPort,
          seq,
          ack: this.clientNext,
          flags,
        };
  }

  handshake(): Uint8Array[] {
    return [
      tcpFrame(this.spec(true, this.clientIsn, TCP_FLAG.SYN)),
      tcpFrame(this.spec(false, this.serverIsn, TCP_FLAG.SYN | TCP_FLAG.ACK)),
      tcpFrame(this.spec(true, this.clientNext, TCP_FLAG.ACK)),
    ];
  }

  /** A data segment from the client or server at the next sequence number (advances it). */
  send(fromClient: boolean, payload: Uint8Array): Uint8Array {
    const seq = fromClient ? this.clientNext : this.serverNext;
    const frame = tcpFrame(this.spec(fromClient, seq, TCP_FLAG.ACK | TCP_FLAG.PSH), payload);
    if (fromClient) this.clientNext = (this.clientNext + payload.length) >>> 0;
    else this.serverNext = (this.serverNext + payload.length) >>> 0;
    return frame;
  }

  /** A data segment at `offset` bytes past the client's or server's first data byte (does not advance). */
  sendAt(fromClient: boolean, offset: number, payload: Uint8Array): Uint8Array {
    const seq = ((fromClient ? this.clientIsn : this.serverIsn) + 1 + offset) >>> 0;
    return tcpFrame(this.spec(fromClient, seq, TCP_FLAG.ACK | TCP_FLAG.PSH), payload);
  }

  /** Advances a side's next sequence number past bytes sent with sendAt. */
  skip(fromClient: boolean, length: number): void {
    if (fromClient) this.clientNext = (this.clientNext + length) >>> 0;
    else this.serverNext = (this.serverNext + length) >>> 0;
  }

  /** Both FINs and the last ACK. */
  close(): Uint8Array[] {
    const frames = [tcpFrame(this.spec(true, this.clientNext, TCP_FLAG.FIN | TCP_FLAG.ACK))];
    this.clientNext = (this.clientNext + 1) >>> 0;
    frames.push(tcpFrame(this.spec(false, this.serverNext, TCP_FLAG.FIN | TCP_FLAG.ACK)));
    this.serverNext = (this.serverNext + 1) >>> 0;
    frames.push(tcpFrame(this.spec(true, this.clientNext, TCP_FLAG.ACK)));
    return frames;
  }
}
