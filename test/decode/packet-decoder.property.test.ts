import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PacketView } from '../../src/capture/types.js';
import { formatAddress } from '../../src/decode/address.js';
import { OUTCOMES } from '../../src/decode/outcome-codes.js';
import { createPacketDecoder } from '../../src/decode/packet-decoder.js';
import type { DecodeCounters, PacketDecoder } from '../../src/decode/types.js';
import {
  type ExtensionHeader,
  fragmentIpv4,
  fragmentIpv6,
  LINK_TYPE_OF,
  type LinkKind,
  linkFrame,
  packetView,
  parseIp,
  type TcpFrameSpec,
  tcpFrame,
  tcpIpPacket,
} from '../helpers/frames.js';

const LINKS: readonly LinkKind[] = [
  'ethernet',
  'sll',
  'sll2',
  'null',
  'null-be',
  'loop',
  'raw',
  'raw-12',
  'raw-14',
];
const LINK_TYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276];

function total(counters: DecodeCounters): number {
  const sum = (record: Readonly<Partial<Record<string, number>>>) =>
    Object.values(record).reduce((a: number, b) => a + (b ?? 0), 0);
  return counters.tcp + sum(counters.skipped) + sum(counters.malformed);
}

/** What must hold for any `tcp` outcome, whatever the input. */
function checkSegment(decoder: PacketDecoder): void {
  const s = decoder.segment;
  const addressBytes = s.ipVersion === 4 ? 4 : 16;
  expect(s.payloadLength).toBeGreaterThanOrEqual(0);
  expect(s.payloadLength).toBeLessThanOrEqual(s.wirePayloadLength);
  expect(s.payloadOffset + s.payloadLength).toBeLessThanOrEqual(s.buffer.length);
  expect(s.srcAddrOffset + addressBytes).toBeLessThanOrEqual(s.buffer.length);
  expect(s.dstAddrOffset + addressBytes).toBeLessThanOrEqual(s.buffer.length);
  for (const value of [s.seq, s.ack]) {
    expect(Number.isInteger(value) && value >= 0 && value < 2 ** 32).toBe(true);
  }
  expect(s.flags >= 0 && s.flags <= 0xff && s.srcPort <= 0xffff && s.dstPort <= 0xffff).toBe(true);
}

const addressBytes = (v6: boolean) => fc.uint8Array({ minLength: v6 ? 16 : 4, maxLength: v6 ? 16 : 4 });
const wordPadded = (max: number) =>
  fc.integer({ min: 0, max: max / 4 }).map((words) => new Uint8Array(words * 4).fill(1));

const frameSpec = fc
  .record({
    link: fc.constantFrom(...LINKS),
    v6: fc.boolean(),
    sport: fc.integer({ min: 0, max: 0xffff }),
    dport: fc.integer({ min: 0, max: 0xffff }),
    seq: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    ack: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    flags: fc.integer({ min: 0, max: 0xff }),
    window: fc.integer({ min: 0, max: 0xffff }),
    payload: fc.uint8Array({ maxLength: 300 }),
    vlan: fc.array(fc.integer({ min: 0, max: 4095 }), { maxLength: 3 }),
    ipOptions: wordPadded(40),
    tcpOptions: wordPadded(40),
    extensions: fc.array(
      fc.constantFrom<ExtensionHeader['kind']>('destination-options', 'routing', 'authentication'),
      {
        maxLength: 3,
      },
    ),
    hopByHop: fc.boolean(),
    trailer: fc.uint8Array({ maxLength: 12 }),
  })
  .chain((r) => fc.record({ r: fc.constant(r), src: addressBytes(r.v6), dst: addressBytes(r.v6) }));

