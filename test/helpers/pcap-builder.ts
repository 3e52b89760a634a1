/**
 * Builds classic pcap and pcapng files in memory, byte by byte, for reader tests. Every field is written
 * explicitly so tests can also build damaged files (lying lengths, truncation, unknown blocks).
 */

export type Endian = 'le' | 'be';

/** Little growable byte writer with explicit byte order. */
export class ByteWriter {
  private bytes = new Uint8Array(256);
  private length = 0;
  constructor(private readonly endian: Endian) {}

  private ensure(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + extra));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  u8(value: number): this {
    this.ensure(1);
    this.bytes[this.length++] = value & 0xff;
    return this;
  }

  u16(value: number): this {
    this.ensure(2);
    const view = new DataView(this.bytes.buffer);
    view.setUint16(this.length, value, this.endian === 'le');
    this.length += 2;
    return this;
  }

  u32(value: number): this {
    this.ensure(4);
    const view = new DataView(this.bytes.buffer);
    view.setUint32(this.length, value >>> 0, this.endian === 'le');
    this.length += 4;
    return this;
  }

  /** 64-bit value written as two 32-bit words, high word first (pcapng timestamp order). */
  u32Pair(value: bigint): this {
    const unsigned = BigInt.asUintN(64, value);
    return this.u32(Number(unsigned >> 32n)).u32(Number(unsigned & 0xffffffffn));
  }

  /** 64-bit value in the writer's byte order (pcapng option values such as if_tsoffset). */
  u64(value: bigint): this {
    this.ensure(8);
    const view = new DataView(this.bytes.buffer);
    view.setBigUint64(this.length, BigInt.asUintN(64, value), this.endian === 'le');
    this.length += 8;
    return this;
  }

  raw(data: Uint8Array): this {
    this.ensure(data.length);
    this.bytes.set(data, this.length);
    this.length += data.length;
    return this;
  }

  /** Zero bytes up to the next multiple of 4. */
  pad4(): this {
    while (this.length % 4 !== 0) this.u8(0);
    return this;
  }

  get size(): number {
    return this.length;
  }

  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Classic pcap

export interface PcapRecordSpec {
  readonly seconds: number;
  /** Microseconds, or nanoseconds in a nanosecond file. */
  readonly fraction: number;
  /** The captured bytes. */
  readonly data: Uint8Array;
  /** Defaults to data.length. */
  readonly originalLength?: number;
  /** Written instead of data.length, to build lying lengths. */
  readonly capturedLengthField?: number;
}

export interface PcapSpec {
  readonly endian: Endian;
  readonly nanoseconds?: boolean;
  readonly snaplen?: number;
  /** The whole 32-bit link-type field, FCS bits included (default 1, Ethernet). */
  readonly linkTypeField?: number;
  readonly records: readonly PcapRecordSpec[];
}

export function buildPcapHeader(spec: Omit<PcapSpec, 'records'>): Uint8Array {
  return new ByteWriter(spec.endian)
    .u32(spec.nanoseconds === true ? 0xa1b23c4d : 0xa1b2c3d4)
    .u16(2)
    .u16(4)
    .u32(0)
    .u32(0)
    .u32(spec.snaplen ?? 262144)
    .u32(spec.linkTypeField ?? 1)
    .toBytes();
}

export function buildPcapRecord(endian: Endian, record: PcapRecordSpec): Uint8Array {
  return new ByteWriter(endian)
    .u32(record.seconds)
    .u32(record.fraction)
    .u32(record.capturedLengthField ?? record.data.length)
    .u32(record.originalLength ?? record.data.length)
    .raw(record.data)
    .toBytes();
}

