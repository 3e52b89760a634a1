import { describe, expect, it } from 'vitest';
import { createLineSplitter } from '../../src/smtp/line-splitter.js';
import { forEachSplit } from '../helpers/splits.js';

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');

describe('regressions found by the fuzz runner', () => {
  it('discards the rest of an overflowed line before plain delivery its command asked for, in any chunking', () => {
    // A BDAT command cut by the line limit starts plain delivery; the rest of its line is not chunk data.
    const input = encoder.encode('BDAT 3 LAST and far too long\r\nabcNOOP\r\n');
    forEachSplit(input, (chunks) => {
      const log: string[] = [];
      const splitter = createLineSplitter({
        maxLineLength: 8,
        onLine(line, ending) {
          const text = latin1.decode(line);
          log.push(`line ${ending} ${text}`);
          if (text.startsWith('BDAT')) splitter.setPlainDelivery(3);
        },
        onPlain(bytes) {
          log.push(`plain ${latin1.decode(bytes)}`);
        },
      });
      let offset = 0;
      for (const chunk of chunks) {
        splitter.push(chunk, offset);
        offset += chunk.length;
      }
      splitter.flush();
      // Plain bytes may arrive in pieces; joined they are the three chunk octets, nothing of the cut line.
      expect(
        log
          .filter((l) => l.startsWith('plain'))
          .map((l) => l.slice(6))
          .join(''),
      ).toBe('abc');
      expect(log.at(-1)).toBe('line crlf NOOP');
    });
  });
});