describe('packet-decoder properties', () => {
  it('decodes any well-formed frame back to the fields it was built from', () => {
    fc.assert(
      fc.property(frameSpec, fc.integer({ min: 0, max: 400 }), ({ r, src, dst }, cutPayloadAt) => {
        const version = r.v6 ? 6 : 4;
        const extensionHeaders: ExtensionHeader[] = [
          ...(r.hopByHop ? [{ kind: 'hop-by-hop' as const }] : []),
          ...r.extensions.map((kind) => ({ kind, ...(kind === 'authentication' ? { length: 12 } : {}) })),
        ];
        const spec: TcpFrameSpec = {
          link: r.link,
          src: formatAddress(src, 0, version),
          dst: formatAddress(dst, 0, version),
          sport: r.sport,
          dport: r.dport,
          seq: r.seq,
          ack: r.ack,
          flags: r.flags,
          window: r.window,
          payload: r.payload,
          tcpOptions: r.tcpOptions,
          trailer: r.trailer,
          ...(r.link === 'ethernet' || r.link.startsWith('sll') ? { vlan: r.vlan } : {}),
          ...(r.v6 ? { extensionHeaders } : { ipOptions: r.ipOptions }),
        };
        expect(parseIp(spec.src!)).toEqual(src);
        const frame = tcpFrame(spec);
        const payloadStart = frame.length - r.trailer.length - r.payload.length;
        const snaplen = Math.min(frame.length, payloadStart + cutPayloadAt);
        const decoder = createPacketDecoder({ verifyChecksums: true });
        expect(decoder.decode(packetView(frame, { link: r.link, snaplen }))).toEqual({ kind: 'tcp' });
        const s = decoder.segment;
        checkSegment(decoder);
        expect(s.buffer.subarray(s.srcAddrOffset, s.srcAddrOffset + src.length)).toEqual(src);
        expect(s.buffer.subarray(s.dstAddrOffset, s.dstAddrOffset + dst.length)).toEqual(dst);
        expect([s.ipVersion, s.srcPort, s.dstPort, s.seq, s.ack, s.flags, s.window]).toEqual([
          version,
          r.sport,
          r.dport,
          r.seq,
          r.ack,
          r.flags,
          r.window,
        ]);
        const kept = Math.min(r.payload.length, cutPayloadAt);
        expect(s.wirePayloadLength).toBe(r.payload.length);
        expect(s.buffer.slice(s.payloadOffset, s.payloadOffset + s.payloadLength)).toEqual(
          r.payload.slice(0, kept),
        );
        // routing headers here have no segments left, so the pseudo-header destination is the IPv6 one
        expect(s.checksumOk).toBe(kept === r.payload.length ? true : null);
      }),
      { numRuns: 600 },
    );
  });

  it('never throws on random bytes under any link type, and the counters add up', () => {
    const decoder = createPacketDecoder({ verifyChecksums: true, ports: new Set([25, 80]) });
    const plain = createPacketDecoder();
    let calls = 0;
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.oneof(fc.constantFrom(...LINK_TYPES), fc.integer({ min: 0, max: 300 })),
        fc.nat(100),
        (bytes, linkType, extra) => {
          const view: PacketView = {
            ...packetView(bytes, { linkType }),
            originalLength: bytes.length + extra,
          };
          for (const d of [decoder, plain]) {
            const outcome = d.decode(view);
            expect(OUTCOMES).toContain(outcome);
            if (outcome.kind === 'tcp') checkSegment(d);
          }
          calls++;
        },
      ),
      { numRuns: 3000 },
    );
    expect(total(decoder.counters())).toBe(calls);
    expect(total(plain.counters())).toBe(calls);
  });

  it('never throws on mutated and truncated frames and fragments, and the counters add up', () => {
    const decoder = createPacketDecoder({
      verifyChecksums: true,
      maxFragmentBytes: 2000,
      fragmentTimeoutMs: 5,
    });
    let calls = 0;
    fc.assert(
      fc.property(
        frameSpec,
        fc.boolean(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        fc.nat(),
        fc.nat(300),
        fc.integer({ min: 0, max: 40_000 }),
        ({ r, src, dst }, fragment, mutations, cut, extra, tsMicros) => {
          const version = r.v6 ? 6 : 4;
          const spec: TcpFrameSpec = {
            src: formatAddress(src, 0, version),
            dst: formatAddress(dst, 0, version),
            payload: r.payload,
            tcpOptions: r.tcpOptions,
            ...(r.v6
              ? { extensionHeaders: r.extensions.map((kind) => ({ kind })) }
              : { ipOptions: r.ipOptions }),
          };
          const packets = fragment
            ? r.v6
              ? fragmentIpv6(tcpIpPacket(spec), 24, r.seq)
              : fragmentIpv4(tcpIpPacket(spec), 24)
            : [tcpIpPacket(spec)];
          for (const packet of packets.reverse()) {
            const frame = linkFrame(packet, { link: r.link, vlan: r.vlan });
            for (const [at, value] of mutations) frame[at % frame.length] = value;
            const captured = frame.subarray(0, frame.length - (cut % (frame.length + 1)));
            const view: PacketView = {
              ...packetView(captured, { linkType: LINK_TYPE_OF[r.link], tsMicros }),
              originalLength: captured.length + extra,
            };
            const outcome = decoder.decode(view);
            expect(OUTCOMES).toContain(outcome);
            if (outcome.kind === 'tcp') checkSegment(decoder);
            calls++;
          }
        },
      ),
      { numRuns: 1500 },
    );
    expect(total(decoder.counters())).toBe(calls);
  });
});
