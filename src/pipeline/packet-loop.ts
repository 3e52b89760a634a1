/**
 * The hot loop shared by every command: packets from a source → link/IP/TCP decoding → TCP reassembly.
 * Everything per packet happens synchronously inside the source's callback; nothing here allocates per packet
 * (except for the rare packet held by the wild-timestamp check below).
 *
 * Wild timestamps. A packet stamped far from the capture's running time (a SYN-ACK 37 years after its SYN, seen
 * in a public capture) would move the reassembler's expiry clock by itself and end every open connection as
 * idle. A packet more than {@link WILD_JUMP_MICROS} away from the running time is therefore held (a copy) until
 * the next packet says which it is: if that one is back near the running time, the held packet was wild: it is
 * counted, and decoded at the running time instead of its own; otherwise the clock really jumped (a quiet
 * period, a new day of a long capture) and the held packet goes on with its own time. A packet held at the end
 * of the input goes on with its own time. Sources stamped on arrival (live capture) are not checked.
 *
 * The three times the loop keeps (first, last, running) live in a Float64Array: a microsecond time is no small
 * integer, and a number kept in a closure variable is a heap object written anew for every packet.
 */

import type { PacketSource, PacketView } from '../capture/types.js';
import type { PacketDecoder, TcpSegment } from '../decode/types.js';
import type { Assembler } from '../reassembly/types.js';

/** Distance from the running time beyond which a packet's own timestamp needs the next packet to confirm it. */
export const WILD_JUMP_MICROS = 300 * 1_000_000;

/** Indexes into the loop's times (see the file comment). */
const FIRST = 0;
const LAST = 1;
const CLOCK = 2;

export interface PacketLoopHooks {
  /** Sees every packet before decoding (the `-w` capture writer). */
  readonly tap?: (packet: PacketView) => void;
  /** Decoded TCP segments this returns false for are dropped before reassembly (`-f` on capture files). */
  readonly accept?: (segment: TcpSegment) => boolean;
  /** Called with the packet time every `tickEvery` packets (progress, live flushes). */
  readonly tick?: (tsMicros: number) => void;
  readonly tickEvery?: number;
  /** Check for wild timestamps (default true; off for sources stamped on arrival). */
  readonly checkTimestamps?: boolean;
  /** Asked between chunks of input; a promise holds reading back until it settles (PacketSource.forEach). */
  readonly ready?: () => Promise<void> | null;
}

export interface WildTimestamps {
  /** Packets whose own time was not used (decoded at the running time). */
  readonly count: number;
  /** The first of them: its position in the source, its own time and the running time it was decoded at. */
  readonly first: { readonly index: number; readonly tsMicros: number; readonly usedMicros: number } | null;
}

export interface PacketLoopResult {
  readonly firstTsMicros: number | null;
  readonly lastTsMicros: number | null;
  readonly wildTimestamps: WildTimestamps;
}

export async function runPacketLoop(
  source: PacketSource,
  decoder: PacketDecoder,
  assembler: Assembler,
  hooks: PacketLoopHooks = {},
): Promise<PacketLoopResult> {
  /** [first packet time, last packet time, running time]; NaN until set (see the file comment). */
  const times = new Float64Array([Number.NaN, Number.NaN, Number.NaN]);
  const tap = hooks.tap;
  const accept = hooks.accept;
  const tick = hooks.tick;
  const tickEvery = hooks.tickEvery ?? 4096;
  const check = hooks.checkTimestamps !== false;
  let untilTick = tickEvery;
  const segment = decoder.segment;
  let held: PacketView | null = null;
  let wildCount = 0;
  let firstWild: WildTimestamps['first'] = null;

  const handle = (packet: PacketView): void => {
    const ts = packet.tsMicros;
    // Comparisons with NaN are false: the first packet sets both.
    if (!(ts >= times[FIRST]!)) times[FIRST] = ts;
    if (!(ts <= times[LAST]!)) times[LAST] = ts;
    if (decoder.decodeSegment(packet) && (accept === undefined || accept(segment))) assembler.push(segment);
  };

  await source.forEach((packet) => {
    if (tap !== undefined) tap(packet);
    const ts = packet.tsMicros;
    if (!check) handle(packet);
    else {
      if (held !== null) {
        const h = held;
        held = null;
        const clock = times[CLOCK]!;
        if (Math.abs(ts - clock) <= WILD_JUMP_MICROS) {
          // Back near the running time: the held packet's own time was wild.
          wildCount++;
          firstWild ??= { index: h.index, tsMicros: h.tsMicros, usedMicros: clock };
          h.tsMicros = clock;
        } else times[CLOCK] = h.tsMicros;
        handle(h);
      }
      const clock = times[CLOCK]!;
      // NaN (no running time yet) compares false both ways.
      if (!(Math.abs(ts - clock) > WILD_JUMP_MICROS)) {
        if (!(ts <= clock)) times[CLOCK] = ts;
        handle(packet);
      } else {
        const start = packet.offset;
        held = { ...packet, buffer: packet.buffer.slice(start, start + packet.capturedLength), offset: 0 };
      }
    }
    if (tick !== undefined && --untilTick === 0) {
      untilTick = tickEvery;
      tick(packet.tsMicros);
    }
  }, hooks.ready);
  const rest = held as PacketView | null;
  if (rest !== null) handle(rest);
  const first = times[FIRST]!;
  const last = times[LAST]!;
  return {
    firstTsMicros: Number.isNaN(first) ? null : first,
    lastTsMicros: Number.isNaN(last) ? null : last,
    wildTimestamps: { count: wildCount, first: firstWild },
  };
}
