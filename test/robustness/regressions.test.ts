import { describe, expect, it } from 'vitest';
import type { FlowKey, FlowStats } from '../../src/reassembly/types.js';
import { createSmtpDecoder } from '../../src/smtp/decoder.js';
import { createLineSplitter } from '../../src/smtp/line-splitter.js';
import type { SmtpEvent } from '../../src/smtp/types.js';
import { eventLog } from '../harness/fuzz/smtp-layers.js';
import { eventRecorder } from '../helpers/smtp-events.js';
import { forEachSplit } from '../helpers/splits.js';

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');

const FLOW: FlowKey = {
  id: 'C000001',
  client: { ip: '192.0.2.1', port: 40000 },
  server: { ip: '192.0.2.25', port: 25 },
  basis: 'syn',
};

const ZERO = {
  packets: 0,
  bytes: 0,
  gapBytes: 0,
  gaps: 0,
  retransmissions: 0,
  overlapsDiffering: 0,
  outOfOrder: 0,
};
const STATS: FlowStats = {
  firstTsMicros: 0,
  lastTsMicros: 0,
  c2s: ZERO,
  s2c: ZERO,
  sawSyn: true,
  sawSynAck: true,
};

type Dialogue = readonly (readonly ['c2s' | 's2c', string])[];

/** The decoder's event log for `dialogue`, each step's bytes cut by `split`. */
function runDialogue(
  dialogue: Dialogue,
  options: Parameters<typeof createSmtpDecoder>[2],
  split: (bytes: Uint8Array) => Uint8Array[],
): string[] {
  const events: SmtpEvent[] = [];
  const decoder = createSmtpDecoder(
    FLOW,
    eventRecorder((e) => events.push(e)),
    options,
  );
  const offsets = { c2s: 0, s2c: 0 };
  let ts = 0;
  for (const [direction, text] of dialogue) {
    ts++;
    for (const bytes of split(latin1Bytes(text))) {
      decoder.onData({ direction, offset: offsets[direction], tsMicros: ts, bytes });
      offsets[direction] += bytes.length;
    }
  }
  decoder.onClose('fin', ts + 1, STATS);
  // Counted bytes (body, TLS) in one entry per run, as the fuzz runner compares them: their chunks may differ.
  return eventLog(events);
}

const latin1Bytes = (text: string): Uint8Array => Uint8Array.from(text, (c) => c.charCodeAt(0));

const piecesOf =
  (size: number) =>
  (b: Uint8Array): Uint8Array[] =>
    Array.from({ length: Math.ceil(b.length / size) }, (_, i) => b.subarray(i * size, (i + 1) * size));

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

  it('reports bytes after the 221 reply to QUIT at the same offset whether or not they share its chunk', () => {
    const run = (serverChunks: string[]): SmtpEvent[] => {
      const events: SmtpEvent[] = [];
      const decoder = createSmtpDecoder(
        FLOW,
        eventRecorder((e) => events.push(e)),
      );
      const offsets = { c2s: 0, s2c: 0 };
      const send = (direction: 'c2s' | 's2c', text: string, ts: number) => {
        decoder.onData({ direction, offset: offsets[direction], tsMicros: ts, bytes: encoder.encode(text) });
        offsets[direction] += text.length;
      };
      send('s2c', '220 mx ESMTP\r\n', 1);
      send('c2s', 'QUIT\r\n', 2);
      for (const chunk of serverChunks) send('s2c', chunk, 3);
      decoder.onClose('fin', 4, STATS);
      return events.filter((e) => e.type === 'anomaly' && e.code === 'data-after-close');
    };
    const together = run(['221 Bye\r\nEXTRA\r\n']);
    const apart = run(['221 Bye\r\n', 'EXTRA\r\n']);
    const midLine = run(['221 Bye\r\nEX', 'TRA\r\n']);
    expect(together).toHaveLength(1);
    expect(together[0]).toMatchObject({ direction: 's2c', offset: 23 });
    expect(apart).toEqual(together);
    expect(midLine).toEqual(together);
  });

  it('holds the bytes after an AUTH response cut at the line limit only after the rest of its line, in any chunking', () => {
    // The password line has no CRLF of its own and runs into the next command: the line limit cuts it, and
    // the rest up to the LF is discarded whether it came in the line's chunk or in later ones.
    const dialogue: ['c2s' | 's2c', string][] = [
      ['s2c', '220 mx ESMTP\r\n'],
      ['c2s', 'EHLO c\r\n'],
      ['s2c', '250 AUTH LOGIN\r\n'],
      ['c2s', 'AUTH LOGIN\r\n'],
      ['s2c', '334 VXNlcm5hbWU6\r\n'],
      ['c2s', 'dXNlcg==\r\n'],
      ['s2c', '334 UGFzc3dvcmQ6\r\n'],
      ['c2s', 'c2:cmV0'],
      ['s2c', '235 2.7.0 ok\r\n'],
      ['c2s', 'MAIL FROM:<p@example.org>\r\nQUIT\r\n'],
      ['s2c', '250 ok\r\n221 bye\r\n'],
    ];
    const run = (split: (bytes: Uint8Array) => Uint8Array[]) =>
      runDialogue(dialogue, { maxLineLength: 10 }, split);
    const whole = run((b) => [b]);
    expect(whole.some((e) => e.includes('"line-too-long"'))).toBe(true);
    for (const size of [1, 2, 3, 5]) expect(run(piecesOf(size)), `chunks of ${size}`).toEqual(whole);
  });

  it('decides whether TLS starts from the byte after a 220 to STARTTLS cut at the line limit, in any chunking', () => {
    const dialogue: Dialogue = [
      ['s2c', '220 mx ESMTP\r\n'],
      ['c2s', 'EHLO c\r\n'],
      ['s2c', '250 STARTTLS\r\n'],
      ['c2s', 'STARTTLS\r\n'],
      ['s2c', '220 Ready to go\r\n'],
      ['c2s', '\u0016\u0003\u0001\u0000\u0005\u0001\u0000\u0000\u0001\u0000'],
    ];
    const whole = runDialogue(dialogue, { maxLineLength: 8 }, (b) => [b]);
    expect(whole.some((e) => e.includes('"tls-start"'))).toBe(true);
    expect(whole.some((e) => e.includes('clear text after the 220'))).toBe(false);
    for (const size of [1, 2, 3, 5])
      expect(runDialogue(dialogue, { maxLineLength: 8 }, piecesOf(size)), `chunks of ${size}`).toEqual(whole);
  });

  it('skips the commands a reply cannot answer even when releasing held bytes reorders the queue', async () => {
    // A mutated Postfix dialogue (fuzz case seed 1083843523) made the skip walk past the end of the queue.
    const { loadCorpus } = await import('../harness/fuzz/corpus.js');
    const { createRandom } = await import('../harness/fuzz/random.js');
    const { smtpLayer } = await import('../harness/fuzz/smtp-layers.js');
    const corpus = loadCorpus(new URL('../../captures', import.meta.url).pathname);
    expect(smtpLayer.runCase(createRandom(1_083_843_523), corpus)).toBeNull();
    expect(smtpLayer.runCase(createRandom(1_493_684_507), corpus)).toBeNull();
    for (const seed of [2_172_887_132, 2_882_665_188, 775_794_829, 4_078_697_209])
      expect(smtpLayer.runCase(createRandom(seed), corpus), `case seed ${seed}`).toBeNull();
  });
});
