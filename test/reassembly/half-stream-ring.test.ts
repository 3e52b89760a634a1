/**
 * The overlap-check ring of a half-stream (half-stream.ts) as it grows: a retransmission of bytes delivered
 * before the growth is compared with what was delivered, whether the ring grew inside its first lap (one copy
 * of the whole ring) or after wrapping (a copy in pieces), and whether the segment buffers are reused after
 * each push (as the capture reader's are).
 */

import { describe, expect, it } from 'vitest';
import { createAssembler } from '../../src/reassembly/assembler.js';
import { Conversation } from '../helpers/segments.js';
import { createRecorder } from './recorder.js';

const CLIENT = { ip: '192.0.2.10', port: 40000 };
const SERVER = { ip: '198.51.100.25', port: 25 };

/** Deterministic printable text of `length` bytes. */
function text(length: number, seed: number): string {
  return Array.from({ length }, (_, i) => String.fromCharCode(33 + ((i * 7 + seed) % 90))).join('');
}

/**
 * Delivers `first` then `second` in order (the second makes the ring grow), then retransmits [from, to) of
 * the first, with the byte at `changeAt` (relative to `from`) altered when given; returns the direction's counts.
 */
function run(first: number, second: number, from: number, to: number, changeAt: number | null) {
  const rec = createRecorder();
  const asm = createAssembler(rec.factory, { overlapCheckBytes: 16 * 1024 });
  const conv = new Conversation(CLIENT, SERVER);
  const all = text(first + second, 5);
  const push = (segment: ReturnType<Conversation['data']>): void => {
    asm.push(segment);
    segment.buffer.fill(0xee); // the reader reuses its buffers: what the ring holds must be a copy
  };
  for (const segment of conv.handshake()) asm.push(segment);
  push(conv.data('c2s', all.slice(0, first)));
  push(conv.data('c2s', all.slice(first)));
  let again = all.slice(from, to);
  if (changeAt !== null) again = `${again.slice(0, changeAt)}~${again.slice(changeAt + 1)}`;
  push(conv.data('c2s', again, { offset: from }));
  asm.flushAll('end-of-capture');
  expect(rec.text('C000001', 'c2s')).toBe(all);
  return rec.flow('C000001').stats?.c2s;
}

describe('half-stream overlap ring', () => {
  it.each([
    ['grown inside its first lap (600 then 1000 bytes)', 600, 1000],
    ['grown at exactly its first size (1024 then 1)', 1024, 1],
    ['grown to the bound at once (300 then 5000 bytes)', 300, 5000],
  ])('compares a retransmission of bytes delivered before the ring %s', (_label, first, second) => {
    expect(run(first, second, 0, first, null)).toMatchObject({ retransmissions: 1, overlapsDiffering: 0 });
    expect(run(first, second, 0, first, first - 1)).toMatchObject({
      retransmissions: 1,
      overlapsDiffering: 1,
    });
    expect(run(first, second, 0, first, 0)).toMatchObject({ retransmissions: 1, overlapsDiffering: 1 });
  });

  it('compares bytes kept across a growth after the ring wrapped', () => {
    // A snaplen gap moves the ring's start to offset 900; 1,000 bytes then wrap the 1 KiB ring without growing
    // it, and the next 600 make it grow (in pieces) while it holds 900..1900.
    const rec = createRecorder();
    const asm = createAssembler(rec.factory, { overlapCheckBytes: 16 * 1024 });
    const conv = new Conversation(CLIENT, SERVER);
    const all = text(2500, 11);
    for (const segment of conv.handshake()) asm.push(segment);
    const cut = conv.data('c2s', all.slice(0, 500), { wireLength: 900 });
    asm.push(cut);
    cut.buffer.fill(0xee);
    for (const [from, to] of [
      [900, 1900],
      [1900, 2500],
    ] as const) {
      const segment = conv.data('c2s', all.slice(from, to));
      asm.push(segment);
      segment.buffer.fill(0xee);
    }
    // Bytes 1000..1900 were in the wrapped ring when it grew: unchanged, then with one byte altered.
    asm.push(conv.data('c2s', all.slice(1000, 1900), { offset: 1000 }));
    asm.push(conv.data('c2s', `${all.slice(1000, 1100)}~${all.slice(1101, 1900)}`, { offset: 1000 }));
    asm.flushAll('end-of-capture');
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({
      bytes: 2100,
      gaps: 1,
      gapBytes: 400,
      retransmissions: 2,
      overlapsDiffering: 1,
    });
  });
});
