/**
 * The packet loop's times: the first and last packet times it reports are the least and the greatest of the
 * times the packets reach the decoder with (a wild time replaced by the running time), null without packets.
 */

import { describe, expect, it } from 'vitest';
import type { PacketSource, PacketView } from '../../src/capture/types.js';
import { LINKTYPE } from '../../src/capture/types.js';
import { createPacketDecoder } from '../../src/decode/packet-decoder.js';
import type { TcpSegment } from '../../src/decode/types.js';
import { runPacketLoop, WILD_JUMP_MICROS } from '../../src/pipeline/packet-loop.js';
import type { Assembler } from '../../src/reassembly/types.js';
import { tcpFrame } from '../helpers/frames.js';

/** A source delivering one reused view per packet, as the readers do. */
function sourceOf(times: readonly number[]): PacketSource {
  const frame = tcpFrame({
    src: '192.0.2.10',
    dst: '198.51.100.25',
    sport: 40000,
    dport: 25,
    seq: 1,
    ack: 1,
    flags: 'A',
    payload: '',
  });
  const view: PacketView = {
    buffer: frame,
    offset: 0,
    capturedLength: frame.length,
    originalLength: frame.length,
    tsMicros: 0,
    linkType: LINKTYPE.ETHERNET,
    interfaceId: 0,
    index: 0,
  };
  return {
    description: 'test',
    format: 'pcap',
    compressed: false,
    async forEach(onPacket) {
      times.forEach((ts, index) => {
        view.tsMicros = ts;
        view.index = index;
        onPacket(view);
      });
    },
    async close() {},
    stats: () => ({ packets: times.length, bytes: 0, storedBytes: 0, dropped: 0, truncated: 0 }),
    warnings: () => [],
  };
}

/** Runs the loop; returns its result and the times of the segments the assembler got. */
async function run(times: readonly number[]) {
  const seen: number[] = [];
  const assembler = {
    push(segment: TcpSegment) {
      seen.push(segment.tsMicros);
    },
  } as unknown as Assembler;
  const result = await runPacketLoop(sourceOf(times), createPacketDecoder(), assembler);
  return { result, seen };
}

const T = 1_700_000_000_000_000;

describe('packet loop times', () => {
  it('reports null first and last times without packets', async () => {
    const { result } = await run([]);
    expect(result).toMatchObject({ firstTsMicros: null, lastTsMicros: null, wildTimestamps: { count: 0 } });
  });

  it('reports the least and the greatest time, whatever their order', async () => {
    const { result, seen } = await run([T + 5, T + 2, T + 9, T + 1, T + 7]);
    expect(result).toMatchObject({ firstTsMicros: T + 1, lastTsMicros: T + 9 });
    expect(seen).toEqual([T + 5, T + 2, T + 9, T + 1, T + 7]);
  });

  it('reports one packet as both first and last', async () => {
    const { result } = await run([T]);
    expect(result).toMatchObject({ firstTsMicros: T, lastTsMicros: T });
  });

  it('decodes a wild packet at the running time, which then bounds the span', async () => {
    const wild = T + 37 * 365 * 86_400 * 1_000_000;
    const { result, seen } = await run([T, T + 10, wild, T + 20]);
    expect(seen).toEqual([T, T + 10, T + 10, T + 20]);
    expect(result).toMatchObject({
      firstTsMicros: T,
      lastTsMicros: T + 20,
      wildTimestamps: { count: 1, first: { index: 2, tsMicros: wild, usedMicros: T + 10 } },
    });
  });

  it('follows a real jump of the clock confirmed by the next packet', async () => {
    const later = T + WILD_JUMP_MICROS + 1;
    const { result, seen } = await run([T, later, later + 1]);
    expect(seen).toEqual([T, later, later + 1]);
    expect(result).toMatchObject({ firstTsMicros: T, lastTsMicros: later + 1, wildTimestamps: { count: 0 } });
  });
});
