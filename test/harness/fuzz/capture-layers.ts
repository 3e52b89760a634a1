/**
 * Fuzz layers of the capture readers: classic pcap, pcapng and gzip-compressed captures.
 *
 * Inputs are the real captures mutated (bit flips, truncations, length-field lies, splices of two captures)
 * or, one case in ten, random bytes behind a valid magic. Invariants: nothing but CaptureFormatError escapes
 * (and that only when the input does not start as the format); every delivered packet lies inside its buffer
 * and within the record-size limit, with a finite integer time; and the packets, warnings and counts are the
 * same for the whole input in one chunk and for a random re-chunking.
 */

import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { CaptureParserConfig } from '../../../src/capture/capture-parser.js';
import { DEFAULT_MAX_RECORD_BYTES } from '../../../src/capture/capture-parser.js';
import { openStreamSource } from '../../../src/capture/open-file.js';
import { createPcapParser } from '../../../src/capture/pcap-reader.js';
import { createPcapngParser, PCAPNG_BLOCK_HEADROOM_BYTES } from '../../../src/capture/pcapng-reader.js';
import { CaptureFormatError, type PacketView, type SourceWarning } from '../../../src/capture/types.js';
import type { Corpus } from './corpus.js';
import { diffLogs, type FuzzLayer, hashBytes } from './layer.js';
import { mutate } from './mutate.js';
import { type Random, randomBytes, randomChunking } from './random.js';

/** Largest fuzzed capture input (bytes). */
const MAX_CAPTURE_INPUT = 96 * 1024;

export interface CaptureRunLog {
  readonly log: string[];
  /** A broken invariant seen while reading, or null. */
  readonly violation: string | null;
}

function packetEntry(p: PacketView, maxRecordBytes: number): string | null {
  if (p.offset < 0 || p.capturedLength < 0 || p.offset + p.capturedLength > p.buffer.length) {
    return `packet ${p.index} lies outside its buffer (offset ${p.offset}, length ${p.capturedLength}, buffer ${p.buffer.length})`;
  }
  if (p.capturedLength > maxRecordBytes)
    return `packet ${p.index} is ${p.capturedLength} bytes, over the limit`;
  if (!Number.isFinite(p.tsMicros) || !Number.isInteger(p.tsMicros)) {
    return `packet ${p.index} has time ${p.tsMicros}`;
  }
  return null;
}

function warningEntry(w: SourceWarning): string {
  return `warning ${w.code} @${w.byteOffset}`;
}

/** Runs the pcap or pcapng parser over `chunks`; returns a chunk-independent log of what it delivered. */
export function runCaptureParser(
  format: 'pcap' | 'pcapng',
  chunks: readonly Uint8Array[],
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
): CaptureRunLog {
  const log: string[] = [];
  let violation: string | null = null;
  // pcapng bounds whole blocks (packet plus headroom for headers and options), classic pcap the packet.
  const packetLimit = format === 'pcap' ? maxRecordBytes : maxRecordBytes + PCAPNG_BLOCK_HEADROOM_BYTES;
  const config: CaptureParserConfig = {
    maxRecordBytes,
    onPacket(p) {
      violation ??= packetEntry(p, packetLimit);
      if (violation !== null) return;
      const h = hashBytes(p.buffer, 0x811c9dc5, p.offset, p.offset + p.capturedLength);
      log.push(
        `packet ${p.index} t=${p.tsMicros} cap=${p.capturedLength} orig=${p.originalLength} link=${p.linkType} if=${p.interfaceId} h=${h}`,
      );
    },
    onWarning(w) {
      log.push(warningEntry(w));
    },
  };
  const parser = format === 'pcap' ? createPcapParser(config) : createPcapngParser(config);
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      if (parser.stopped) break;
    }
    parser.end();
  } catch (error) {
    if (!(error instanceof CaptureFormatError)) throw error;
    log.push('format-error');
    return { log, violation };
  }
  const c = parser.counts();
  log.push(`packets=${c.packets} truncated=${c.truncated}`);
  return { log, violation };
}

/** A capture-shaped input: a mutated real capture, or random bytes behind a magic. */
export function captureInput(random: Random, seeds: readonly Uint8Array[], magic: Uint8Array): Uint8Array {
  if (random.chance(0.1)) {
    const body = randomBytes(random, random.int(2048));
    const out = new Uint8Array(magic.length + body.length);
    out.set(magic);
    out.set(body, magic.length);
    return out;
  }
  const seed = random.pick(seeds);
  const other = random.pick(seeds);
  return mutate(seed, other, random, MAX_CAPTURE_INPUT);
}

