import { describe, expect, it } from 'vitest';
import { createLineSplitter, type LineEnding } from '../../src/smtp/line-splitter.js';
import { forEachSplit } from '../helpers/splits.js';

const enc = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const dec = (b: Uint8Array): string => String.fromCharCode(...b);

/** Runs the splitter over chunks; a line "BDAT n" switches to plain delivery of n bytes. */
function run(chunks: Uint8Array[], maxLineLength = 16): string[] {
  const log: string[] = [];
  const splitter = createLineSplitter({
    maxLineLength,
    onLine(line: Uint8Array, ending: LineEnding, offset: number) {
      const text = dec(line);
      log.push(`line ${JSON.stringify(text)} ${ending} @${offset}`);
      const m = /^BDAT (\d+)$/.exec(text);
      if (m !== null) splitter.setPlainDelivery(Number(m[1]));
    },
    onPlain(bytes: Uint8Array, offset: number) {
      // Plain bytes are coalesced in the log so that the chunking does not show.
      const last = log[log.length - 1];
      if (last?.startsWith('plain '))
        log[log.length - 1] = `${last.slice(0, -1)}${JSON.stringify(dec(bytes)).slice(1)}`;
      else log.push(`plain @${offset} ${JSON.stringify(dec(bytes))}`);
    },
  });
  let offset = 0;
  for (const chunk of chunks) {
    let pos = 0;
    while (pos < chunk.length) pos += splitter.push(chunk.subarray(pos), offset + pos);
    offset += chunk.length;
  }
  splitter.flush();
  return log;
}

describe('line-splitter', () => {
  it('splits CRLF and bare LF lines and keeps a bare CR inside the line', () => {
    expect(run([enc('HELO a\r\nNOOP\nx\ry\r\n\r\n')])).toEqual([
      'line "HELO a" crlf @0',
      'line "NOOP" lf @8',
      'line "x\\ry" crlf @13',
      'line "" crlf @18',
    ]);
  });

  it('cuts an over-long line once and drops the rest of it, whatever the chunking', () => {
    // The limit counts the bytes before LF, a CR included: 16 characters + CRLF is over a limit of 16.
    const input = enc(
      '0123456789abcdefXYZ\r\nok\r\n0123456789abcdef\n0123456789abcde\r\n0123456789abcdef\r\nend\r\n',
    );
    const expected = [
      'line "0123456789abcdef" overflow @0',
      'line "ok" crlf @21',
      'line "0123456789abcdef" lf @25',
      'line "0123456789abcde" crlf @42',
      'line "0123456789abcdef" overflow @59',
      'line "end" crlf @77',
    ];
    forEachSplit(input, (chunks, label) => expect(run(chunks), label).toEqual(expected));
  });

  it('delivers BDAT octets as plain bytes and resumes lines after them', () => {
    const input = enc('BDAT 7\r\nA\r\nB\r\n.QUIT\r\nBDAT 0\r\nNOOP');
    const expected = [
      'line "BDAT 7" crlf @0',
      'plain @8 "A\\r\\nB\\r\\n."',
      'line "QUIT" crlf @15',
      'line "BDAT 0" crlf @21',
      'line "NOOP" eof @29',
    ];
    forEachSplit(input, (chunks, label) => expect(run(chunks), label).toEqual(expected));
  });

  it('returns early after pause() so the caller can route the rest of the chunk', () => {
    const seen: string[] = [];
    const splitter = createLineSplitter({
      maxLineLength: 100,
      onLine(line) {
        seen.push(dec(line));
        if (dec(line) === 'DATA') splitter.pause();
      },
      onPlain() {},
    });
    const bytes = enc('MAIL x\r\nDATA\r\nbody\r\n');
    expect(splitter.push(bytes, 0)).toBe(14);
    expect(seen).toEqual(['MAIL x', 'DATA']);
  });

  it('forgets a partial line on reset', () => {
    const lines: string[] = [];
    const splitter = createLineSplitter({
      maxLineLength: 100,
      onLine: (l) => lines.push(dec(l)),
      onPlain() {},
    });
    splitter.push(enc('MAIL FR'), 0);
    splitter.reset();
    splitter.push(enc('OM\r\nQUIT\r\n'), 20);
    expect(lines).toEqual(['OM', 'QUIT']);
  });
});
