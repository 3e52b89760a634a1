/**
 * The hot loop shared by every command: packets from a source → link/IP/TCP decoding → TCP reassembly.
 * Everything per packet happens synchronously inside the source's callback; nothing here allocates per packet.
 */

import type { PacketSource, PacketView } from '../capture/types.js';
import type { PacketDecoder } from '../decode/types.js';
import type { Assembler } from '../reassembly/types.js';

export interface PacketLoopHooks {
  /** Sees every packet before decoding (the `-w` capture writer). */
  readonly tap?: (packet: PacketView) => void;
  /** Called with the packet time every `tickEvery` packets (progress, live flushes). */
  readonly tick?: (tsMicros: number) => void;
  readonly tickEvery?: number;
}

export interface PacketLoopResult {
  readonly firstTsMicros: number | null;
  readonly lastTsMicros: number | null;
}

export async function runPacketLoop(
  source: PacketSource,
  decoder: PacketDecoder,
  assembler: Assembler,
  hooks: PacketLoopHooks = {},
): Promise<PacketLoopResult> {
  let first: number | null = null;
  let last: number | null = null;
  const tap = hooks.tap;
  const tick = hooks.tick;
  const tickEvery = hooks.tickEvery ?? 4096;
  let untilTick = tickEvery;
  const segment = decoder.segment;
  await source.forEach((packet) => {
    if (first === null) first = packet.tsMicros;
    last = packet.tsMicros;
    if (tap !== undefined) tap(packet);
    if (decoder.decodeSegment(packet)) assembler.push(segment);
    if (tick !== undefined && --untilTick === 0) {
      untilTick = tickEvery;
      tick(packet.tsMicros);
    }
  });
  return { firstTsMicros: first, lastTsMicros: last };
}
