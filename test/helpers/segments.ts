/**
 * Builds TcpSegment objects for reassembly tests. Each segment gets its own small buffer laid out as
 * [4 filler bytes][source address][destination address][payload], with the offsets pointing into it, the way
 * the decoder points into a packet buffer.
 */

import type { TcpSegment } from '../../src/decode/types.js';
import { TCP_FLAG } from '../../src/decode/types.js';

export interface SegmentSpec {
  readonly src: string;
  readonly srcPort: number;
  readonly dst: string;
  readonly dstPort: number;
  /** Raw sequence number (uint32). */
  readonly seq: number;
  readonly ack?: number;
  /** TCP_FLAG bits, or letters: S (SYN), A (ACK), F (FIN), R (RST), P (PSH). Default: A. */
  readonly flags?: number | string;
  readonly payload?: string | Uint8Array;
  /** Payload length on the wire, when the capture cut the payload (default: the payload length). */
  readonly wireLength?: number;
  readonly tsMicros?: number;
}

const FILLER = 4;

/** Parses dotted IPv4 or IPv6 text (with optional `::`) into bytes. */
export function parseAddress(text: string): Uint8Array {
  if (!text.includes(':')) {
    const parts = text.split('.').map(Number);
    if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new Error(`bad IPv4 address ${text}`);
    }
    return Uint8Array.from(parts);
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  if (groups.length !== 8) throw new Error(`bad IPv6 address ${text}`);
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    const value = Number.parseInt(g, 16);
    bytes[2 * i] = value >> 8;
    bytes[2 * i + 1] = value & 0xff;
  });
  return bytes;
}

export function parseFlags(flags: number | string | undefined): number {
  if (flags === undefined) return TCP_FLAG.ACK;
  if (typeof flags === 'number') return flags;
  let bits = 0;
  for (const letter of flags) {
    if (letter === 'S') bits |= TCP_FLAG.SYN;
    else if (letter === 'A') bits |= TCP_FLAG.ACK;
    else if (letter === 'F') bits |= TCP_FLAG.FIN;
    else if (letter === 'R') bits |= TCP_FLAG.RST;
    else if (letter === 'P') bits |= TCP_FLAG.PSH;
    else throw new Error(`unknown flag letter ${letter}`);
  }
  return bits;
}

function toBytes(payload: string | Uint8Array | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? new TextEncoder().encode(payload) : payload;
}

export function makeSegment(spec: SegmentSpec): TcpSegment {
  const src = parseAddress(spec.src);
  const dst = parseAddress(spec.dst);
  if (src.length !== dst.length) throw new Error('source and destination address families differ');
  const payload = toBytes(spec.payload);
  const buffer = new Uint8Array(FILLER + 2 * src.length + payload.length).fill(0xaa, 0, FILLER);
  buffer.set(src, FILLER);
  buffer.set(dst, FILLER + src.length);
  buffer.set(payload, FILLER + 2 * src.length);
  return {
    tsMicros: spec.tsMicros ?? 0,
    frameIndex: 0,
    buffer,
    ipVersion: src.length === 4 ? 4 : 6,
    srcAddrOffset: FILLER,
    dstAddrOffset: FILLER + src.length,
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq >>> 0,
    ack: (spec.ack ?? 0) >>> 0,
    flags: parseFlags(spec.flags),
    window: 65535,
    payloadOffset: FILLER + 2 * src.length,
    payloadLength: payload.length,
    wirePayloadLength: spec.wireLength ?? payload.length,
    checksumOk: null,
  };
}

export interface Peer {
  readonly ip: string;
  readonly port: number;
}

export interface ConversationOptions {
  readonly clientIsn?: number;
  readonly serverIsn?: number;
  /** Time of the first segment, µs. */
  readonly startMicros?: number;
  /** Time added per segment built, µs. */
  readonly stepMicros?: number;
}

export interface SendOptions {
  /** Relative offset of the first payload byte (default: right after the previous one in that direction). */
  readonly offset?: number;
  readonly flags?: number | string;
  readonly wireLength?: number;
  readonly tsMicros?: number;
  /**
   * Relative offset of the other direction that the ACK number acknowledges (default 0: nothing past the
   * handshake, so the assembler never learns of a loss from it). Ignored by syn().
   */
  readonly ack?: number;
}

