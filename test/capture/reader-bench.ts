/**
 * Capture reader benchmark (not a test): times a plain file read, our reader and npm pcap-parser over one
 * large classic pcap. See docs/PERFORMANCE.md, "Capture reader", for how to build and run it.
 *
 * Usage: node reader-bench.js [path] [megabytes]
 * The file is generated first when missing: realistic Ethernet/IPv4/TCP frames of 60 to 1514 bytes.
 */

import type { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { openFileSource } from '../../src/capture/open-file.js';
import { buildPcapHeader, buildPcapRecord, sampleFrame } from '../helpers/pcap-builder.js';

const path = process.argv[2] ?? '/tmp/smtpscope-bench.pcap';
const megabytes = Number(process.argv[3] ?? '200');

function generate(): void {
  const fd = openSync(path, 'w');
  writeSync(fd, buildPcapHeader({ endian: 'le' }));
  // A pool of distinct frames (payload sizes typical of SMTP: short commands, replies, full segments).
  const pool = Array.from({ length: 997 }, (_, i) => {
    const payload = i % 4 === 0 ? 1460 : i % 4 === 1 ? 6 + (i % 60) : i % 4 === 2 ? 0 : 200 + (i % 800);
    return sampleFrame(i, payload);
  });
  let written = 24;
  let n = 0;
  const target = megabytes * 1_048_576;
  const batch: Uint8Array[] = [];
  let batchBytes = 0;
  while (written < target) {
    const record = buildPcapRecord('le', {
      seconds: 1_700_000_000 + Math.floor(n / 1000),
      fraction: (n % 1000) * 1000,
      data: pool[n % pool.length]!,
    });
    batch.push(record);
    batchBytes += record.length;
    written += record.length;
    n++;
    if (batchBytes > 4_000_000) {
      writeSync(fd, Buffer.concat(batch));
      batch.length = 0;
      batchBytes = 0;
    }
  }
  writeSync(fd, Buffer.concat(batch));
  closeSync(fd);
}

function plainRead(bufferBytes: number): number {
  const fd = openSync(path, 'r');
  const buffer = new Uint8Array(bufferBytes);
  let total = 0;
  let sum = 0;
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, null);
    if (n === 0) break;
    total += n;
    sum += buffer[0]!;
  }
  closeSync(fd);
  return total + sum * 0;
}

async function ours(readBufferBytes: number): Promise<number> {
  const source = await openFileSource(path, { readBufferBytes });
  let packets = 0;
  let check = 0;
  await source.forEach((p) => {
    packets++;
    check += p.buffer[p.offset + 12]! + p.capturedLength;
  });
  return packets + check * 0;
}

const pcapParser = createRequire(import.meta.url)('pcap-parser') as { parse(path: string): EventEmitter };

function oracle(): Promise<number> {
  return new Promise((resolve, reject) => {
    let packets = 0;
    const parser = pcapParser.parse(path);
    parser.on('packet', () => {
      packets++;
    });
    parser.on('error', reject);
    parser.on('end', () => resolve(packets));
  });
}

async function time(label: string, run: () => number | Promise<number>): Promise<number> {
  const runs: number[] = [];
  let result = 0;
  for (let i = 0; i < 7; i++) {
    const start = process.hrtime.bigint();
    result = await run();
    runs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  runs.sort((a, b) => a - b);
  const median = runs[3]!;
  const size = statSync(path).size;
  console.log(
    `${label.padEnd(34)} best ${runs[0]!.toFixed(0).padStart(5)} ms, median ${median.toFixed(0).padStart(5)} ms  ${((size / 1_048_576 / median) * 1000).toFixed(0).padStart(5)} MiB/s  (runs ${runs.map((r) => r.toFixed(0)).join(', ')}; result ${result})`,
  );
  return median;
}

if (!existsSync(path)) generate();
const size = statSync(path).size;
console.log(`file ${path}: ${(size / 1_048_576).toFixed(1)} MiB, node ${process.version}`);
const read = await time('plain fs read (1 MiB buffer)', () => plainRead(1_048_576));
const results: [string, number][] = [];
for (const bytes of [262_144, 1_048_576, 4_194_304]) {
  results.push([
    `ours, ${bytes / 1024} KiB buffers`,
    await time(`ours (${bytes / 1024} KiB read buffers)`, () => ours(bytes)),
  ]);
}
const theirs = await time('pcap-parser 0.2.1', oracle);
for (const [label, ms] of results) {
  console.log(
    `${label}: ${(ms / read).toFixed(2)}x plain read, pcap-parser takes ${(theirs / ms).toFixed(1)}x as long`,
  );
}
