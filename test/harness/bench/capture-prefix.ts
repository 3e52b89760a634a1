/**
 * Writes the first whole records of a classic pcap file, up to `maxBytes` in all (global header included), to
 * another file: the same traffic as the start of the capture, for a tool too slow to read all of it.
 */

import { closeSync, openSync, readSync, writeSync } from 'node:fs';

const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;

/** Returns the size of the prefix written. Throws when `source` is not a classic pcap file. */
export function writePcapPrefix(source: string, target: string, maxBytes: number): number {
  const input = openSync(source, 'r');
  const output = openSync(target, 'w');
  try {
    const chunk = new Uint8Array(1024 * 1024);
    const view = new DataView(chunk.buffer);
    let filled = readSync(input, chunk, 0, chunk.length, 0);
    if (filled < GLOBAL_HEADER) throw new Error(`${source}: too short for a pcap file`);
    const magic = view.getUint32(0, true);
    let littleEndian: boolean;
    if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) littleEndian = true;
    else if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) littleEndian = false;
    else throw new Error(`${source}: not a classic pcap file`);
    let fileOffset = 0; // offset in the file of chunk[0]
    let at = GLOBAL_HEADER; // offset in the file of the next record
    for (;;) {
      let local = at - fileOffset;
      if (local + RECORD_HEADER > filled) {
        // Move the read window to the next record.
        fileOffset = at;
        filled = readSync(input, chunk, 0, chunk.length, fileOffset);
        local = 0;
        if (filled < RECORD_HEADER) break;
      }
      const recordBytes = RECORD_HEADER + view.getUint32(local + 8, littleEndian);
      if (at + recordBytes > maxBytes) break;
      at += recordBytes;
    }
    // Copy [0, at) through the same buffer.
    let copied = 0;
    while (copied < at) {
      const n = readSync(input, chunk, 0, Math.min(chunk.length, at - copied), copied);
      if (n === 0) break;
      writeSync(output, chunk, 0, n);
      copied += n;
    }
    return copied;
  } finally {
    closeSync(input);
    closeSync(output);
  }
}
