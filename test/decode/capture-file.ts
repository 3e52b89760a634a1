/**
 * Minimal capture-file helpers for the decode tests: a pcapng writer (one interface per link type) to hand
 * frames to tshark, and a walker over classic pcap and pcapng files (optionally gzip-compressed) that yields
 * PacketViews, independent of the project's capture readers.
 */

import { gunzipSync } from 'node:zlib';
import type { PacketView } from '../../src/capture/types.js';

export interface CaptureRecord {
  readonly frame: Uint8Array;
  readonly linkType: number;
  readonly tsMicros: number;
  /** Wire length (default: the frame length). */
  readonly originalLength?: number;
}

/** Little-endian pcapng with one interface block per distinct link type, microsecond timestamps. */
export function writePcapng(records: readonly CaptureRecord[]): Uint8Array {
  const blocks: Buffer[] = [];
  const block = (type: number, body: Buffer): Buffer => {
    const padded = Buffer.alloc(Math.ceil(body.length / 4) * 4);
    body.copy(padded);
    const out = Buffer.alloc(12 + padded.length);
    out.writeUInt32LE(type, 0);
    out.writeUInt32LE(out.length, 4);
    padded.copy(out, 8);
    out.writeUInt32LE(out.length, out.length - 4);
    return out;
  };
  const shb = Buffer.alloc(16);
  shb.writeUInt32LE(0x1a2b3c4d, 0);
  shb.writeUInt16LE(1, 4);
  shb.writeUInt16LE(0, 6);
  shb.writeBigInt64LE(-1n, 8);
  blocks.push(block(0x0a0d0d0a, shb));
  const interfaces = new Map<number, number>();
  for (const record of records) {
    if (interfaces.has(record.linkType)) continue;
    interfaces.set(record.linkType, interfaces.size);
    const idb = Buffer.alloc(8);
    idb.writeUInt16LE(record.linkType, 0);
    idb.writeUInt32LE(262144, 4);
    blocks.push(block(1, idb));
  }
  for (const record of records) {
    const epb = Buffer.alloc(20 + record.frame.length);
    epb.writeUInt32LE(interfaces.get(record.linkType)!, 0);
    epb.writeUInt32LE(Math.floor(record.tsMicros / 2 ** 32), 4);
    epb.writeUInt32LE(record.tsMicros % 2 ** 32, 8);
    epb.writeUInt32LE(record.frame.length, 12);
    epb.writeUInt32LE(record.originalLength ?? record.frame.length, 16);
    epb.set(record.frame, 20);
    blocks.push(block(6, epb));
  }
  return Buffer.concat(blocks);
}

/**
 * Calls `onPacket` for every packet of a classic pcap (either byte order, µs or ns) or pcapng file (enhanced
 * and simple packet blocks, per-interface link types). Stops quietly at a truncated record.
 */
export function walkCapture(file: Uint8Array, onPacket: (packet: PacketView) => void): void {
  let bytes = Buffer.from(file);
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const view: PacketView = {
    buffer: bytes,
    offset: 0,
    capturedLength: 0,
    originalLength: 0,
    tsMicros: 0,
    linkType: 0,
    interfaceId: 0,
    index: 0,
  };
  let index = 0;
  const magicLe = bytes.readUInt32LE(0);
  if (magicLe === 0x0a0d0d0a) {
    let le = true;
    const links: number[] = [];
    let offset = 0;
    while (offset + 12 <= bytes.length) {
      const bom = bytes.readUInt32LE(offset + 8);
      const type = le ? bytes.readUInt32LE(offset) : bytes.readUInt32BE(offset);
      if (type === 0x0a0d0d0a) {
        le = bom === 0x1a2b3c4d;
        links.length = 0;
      }
      const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
      const u16 = (at: number) => (le ? bytes.readUInt16LE(at) : bytes.readUInt16BE(at));
      const length = u32(offset + 4);
      if (length < 12 || offset + length > bytes.length) return;
      if (type === 1) links.push(u16(offset + 8));
      if (type === 6) {
        const interfaceId = u32(offset + 8);
        view.offset = offset + 28;
        view.capturedLength = u32(offset + 20);
        view.originalLength = u32(offset + 24);
        view.linkType = links[interfaceId] ?? -1;
        view.interfaceId = interfaceId;
        view.tsMicros = u32(offset + 12) * 2 ** 32 + u32(offset + 16); // default resolution: microseconds
        view.index = index++;
        onPacket(view);
      } else if (type === 3) {
        view.offset = offset + 12;
        view.originalLength = u32(offset + 8);
        view.capturedLength = Math.min(view.originalLength, length - 16);
        view.linkType = links[0] ?? -1;
        view.interfaceId = 0;
        view.index = index++;
        onPacket(view);
      }
      offset += length;
    }
    return;
  }
  const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d;
  const u32 = (at: number) => (le ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
  const nanos = u32(0) === 0xa1b23c4d;
  view.linkType = u32(20) & 0x0fffffff;
  let offset = 24;
  while (offset + 16 <= bytes.length) {
    const captured = u32(offset + 8);
    if (offset + 16 + captured > bytes.length) return;
    view.tsMicros = u32(offset) * 1_000_000 + (nanos ? Math.floor(u32(offset + 4) / 1000) : u32(offset + 4));
    view.offset = offset + 16;
    view.capturedLength = captured;
    view.originalLength = u32(offset + 12);
    view.index = index++;
    onPacket(view);
    offset += 16 + captured;
  }
}