export function buildPcap(spec: PcapSpec): Uint8Array {
  return concatBytes(
    buildPcapHeader(spec),
    ...spec.records.map((record) => buildPcapRecord(spec.endian, record)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// pcapng

export type PcapngBlockSpec =
  | {
      readonly kind: 'idb';
      readonly linkType: number;
      readonly snaplen?: number;
      /** if_tsresol byte; omitted means the default 10^-6. */
      readonly tsresol?: number;
      /** if_tsoffset in seconds. */
      readonly tsoffset?: bigint;
      /** An if_name option, to exercise option skipping. */
      readonly name?: string;
    }
  | {
      readonly kind: 'epb';
      readonly interfaceId: number;
      /** Timestamp in the interface's units. */
      readonly timestamp: bigint;
      readonly data: Uint8Array;
      readonly originalLength?: number;
      /** Written instead of data.length. */
      readonly capturedLengthField?: number;
      /** An opt_comment option after the data. */
      readonly comment?: string;
    }
  | { readonly kind: 'spb'; readonly data: Uint8Array; readonly originalLength?: number }
  | {
      readonly kind: 'pb';
      readonly interfaceId: number;
      readonly timestamp: bigint;
      readonly data: Uint8Array;
      readonly originalLength?: number;
    }
  /** Any block: type and body (the body is padded to 4 bytes). */
  | { readonly kind: 'raw'; readonly type: number; readonly body: Uint8Array };

function block(endian: Endian, type: number, body: Uint8Array): Uint8Array {
  const padded = (body.length + 3) & ~3;
  const total = 12 + padded;
  return new ByteWriter(endian).u32(type).u32(total).raw(body).pad4().u32(total).toBytes();
}

function option(w: ByteWriter, code: number, value: Uint8Array): void {
  w.u16(code).u16(value.length).raw(value).pad4();
}

const text = new TextEncoder();

export function buildPcapngBlock(endian: Endian, spec: PcapngBlockSpec): Uint8Array {
  const w = new ByteWriter(endian);
  switch (spec.kind) {
    case 'idb': {
      w.u16(spec.linkType)
        .u16(0)
        .u32(spec.snaplen ?? 0);
      if (spec.name !== undefined) option(w, 2, text.encode(spec.name));
      if (spec.tsresol !== undefined) option(w, 9, Uint8Array.of(spec.tsresol));
      if (spec.tsoffset !== undefined) option(w, 14, new ByteWriter(endian).u64(spec.tsoffset).toBytes());
      if (spec.name !== undefined || spec.tsresol !== undefined || spec.tsoffset !== undefined)
        w.u16(0).u16(0);
      return block(endian, 1, w.toBytes());
    }
    case 'epb': {
      w.u32(spec.interfaceId)
        .u32Pair(spec.timestamp)
        .u32(spec.capturedLengthField ?? spec.data.length)
        .u32(spec.originalLength ?? spec.data.length)
        .raw(spec.data)
        .pad4();
      if (spec.comment !== undefined) {
        option(w, 1, text.encode(spec.comment));
        w.u16(0).u16(0);
      }
      return block(endian, 6, w.toBytes());
    }
    case 'spb':
      w.u32(spec.originalLength ?? spec.data.length).raw(spec.data);
      return block(endian, 3, w.toBytes());
    case 'pb':
      w.u16(spec.interfaceId)
        .u16(0)
        .u32Pair(spec.timestamp)
        .u32(spec.data.length)
        .u32(spec.originalLength ?? spec.data.length)
        .raw(spec.data);
      return block(endian, 2, w.toBytes());
    case 'raw':
      return block(endian, spec.type, spec.body);
  }
}

/** A Section Header Block followed by the given blocks, all in `endian`. */
export function buildPcapngSection(endian: Endian, blocks: readonly PcapngBlockSpec[]): Uint8Array {
  const shbBody = new ByteWriter(endian).u32(0x1a2b3c4d).u16(1).u16(0).u32Pair(-1n).toBytes();
  return concatBytes(
    block(endian, 0x0a0d0d0a, shbBody),
    ...blocks.map((spec) => buildPcapngBlock(endian, spec)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Frames

/**
 * A realistic Ethernet/IPv4/TCP frame carrying `payloadLength` bytes of SMTP-like text, varied by `n`.
 * Checksums are computed for IPv4 and left zero for TCP (as with checksum offload).
 */
export function sampleFrame(n: number, payloadLength = 64): Uint8Array {
  const frame = new Uint8Array(14 + 20 + 20 + payloadLength);
  const view = new DataView(frame.buffer);
  frame.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02], 0);
  view.setUint16(12, 0x0800);
  frame[14] = 0x45;
  view.setUint16(16, 20 + 20 + payloadLength);
  view.setUint16(18, n & 0xffff);
  frame[22] = 64;
  frame[23] = 6;
  frame.set([127, 0, 0, 1, 127, 0, 0, 2], 26);
  let sum = 0;
  for (let i = 14; i < 34; i += 2) sum += view.getUint16(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  view.setUint16(24, ~sum & 0xffff);
  view.setUint16(34, 40000 + (n % 1000));
  view.setUint16(36, 25);
  view.setUint32(38, (n * 1000) >>> 0);
  view.setUint32(42, (n * 7) >>> 0);
  frame[46] = 0x50;
  frame[47] = 0x18;
  view.setUint16(48, 65535);
  const line = text.encode(`RCPT TO:<user${n}@example.test>\r\n`);
  for (let i = 0; i < payloadLength; i++) frame[54 + i] = line[i % line.length]!;
  return frame;
}
