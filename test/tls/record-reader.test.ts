import { describe, expect, it } from 'vitest';
import {
  createRecordBufferPool,
  createRecordReader,
  type RecordBufferPool,
  type RecordReader,
} from '../../src/tls/record-reader.js';
import { createRandom, forEachSplit, randomChunks } from '../helpers/splits.js';

const MAX = 16_384 + 2_048;

/** A TLS record: header (type, version 3.3, length) and a body of `length` bytes counting up from `seed`. */
function record(type: number, length: number, seed: number): Uint8Array {
  const out = new Uint8Array(5 + length);
  out.set([type, 3, 3, length >> 8, length & 0xff]);
  for (let i = 0; i < length; i++) out[5 + i] = (seed + i) & 0xff;
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let q = 0;
  for (const p of parts) {
    out.set(p, q);
    q += p.length;
  }
  return out;
}

/** Records of both readers, as `type:length:first bytes`, copied out during the call (bodies are views). */
function reader(pool: RecordBufferPool | undefined, seen: string[]): RecordReader {
  return createRecordReader({
    maxRecordBytes: MAX,
    ...(pool === undefined ? {} : { buffers: pool }),
    onRecord: (type, _version, body) => seen.push(`${type}:${body.length}:${Array.from(body).join(',')}`),
    onError: (detail) => seen.push(`error ${detail}`),
  });
}

// Two connections' streams: small records and records longer than any chunk, so most are cut.
const STREAM_A = concat([record(23, 40, 1), record(23, 3000, 7), record(22, 5, 200), record(23, 1200, 99)]);
const STREAM_B = concat([record(23, 2500, 50), record(21, 2, 3), record(23, 17, 250)]);

function alone(stream: Uint8Array): string[] {
  const seen: string[] = [];
  reader(undefined, seen).push(stream);
  return seen;
}

describe('record reader with a shared buffer pool', () => {
  it('gives each of two interleaved readers its own records, the same for any chunking', () => {
    const expectedA = alone(STREAM_A);
    const expectedB = alone(STREAM_B);
    expect(expectedA.map((r) => r.split(':').slice(0, 2).join(':'))).toEqual([
      '23:40',
      '23:3000',
      '22:5',
      '23:1200',
    ]);
    const random = createRandom(7);
    forEachSplit(STREAM_A, (chunksA, label) => {
      const chunksB = randomChunks(STREAM_B, random, 700);
      const pool = createRecordBufferPool(MAX, 1);
      const seenA: string[] = [];
      const seenB: string[] = [];
      const a = reader(pool, seenA);
      const b = reader(pool, seenB);
      // Alternate the two connections' chunks: a record of one is often incomplete while the other's completes.
      for (let i = 0; i < Math.max(chunksA.length, chunksB.length); i++) {
        const ca = chunksA[i];
        const cb = chunksB[i];
        if (ca !== undefined) a.push(ca);
        if (cb !== undefined) b.push(cb);
      }
      expect(seenA, label).toEqual(expectedA);
      expect(seenB, label).toEqual(expectedB);
      expect(a.buffered + b.buffered, label).toBe(0);
    });
  });

  it('keeps at most maxFree buffers, and takes a kept one before making a new one', () => {
    const pool = createRecordBufferPool(MAX, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    expect(taken.every((t) => t.length === 5 + MAX)).toBe(true);
    for (const t of taken) pool.give(t);
    // Only two were kept: the third take makes a new buffer.
    const again = [pool.take(), pool.take(), pool.take()];
    expect(again.filter((t) => taken.includes(t))).toHaveLength(2);
    // A buffer of another size is never kept.
    pool.give(new Uint8Array(100));
    expect(pool.take().length).toBe(5 + MAX);
  });
});
