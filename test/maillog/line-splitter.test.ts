import { describe, expect, it } from 'vitest';
import { createLineSplitter } from '../../src/maillog/line-splitter.js';
import { forEachSplit } from '../helpers/splits.js';

function run(chunks: readonly Uint8Array[], max?: number): [string, boolean][] {
  const lines: [string, boolean][] = [];
  const s = createLineSplitter((line, cut) => lines.push([line, cut]), max);
  for (const c of chunks) s.push(c);
  s.end();
  return lines;
}

const enc = new TextEncoder();

describe('log line splitter', () => {
  it('gives the same lines for every chunking (LF, CRLF, no final LF, UTF-8 across chunks)', () => {
    const text =
      'Nov 23 18:09:22 mx postfix/smtpd[1]: connect from unknown[127.0.0.1]\r\n\nsecond line é ✓\nlast';
    const expected: [string, boolean][] = [
      ['Nov 23 18:09:22 mx postfix/smtpd[1]: connect from unknown[127.0.0.1]', false],
      ['', false],
      ['second line é ✓', false],
      ['last', false],
    ];
    forEachSplit(enc.encode(text), (chunks, label) => expect(run(chunks), label).toEqual(expected));
  });

  it('cuts a line longer than the limit, skips its rest, and goes on with the next', () => {
    const text = `${'a'.repeat(30)}\nshort\n${'b'.repeat(10)}`;
    const expected: [string, boolean][] = [
      ['a'.repeat(16), true],
      ['short', false],
      ['b'.repeat(10), false],
    ];
    forEachSplit(enc.encode(text), (chunks, label) => expect(run(chunks, 16), label).toEqual(expected));
  });

  it('keeps a line of exactly the limit whole', () => {
    expect(run([enc.encode(`${'c'.repeat(16)}\n`)], 16)).toEqual([['c'.repeat(16), false]]);
  });
});
