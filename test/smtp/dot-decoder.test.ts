import { describe, expect, it } from 'vitest';
import { createDotDecoder } from '../../src/smtp/dot-decoder.js';
import { forEachSplit } from '../helpers/splits.js';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function decode(chunks: Uint8Array[]): {
  body: string;
  size: number;
  consumed: number;
  bareLf: number[];
  ended: boolean;
} {
  let body = '';
  const bareLf: number[] = [];
  const decoder = createDotDecoder({
    onBytes: (b) => {
      body += String.fromCharCode(...b);
    },
    onBareLf: (offset) => bareLf.push(offset),
  });
  let offset = 0;
  let consumed = 0;
  for (const chunk of chunks) {
    if (decoder.ended) break;
    consumed += decoder.push(chunk, offset);
    offset += chunk.length;
  }
  return { body, size: decoder.sizeBytes, consumed, bareLf, ended: decoder.ended };
}

describe('dot-decoder', () => {
  it.each([
    ['.\r\n', '', 3],
    ['a\r\n.\r\nQUIT\r\n', 'a\r\n', 6],
    ['..a\r\n...\r\n.\r\n', '.a\r\n..\r\n', 13],
    ['a.\r\n.b\r\n.\r\n', 'a.\r\nb\r\n', 11],
    ['.\rx\r\n.\r\n', '\rx\r\n', 8],
    ['. \r\n.\r\n', ' \r\n', 7],
    ['x\r\r\n.\r\n', 'x\r\r\n', 7],
  ])('unstuffs %j and stops after the end line', (input, body, consumed) => {
    forEachSplit(enc(input), (chunks, label) => {
      const result = decode(chunks);
      expect(result.body, label).toBe(body);
      expect(result.size, label).toBe(body.length);
      expect(result.consumed, label).toBe(consumed);
      expect(result.ended, label).toBe(true);
      expect(result.bareLf, label).toEqual([]);
    });
  });

  it.each([
    ['a\n.\n', 'a\n', 1],
    ['a\r\n.\n', 'a\r\n', 4],
    ['a\n.\r\n', 'a\n', 1],
    ['\n.\r\n', '\n', 0],
  ])(
    'ends %j at a bare-LF end line, as Postfix does, and reports the first bare LF',
    (input, body, firstBareLf) => {
      forEachSplit(enc(input), (chunks, label) => {
        const result = decode(chunks);
        expect(result.body, label).toBe(body);
        expect(result.ended, label).toBe(true);
        expect(result.bareLf, label).toEqual([firstBareLf]);
      });
    },
  );

  it('does not end on a dot that is not alone on its line', () => {
    const result = decode([enc('a\r\n.x\r\n..\r\nb')]);
    expect(result.ended).toBe(false);
    expect(result.body).toBe('a\r\nx\r\n.\r\nb');
  });

  it('passes body bytes as views of the input chunk', () => {
    const input = enc('hello world\r\n.\r\n');
    const views: Uint8Array[] = [];
    const decoder = createDotDecoder({ onBytes: (b) => views.push(b), onBareLf() {} });
    decoder.push(input, 0);
    expect(views).toHaveLength(1);
    expect(views[0]?.buffer).toBe(input.buffer);
  });
});

describe('dot-decoder after a capture gap', () => {
  function afterGap(text: string): { body: string; ended: boolean; bareLf: number } {
    let body = '';
    let bareLf = 0;
    const decoder = createDotDecoder({
      onBytes: (b) => {
        body += String.fromCharCode(...b);
      },
      onBareLf: () => bareLf++,
    });
    decoder.push(enc('Subject: x\r\n\r\nfirst'), 0);
    decoder.resumeAfterGap();
    body = '';
    decoder.push(enc(text), 100);
    return { body, ended: decoder.ended, bareLf };
  }

  it('does not end at a dot right after the gap, whose line start is unknown', () => {
    expect(afterGap('.\r\nQUIT\r\n')).toEqual({ body: '.\r\nQUIT\r\n', ended: false, bareLf: 0 });
  });

  it('ends at the next dot line after a line end, and takes a LF right after the gap for a line end', () => {
    expect(afterGap('\nMAIL FROM:<x@y>\r\n.\r\n')).toEqual({
      body: '\nMAIL FROM:<x@y>\r\n',
      ended: true,
      bareLf: 0,
    });
  });
});
