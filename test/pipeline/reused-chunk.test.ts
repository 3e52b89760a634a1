/**
 * The assembler hands every handler one chunk object, refilled for each delivery (StreamChunk: read it during
 * the call). The SMTP handler must give the same events through the assembler as when each delivery is a
 * fresh object of its own with its own copy of the bytes: a handler that kept the chunk past the call would
 * read the next delivery's fields in place of its own.
 */

import { describe, expect, it } from 'vitest';
import type { TcpSegment } from '../../src/decode/types.js';
import { createAssembler } from '../../src/reassembly/assembler.js';
import type {
  FlowKey,
  StreamChunk,
  StreamHandler,
  StreamHandlerFactory,
} from '../../src/reassembly/types.js';
import { createSmtpStreamFactory } from '../../src/smtp/stream-factory.js';
import type { SmtpEvent } from '../../src/smtp/types.js';
import { Conversation } from '../helpers/segments.js';

const CLIENT = { ip: '192.0.2.10', port: 40000 };
const SERVER = { ip: '198.51.100.25', port: 25 };

/** The SMTP events of the segments, delivered by the assembler (reused chunk) or copied into fresh chunks. */
function eventsOf(segments: readonly TcpSegment[], fresh: boolean): SmtpEvent[] {
  const events: SmtpEvent[] = [];
  const smtp = createSmtpStreamFactory(() => (event) => events.push(event));
  const factory: StreamHandlerFactory = fresh
    ? {
        create(flow: FlowKey, tsMicros: number): StreamHandler | null {
          const inner = smtp.create(flow, tsMicros);
          if (inner === null) return null;
          return {
            onData(chunk: StreamChunk): void {
              const { direction, offset, tsMicros: ts } = chunk;
              inner.onData({ direction, offset, tsMicros: ts, bytes: chunk.bytes.slice() });
            },
            onGap: (...args) => inner.onGap(...args),
            onClose: (...args) => inner.onClose(...args),
          };
        },
      }
    : smtp;
  const assembler = createAssembler(factory);
  for (const segment of segments) assembler.push(segment);
  assembler.flushAll('end-of-capture');
  return events;
}

/** A ClientHello's record header and the start of its body (enough for the decoder to call it TLS). */
const HELLO_REST = Uint8Array.of(0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00);

describe('the SMTP handler and the reused chunk', () => {
  it('holds a lone first client byte 0x16 by copy: the next client bytes decide, as with fresh chunks', () => {
    const c = new Conversation(CLIENT, SERVER);
    const segments = [
      ...c.handshake(),
      c.data('c2s', Uint8Array.of(0x16)),
      c.data('c2s', HELLO_REST),
      c.fin('c2s'),
      c.fin('s2c'),
    ];
    const reused = eventsOf(segments, false);
    expect(reused.map((e) => e.type)).toContain('tls-start');
    expect(reused).toEqual(eventsOf(segments, true));
  });

  it('holds a lone first client byte 0x16 by copy when server bytes come next', () => {
    const c = new Conversation(CLIENT, SERVER);
    const segments = [
      ...c.handshake(),
      c.data('c2s', Uint8Array.of(0x16)),
      c.data('s2c', '220 mx.example.net ESMTP\r\n'),
      c.data('c2s', 'EHLO c.example\r\n'),
      c.data('s2c', '500 what\r\n'),
      c.fin('c2s'),
      c.fin('s2c'),
    ];
    expect(eventsOf(segments, false)).toEqual(eventsOf(segments, true));
  });

  it('gives the events of fresh chunks for a whole dialogue', () => {
    const c = new Conversation(CLIENT, SERVER);
    const lines: ['c2s' | 's2c', string][] = [
      ['s2c', '220 mx.example.net ESMTP\r\n'],
      ['c2s', 'EHLO c.example\r\n'],
      ['s2c', '250-mx.example.net\r\n250 PIPELINING\r\n'],
      ['c2s', 'MAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n'],
      ['s2c', '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go ahead\r\n'],
      ['c2s', 'Subject: x\r\n\r\nbody\r\n.\r\nQUIT\r\n'],
      ['s2c', '250 2.0.0 Ok: queued as Q1\r\n221 2.0.0 Bye\r\n'],
    ];
    const segments = [...c.handshake(), ...lines.map(([side, text]) => c.data(side, text))];
    segments.push(c.fin('c2s'), c.fin('s2c'));
    const reused = eventsOf(segments, false);
    expect(reused.filter((e) => e.type === 'command')).toHaveLength(5);
    expect(reused).toEqual(eventsOf(segments, true));
  });
});
