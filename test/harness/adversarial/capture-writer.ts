/**
 * Streaming writers for adversarial captures: classic pcap (little-endian, microseconds, Ethernet) and pcapng
 * (one section, one Ethernet interface, Enhanced Packet Blocks). Output goes through one reused 1 MiB buffer
 * with synchronous writes, so a capture of any size is written in constant memory. `raw()` writes bytes as
 * they are, for records and blocks whose lengths lie.
 */

import { closeSync, openSync, writeSync } from 'node:fs';

const BUFFER_BYTES = 1 << 20;

export interface CaptureWriter {
  readonly format: 'pcap' | 'pcapng';
  /** One packet record (EPB for pcapng) holding `frame`, captured at `tsMicros`. */
  packet(frame: Uint8Array, tsMicros: number): void;
  /** Bytes written as they are (a lying record or block). */
  raw(bytes: Uint8Array): void;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  close(): void;
}

export function createCaptureWriter(path: string, format: 'pcap' | 'pcapng'): CaptureWriter {
  const fd = openSync(path, 'w', 0o644);
  const buffer = new Uint8Array(BUFFER_BYTES);
  const view = new DataView(buffer.buffer);
  let used = 0;
  let written = 0;

  const flush = (): void => {
    let at = 0;
    while (at < used) at += writeSync(fd, buffer, at, used - at);
    written += used;
    used = 0;
  };
  const room = (n: number): void => {
    if (used + n > BUFFER_BYTES) flush();
  };
  const raw = (bytes: Uint8Array): void => {
    if (bytes.length > BUFFER_BYTES) {
      flush();
      let at = 0;
      while (at < bytes.length) at += writeSync(fd, bytes, at, bytes.length - at);
      written += bytes.length;
      return;
    }
    room(bytes.length);
    buffer.set(bytes, used);
    used += bytes.length;
  };

  if (format === 'pcap') {
    room(24);
    view.setUint32(used, 0xa1b2c3d4, true);
    view.setUint16(used + 4, 2, true);
    view.setUint16(used + 6, 4, true);
    view.setUint32(used + 16, 262_144, true);
    view.setUint32(used + 20, 1, true);
    used += 24;
  } else {
    // Section Header Block (28 bytes) and Interface Description Block (20 bytes: Ethernet, snaplen 262144).
    room(48);
    view.setUint32(used, 0x0a0d0d0a, true);
    view.setUint32(used + 4, 28, true);
    view.setUint32(used + 8, 0x1a2b3c4d, true);
    view.setUint16(used + 12, 1, true);
    view.setUint16(used + 14, 0, true);
    view.setInt32(used + 16, -1, true);
    view.setInt32(used + 20, -1, true);
    view.setUint32(used + 24, 28, true);
    used += 28;
    view.setUint32(used, 1, true);
    view.setUint32(used + 4, 20, true);
    view.setUint16(used + 8, 1, true);
    view.setUint16(used + 10, 0, true);
    view.setUint32(used + 12, 262_144, true);
    view.setUint32(used + 16, 20, true);
    used += 20;
  }

  return {
    format,
    packet(frame: Uint8Array, tsMicros: number): void {
      const seconds = Math.floor(tsMicros / 1_000_000);
      const micros = tsMicros - seconds * 1_000_000;
      if (format === 'pcap') {
        room(16 + frame.length);
        view.setUint32(used, seconds, true);
        view.setUint32(used + 4, micros, true);
        view.setUint32(used + 8, frame.length, true);
        view.setUint32(used + 12, frame.length, true);
        buffer.set(frame, used + 16);
        used += 16 + frame.length;
        return;
      }
      const padded = (frame.length + 3) & ~3;
      const total = 32 + padded;
      room(total);
      view.setUint32(used, 6, true);
      view.setUint32(used + 4, total, true);
      view.setUint32(used + 8, 0, true);
      view.setUint32(used + 12, Math.floor(tsMicros / 4294967296), true);
      view.setUint32(used + 16, tsMicros >>> 0, true);
      view.setUint32(used + 20, frame.length, true);
      view.setUint32(used + 24, frame.length, true);
      buffer.fill(0, used + 28, used + 28 + padded);
      buffer.set(frame, used + 28);
      view.setUint32(used + 28 + padded, total, true);
      used += total;
    },
    raw,
    get bytesWritten(): number {
      return written + used;
    },
    close(): void {
      flush();
      closeSync(fd);
    },
  };
}
