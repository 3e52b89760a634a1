/**
 * Writes the benchmark corpus: each frame goes to a classic pcap file and a pcapng file at once, through
 * 4 MiB output buffers (one `fs.writeSync` per full buffer). Link type Ethernet, microsecond timestamps.
 */

import { closeSync, openSync, writeSync } from 'node:fs';

const OUT_BUFFER_BYTES = 4 * 1024 * 1024;
const LINKTYPE_ETHERNET = 1;

interface BufferedFile {
  readonly fd: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  used: number;
  written: number;
}

function openBuffered(path: string): BufferedFile {
  const bytes = new Uint8Array(OUT_BUFFER_BYTES);
  return { fd: openSync(path, 'w'), bytes, view: new DataView(bytes.buffer), used: 0, written: 0 };
}

function flush(file: BufferedFile): void {
  let done = 0;
  while (done < file.used) done += writeSync(file.fd, file.bytes, done, file.used - done);
  file.written += file.used;
  file.used = 0;
}

function reserve(file: BufferedFile, length: number): number {
  if (file.used + length > file.bytes.length) flush(file);
  const at = file.used;
  file.used += length;
  return at;
}

export interface CaptureFileWriter {
  /** Appends one frame (bytes `frame[0, length)`) captured at `tsMicros` to both files. */
  write(frame: Uint8Array, length: number, tsMicros: number): void;
  /** Bytes written so far to the pcap file. */
  readonly pcapBytes: number;
  readonly packets: number;
  close(): { readonly pcapBytes: number; readonly pcapngBytes: number; readonly packets: number };
}

export function createCaptureFileWriter(pcapPath: string, pcapngPath: string): CaptureFileWriter {
  const pcap = openBuffered(pcapPath);
  const ng = openBuffered(pcapngPath);
  let packets = 0;

  // Classic pcap file header, little-endian, microseconds, snaplen 262144.
  let at = reserve(pcap, 24);
  pcap.view.setUint32(at, 0xa1b2c3d4, true);
  pcap.view.setUint16(at + 4, 2, true);
  pcap.view.setUint16(at + 6, 4, true);
  pcap.view.setUint32(at + 8, 0, true);
  pcap.view.setUint32(at + 12, 0, true);
  pcap.view.setUint32(at + 16, 262_144, true);
  pcap.view.setUint32(at + 20, LINKTYPE_ETHERNET, true);

  // pcapng section header block (no options) and one Ethernet interface (default microsecond resolution).
  at = reserve(ng, 28);
  ng.view.setUint32(at, 0x0a0d0d0a, true);
  ng.view.setUint32(at + 4, 28, true);
  ng.view.setUint32(at + 8, 0x1a2b3c4d, true);
  ng.view.setUint16(at + 12, 1, true);
  ng.view.setUint16(at + 14, 0, true);
  ng.view.setInt32(at + 16, -1, true);
  ng.view.setInt32(at + 20, -1, true);
  ng.view.setUint32(at + 24, 28, true);
  at = reserve(ng, 20);
  ng.view.setUint32(at, 1, true);
  ng.view.setUint32(at + 4, 20, true);
  ng.view.setUint16(at + 8, LINKTYPE_ETHERNET, true);
  ng.view.setUint16(at + 10, 0, true);
  ng.view.setUint32(at + 12, 262_144, true);
  ng.view.setUint32(at + 16, 20, true);

  return {
    write(frame, length, tsMicros) {
      packets++;
      const seconds = Math.floor(tsMicros / 1e6);
      const micros = tsMicros - seconds * 1e6;
      let p = reserve(pcap, 16 + length);
      pcap.view.setUint32(p, seconds, true);
      pcap.view.setUint32(p + 4, micros, true);
      pcap.view.setUint32(p + 8, length, true);
      pcap.view.setUint32(p + 12, length, true);
      pcap.bytes.set(frame.subarray(0, length), p + 16);

      const padded = (length + 3) & ~3;
      const total = 32 + padded;
      p = reserve(ng, total);
      const high = Math.floor(tsMicros / 4294967296);
      ng.view.setUint32(p, 6, true);
      ng.view.setUint32(p + 4, total, true);
      ng.view.setUint32(p + 8, 0, true);
      ng.view.setUint32(p + 12, high, true);
      ng.view.setUint32(p + 16, tsMicros - high * 4294967296, true);
      ng.view.setUint32(p + 20, length, true);
      ng.view.setUint32(p + 24, length, true);
      ng.bytes.set(frame.subarray(0, length), p + 28);
      ng.bytes.fill(0, p + 28 + length, p + 28 + padded);
      ng.view.setUint32(p + 28 + padded, total, true);
    },
    get pcapBytes() {
      return pcap.written + pcap.used;
    },
    get packets() {
      return packets;
    },
    close() {
      flush(pcap);
      flush(ng);
      closeSync(pcap.fd);
      closeSync(ng.fd);
      return { pcapBytes: pcap.written, pcapngBytes: ng.written, packets };
    },
  };
}