/** Checks one capture input: invariants, then the same log for one chunk and for a random chunking. */
export function checkCaptureInput(
  format: 'pcap' | 'pcapng',
  input: Uint8Array,
  random: Random,
  maxRecordBytes = DEFAULT_MAX_RECORD_BYTES,
): string | null {
  const whole = runCaptureParser(format, [input.slice()], maxRecordBytes);
  if (whole.violation !== null) return whole.violation;
  const floor = Math.max(1, Math.ceil(input.length / 256));
  const maxChunk = Math.max(
    floor,
    random.chance(0.2) ? 1 + random.int(8) : 1 + random.int(Math.max(1, input.length)),
  );
  const chunked = runCaptureParser(format, randomChunking(input, random, maxChunk), maxRecordBytes);
  if (chunked.violation !== null) return chunked.violation;
  return diffLogs(whole.log, chunked.log, 'one chunk', `chunks of at most ${maxChunk}`);
}

const PCAP_MAGIC = new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]);
const PCAPNG_MAGIC = new Uint8Array([0x0a, 0x0d, 0x0d, 0x0a]);

function recordLimit(random: Random): number {
  return random.chance(0.15) ? 16 + random.int(2048) : DEFAULT_MAX_RECORD_BYTES;
}

export const pcapLayer: FuzzLayer = {
  name: 'pcap',
  description: 'classic pcap push parser on mutated captures',
  runCase(random: Random, corpus: Corpus) {
    return checkCaptureInput(
      'pcap',
      captureInput(random, corpus.pcap, PCAP_MAGIC),
      random,
      recordLimit(random),
    );
  },
};

export const pcapngLayer: FuzzLayer = {
  name: 'pcapng',
  description: 'pcapng push parser on mutated captures',
  runCase(random: Random, corpus: Corpus) {
    const seeds = random.chance(0.5) ? corpus.pcapng : corpus.pcapng.length > 0 ? corpus.pcapng : corpus.pcap;
    return checkCaptureInput(
      'pcapng',
      captureInput(random, seeds, PCAPNG_MAGIC),
      random,
      recordLimit(random),
    );
  },
};

/** Opens `chunks` as a stream source and reads it to the end; returns a log, or throws what escaped. */
export async function runStreamSource(chunks: readonly Uint8Array[]): Promise<string[]> {
  const log: string[] = [];
  const stream = Readable.from(
    chunks.map((c) => Buffer.from(c)),
    { objectMode: false },
  );
  let source: Awaited<ReturnType<typeof openStreamSource>>;
  try {
    source = await openStreamSource(stream, 'fuzz');
  } catch (error) {
    if (error instanceof CaptureFormatError) return ['format-error'];
    throw error;
  }
  log.push(`format ${source.format} compressed=${source.compressed}`);
  try {
    await source.forEach((p) => {
      const bad = packetEntry(p, DEFAULT_MAX_RECORD_BYTES);
      if (bad !== null) throw new Error(bad);
      log.push(
        `packet ${p.index} t=${p.tsMicros} cap=${p.capturedLength} h=${hashBytes(p.buffer, 0x811c9dc5, p.offset, p.offset + p.capturedLength)}`,
      );
    });
  } catch (error) {
    if (!(error instanceof CaptureFormatError)) throw error;
    log.push('format-error while reading');
  }
  for (const w of source.warnings()) log.push(`warning ${w.code}`);
  return log;
}

export const gzipLayer: FuzzLayer = {
  name: 'gzip',
  description:
    'gzip-compressed captures through openStreamSource: damaged compressed bytes, and mutated content',
  async runCase(random: Random, corpus: Corpus) {
    if (random.chance(0.5)) {
      // Damaged compressed data: must end cleanly (packets, warnings or a format error), nothing else.
      await runStreamSource(
        randomChunking(
          mutate(random.pick(corpus.gzip), random.pick(corpus.gzip), random, MAX_CAPTURE_INPUT, 2),
          random,
          1 + random.int(4096),
        ),
      );
      return null;
    }
    // Intact compression of a mutated capture: any chunking must read the same.
    const inner = captureInput(random, random.chance(0.5) ? corpus.pcap : corpus.pcapng, PCAP_MAGIC);
    const input = new Uint8Array(gzipSync(inner, { level: 1 }));
    const whole = await runStreamSource([input]);
    const maxChunk = 1 + random.int(Math.max(1, input.length >> 2));
    const chunked = await runStreamSource(randomChunking(input, random, maxChunk));
    return diffLogs(whole, chunked, 'one chunk', `chunks of at most ${maxChunk}`);
  },
};
