/**
 * The reference for the benchmark: the least work a JavaScript program must do to find the SMTP packets in a
 * capture file. `fs.readSync` into one reused 1 MiB buffer, walk the pcap records or pcapng blocks, read the
 * Ethernet (with 802.1Q tags), IPv4 or IPv6 and TCP headers, keep the segments with a port in the set.
 * Nothing is reassembled or decoded further; only Ethernet files are understood.
 */

import { closeSync, openSync, readSync } from 'node:fs';

export interface WalkResult {
  readonly packets: number;
  readonly matched: number;
  readonly matchedPayloadBytes: number;
  readonly bytes: number;
}

const BUFFER_BYTES = 1024 * 1024;

/** Ethernet → IP → TCP; returns the TCP payload length when a port is in `portMap`, else -1. */
function walkFrame(b: Uint8Array, start: number, length: number, portMap: Uint8Array): number {
  const end = start + length;
  let o = start + 12;
  if (o + 2 > end) return -1;
  let type = (b[o]! << 8) | b[o + 1]!;
  o += 2;
  while ((type === 0x8100 || type === 0x88a8) && o + 4 <= end) {
    type = (b[o + 2]! << 8) | b[o + 3]!;
    o += 4;
  }
  let tcp: number;
  let ipEnd: number;
  if (type === 0x0800) {
    if (o + 20 > end || b[o + 9] !== 6) return -1;
    if ((((b[o + 6]! << 8) | b[o + 7]!) & 0x3fff) !== 0) return -1;
    ipEnd = o + ((b[o + 2]! << 8) | b[o + 3]!);
    tcp = o + (b[o]! & 0x0f) * 4;
  } else if (type === 0x86dd) {
    if (o + 40 > end || b[o + 6] !== 6) return -1;
    ipEnd = o + 40 + ((b[o + 4]! << 8) | b[o + 5]!);
    tcp = o + 40;
  } else return -1;
  if (tcp + 20 > end) return -1;
  if (portMap[(b[tcp]! << 8) | b[tcp + 1]!] === 0 && portMap[(b[tcp + 2]! << 8) | b[tcp + 3]!] === 0)
    return -1;
  const payload = tcp + (b[tcp + 12]! >> 4) * 4;
  return Math.max(0, Math.min(ipEnd, end) - payload);
}

export function walkCaptureHeaders(path: string, ports: ReadonlySet<number>): WalkResult {
  const portMap = new Uint8Array(65536);
  for (const p of ports) portMap[p] = 1;
  const fd = openSync(path, 'r');
  let buffer = new Uint8Array(BUFFER_BYTES);
  let view = new DataView(buffer.buffer);
  let start = 0;
  let end = 0;
  let eof = false;
  let bytes = 0;
  /** Makes at least `need` bytes available from `start`; false at end of file. */
  const fill = (need: number): boolean => {
    if (end - start >= need) return true;
    if (eof) return false;
    if (need > buffer.length) {
      const bigger = new Uint8Array(need * 2);
      bigger.set(buffer.subarray(start, end));
      buffer = bigger;
      view = new DataView(buffer.buffer);
    } else buffer.copyWithin(0, start, end);
    end -= start;
    start = 0;
    while (end - start < need) {
      const n = readSync(fd, buffer, end, buffer.length - end, null);
      if (n === 0) {
        eof = true;
        return end - start >= need;
      }
      end += n;
      bytes += n;
    }
    return true;
  };
  let packets = 0;
  let matched = 0;
  let payloadBytes = 0;
  try {
    if (!fill(24)) return { packets, matched, matchedPayloadBytes: payloadBytes, bytes };
    const magic = view.getUint32(0, true);
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) {
      start = 24;
      while (fill(16)) {
        const caplen = view.getUint32(start + 8, true);
        if (!fill(16 + caplen)) break;
        packets++;
        const n = walkFrame(buffer, start + 16, caplen, portMap);
        if (n >= 0) {
          matched++;
          payloadBytes += n;
        }
        start += 16 + caplen;
      }
    } else if (magic === 0x0a0d0d0a) {
      while (fill(12)) {
        const type = view.getUint32(start, true);
        const total = view.getUint32(start + 4, true);
        if (total < 12 || !fill(total)) break;
        if (type === 6) {
          packets++;
          const caplen = view.getUint32(start + 20, true);
          const n = walkFrame(buffer, start + 28, caplen, portMap);
          if (n >= 0) {
            matched++;
            payloadBytes += n;
          }
        }
        start += total;
      }
    } else throw new Error(`${path}: not a little-endian pcap or pcapng file`);
  } finally {
    closeSync(fd);
  }
  return { packets, matched, matchedPayloadBytes: payloadBytes, bytes };
}
