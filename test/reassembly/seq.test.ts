import { describe, expect, it } from 'vitest';
import { seqAdd, seqBefore, seqDiff, seqToOffset } from '../../src/reassembly/seq.js';

describe('seq', () => {
  it.each([
    [10, 3, 7],
    [3, 10, -7],
    [0, 0xffffffff, 1],
    [0xffffffff, 0, -1],
    [5, 0xfffffffb, 10],
    [0x7fffffff, 0, 0x7fffffff],
    [0x80000000, 0, -0x80000000],
  ])('seqDiff(%i, %i) is %i', (a, b, expected) => {
    expect(seqDiff(a, b)).toBe(expected);
  });

  it.each([
    [0xffffffff, 1, 0],
    [0xfffffff0, 0x20, 0x10],
    [7, 0, 7],
  ])('seqAdd(%i, %i) is %i', (seq, n, expected) => {
    expect(seqAdd(seq, n)).toBe(expected);
  });

  it('orders across the wrap', () => {
    expect(seqBefore(0xfffffff0, 5)).toBe(true);
    expect(seqBefore(5, 0xfffffff0)).toBe(false);
    expect(seqBefore(5, 5)).toBe(false);
  });

  it.each([
    // seq, base, near, expected offset
    [0xfffffff1, 0xfffffff1, 0, 0],
    [0x00000001, 0xfffffff1, 0, 16],
    [0x00000001, 0xfffffff1, 12, 16],
    [0xffffffff, 0xfffffff1, 20, 14],
    [0xfffffff0, 0xfffffff1, 0, -1],
    // Far along a long stream: base + offset wrapped several times.
    [(0x10 + 3 * 2 ** 32 + 100) % 2 ** 32, 0x10, 3 * 2 ** 32 + 50, 3 * 2 ** 32 + 100],
    [(0x10 + 3 * 2 ** 32 - 20) % 2 ** 32, 0x10, 3 * 2 ** 32 + 50, 3 * 2 ** 32 - 20],
  ])('seqToOffset(%i, base %i, near %i) is %i', (seq, base, near, expected) => {
    expect(seqToOffset(seq, base, near)).toBe(expected);
  });
});
