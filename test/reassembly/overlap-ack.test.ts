import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { createAssembler } from '../../src/reassembly/assembler.js';
import { tcpFrame } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';
import { Conversation, type Peer } from '../helpers/segments.js';
import { createRecorder } from './recorder.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-overlap-ack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const CLIENT = { src: '10.0.0.1', dst: '192.0.2.25', sport: 40_000, dport: 25 } as const;
const SERVER = { src: '192.0.2.25', dst: '10.0.0.1', sport: 25, dport: 40_000 } as const;
const GREETING = '220 mx ESMTP\r\n';
const JUNK = 'JUNK'.repeat(10);

/**
 * The server's greeting segment runs on into 40 bytes of junk; the client acknowledges the greeting only (its ACK
 * stays at the end of the greeting), and the server's real replies come over the unacknowledged junk.
 */
function junkAfterGreeting(ackJunk: boolean): string {
  const c = 101; // client's first data sequence number
  const s = 501; // server's
  const frames = [
    tcpFrame({ ...CLIENT, seq: c - 1, flags: 'S' }),
    tcpFrame({ ...SERVER, seq: s - 1, ack: c, flags: 'SA' }),
    tcpFrame({ ...CLIENT, seq: c, ack: s, flags: 'A' }),
    tcpFrame({ ...SERVER, seq: s, ack: c, flags: 'PA', payload: text(GREETING + JUNK) }),
    // ackJunk: the client took the junk too (acknowledged it), so the first copy stays.
    tcpFrame({
      ...CLIENT,
      seq: c,
      ack: s + GREETING.length + (ackJunk ? JUNK.length : 0),
      flags: 'PA',
      payload: text('EHLO client\r\n'),
    }),
    tcpFrame({ ...SERVER, seq: s + 14, ack: c + 13, flags: 'PA', payload: text('250 mx\r\n') }),
    tcpFrame({ ...CLIENT, seq: c + 13, ack: s + 22, flags: 'PA', payload: text('QUIT\r\n') }),
    tcpFrame({ ...SERVER, seq: s + 22, ack: c + 19, flags: 'PA', payload: text('221 bye\r\n') }),
    tcpFrame({ ...SERVER, seq: s + 31, ack: c + 19, flags: 'FA' }),
    tcpFrame({ ...CLIENT, seq: c + 19, ack: s + 32, flags: 'FA' }),
    tcpFrame({ ...SERVER, seq: s + 32, ack: c + 20, flags: 'A' }),
  ];
  const path = join(dir, `junk-${ackJunk}.pcap`);
  writeFileSync(
    path,
    buildPcap({
      endian: 'le',
      records: frames.map((data, i) => ({ seconds: 1_700_000_000, fraction: i * 1000, data })),
    }),
  );
  return path;
}

describe('overlapping bytes that differ: the copy the peer acknowledged', () => {
  it('goes on with the retransmitted replies the client acknowledged, not the junk it did not', async () => {
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: junkAfterGreeting(false) }],
    });
    expect(sessions).toHaveLength(1);
    const session = sessions[0]!;
    expect(session.greeting?.code).toBe(220);
    // Before, the junk won: every later server byte overlapped it and was dropped, so no command had a reply.
    const [ehlo, quit] = session.commands;
    expect(quit?.reply?.code).toBe(221);
    // The 250 reaches the decoder, after the gap that marks the break (whether the decoder pairs a reply after a
    // gap with EHLO is the decoder's gap policy).
    expect(
      ehlo?.reply?.code === 250 ||
        session.anomalies.some((a) => a.code === 'reply-without-command' && a.detail.includes('250')),
    ).toBe(true);
    // The overlap is counted, and the break reported as a gap.
    expect(summary.stats.assembler.overlapsDiffering).toBe(1);
    expect(session.quality.gaps).toBeGreaterThan(0);
  });

  it('keeps the first copy when the client acknowledged it', async () => {
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: junkAfterGreeting(true) }],
    });
    const session = sessions[0]!;
    expect(session.commands.map((c) => [c.verb, c.reply?.code ?? null])).toEqual([
      ['EHLO', null],
      ['QUIT', null],
    ]);
    expect(summary.stats.assembler.overlapsDiffering).toBe(2);
  });

  it('shifts the offsets past a one-byte replaced gap and places later segments by the new mapping', () => {
    const rec = createRecorder();
    const asm = createAssembler(rec.factory);
    const client: Peer = { ip: '192.0.2.10', port: 40000 };
    const server: Peer = { ip: '198.51.100.25', port: 25 };
    const conv = new Conversation(client, server);
    for (const s of conv.handshake()) asm.push(s);
    asm.push(conv.data('s2c', 'abcdefgh'));
    // The client acknowledges 4 bytes; the server sends other bytes from offset 4, then more after them.
    asm.push(conv.data('c2s', 'x', { ack: 4 }));
    asm.push(conv.data('s2c', 'WXYZ', { offset: 4 }));
    asm.push(conv.data('s2c', '12', { offset: 8 }));
    // An identical retransmission of the later copy is only a retransmission.
    asm.push(conv.data('s2c', 'YZ', { offset: 6 }));
    expect(rec.log.filter((line) => line.includes('s2c'))).toEqual([
      'C000001 data s2c 0 "abcdefgh"',
      'C000001 gap s2c 8 1 replaced',
      'C000001 data s2c 9 "WXYZ"',
      'C000001 data s2c 13 "12"',
    ]);
    expect(asm.stats()).toMatchObject({ overlapsDiffering: 1, retransmissions: 2 });
  });
});
