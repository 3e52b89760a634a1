import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base64Size,
  MIME_MAX_PARTS,
  parseStructuredValue,
  partText,
  quotedPrintableSize,
  readHeaderFields,
  walkMime,
} from '../../src/model/mime-parts.js';

const encoder = new TextEncoder();
const crlf = (lines: readonly string[]): Uint8Array => encoder.encode(lines.join('\r\n'));

describe('mime-parts', () => {
  it('reads unfolded header fields in order, keeping duplicates', () => {
    const bytes = crlf(['Received: a', '\tb', 'Subject: s', 'received: c', 'no colon line', '', 'body']);
    // Read only the first three lines (ASCII, so string offsets are byte offsets).
    const end = 'Received: a\r\n\tb\r\nSubject: s'.length;
    expect(readHeaderFields(bytes, 0, end)).toEqual([
      { key: 'received', value: 'a\tb' },
      { key: 'subject', value: 's' },
    ]);
    expect(walkMime(bytes).headers.map((h) => h.key)).toEqual(['received', 'subject', 'received']);
  });

  it('parses structured values with quotes, comments and RFC 2231 parameters', () => {
    const ct = parseStructuredValue('Multipart/Mixed (comment); boundary="a;b\\"c"; charset=utf-8');
    expect(ct.value).toBe('multipart/mixed');
    expect(ct.params.get('boundary')).toBe('a;b"c');
    expect(ct.params.get('charset')).toBe('utf-8');
    const cd = parseStructuredValue("attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf");
    expect(cd.params.get('filename')).toBe('résumé.pdf');
    const split = parseStructuredValue(
      'attachment; filename*0*=ISO-8859-1\'\'caf%E9; filename*1="_100%.txt"',
    );
    expect(split.params.get('filename')).toBe('café_100%.txt');
  });

  it('measures base64 and quoted-printable bodies without decoding them', () => {
    const bytes = crlf([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Transfer-Encoding: base64',
      '',
      'SGVs',
      'bG8h',
      '--b',
      'Content-Transfer-Encoding: Quoted-Printable',
      '',
      'a=3Db=',
      'c =20',
      '--b--',
      'epilogue',
    ]);
    const { parts } = walkMime(bytes);
    // "SGVsbG8h" is "Hello!" (6 bytes); "a=3Db=" + soft break + "c =20" is "a=bc  " (6 bytes).
    expect(parts.map((p) => [p.transferEncoding, p.decodedSize])).toEqual([
      ['base64', 6],
      ['quoted-printable', 6],
    ]);
    expect(partText(bytes, parts[0]!)).toBe('Hello!');
    expect(partText(bytes, parts[1]!)).toBe('a=bc  ');
  });

  it('does not take a longer boundary that starts with the same text for the boundary', () => {
    const bytes = crlf([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      '',
      'one',
      '--b-x',
      'still one',
      '--b--',
    ]);
    const { parts } = walkMime(bytes);
    expect(parts).toHaveLength(1);
    expect(partText(bytes, parts[0]!)).toBe('one\r\n--b-x\r\nstill one');
  });

  it('handles LF-only line ends and boundary lines with trailing white space', () => {
    const bytes = encoder.encode(
      'Content-Type: multipart/alternative; boundary="x"\n\n--x  \nContent-Type: text/html\n\n<p>\n--x--\n',
    );
    const { parts } = walkMime(bytes);
    expect(parts.map((p) => [p.contentType, p.decodedSize])).toEqual([['text/html', 3]]);
  });

  it('uses message/rfc822 as the default type inside multipart/digest and text/plain elsewhere', () => {
    const bytes = crlf([
      'Content-Type: multipart/digest; boundary=d',
      '',
      '--d',
      '',
      'Subject: x',
      '',
      'y',
      '--d--',
    ]);
    expect(walkMime(bytes).parts.map((p) => p.contentType)).toEqual(['message/rfc822']);
    expect(walkMime(crlf(['Subject: plain', '', 'x'])).parts.map((p) => p.contentType)).toEqual([
      'text/plain',
    ]);
  });

  it('lists a nested message/rfc822 as one part', () => {
    const bytes = crlf([
      'Content-Type: multipart/mixed; boundary=o',
      '',
      '--o',
      'Content-Type: message/rfc822',
      '',
      'Content-Type: multipart/mixed; boundary=i',
      '',
      '--i',
      '',
      'inner',
      '--i--',
      '--o--',
    ]);
    expect(walkMime(bytes).parts.map((p) => p.contentType)).toEqual(['message/rfc822']);
  });

  it('ends an unterminated multipart where the bytes end', () => {
    const bytes = crlf([
      'Content-Type: multipart/mixed; boundary=b',
      '',
      '--b',
      'Content-Type: image/gif',
      '',
      'R0lGOD',
    ]);
    const { parts } = walkMime(bytes);
    expect(parts.map((p) => [p.contentType, p.bodyEnd])).toEqual([['image/gif', bytes.length]]);
  });

  it('stops listing parts at the limit and says so', () => {
    const lines = ['Content-Type: multipart/mixed; boundary=b', ''];
    for (let i = 0; i < MIME_MAX_PARTS + 10; i++) lines.push('--b', '', `part ${i}`);
    lines.push('--b--');
    const structure = walkMime(crlf(lines));
    expect(structure.parts).toHaveLength(MIME_MAX_PARTS);
    expect(structure.limited).toBe(true);
  });

  it('never throws on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const structure = walkMime(bytes);
        for (const part of structure.parts) {
          expect(part.bodyStart).toBeLessThanOrEqual(part.bodyEnd);
          expect(part.decodedSize).toBeGreaterThanOrEqual(0);
          partText(bytes, part);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('gives base64 sizes equal to a decoder on bodies of any line length, line end, padding and tail', () => {
    // Encoders write lines of one length (76 in RFC 2045, others seen), the last one shorter; the body may end
    // with or without a line break, with blank lines, or with white space after the padding.
    const body = fc.record({
      data: fc.uint8Array({ maxLength: 3000 }),
      width: fc.integer({ min: 1, max: 200 }),
      eol: fc.constantFrom('\r\n', '\n'),
      finalBreak: fc.boolean(),
      blankLines: fc.integer({ min: 0, max: 2 }),
      tail: fc.constantFrom('', ' ', '\t', ' \t '),
    });
    fc.assert(
      fc.property(body, ({ data, width, eol, finalBreak, blankLines, tail }) => {
        const encoded = Buffer.from(data).toString('base64');
        const lines: string[] = [];
        for (let i = 0; i < encoded.length; i += width) lines.push(encoded.slice(i, i + width));
        let text = lines.join(eol) + tail + (finalBreak ? eol : '') + eol.repeat(blankLines);
        text = `Content-Transfer-Encoding: base64${eol}${eol}${text}`;
        const bytes = encoder.encode(text);
        const expected = Buffer.from(encoded, 'base64').length;
        expect(expected).toBe(data.length);
        const [part] = walkMime(bytes).parts;
        expect(part?.decodedSize).toBe(expected);
        expect(base64Size(bytes, part!.bodyStart, part!.bodyEnd)).toBe(
          Buffer.from(text.slice(part!.bodyStart), 'base64').length,
        );
      }),
      { numRuns: 400 },
    );
  });

  it('measures a base64 body only within its range, wherever its line ends fall', () => {
    // 8 data characters a line; the range stops inside the third line and before a later line end.
    const bytes = encoder.encode('QUJDREVG\r\nR0hJSktM\r\nTU5PUFFS\r\nxxxx\r\n');
    expect(base64Size(bytes, 0, 24)).toBe(Buffer.from('QUJDREVGR0hJSktMTU5P', 'base64').length);
    expect(base64Size(bytes, 10, 20)).toBe(6);
    expect(base64Size(bytes, 0, 0)).toBe(0);
  });

  it('gives quoted-printable sizes equal to decoding byte by byte', () => {
    // The decoder of RFC 2045 section 6.7, one byte at a time: "=XX" is a byte, "=" + white space + line end
    // is nothing, a stray "=" stays.
    const decodedLength = (bytes: Uint8Array): number => {
      let n = 0;
      const hex = (c: number | undefined): boolean =>
        c !== undefined && /[0-9A-Fa-f]/.test(String.fromCharCode(c));
      for (let i = 0; i < bytes.length; i++) {
        if (bytes[i] !== 0x3d) {
          n++;
          continue;
        }
        if (hex(bytes[i + 1]) && hex(bytes[i + 2])) {
          n++;
          i += 2;
          continue;
        }
        let j = i + 1;
        while (bytes[j] === 0x20 || bytes[j] === 0x09) j++;
        if (j >= bytes.length) break;
        if (bytes[j] === 0x0a) i = j;
        else if (bytes[j] === 0x0d && bytes[j + 1] === 0x0a) i = j + 1;
        else n++;
      }
      return n;
    };
    const text = fc.array(
      fc.constantFrom('a', '=', '3', 'D', 'f', 'G', ' ', '\t', '\r', '\n', '=\r\n', '=3D'),
      {
        maxLength: 80,
      },
    );
    fc.assert(
      fc.property(text, (pieces) => {
        const bytes = encoder.encode(pieces.join(''));
        expect(quotedPrintableSize(bytes, 0, bytes.length)).toBe(decodedLength(bytes));
      }),
      { numRuns: 1000 },
    );
  });
});
