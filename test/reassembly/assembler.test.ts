import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../src/decode/types.js';
import { createAssembler } from '../../src/reassembly/assembler.js';
import { DEFAULT_ASSEMBLER_OPTIONS, DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import type { AssemblerOptions } from '../../src/reassembly/types.js';
import { Conversation, makeSegment, type Peer } from '../helpers/segments.js';
import { createRecorder } from './recorder.js';

const CLIENT: Peer = { ip: '192.0.2.10', port: 40000 };
const SERVER: Peer = { ip: '198.51.100.25', port: 25 };
const CREATE = 'C000001 create 192.0.2.10:40000 > 198.51.100.25:25';

function setup(options?: Partial<AssemblerOptions>, accept?: Parameters<typeof createRecorder>[0]) {
  const rec = createRecorder(accept);
  const asm = createAssembler(rec.factory, options);
  const push = (...segments: TcpSegment[]): void => {
    for (const s of segments) asm.push(s);
  };
  return { rec, asm, push };
}

describe('assembler', () => {
  it('has the documented default ports and limits', () => {
    expect([...DEFAULT_SMTP_PORTS].sort((a, b) => a - b)).toEqual([24, 25, 366, 465, 587, 2525]);
    expect(DEFAULT_ASSEMBLER_OPTIONS.ports).toBe(DEFAULT_SMTP_PORTS);
    expect(DEFAULT_ASSEMBLER_OPTIONS.allowMidstream).toBe(true);
  });

  it('delivers an in-order dialogue as views of the segment buffers and closes on both FINs', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    const greeting = conv.data('s2c', '220 mx ESMTP\r\n');
    push(greeting);
    push(conv.data('c2s', 'EHLO a\r\n'), conv.ack('s2c'), conv.data('s2c', '250 ok\r\n'));
    push(conv.data('c2s', 'QUIT\r\n'), conv.fin('s2c'));
    expect(asm.stats().openFlows).toBe(1);
    const lastFin = conv.fin('c2s');
    push(lastFin, conv.ack('s2c'));
    expect(rec.log).toEqual([
      `${CREATE} syn`,
      'C000001 data s2c 0 "220 mx ESMTP\\r\\n"',
      'C000001 data c2s 0 "EHLO a\\r\\n"',
      'C000001 data s2c 14 "250 ok\\r\\n"',
      'C000001 data c2s 8 "QUIT\\r\\n"',
      'C000001 close fin',
    ]);
    expect(rec.violations).toEqual([]);
    const flow = rec.flow('C000001');
    expect(flow.chunks[0]?.buffer).toBe(greeting.buffer.buffer);
    expect(flow.closedAtMicros).toBe(lastFin.tsMicros);
    // c2s: SYN, ACK, EHLO, QUIT, FIN; s2c: SYN+ACK, 220, ACK, 250, FIN (the late ACK comes after the close).
    expect(flow.stats).toEqual({
      firstTsMicros: 1_000_000,
      lastTsMicros: lastFin.tsMicros,
      // The server's FIN came before the client's.
      firstClose: 's2c',
      c2s: {
        packets: 5,
        bytes: 14,
        gapBytes: 0,
        gaps: 0,
        retransmissions: 0,
        overlapsDiffering: 0,
        outOfOrder: 0,
      },
      s2c: {
        packets: 5,
        bytes: 22,
        gapBytes: 0,
        gaps: 0,
        retransmissions: 0,
        overlapsDiffering: 0,
        outOfOrder: 0,
      },
      sawSyn: true,
      sawSynAck: true,
    });
    expect(asm.stats()).toEqual({
      openFlows: 0,
      totalFlows: 1,
      bufferedBytes: 0,
      gaps: 0,
      overlapsDiffering: 0,
      retransmissions: 0,
      limitHits: { perDirection: 0, total: 0, connections: 0 },
      orphanSegments: 0,
      declined: 0,
    });
  });

  it('holds segments that arrive in reverse order and delivers them once the first arrives', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    const parts = ['AAAA', 'BBBB', 'CCCC', 'DDDD'].map((p) => conv.data('c2s', p));
    push(parts[3]!, parts[2]!, parts[1]!);
    expect(rec.log).toEqual([`${CREATE} syn`]);
    expect(asm.stats().bufferedBytes).toBe(12);
    push(parts[0]!);
    expect(rec.log.slice(1)).toEqual([
      'C000001 data c2s 0 "AAAA"',
      'C000001 data c2s 4 "BBBB"',
      'C000001 data c2s 8 "CCCC"',
      'C000001 data c2s 12 "DDDD"',
    ]);
    expect(asm.stats().bufferedBytes).toBe(0);
    asm.flushAll('end-of-capture');
    expect(rec.log.at(-1)).toBe('C000001 close end-of-capture');
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({
      bytes: 16,
      outOfOrder: 3,
      retransmissions: 0,
      gaps: 0,
    });
    expect(rec.violations).toEqual([]);
  });

  it('keeps its own copy of held bytes when the segment buffer is a Node Buffer that is reused afterwards', () => {
    // Buffer#slice returns a view: held bytes must not change when the reader refills its buffer.
    const { rec, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    const first = conv.data('c2s', 'AAAA');
    const second = conv.data('c2s', 'BBBB');
    const shared = Buffer.from(second.buffer);
    push({ ...second, buffer: shared });
    shared.fill(0x58); // the reader reuses its buffer for the next packets
    push(first);
    expect(rec.text('C000001', 'c2s')).toBe('AAAABBBB');
    expect(rec.violations).toEqual([]);
  });

  it('drops and counts exact duplicates', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    const a = conv.data('c2s', 'MAIL FROM:<a@b>\r\n');
    const b = conv.data('c2s', 'RCPT TO:<c@d>\r\n');
    push(a, a, b, b);
    asm.flushAll('end-of-capture');
    expect(rec.text('C000001', 'c2s')).toBe('MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n');
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({
      packets: 6,
      retransmissions: 2,
      overlapsDiffering: 0,
    });
    expect(asm.stats()).toMatchObject({ retransmissions: 2, overlapsDiffering: 0 });
    expect(rec.violations).toEqual([]);
  });

  describe('overlaps with the range [10, 20) of a 30-byte stream', () => {
    const original = 'abcdefghijklmnopqrstuvwxyz0123';
    const shapes: [string, number, number][] = [
      ['covers the start', 5, 15],
      ['covers the end', 15, 25],
      ['lies inside', 12, 18],
      ['covers it whole', 5, 25],
      ['matches it exactly', 10, 20],
    ];
    /** The overlapping segment's text: the original, with the bytes inside [10, 20) upper-cased if `differ`. */
    function overlapText(start: number, end: number, differ: boolean): string {
      let text = '';
      for (let i = start; i < end; i++) {
        const c = original[i]!;
        text += differ && i >= 10 && i < 20 ? c.toUpperCase() : c;
      }
      return text;
    }

    describe.each([
      ['the same bytes', false],
      ['different bytes', true],
    ])('with %s', (_label, differ) => {
      it.each(shapes)('against held data: a segment that %s keeps the first copy', (_shape, start, end) => {
        const { rec, asm, push } = setup();
        const conv = new Conversation(CLIENT, SERVER);
        push(...conv.handshake());
        push(conv.data('c2s', original.slice(10, 20), { offset: 10 }));
        push(conv.data('c2s', overlapText(start, end, differ), { offset: start }));
        push(conv.data('c2s', original, { offset: 0 }));
        asm.flushAll('end-of-capture');
        expect(rec.text('C000001', 'c2s')).toBe(original);
        const extends_ = start < 10 || end > 20;
        expect(rec.flow('C000001').stats?.c2s).toMatchObject({
          bytes: 30,
          retransmissions: 2,
          overlapsDiffering: differ ? 1 : 0,
          outOfOrder: extends_ ? 2 : 1,
          gaps: 0,
        });
        expect(asm.stats().overlapsDiffering).toBe(differ ? 1 : 0);
        expect(rec.violations).toEqual([]);
      });

      it.each(shapes)(
        'against delivered data: a segment that %s keeps the first copy',
        (_shape, start, end) => {
          const { rec, asm, push } = setup();
          const conv = new Conversation(CLIENT, SERVER);
          push(...conv.handshake());
          push(conv.data('c2s', original.slice(0, 20), { offset: 0 }));
          push(conv.data('c2s', overlapText(start, end, differ), { offset: start }));
          push(conv.data('c2s', original.slice(20), { offset: 20 }));
          asm.flushAll('end-of-capture');
          expect(rec.text('C000001', 'c2s')).toBe(original);
          expect(rec.flow('C000001').stats?.c2s).toMatchObject({
            bytes: 30,
            // The last segment overlaps what the overlapping one delivered past offset 20.
            retransmissions: end > 20 ? 2 : 1,
            overlapsDiffering: differ ? 1 : 0,
            outOfOrder: 0,
          });
          expect(rec.violations).toEqual([]);
        },
      );
    });

    it('does not compare delivered bytes when the check is disabled', () => {
      const { rec, asm, push } = setup({ overlapCheckBytes: 0 });
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake());
      push(conv.data('c2s', original, { offset: 0 }));
      push(conv.data('c2s', overlapText(10, 20, true), { offset: 10 }));
      asm.flushAll('end-of-capture');
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ retransmissions: 1, overlapsDiffering: 0 });
    });

    it('compares only the last overlapCheckBytes delivered bytes', () => {
      const { rec, asm, push } = setup({ overlapCheckBytes: 8 });
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake());
      push(conv.data('c2s', original, { offset: 0 }));
      // [10, 20) is older than the last 8 bytes [22, 30): not compared.
      push(conv.data('c2s', overlapText(10, 20, true), { offset: 10 }));
      // [24, 30) is within them.
      push(conv.data('c2s', 'XXXXXX', { offset: 24 }));
      asm.flushAll('end-of-capture');
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ retransmissions: 2, overlapsDiffering: 1 });
    });
  });

  it('does not compare retransmitted bytes with bytes that were reported as a gap', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    push(conv.data('c2s', 'abcde'), conv.data('c2s', 'fg', { wireLength: 5 }), conv.data('c2s', 'klmno'));
    push(conv.data('c2s', 'abcdefghijklmno', { offset: 0 }));
    asm.flushAll('end-of-capture');
    expect(rec.text('C000001', 'c2s')).toBe('abcdefgklmno');
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({
      retransmissions: 1,
      overlapsDiffering: 0,
      gapBytes: 3,
    });
  });

  it('keeps comparing correctly while the delivered-bytes ring grows and wraps', () => {
    const { rec, asm, push } = setup({ overlapCheckBytes: 4096 });
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    const text = Array.from({ length: 5000 }, (_, i) => String.fromCharCode(33 + ((i * 7) % 90))).join('');
    for (let i = 0; i < text.length; i += 100) push(conv.data('c2s', text.slice(i, i + 100), { offset: i }));
    push(conv.data('c2s', text.slice(1000), { offset: 1000 }));
    expect(asm.stats()).toMatchObject({ retransmissions: 1, overlapsDiffering: 0 });
    const altered = `${text.slice(1000, 4000)}~${text.slice(4001)}`;
    push(conv.data('c2s', altered, { offset: 1000 }));
    asm.flushAll('end-of-capture');
    expect(rec.text('C000001', 'c2s')).toBe(text);
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({ retransmissions: 2, overlapsDiffering: 1 });
  });

  it.each([
    ['near the end of the space', 0xfffffff0],
    ['at the last number', 0xffffffff],
    ['one below the wrap of the first data byte', 0xfffffffe],
  ])('reassembles across the 2^32 wrap with the ISN %s', (_label, isn) => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER, { clientIsn: isn, serverIsn: 0xfffffffa });
    push(...conv.handshake());
    const parts = ['01234567', '89abcdef', 'ghijklmn', 'opqrstuv'].map((p) => conv.data('c2s', p));
    const replies = ['220 a\r\n', '250 b\r\n'].map((p) => conv.data('s2c', p));
    push(parts[0]!, parts[2]!, replies[1]!, parts[1]!, parts[3]!, replies[0]!);
    asm.flushAll('end-of-capture');
    expect(rec.log.filter((l) => l.includes(' c2s '))).toEqual([
      'C000001 data c2s 0 "01234567"',
      'C000001 data c2s 8 "89abcdef"',
      'C000001 data c2s 16 "ghijklmn"',
      'C000001 data c2s 24 "opqrstuv"',
    ]);
    expect(rec.text('C000001', 's2c')).toBe('220 a\r\n250 b\r\n');
    expect(asm.stats().gaps).toBe(0);
    expect(rec.violations).toEqual([]);
  });

  it('picks up a midstream connection across the wrap with offsets from the first byte seen', () => {
    const { rec, asm, push } = setup();
    const first = makeSegment({
      ...endpoints(SERVER, CLIENT),
      seq: 0xfffffffc,
      payload: '250-a\r\n',
      flags: 'PA',
    });
    const second = makeSegment({ ...endpoints(SERVER, CLIENT), seq: 3, payload: '250 b\r\n', flags: 'PA' });
    push(first, second);
    asm.flushAll('end-of-capture');
    expect(rec.log).toEqual([
      `${CREATE} port`,
      'C000001 data s2c 0 "250-a\\r\\n"',
      'C000001 data s2c 7 "250 b\\r\\n"',
      'C000001 close end-of-capture',
    ]);
    expect(rec.flow('C000001').stats).toMatchObject({
      sawSyn: false,
      s2c: { packets: 2, bytes: 14, gaps: 0, retransmissions: 0 },
      c2s: { packets: 0, bytes: 0 },
    });
  });

  describe('a missing segment before both FINs', () => {
    function start(options?: Partial<AssemblerOptions>) {
      const t = setup(options);
      const conv = new Conversation(CLIENT, SERVER);
      t.push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      const missing = conv.data('c2s', 'BBBBB');
      t.push(conv.data('c2s', 'CCCCC'), conv.fin('c2s'), conv.fin('s2c'));
      return { ...t, conv, missing };
    }

    it('waits for the retransmission and closes with no gap when it arrives', () => {
      const { rec, push, missing } = start();
      expect(rec.log).toEqual([`${CREATE} syn`, 'C000001 data c2s 0 "AAAAA"']);
      push(missing);
      expect(rec.log.slice(2)).toEqual([
        'C000001 data c2s 5 "BBBBB"',
        'C000001 data c2s 10 "CCCCC"',
        'C000001 close fin',
      ]);
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ gaps: 0, bytes: 15, outOfOrder: 1 });
    });

    it('reports the hole as lost once finLingerMs of packet time has passed', () => {
      const { rec, asm, push, conv } = start({ finLingerMs: 2000 });
      const other = new Conversation({ ip: '192.0.2.11', port: 40001 }, SERVER, {
        startMicros: conv.nowMicros + 2_000_001,
      });
      push(other.syn());
      expect(rec.log.slice(2)).toEqual([
        'C000001 gap c2s 5 5 lost',
        'C000001 data c2s 10 "CCCCC"',
        'C000001 close fin',
        'C000002 create 192.0.2.11:40001 > 198.51.100.25:25 syn',
      ]);
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ gaps: 1, gapBytes: 5, bytes: 10 });
      expect(asm.stats()).toMatchObject({ gaps: 1, openFlows: 1, totalFlows: 2, bufferedBytes: 0 });
      expect(rec.violations).toEqual([]);
    });

    it('reports the hole as lost at the end of input, closing by FIN', () => {
      const { rec, asm } = start();
      asm.flushAll('end-of-capture');
      expect(rec.log.slice(2)).toEqual([
        'C000001 gap c2s 5 5 lost',
        'C000001 data c2s 10 "CCCCC"',
        'C000001 close fin',
      ]);
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({
        gaps: 1,
        gapBytes: 5,
        bytes: 10,
        outOfOrder: 1,
      });
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0, openFlows: 0 });
    });
  });

  it('reports bytes before a FIN that never arrived as a lost gap', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.data('s2c', '220 x\r\n'));
    conv.data('s2c', '221 bye\r\n');
    push(conv.fin('s2c'));
    asm.flushAll('end-of-capture');
    expect(rec.log.slice(1)).toEqual([
      'C000001 data s2c 0 "220 x\\r\\n"',
      'C000001 gap s2c 7 9 lost',
      'C000001 close end-of-capture',
    ]);
    expect(rec.flow('C000001').stats?.s2c).toMatchObject({ bytes: 7, gaps: 1, gapBytes: 9 });
  });

  it('delivers the bytes a snaplen cut left and reports the rest as a snaplen gap', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake());
    push(conv.data('c2s', 'HELLO', { wireLength: 10 }), conv.data('c2s', 'WORLD'));
    // A cut segment arriving out of order is held with its cut part, then delivered in place.
    const late = conv.data('c2s', '12345');
    push(conv.data('c2s', 'XY', { wireLength: 5 }), late);
    asm.flushAll('end-of-capture');
    expect(rec.log.slice(1)).toEqual([
      'C000001 data c2s 0 "HELLO"',
      'C000001 gap c2s 5 5 snaplen',
      'C000001 data c2s 10 "WORLD"',
      'C000001 data c2s 15 "12345"',
      'C000001 data c2s 20 "XY"',
      'C000001 gap c2s 22 3 snaplen',
      'C000001 close end-of-capture',
    ]);
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({ bytes: 17, gaps: 2, gapBytes: 8, outOfOrder: 1 });
    expect(rec.violations).toEqual([]);
  });

  it('closes on RST mid-stream, flushing held data after a lost gap, and absorbs later segments', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.data('c2s', 'DATA\r\n'), conv.data('s2c', '354 go\r\n'));
    const lost = conv.data('c2s', 'Subject: x\r\n');
    push(conv.data('c2s', 'body\r\n'), conv.rst('s2c'));
    expect(rec.log.slice(1)).toEqual([
      'C000001 data c2s 0 "DATA\\r\\n"',
      'C000001 data s2c 0 "354 go\\r\\n"',
      'C000001 gap c2s 6 12 lost',
      'C000001 data c2s 18 "body\\r\\n"',
      'C000001 close rst',
    ]);
    push(lost, conv.ack('c2s'));
    expect(rec.log).toHaveLength(6);
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({ gaps: 1, gapBytes: 12, bytes: 12 });
    expect(asm.stats()).toMatchObject({ openFlows: 0, gaps: 1, retransmissions: 1 });
  });

  describe('orientation', () => {
    it('uses the port rule for a connection picked up midstream, with no gap for the unseen prefix', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER, { clientIsn: 77777, serverIsn: 123456 });
      push(conv.data('s2c', '250 ok\r\n', { offset: 900 }), conv.data('c2s', 'QUIT\r\n', { offset: 40 }));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        `${CREATE} port`,
        'C000001 data s2c 0 "250 ok\\r\\n"',
        'C000001 data c2s 0 "QUIT\\r\\n"',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats).toMatchObject({ sawSyn: false, sawSynAck: false });
      expect(asm.stats().gaps).toBe(0);
    });

    it('ignores connections picked up midstream when allowMidstream is off', () => {
      const { rec, asm, push } = setup({ allowMidstream: false });
      const conv = new Conversation(CLIENT, SERVER);
      push(conv.data('s2c', '250 ok\r\n'), conv.data('c2s', 'QUIT\r\n'));
      expect(rec.log).toEqual([]);
      expect(asm.stats()).toMatchObject({ orphanSegments: 2, totalFlows: 0, openFlows: 0 });
    });

    const HIGH: Peer = { ip: '10.0.0.1', port: 25 };
    const LOW: Peer = { ip: '10.0.0.2', port: 2525 };

    it('takes a sender whose first payload is a reply line as the server when both ports are in the set', () => {
      const { rec, asm, push } = setup();
      // HIGH plays the server here; the Conversation's "client" is whoever sends c2s.
      const conv = new Conversation(LOW, HIGH);
      push(conv.ack('c2s'));
      expect(rec.log).toEqual([]);
      push(conv.data('s2c', '220 ready\r\n'), conv.data('c2s', 'EHLO x\r\n'));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        'C000001 create 10.0.0.2:2525 > 10.0.0.1:25 first-speaker',
        'C000001 data s2c 0 "220 ready\\r\\n"',
        'C000001 data c2s 0 "EHLO x\\r\\n"',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats).toMatchObject({ c2s: { packets: 2 }, s2c: { packets: 1 } });
    });

    it('takes a sender whose first payload is not a reply line as the client when both ports are in the set', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(HIGH, LOW);
      push(conv.data('c2s', 'EHLO x\r\n'), conv.data('s2c', '250 hi\r\n'));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        'C000001 create 10.0.0.1:25 > 10.0.0.2:2525 first-speaker',
        'C000001 data c2s 0 "EHLO x\\r\\n"',
        'C000001 data s2c 0 "250 hi\\r\\n"',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats).toMatchObject({
        sawSyn: false,
        c2s: { bytes: 8 },
        s2c: { bytes: 8 },
      });
    });

    it('guesses the first sender is the client when nothing decides', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(HIGH, LOW);
      push(conv.ack('s2c'), conv.ack('c2s'));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        'C000001 create 10.0.0.2:2525 > 10.0.0.1:25 guess',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats).toMatchObject({ c2s: { packets: 1, bytes: 0 }, s2c: { packets: 1 } });
      expect(asm.stats()).toMatchObject({ totalFlows: 1, openFlows: 0 });
    });

    it('follows the SYN against the port rule', () => {
      const { rec, asm, push } = setup();
      // A client on port 25 connecting to 2525 (both in the set), and one on port 25 connecting to 8025.
      const both = new Conversation(HIGH, LOW);
      const one = new Conversation({ ip: '10.0.0.3', port: 25 }, { ip: '10.0.0.4', port: 8025 });
      push(...both.handshake(), ...one.handshake());
      push(both.data('s2c', '220 a\r\n'), one.data('s2c', '220 b\r\n'));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        'C000001 create 10.0.0.1:25 > 10.0.0.2:2525 syn',
        'C000002 create 10.0.0.3:25 > 10.0.0.4:8025 syn',
        'C000001 data s2c 0 "220 a\\r\\n"',
        'C000002 data s2c 0 "220 b\\r\\n"',
        'C000001 close end-of-capture',
        'C000002 close end-of-capture',
      ]);
      for (const id of ['C000001', 'C000002']) {
        expect(rec.flow(id).stats).toMatchObject({
          sawSyn: true,
          sawSynAck: true,
          s2c: { packets: 2, bytes: 7 },
        });
      }
    });

    it('orients from a SYN+ACK when the SYN was not captured', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(conv.synAck(), conv.ack('c2s'), conv.data('s2c', '220 x\r\n'));
      asm.flushAll('end-of-capture');
      expect(rec.log[0]).toBe(`${CREATE} syn`);
      expect(rec.flow('C000001').stats).toMatchObject({ sawSyn: false, sawSynAck: true });
    });

    it('tracks IPv6 connections and formats their endpoints', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(
        { ip: '2001:db8:0:0:0:0:0:1', port: 50000 },
        { ip: '2001:db8::25', port: 587 },
      );
      push(conv.syn(), conv.synAck(), conv.data('s2c', '220 v6\r\n'));
      expect(rec.log).toEqual([
        'C000001 create 2001:db8::1:50000 > 2001:db8::25:587 syn',
        'C000001 data s2c 0 "220 v6\\r\\n"',
      ]);
      expect(asm.stats()).toMatchObject({ openFlows: 1, totalFlows: 1 });
    });
  });

  it('reports the missing start of a direction whose ISN is known as a midstream gap', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.data('c2s', 'RCPT TO:<x@y>\r\n', { offset: 100 }));
    asm.flushAll('end-of-capture');
    expect(rec.log.slice(1)).toEqual([
      'C000001 gap c2s 0 100 midstream',
      'C000001 data c2s 100 "RCPT TO:<x@y>\\r\\n"',
      'C000001 close end-of-capture',
    ]);
    expect(rec.flow('C000001').stats).toMatchObject({
      sawSyn: true,
      c2s: { gaps: 1, gapBytes: 100, bytes: 15 },
    });
  });

  it('closes connections idle longer than idleTimeoutMs in packet time, lazily and on flushOlderThan', () => {
    const { rec, asm, push } = setup({ idleTimeoutMs: 1000 });
    const a = new Conversation(CLIENT, SERVER);
    push(...a.handshake(), a.data('c2s', 'NOOP\r\n'));
    const lastA = a.nowMicros - 1000;
    const b = new Conversation({ ip: '192.0.2.11', port: 40001 }, SERVER, { startMicros: lastA + 1_000_000 });
    push(b.syn());
    expect(rec.log).toEqual([
      `${CREATE} syn`,
      'C000001 data c2s 0 "NOOP\\r\\n"',
      'C000002 create 192.0.2.11:40001 > 198.51.100.25:25 syn',
    ]);
    const c = new Conversation({ ip: '192.0.2.11', port: 40001 }, SERVER, { startMicros: lastA + 1_000_001 });
    push(c.ack('s2c'));
    expect(rec.log.slice(3)).toEqual(['C000001 close idle-timeout']);
    expect(rec.flow('C000001').closedAtMicros).toBe(lastA + 1_000_000);
    // A late segment of the timed-out connection starts a new one, picked up midstream.
    push(a.data('s2c', '250 ok\r\n', { tsMicros: lastA + 1_000_002 }));
    expect(rec.log.slice(4)).toEqual([
      'C000003 create 192.0.2.10:40000 > 198.51.100.25:25 port',
      'C000003 data s2c 0 "250 ok\\r\\n"',
    ]);
    expect(asm.flushOlderThan(lastA + 1_000_002)).toBe(1);
    expect(rec.log.at(-1)).toBe('C000002 close idle-timeout');
    expect(asm.stats()).toMatchObject({ openFlows: 1, totalFlows: 3 });
  });

  it('evicts the least recently active connection past maxConnections', () => {
    const { rec, asm, push } = setup({ maxConnections: 2 });
    const convs = [40001, 40002, 40003].map((port) => new Conversation({ ip: CLIENT.ip, port }, SERVER));
    push(convs[0]!.syn(), convs[1]!.syn(), convs[0]!.synAck(), convs[2]!.syn());
    expect(rec.log.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      'C000001 create 192.0.2.10:40001',
      'C000002 create 192.0.2.10:40002',
      'C000002 close evicted',
      'C000003 create 192.0.2.10:40003',
    ]);
    expect(asm.stats()).toMatchObject({ openFlows: 2, totalFlows: 3, limitHits: { connections: 1 } });
  });

  it('evicts bare SYNs first, then other silent connections, so a SYN flood cannot split a session or a handshake', () => {
    const { rec, asm, push } = setup({ maxConnections: 4 });
    const session = new Conversation(CLIENT, SERVER);
    push(...session.handshake(), session.data('s2c', '220 mx ESMTP\r\n'));
    // A handshake in progress: SYN and SYN+ACK seen, no byte yet.
    const late = new Conversation({ ip: '192.0.2.11', port: 40_001 }, SERVER);
    push(late.syn(), late.synAck());
    // Ten bare SYNs from other clients between each of the session's packets: more than the table holds.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++)
        push(new Conversation({ ip: '203.0.113.7', port: 50_000 + round * 10 + i }, SERVER).syn());
      push(session.data('c2s', `NOOP ${round}\r\n`));
    }
    push(late.ack('c2s'), late.data('s2c', '220 mx ESMTP\r\n'));
    asm.flushAll('end-of-capture');
    const ours = rec.log.filter((l) => l.startsWith('C000001 '));
    expect(ours.filter((l) => l.includes('close'))).toEqual(['C000001 close end-of-capture']);
    expect(ours.filter((l) => l.includes(' data c2s '))).toHaveLength(5);
    expect(rec.log.filter((l) => l.includes('create 192.0.2.10:40000'))).toHaveLength(1);
    expect(rec.log.filter((l) => l.includes('create 192.0.2.11:40001'))).toHaveLength(1);
    expect(rec.log).toContain('C000002 data s2c 0 "220 mx ESMTP\\r\\n"');
    expect(rec.log).toContain('C000002 close end-of-capture');
    expect(asm.stats().limitHits.connections).toBe(48);
    expect(rec.violations).toEqual([]);
  });

  it('declares the oldest hole a buffer-limit gap when a direction holds too much', () => {
    const { rec, asm, push } = setup({ maxBufferedBytesPerDirection: 10 });
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.data('c2s', 'aaaaa'));
    const missing = conv.data('c2s', 'bbbbb');
    push(conv.data('c2s', 'ccccc'), conv.data('c2s', 'ddddd'));
    expect(asm.stats()).toMatchObject({ bufferedBytes: 10, limitHits: { perDirection: 0 } });
    push(conv.data('c2s', 'eeeee'));
    expect(rec.log.slice(2)).toEqual([
      'C000001 gap c2s 5 5 buffer-limit',
      'C000001 data c2s 10 "ccccc"',
      'C000001 data c2s 15 "ddddd"',
      'C000001 data c2s 20 "eeeee"',
    ]);
    push(missing);
    asm.flushAll('end-of-capture');
    expect(rec.flow('C000001').stats?.c2s).toMatchObject({
      gaps: 1,
      gapBytes: 5,
      bytes: 20,
      retransmissions: 1,
    });
    expect(asm.stats()).toMatchObject({ bufferedBytes: 0, limitHits: { perDirection: 1, total: 0 } });
    expect(rec.violations).toEqual([]);
  });

  it('flushes the largest buffers first when the total limit is hit', () => {
    const { rec, asm, push } = setup({ maxBufferedBytesTotal: 20 });
    const a = new Conversation(CLIENT, SERVER);
    const b = new Conversation({ ip: '192.0.2.11', port: 40001 }, SERVER);
    push(...a.handshake(), ...b.handshake(), a.data('c2s', 'x'), b.data('c2s', 'y'));
    push(a.data('c2s', 'fifteen bytes!!', { offset: 5 }));
    push(b.data('c2s', '8 bytes!', { offset: 5 }));
    expect(rec.log.slice(4)).toEqual([
      'C000001 gap c2s 1 4 buffer-limit',
      'C000001 data c2s 5 "fifteen bytes!!"',
    ]);
    expect(asm.stats()).toMatchObject({ bufferedBytes: 8, limitHits: { total: 1, perDirection: 0 } });
    asm.flushAll('end-of-capture');
    expect(rec.log.slice(6)).toEqual([
      'C000001 close end-of-capture',
      'C000002 gap c2s 1 4 lost',
      'C000002 data c2s 5 "8 bytes!"',
      'C000002 close end-of-capture',
    ]);
    expect(rec.violations).toEqual([]);
  });

  // An ISN of 2^31 or more is no small integer: the closed connection keeps it as an int32.
  it.each([100, 0x9000_0000])(
    'absorbs late segments of a closed connection and starts a new one on a new SYN (client ISN %d)',
    (isn) => {
      const { rec, asm, push } = setup();
      const old = new Conversation(CLIENT, SERVER, { clientIsn: isn });
      push(...old.handshake());
      const quit = old.data('c2s', 'QUIT\r\n');
      push(quit, old.fin('c2s'), old.fin('s2c'));
      expect(rec.log.at(-1)).toBe('C000001 close fin');
      push(old.ack('c2s'), quit, old.syn());
      expect(rec.log).toHaveLength(3);
      expect(asm.stats()).toMatchObject({ retransmissions: 2, openFlows: 0 });
      const reuse = new Conversation(CLIENT, SERVER, { clientIsn: 900_000, startMicros: old.nowMicros });
      push(...reuse.handshake(), reuse.data('c2s', 'EHLO again\r\n'));
      asm.flushAll('end-of-capture');
      expect(rec.log.slice(3)).toEqual([
        'C000002 create 192.0.2.10:40000 > 198.51.100.25:25 syn',
        'C000002 data c2s 0 "EHLO again\\r\\n"',
        'C000002 close end-of-capture',
      ]);
      expect(asm.stats()).toMatchObject({ totalFlows: 2 });
    },
  );

  it('forgets closed connections after closedLingerMs, so later segments start a midstream connection', () => {
    const { rec, asm, push } = setup({ closedLingerMs: 10 });
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.rst('c2s'));
    push(conv.data('s2c', '421 late\r\n', { tsMicros: conv.nowMicros + 20_000 }));
    expect(rec.log.slice(1)).toEqual([
      'C000001 close rst',
      `C000002 create 192.0.2.10:40000 > 198.51.100.25:25 port`,
      'C000002 data s2c 0 "421 late\\r\\n"',
    ]);
    expect(asm.stats()).toMatchObject({ retransmissions: 0, openFlows: 1, totalFlows: 2 });
  });

  it('treats a new SYN on an open connection that carried data as a new connection', () => {
    const { rec, asm, push } = setup();
    const old = new Conversation(CLIENT, SERVER, { clientIsn: 5 });
    push(...old.handshake(), old.data('c2s', 'HELO a\r\n'));
    const fresh = new Conversation(CLIENT, SERVER, { clientIsn: 999, startMicros: old.nowMicros });
    push(fresh.syn(), fresh.syn());
    asm.flushAll('end-of-capture');
    expect(rec.log.slice(2)).toEqual([
      'C000001 close evicted',
      'C000002 create 192.0.2.10:40000 > 198.51.100.25:25 syn',
      'C000002 close end-of-capture',
    ]);
    expect(rec.flow('C000002').stats).toMatchObject({
      sawSyn: true,
      c2s: { packets: 2, retransmissions: 1 },
    });
  });

  it('drops the segments of connections the factory declines', () => {
    const { rec, asm, push } = setup({}, () => false);
    const conv = new Conversation(CLIENT, SERVER);
    push(...conv.handshake(), conv.data('c2s', 'EHLO a\r\n'));
    expect(asm.stats()).toMatchObject({ totalFlows: 1, openFlows: 1, bufferedBytes: 0 });
    push(conv.rst('c2s'));
    expect(asm.stats()).toMatchObject({ totalFlows: 1, openFlows: 0 });
    asm.flushAll('end-of-capture');
    expect(rec.log).toEqual([`${CREATE} syn`]);
  });

  it('ignores segments on ports outside the set', () => {
    const { rec, asm, push } = setup();
    const conv = new Conversation(CLIENT, { ip: SERVER.ip, port: 80 });
    push(...conv.handshake(), conv.data('c2s', 'GET / HTTP/1.1\r\n'));
    expect(rec.log).toEqual([]);
    expect(asm.stats()).toMatchObject({ totalFlows: 0, orphanSegments: 0 });
  });

  describe('acknowledgements', () => {
    /** Handshake, then client bytes [0, 5) delivered, [5, 10) missing and [10, 15) held. */
    function withHole() {
      const t = setup();
      const conv = new Conversation(CLIENT, SERVER);
      t.push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      const missing = conv.data('c2s', 'BBBBB');
      t.push(conv.data('c2s', 'CCCCC'));
      expect(t.rec.log).toEqual([`${CREATE} syn`, 'C000001 data c2s 0 "AAAAA"']);
      expect(t.asm.stats().bufferedBytes).toBe(5);
      return { ...t, conv, missing };
    }

    it('reports a hole the peer acknowledged as a lost gap at once and delivers the data held after it', () => {
      const { rec, asm, push, conv, missing } = withHole();
      const ack = conv.ack('s2c', { ack: 15 });
      push(ack);
      expect(rec.log.slice(2)).toEqual(['C000001 gap c2s 5 5 lost', 'C000001 data c2s 10 "CCCCC"']);
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0 });
      // The segment the capture missed, seen late, is a retransmission of bytes already reported.
      push(missing);
      asm.flushAll('end-of-capture');
      expect(rec.log.slice(4)).toEqual(['C000001 close end-of-capture']);
      expect(rec.flow('C000001').stats).toMatchObject({
        c2s: { packets: 5, bytes: 10, gaps: 1, gapBytes: 5, retransmissions: 1, outOfOrder: 1 },
        s2c: { packets: 2, bytes: 0, gaps: 0 },
      });
      expect(asm.stats()).toEqual({
        openFlows: 0,
        totalFlows: 1,
        bufferedBytes: 0,
        gaps: 1,
        overlapsDiffering: 0,
        retransmissions: 1,
        limitHits: { perDirection: 0, total: 0, connections: 0 },
        orphanSegments: 0,
        declined: 0,
      });
      expect(rec.violations).toEqual([]);
    });

    it('delivers the data after an acknowledged hole before the payload of the segment that acknowledged it', () => {
      const { rec, asm, push, conv } = withHole();
      // An ACK at the start of the hole says nothing about the bytes in it.
      push(conv.data('s2c', '354 go\r\n', { ack: 5 }));
      expect(rec.log.slice(2)).toEqual(['C000001 data s2c 0 "354 go\\r\\n"']);
      push(conv.data('s2c', '250 ok\r\n', { ack: 15 }), conv.data('c2s', 'QUIT\r\n'));
      expect(rec.log.slice(3)).toEqual([
        'C000001 gap c2s 5 5 lost',
        'C000001 data c2s 10 "CCCCC"',
        'C000001 data s2c 8 "250 ok\\r\\n"',
        'C000001 data c2s 15 "QUIT\\r\\n"',
      ]);
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0, retransmissions: 0 });
      expect(rec.violations).toEqual([]);
    });

    it('reports only the acknowledged part of a hole and waits for the rest', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      conv.data('c2s', 'BBBBB');
      const second = conv.data('c2s', 'bbbbb');
      push(conv.data('c2s', 'CCCCC'));
      push(conv.ack('s2c', { ack: 10 }));
      expect(rec.log.slice(2)).toEqual(['C000001 gap c2s 5 5 lost']);
      expect(asm.stats().bufferedBytes).toBe(5);
      push(second);
      expect(rec.log.slice(3)).toEqual(['C000001 data c2s 10 "bbbbb"', 'C000001 data c2s 15 "CCCCC"']);
      asm.flushAll('end-of-capture');
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({
        bytes: 15,
        gaps: 1,
        gapBytes: 5,
        retransmissions: 0,
        outOfOrder: 1,
      });
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0 });
      expect(rec.violations).toEqual([]);
    });

    it('reports every hole an ACK covers, each only up to the ACK', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      conv.data('c2s', 'BBBBB');
      const c = conv.data('c2s', 'CCCCC');
      conv.data('c2s', 'DDDDD');
      push(c, conv.data('c2s', 'EEEEE'));
      push(conv.ack('s2c', { ack: 18 }));
      expect(rec.log.slice(2)).toEqual([
        'C000001 gap c2s 5 5 lost',
        'C000001 data c2s 10 "CCCCC"',
        'C000001 gap c2s 15 3 lost',
      ]);
      push(conv.ack('s2c', { ack: 25 }));
      expect(rec.log.slice(5)).toEqual(['C000001 gap c2s 18 2 lost', 'C000001 data c2s 20 "EEEEE"']);
      asm.flushAll('end-of-capture');
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({
        bytes: 15,
        gaps: 3,
        gapBytes: 10,
        outOfOrder: 2,
      });
      expect(asm.stats()).toMatchObject({ gaps: 3, bufferedBytes: 0 });
      expect(rec.violations).toEqual([]);
    });

    it('ignores duplicated and reordered older ACKs, and uses the latest one seen for a later hole', () => {
      const { rec, asm, push, conv } = withHole();
      const ack10 = conv.ack('s2c', { ack: 10 });
      const ack15 = conv.ack('s2c', { ack: 15 });
      push(ack15, ack15, ack10);
      expect(rec.log.slice(2)).toEqual(['C000001 gap c2s 5 5 lost', 'C000001 data c2s 10 "CCCCC"']);
      // A second hole [15, 20): the latest ACK seen (10, reordered) does not cover it, so it waits.
      const late = conv.data('c2s', 'DDDDD');
      push(conv.data('c2s', 'EEEEE'));
      expect(rec.log).toHaveLength(4);
      push(late);
      asm.flushAll('end-of-capture');
      expect(rec.log.slice(4)).toEqual([
        'C000001 data c2s 15 "DDDDD"',
        'C000001 data c2s 20 "EEEEE"',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats).toMatchObject({
        c2s: { bytes: 20, gaps: 1, gapBytes: 5, outOfOrder: 2, retransmissions: 0 },
        s2c: { packets: 4, retransmissions: 0 },
      });
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0, retransmissions: 0 });
      expect(rec.violations).toEqual([]);
    });

    it('creates no gap from an ACK past everything seen when nothing follows', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      conv.data('c2s', 'BBBBB');
      push(conv.ack('s2c', { ack: 10 }), conv.data('s2c', '250 ok\r\n', { ack: 10 }));
      asm.flushAll('end-of-capture');
      expect(rec.log).toEqual([
        `${CREATE} syn`,
        'C000001 data c2s 0 "AAAAA"',
        'C000001 data s2c 0 "250 ok\\r\\n"',
        'C000001 close end-of-capture',
      ]);
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ bytes: 5, gaps: 0, gapBytes: 0 });
      expect(asm.stats()).toMatchObject({ gaps: 0, bufferedBytes: 0 });
    });

    it('reports acknowledged bytes that were never seen when data past them arrives', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      conv.data('c2s', 'BBBBB');
      push(conv.data('s2c', '250 ok\r\n', { ack: 10 }));
      expect(rec.log).toHaveLength(3);
      push(conv.data('c2s', 'QUIT\r\n'), conv.data('s2c', '221 bye\r\n', { ack: 16 }));
      expect(rec.log.slice(3)).toEqual([
        'C000001 gap c2s 5 5 lost',
        'C000001 data c2s 10 "QUIT\\r\\n"',
        'C000001 data s2c 8 "221 bye\\r\\n"',
      ]);
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0 });
      expect(rec.flow('C000001').createdAtMicros).toBe(1_000_000);
      expect(rec.violations).toEqual([]);
    });

    it('counts only ACK numbers of segments that carry the ACK flag', () => {
      const { rec, asm, push, conv } = withHole();
      push(conv.data('s2c', '250 ok\r\n', { ack: 15, flags: 'P' }));
      expect(rec.log.slice(2)).toEqual(['C000001 data s2c 0 "250 ok\\r\\n"']);
      expect(asm.stats()).toMatchObject({ gaps: 0, bufferedBytes: 5 });
      push(conv.ack('s2c', { ack: 15 }));
      expect(rec.log.slice(3)).toEqual(['C000001 gap c2s 5 5 lost', 'C000001 data c2s 10 "CCCCC"']);
    });

    it('reports an acknowledged hole at the start of a direction whose ISN is known as midstream', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'RCPT TO:<x@y>\r\n', { offset: 100 }));
      push(conv.ack('s2c', { ack: 115 }));
      expect(rec.log.slice(1)).toEqual([
        'C000001 gap c2s 0 100 midstream',
        'C000001 data c2s 100 "RCPT TO:<x@y>\\r\\n"',
      ]);
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0 });
    });

    it('closes by FIN as soon as the last hole before both FINs is acknowledged', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER);
      push(...conv.handshake(), conv.data('c2s', 'AAAAA'));
      conv.data('c2s', 'QUIT\r\n');
      push(conv.fin('c2s'), conv.fin('s2c'));
      expect(asm.stats().openFlows).toBe(1);
      // The server acknowledges the client's FIN (offset 11), so it got the 6 bytes before it.
      const ack = conv.ack('s2c', { ack: 12 });
      push(ack);
      expect(rec.log.slice(2)).toEqual(['C000001 gap c2s 5 6 lost', 'C000001 close fin']);
      expect(rec.flow('C000001').closedAtMicros).toBe(ack.tsMicros);
      expect(rec.flow('C000001').stats?.c2s).toMatchObject({ bytes: 5, gaps: 1, gapBytes: 6 });
      expect(asm.stats()).toMatchObject({ openFlows: 0, gaps: 1 });
    });

    it('places ACK numbers across the 2^32 wrap', () => {
      const { rec, asm, push } = setup();
      const conv = new Conversation(CLIENT, SERVER, { clientIsn: 0xfffffff0 });
      push(...conv.handshake(), conv.data('c2s', 'ABCDEFGHIJKLMNOPQRST'));
      conv.data('c2s', 'missing!!!');
      push(conv.data('c2s', 'after'));
      const ack = conv.ack('s2c', { ack: 35 });
      expect(ack.ack).toBe(20);
      push(ack);
      expect(rec.log.slice(2)).toEqual(['C000001 gap c2s 20 10 lost', 'C000001 data c2s 30 "after"']);
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0 });
    });

    it('ignores ACKs sent on a connection picked up midstream before the direction they acknowledge was seen', () => {
      const { rec, asm, push } = setup();
      const fromServer = endpoints(SERVER, CLIENT);
      const fromClient = endpoints(CLIENT, SERVER);
      // The server acknowledges client bytes up to 7030 before any client segment is seen.
      push(makeSegment({ ...fromServer, seq: 90000, ack: 7030, flags: 'A' }));
      push(makeSegment({ ...fromClient, seq: 7000, ack: 90000, payload: 'AAAAA', flags: 'PA' }));
      push(makeSegment({ ...fromClient, seq: 7010, ack: 90000, payload: 'CCCCC', flags: 'PA' }));
      expect(rec.log).toEqual([`${CREATE} port`, 'C000001 data c2s 0 "AAAAA"']);
      push(makeSegment({ ...fromClient, seq: 7005, ack: 90000, payload: 'BBBBB', flags: 'PA' }));
      expect(rec.log.slice(2)).toEqual(['C000001 data c2s 5 "BBBBB"', 'C000001 data c2s 10 "CCCCC"']);
      // Once the client's first byte is placed, the server's ACKs count.
      push(makeSegment({ ...fromClient, seq: 7020, ack: 90000, payload: 'EEEEE', flags: 'PA' }));
      push(makeSegment({ ...fromServer, seq: 90000, ack: 7025, flags: 'A' }));
      expect(rec.log.slice(4)).toEqual(['C000001 gap c2s 15 5 lost', 'C000001 data c2s 20 "EEEEE"']);
      asm.flushAll('end-of-capture');
      expect(rec.log.slice(6)).toEqual(['C000001 close end-of-capture']);
      expect(rec.flow('C000001').stats).toMatchObject({
        sawSyn: false,
        c2s: { packets: 4, bytes: 20, gaps: 1, gapBytes: 5, outOfOrder: 2, retransmissions: 0 },
        s2c: { packets: 2, bytes: 0, gaps: 0 },
      });
      expect(asm.stats()).toMatchObject({ gaps: 1, bufferedBytes: 0, retransmissions: 0 });
      expect(rec.violations).toEqual([]);
    });
  });

  /** Arbitraries shared by the property tests: two streams cut into segments, duplicated and shuffled. */
  const stream = fc.uint8Array({ minLength: 0, maxLength: 600 });
  const cuts = fc.array(fc.nat({ max: 600 }), { maxLength: 40 });
  const dupes = fc.array(fc.tuple(fc.nat({ max: 600 }), fc.nat({ max: 600 })), { maxLength: 15 });
  const isn = fc.oneof(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0xffffff00, max: 0xffffffff }));
  const keys = fc.array(fc.nat(), { minLength: 200, maxLength: 200 });

  interface Piece {
    readonly segment: TcpSegment;
    readonly side: 'c2s' | 's2c';
    readonly from: number;
    readonly to: number;
  }

  /** Cuts both streams at the points given, adds duplicate ranges, and shuffles by `orderKeys`. */
  function shuffledPieces(
    conv: Conversation,
    streams: { c2s: Uint8Array; s2c: Uint8Array },
    points: { c2s: number[]; s2c: number[] },
    dupeRanges: [number, number][],
    orderKeys: number[],
  ): Piece[] {
    const pieces: Piece[] = [];
    for (const side of ['c2s', 's2c'] as const) {
      const bytes = streams[side];
      const bounds = [...new Set([0, bytes.length, ...points[side].map((p) => p % (bytes.length + 1))])].sort(
        (x, y) => x - y,
      );
      for (let i = 0; i + 1 < bounds.length; i++) {
        const from = bounds[i]!;
        const to = bounds[i + 1]!;
        pieces.push({ segment: conv.data(side, bytes.slice(from, to), { offset: from }), side, from, to });
      }
      for (const [x, y] of dupeRanges) {
        if (bytes.length === 0) break;
        const from = Math.min(x, y) % bytes.length;
        const to = Math.min(bytes.length, from + 1 + (Math.max(x, y) % 50));
        pieces.push({ segment: conv.data(side, bytes.slice(from, to), { offset: from }), side, from, to });
      }
    }
    return pieces
      .map((piece, i) => ({ piece, key: orderKeys[i % orderKeys.length]! }))
      .sort((x, y) => x.key - y.key)
      .map((p) => p.piece);
  }

  const other = (side: 'c2s' | 's2c'): 'c2s' | 's2c' => (side === 'c2s' ? 's2c' : 'c2s');

  it('delivers every byte exactly once for any cutting, order and duplication of the segments', () => {
    fc.assert(
      fc.property(
        stream,
        stream,
        cuts,
        cuts,
        dupes,
        isn,
        isn,
        fc.constantFrom(0, 1, 7, 64, 1024, 16 * 1024),
        keys,
        (c2s, s2c, cutsC, cutsS, dupeRanges, clientIsn, serverIsn, overlapCheckBytes, orderKeys) => {
          const { rec, asm, push } = setup({ overlapCheckBytes });
          const conv = new Conversation(CLIENT, SERVER, { clientIsn, serverIsn, stepMicros: 1 });
          const order = shuffledPieces(conv, { c2s, s2c }, { c2s: cutsC, s2c: cutsS }, dupeRanges, orderKeys);
          // Each segment acknowledges what the capture holds of the other direction without a hole, as a
          // receiver next to the capture point would: such ACKs never cover a hole.
          const covered = { c2s: new Uint8Array(c2s.length), s2c: new Uint8Array(s2c.length) };
          const prefix = { c2s: 0, s2c: 0 };
          push(...conv.handshake());
          for (const { segment, side, from, to } of order) {
            segment.ack = conv.seqOf(other(side), prefix[other(side)]);
            asm.push(segment);
            // The decoder reuses its buffers: anything the assembler kept must have been copied.
            segment.buffer.fill(0xee);
            covered[side].fill(1, from, to);
            while (prefix[side] < covered[side].length && covered[side][prefix[side]] === 1) prefix[side]++;
          }
          push(conv.fin('c2s', { offset: c2s.length }), conv.fin('s2c', { offset: s2c.length }));
          expect(rec.violations).toEqual([]);
          expect(rec.log.at(-1)).toBe('C000001 close fin');
          const flow = rec.flow('C000001');
          expect(Uint8Array.from(flow.bytes.c2s)).toEqual(c2s);
          expect(Uint8Array.from(flow.bytes.s2c)).toEqual(s2c);
          expect(flow.stats?.c2s).toMatchObject({ bytes: c2s.length, gaps: 0, overlapsDiffering: 0 });
          expect(flow.stats?.s2c).toMatchObject({ bytes: s2c.length, gaps: 0, overlapsDiffering: 0 });
          expect(asm.stats()).toMatchObject({
            bufferedBytes: 0,
            gaps: 0,
            overlapsDiffering: 0,
            openFlows: 0,
          });
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reports every byte once, as the original data or as a lost gap below an ACK, whatever the ACKs say', () => {
    fc.assert(
      fc.property(
        stream,
        stream,
        cuts,
        cuts,
        dupes,
        isn,
        isn,
        keys,
        keys,
        (c2s, s2c, cutsC, cutsS, dupeRanges, clientIsn, serverIsn, orderKeys, ackKeys) => {
          const { rec, asm, push } = setup();
          const conv = new Conversation(CLIENT, SERVER, { clientIsn, serverIsn, stepMicros: 1 });
          const streams = { c2s, s2c };
          const order = shuffledPieces(conv, streams, { c2s: cutsC, s2c: cutsS }, dupeRanges, orderKeys);
          const maxAck = { c2s: 0, s2c: 0 };
          push(...conv.handshake());
          order.forEach(({ segment, side }, i) => {
            // Any offset of the other direction up to its end: the receiver may have got bytes never captured.
            const acked = other(side);
            const offset = ackKeys[i % ackKeys.length]! % (streams[acked].length + 1);
            segment.ack = conv.seqOf(acked, offset);
            if (offset > maxAck[acked]) maxAck[acked] = offset;
            asm.push(segment);
          });
          push(conv.fin('c2s', { offset: c2s.length }), conv.fin('s2c', { offset: s2c.length }));
          expect(rec.violations).toEqual([]);
          expect(rec.log.at(-1)).toBe('C000001 close fin');
          const reported = { c2s: { data: 0, gaps: 0, gapBytes: 0 }, s2c: { data: 0, gaps: 0, gapBytes: 0 } };
          for (const line of rec.log.slice(1, -1)) {
            const data = /^C000001 data (c2s|s2c) (\d+) (".*")$/.exec(line);
            const gap = /^C000001 gap (c2s|s2c) (\d+) (\d+) (\S+)$/.exec(line);
            if (data !== null) {
              const side = data[1] as 'c2s' | 's2c';
              const offset = Number(data[2]);
              const text = JSON.parse(data[3]!) as string;
              const bytes = Uint8Array.from(text, (c) => c.charCodeAt(0));
              expect(bytes).toEqual(streams[side].slice(offset, offset + bytes.length));
              reported[side].data += bytes.length;
            } else if (gap !== null) {
              const side = gap[1] as 'c2s' | 's2c';
              const offset = Number(gap[2]);
              const length = Number(gap[3]);
              // Only an ACK makes a gap here: every segment was captured before the FINs.
              expect(gap[4]).toBe(offset === 0 ? 'midstream' : 'lost');
              expect(offset + length).toBeLessThanOrEqual(maxAck[side]);
              reported[side].gaps++;
              reported[side].gapBytes += length;
            } else {
              throw new Error(`unexpected log line ${line}`);
            }
          }
          const flow = rec.flow('C000001');
          for (const side of ['c2s', 's2c'] as const) {
            expect(reported[side].data + reported[side].gapBytes).toBe(streams[side].length);
            expect(flow.stats?.[side]).toMatchObject({
              bytes: reported[side].data,
              gaps: reported[side].gaps,
              gapBytes: reported[side].gapBytes,
            });
          }
          expect(asm.stats()).toMatchObject({
            bufferedBytes: 0,
            gaps: reported.c2s.gaps + reported.s2c.gaps,
            openFlows: 0,
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});

function endpoints(from: Peer, to: Peer) {
  return { src: from.ip, srcPort: from.port, dst: to.ip, dstPort: to.port };
}

describe('assembler: closed connections', () => {
  it("lets a closed connection's handler be garbage collected while the connection lingers", async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let ref: WeakRef<object> | null = null;
    const asm = createAssembler(
      {
        create: () => {
          const handler = { onData() {}, onGap() {}, onClose() {} };
          ref = new WeakRef(handler);
          return handler;
        },
      },
      { ports: DEFAULT_SMTP_PORTS, closedLingerMs: 30_000 },
    );
    const conv = new Conversation(CLIENT, SERVER);
    for (const seg of [
      ...conv.handshake(),
      conv.data('s2c', '220 mx\r\n'),
      conv.fin('c2s'),
      conv.fin('s2c'),
      conv.ack('c2s'),
    ])
      asm.push(seg);
    // Closed by FIN, and lingering: still in the table, but holding no handler.
    expect(asm.stats().openFlows).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect((ref as WeakRef<object> | null)?.deref()).toBeUndefined();
    // A late retransmission of the lingering connection reaches no handler and is absorbed.
    asm.push(conv.data('s2c', '220 mx\r\n', { offset: 0 }));
    expect(asm.stats().totalFlows).toBe(1);
  });

  it('keeps a small record per lingering connection, not its half-streams', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const count = 4096;
    const handler = { onData() {}, onGap() {}, onClose() {} };
    const asm = createAssembler(
      { create: () => handler },
      { ports: DEFAULT_SMTP_PORTS, closedLingerMs: 3_600_000, maxConnections: 2 * count },
    );
    const connection = (i: number): TcpSegment[] => {
      const conv = new Conversation({ ip: `10.1.${i >> 8}.${i & 255}`, port: 40000 }, SERVER, {
        startMicros: i * 100,
      });
      return [
        ...conv.handshake(),
        conv.data('s2c', '220 mx\r\n'),
        conv.data('c2s', `EHLO a\r\nQUIT\r\n${'x'.repeat(1200)}`),
        conv.data('s2c', '250 ok\r\n221 bye\r\n'),
        conv.fin('c2s'),
        conv.fin('s2c'),
        conv.ack('c2s'),
      ];
    };
    // The segments are made per connection and left to the collector: only what the assembler keeps stays.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < count; i++) for (const seg of connection(i)) asm.push(seg);
    gc();
    const perConnection = (process.memoryUsage().heapUsed - before) / count;
    expect(asm.stats()).toMatchObject({ openFlows: 0, totalFlows: count });
    // About 360 bytes with its key, times and ISNs; with its two half-streams it was about 1,200.
    expect(perConnection).toBeLessThan(700);
  });
});