export type Side = 'c2s' | 's2c';

/**
 * A client/server pair that builds segments with sequence numbers computed from relative offsets
 * (offset 0 = ISN + 1), tracking the next offset of each direction and a clock. Every segment but the SYN
 * carries the ACK flag and an ACK number for the other direction (`SendOptions.ack`, default offset 0).
 */
export class Conversation {
  readonly clientIsn: number;
  readonly serverIsn: number;
  private readonly next = { c2s: 0, s2c: 0 };
  private clock: number;
  private readonly step: number;

  constructor(
    readonly client: Peer,
    readonly server: Peer,
    options: ConversationOptions = {},
  ) {
    this.clientIsn = (options.clientIsn ?? 1000) >>> 0;
    this.serverIsn = (options.serverIsn ?? 5000) >>> 0;
    this.clock = options.startMicros ?? 1_000_000;
    this.step = options.stepMicros ?? 1000;
  }

  /** Current time of the conversation clock (time of the next segment). */
  get nowMicros(): number {
    return this.clock;
  }

  /** Raw sequence number of relative offset `offset` in direction `side`. */
  seqOf(side: Side, offset: number): number {
    return ((side === 'c2s' ? this.clientIsn : this.serverIsn) + 1 + offset) >>> 0;
  }

  nextOffset(side: Side): number {
    return this.next[side];
  }

  syn(): TcpSegment {
    const segment = this.raw('c2s', this.clientIsn, 'S', undefined, {});
    segment.ack = 0;
    return segment;
  }

  synAck(): TcpSegment {
    return this.raw('s2c', this.serverIsn, 'SA', undefined, {});
  }

  /** The three handshake segments. */
  handshake(): TcpSegment[] {
    return [this.syn(), this.synAck(), this.ack('c2s')];
  }

  /** A pure ACK. */
  ack(side: Side, options: SendOptions = {}): TcpSegment {
    const offset = options.offset ?? this.next[side];
    return this.raw(side, this.seqOf(side, offset), 'A', undefined, options);
  }

  /** A data segment (PSH+ACK by default); advances the direction's next offset past it. */
  data(side: Side, payload: string | Uint8Array, options: SendOptions = {}): TcpSegment {
    const offset = options.offset ?? this.next[side];
    const segment = this.raw(side, this.seqOf(side, offset), options.flags ?? 'PA', payload, options);
    const end = offset + segment.wirePayloadLength;
    if (end > this.next[side]) this.next[side] = end;
    return segment;
  }

  /** A FIN+ACK at the direction's next offset (or `offset`); advances past the FIN. */
  fin(side: Side, options: SendOptions = {}): TcpSegment {
    const offset = options.offset ?? this.next[side];
    const segment = this.raw(side, this.seqOf(side, offset), options.flags ?? 'FA', undefined, options);
    this.next[side] = Math.max(this.next[side], offset + 1);
    return segment;
  }

  rst(side: Side, options: SendOptions = {}): TcpSegment {
    const offset = options.offset ?? this.next[side];
    return this.raw(side, this.seqOf(side, offset), options.flags ?? 'R', undefined, options);
  }

  private raw(
    side: Side,
    seq: number,
    flags: number | string,
    payload: string | Uint8Array | undefined,
    options: SendOptions,
  ): TcpSegment {
    const from = side === 'c2s' ? this.client : this.server;
    const to = side === 'c2s' ? this.server : this.client;
    const ack = this.seqOf(side === 'c2s' ? 's2c' : 'c2s', options.ack ?? 0);
    const tsMicros = options.tsMicros ?? this.clock;
    this.clock = tsMicros + this.step;
    return makeSegment({
      src: from.ip,
      srcPort: from.port,
      dst: to.ip,
      dstPort: to.port,
      seq,
      ack,
      flags,
      ...(payload === undefined ? {} : { payload }),
      ...(options.wireLength === undefined ? {} : { wireLength: options.wireLength }),
      tsMicros,
    });
  }
}
