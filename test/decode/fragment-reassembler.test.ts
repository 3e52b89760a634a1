import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/decode/address.js';
import { MAX_FRAGMENT_SETS } from '../../src/decode/fragment-reassembler.js';
import { createPacketDecoder } from '../../src/decode/packet-decoder.js';
import type { DecodeOutcome, DecoderOptions, PacketDecoder } from '../../src/decode/types.js';
import {
  fragmentIpv4,
  fragmentIpv6,
  ipv4Packet,
  ipv6Packet,
  linkFrame,
  packetView,
  type TcpFrameSpec,
  tcpIpPacket,
} from '../helpers/frames.js';

const TCP = { kind: 'tcp' };
const PENDING = { kind: 'skipped', reason: 'fragment-pending' };
const skipped = (reason: string) => ({ kind: 'skipped', reason });
const malformed = (reason: string) => ({ kind: 'malformed', reason });

/** 200 distinct payload bytes, so a misplaced fragment changes the payload. */
const PAYLOAD = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) & 0xff);
const V4: TcpFrameSpec = {
  src: '10.1.1.1',
  dst: '10.2.2.2',
  sport: 40001,
  dport: 25,
  payload: PAYLOAD,
  ipId: 0x1234,
};
const V6: TcpFrameSpec = {
  src: '2001:db8::a',
  dst: '2001:db8::b',
  sport: 40001,
  dport: 25,
  payload: PAYLOAD,
};

const SECOND = 1_000_000;
const T0 = 1_700_000_000 * SECOND;

function feed(
  decoder: PacketDecoder,
  ipPackets: readonly Uint8Array[],
  tsMicros = T0,
  stepMicros = 1000,
): DecodeOutcome[] {
  return ipPackets.map((packet, i) =>
    decoder.decode(packetView(linkFrame(packet), { tsMicros: tsMicros + i * stepMicros, index: i })),
  );
}

function payloadOf(decoder: PacketDecoder): Uint8Array {
  const s = decoder.segment;
  return s.buffer.slice(s.payloadOffset, s.payloadOffset + s.payloadLength);
}

function decoderWith(options: Partial<DecoderOptions> = {}): PacketDecoder {
  return createPacketDecoder({ verifyChecksums: true, ...options });
}

describe('fragment-reassembler', () => {
  describe('IPv4', () => {
    const packet = tcpIpPacket(V4);
    const fragments = fragmentIpv4(packet, 48); // 220 bytes of TCP: 48+48+48+48+28

    it('splits the test datagram into five fragments', () => {
      expect(fragments).toHaveLength(5);
      expect(fragments.map((f) => f.length - 20)).toEqual([48, 48, 48, 48, 28]);
    });

    it('keeps its own copy of each fragment when the packet buffer is a reused Node Buffer', () => {
      // Readers of gzip and standard input hand out Buffers that the next chunk overwrites; Buffer#slice is a view.
      const decoder = decoderWith();
      const shared = Buffer.alloc(2048);
      const outcomes = fragments.map((ip, i) => {
        const frame = linkFrame(ip);
        shared.set(frame, 0);
        const view = packetView(frame, { tsMicros: T0 + i * 1000, index: i });
        const outcome = decoder.decode({ ...view, buffer: shared, offset: 0 });
        if (i < fragments.length - 1) shared.fill(0xaa);
        return outcome;
      });
      expect(outcomes).toEqual([PENDING, PENDING, PENDING, PENDING, TCP]);
      expect(payloadOf(decoder)).toEqual(PAYLOAD);
    });

    it('reassembles fragments in order and decodes TCP from the datagram', () => {
      const decoder = decoderWith();
      expect(feed(decoder, fragments)).toEqual([PENDING, PENDING, PENDING, PENDING, TCP]);
      const s = decoder.segment;
      expect(payloadOf(decoder)).toEqual(PAYLOAD);
      expect([s.srcPort, s.dstPort, s.wirePayloadLength, s.checksumOk]).toEqual([40001, 25, 200, true]);
      expect(formatAddress(s.buffer, s.srcAddrOffset, 4)).toBe('10.1.1.1');
      expect(formatAddress(s.buffer, s.dstAddrOffset, 4)).toBe('10.2.2.2');
      expect([s.frameIndex, s.tsMicros]).toEqual([4, T0 + 4000]);
      expect(decoder.counters()).toMatchObject({
        tcp: 1,
        skipped: { 'fragment-pending': 4 },
        fragmentsReassembled: 1,
        fragmentSetsDropped: 0,
      });
    });

    it('points the segment at its own datagram buffer, not the packet', () => {
      const decoder = decoderWith();
      const frames = fragments.map((f) => linkFrame(f));
      for (const frame of frames.slice(0, -1)) decoder.decode(packetView(frame));
      const last = frames.at(-1)!;
      expect(decoder.decode(packetView(last))).toEqual(TCP);
      expect(decoder.segment.buffer).not.toBe(last);
      // the reassembled header is well formed: total length and cleared fragment fields
      const b = decoder.segment.buffer;
      expect((b[2]! << 8) | b[3]!).toBe(240);
      expect(b[6]! & 0x3f).toBe(0);
      expect(b[7]).toBe(0);
    });

    it('reassembles fragments in reverse and in shuffled order', () => {
      for (const order of [
        [4, 3, 2, 1, 0],
        [2, 0, 4, 1, 3],
        [1, 4, 0, 3, 2],
      ]) {
        const decoder = decoderWith();
        const outcomes = feed(
          decoder,
          order.map((i) => fragments[i]!),
        );
        expect(outcomes).toEqual([PENDING, PENDING, PENDING, PENDING, TCP]);
        expect(payloadOf(decoder)).toEqual(PAYLOAD);
      }
    });

    it('keeps the first fragment header options in the datagram', () => {
      const withOptions = tcpIpPacket({ ...V4, ipOptions: Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 0) });
      const parts = fragmentIpv4(withOptions, 64);
      expect(parts[0]![0]).toBe(0x47);
      expect(parts[1]![0]).toBe(0x45);
      const decoder = decoderWith();
      const outcomes = feed(decoder, parts.reverse());
      expect(outcomes.at(-1)).toEqual(TCP);
      expect(decoder.segment.payloadOffset).toBe(28 + 20);
      expect(payloadOf(decoder)).toEqual(PAYLOAD);
    });

    it('ignores an exact duplicate fragment', () => {
      const decoder = decoderWith();
      const outcomes = feed(decoder, [fragments[0]!, fragments[1]!, fragments[1]!, ...fragments.slice(2)]);
      expect(outcomes).toEqual([PENDING, PENDING, PENDING, PENDING, PENDING, TCP]);
      expect(payloadOf(decoder)).toEqual(PAYLOAD);
    });

    it('drops the whole set on an overlapping fragment and counts the overlap', () => {
      // data bytes [40, 88) overlap the second fragment's [48, 96) without being a duplicate
      const tcp = packet.subarray(20);
      const overlapping = ipv4Packet({
        ...V4,
        protocol: 6,
        payload: tcp.subarray(40, 88),
        fragmentOffset: 40,
        moreFragments: true,
      });
      const decoder = decoderWith();
      const outcomes = feed(decoder, [fragments[0]!, fragments[1]!, overlapping, ...fragments.slice(2)]);
      expect(outcomes[2]).toEqual(malformed('fragment-overlap'));
      // the set was discarded, so the remaining fragments start a new set that never completes
      expect(outcomes.slice(3)).toEqual([PENDING, PENDING, PENDING]);
      expect(decoder.counters()).toMatchObject({ tcp: 0, malformed: { 'fragment-overlap': 1 } });
    });

    it('treats a second last fragment with a different end as an overlap', () => {
      const tcp = packet.subarray(20);
      const otherEnd = ipv4Packet({
        ...V4,
        protocol: 6,
        payload: tcp.subarray(192, 200),
        fragmentOffset: 192,
      });
      const decoder = decoderWith();
      expect(feed(decoder, [fragments[4]!, otherEnd])).toEqual([PENDING, malformed('fragment-overlap')]);
    });

    it('keeps datagrams with different ids, protocols or addresses apart', () => {
      const other = fragmentIpv4(
        tcpIpPacket({ ...V4, ipId: 0x4321, payload: PAYLOAD.slice().reverse() }),
        48,
      );
      const decoder = decoderWith();
      const interleaved = fragments.flatMap((f, i) => [f, other[i]!]);
      const outcomes = feed(decoder, interleaved);
      expect(outcomes.slice(0, 8).every((o) => o === outcomes[0])).toBe(true);
      expect(outcomes.slice(8)).toEqual([TCP, TCP]);
      expect(payloadOf(decoder)).toEqual(PAYLOAD.slice().reverse());
      expect(decoder.counters().fragmentsReassembled).toBe(2);
    });

    it('drops an incomplete set after the timeout, by packet time', () => {
      const decoder = decoderWith({ fragmentTimeoutMs: 30_000 });
      expect(decoder.decode(packetView(linkFrame(fragments[0]!), { tsMicros: T0 }))).toEqual(PENDING);
      const rest = feed(decoder, fragments.slice(1), T0 + 31 * SECOND);
      expect(rest).toEqual([PENDING, PENDING, PENDING, PENDING]);
      expect(decoder.counters().fragmentSetsDropped).toBe(1);
      expect(decoder.counters().tcp).toBe(0);
    });

    it('completes a set whose fragments arrive within the timeout', () => {
      const decoder = decoderWith({ fragmentTimeoutMs: 30_000 });
      expect(decoder.decode(packetView(linkFrame(fragments[0]!), { tsMicros: T0 }))).toEqual(PENDING);
      expect(feed(decoder, fragments.slice(1), T0 + 29 * SECOND).at(-1)).toEqual(TCP);
      expect(decoder.counters().fragmentSetsDropped).toBe(0);
    });

    it('reports a set growing past the byte bound as fragment-too-large', () => {
      const decoder = decoderWith({ maxFragmentBytes: 120 });
      // held: 48+20 header, then 48 more = 116, then 48 more = 164 > 120
      expect(feed(decoder, fragments.slice(0, 3))).toEqual([
        PENDING,
        PENDING,
        malformed('fragment-too-large'),
      ]);
      expect(decoder.counters().malformed).toEqual({ 'fragment-too-large': 1 });
    });

    it('drops the oldest incomplete set to make room for a newer one', () => {
      const decoder = decoderWith({ maxFragmentBytes: 200 });
      const a = fragmentIpv4(tcpIpPacket({ ...V4, ipId: 1 }), 48);
      const b = fragmentIpv4(tcpIpPacket({ ...V4, ipId: 2 }), 48);
      // set 1 holds 68 + 48 = 116 bytes; set 2's first two fragments need 116 more: set 1 goes
      expect(feed(decoder, [a[0]!, a[1]!, b[0]!, b[1]!])).toEqual([PENDING, PENDING, PENDING, PENDING]);
      expect(decoder.counters().fragmentSetsDropped).toBe(1);
    });

    it('reports a fragment ending past 65,535 bytes as fragment-too-large', () => {
      const far = ipv4Packet({ ...V4, protocol: 6, payload: new Uint8Array(24), fragmentOffset: 65512 });
      expect(feed(decoderWith(), [far])).toEqual([malformed('fragment-too-large')]);
      const first = ipv4Packet({ ...V4, protocol: 6, payload: packet.subarray(20, 44), moreFragments: true });
      // data ends at 65,520; with the 20-byte header the datagram would be 65,540 bytes
      const last = ipv4Packet({ ...V4, protocol: 6, payload: new Uint8Array(8), fragmentOffset: 65512 });
      const decoder = decoderWith({ maxFragmentBytes: 1 << 20 });
      const middle: Uint8Array[] = [];
      for (let offset = 24; offset < 65512; offset += 1480) {
        const size = Math.min(1480, 65512 - offset);
        middle.push(
          ipv4Packet({
            ...V4,
            protocol: 6,
            payload: new Uint8Array(size),
            fragmentOffset: offset,
            moreFragments: true,
          }),
        );
      }
      const outcomes = feed(decoder, [first, ...middle, last]);
      expect(outcomes.at(-1)).toEqual(malformed('fragment-too-large'));
    });

    it('skips fragments as fragment-dropped when reassembly is off', () => {
      const decoder = decoderWith({ reassembleFragments: false });
      expect(feed(decoder, fragments)).toEqual(fragments.map(() => skipped('fragment-dropped')));
    });

    it('drops a fragment cut by the snaplen', () => {
      const decoder = decoderWith();
      const frame = linkFrame(fragments[0]!);
      expect(decoder.decode(packetView(frame, { snaplen: frame.length - 1 }))).toEqual(
        skipped('fragment-dropped'),
      );
    });

    it('skips non-TCP fragments without holding them', () => {
      const udp = ipv4Packet({ ...V4, protocol: 17, payload: new Uint8Array(64), moreFragments: true });
      const ipip = ipv4Packet({ ...V4, protocol: 4, payload: new Uint8Array(64), moreFragments: true });
      expect(feed(decoderWith(), [udp, ipip])).toEqual([skipped('not-tcp'), skipped('ip-in-ip')]);
    });

    it('verifies each fragment header checksum', () => {
      const bad = new Uint8Array(fragments[1]!);
      bad[10]! ^= 0x01;
      const decoder = decoderWith();
      expect(feed(decoder, [fragments[0]!, bad])).toEqual([PENDING, malformed('ipv4-bad-checksum')]);
    });

    it('applies the port filter to the reassembled datagram', () => {
      const http = fragmentIpv4(tcpIpPacket({ ...V4, dport: 80 }), 48);
      const decoder = decoderWith({ ports: new Set([25]) });
      expect(feed(decoder, http).at(-1)).toEqual(skipped('port-filtered'));
      expect(decoder.counters().fragmentsReassembled).toBe(1);
    });

    it('verifies the TCP checksum over the reassembled segment', () => {
      const bad = fragmentIpv4(tcpIpPacket({ ...V4, tcpChecksum: 'bad' }), 48);
      expect(feed(decoderWith(), bad).at(-1)).toEqual(malformed('tcp-bad-checksum'));
      expect(feed(decoderWith({ verifyChecksums: false }), bad).at(-1)).toEqual(TCP);
    });

    it(`holds at most ${MAX_FRAGMENT_SETS} incomplete sets`, () => {
      const decoder = decoderWith();
      const firsts = Array.from({ length: MAX_FRAGMENT_SETS + 5 }, (_, id) =>
        ipv4Packet({ ...V4, ipId: id, protocol: 6, payload: new Uint8Array(8), moreFragments: true }),
      );
      feed(decoder, firsts);
      expect(decoder.counters().fragmentSetsDropped).toBe(5);
    });
  });

  describe('IPv6', () => {
    const packet = tcpIpPacket(V6);
    const fragments = fragmentIpv6(packet, 64, 0xdeadbeef); // 220 bytes of TCP: 64+64+64+28

    it('reassembles fragments in order and in reverse', () => {
      expect(fragments).toHaveLength(4);
      for (const parts of [fragments, [...fragments].reverse()]) {
        const decoder = decoderWith();
        expect(feed(decoder, parts)).toEqual([PENDING, PENDING, PENDING, TCP]);
        const s = decoder.segment;
        expect(payloadOf(decoder)).toEqual(PAYLOAD);
        expect([s.ipVersion, s.srcPort, s.checksumOk]).toEqual([6, 40001, true]);
        expect(formatAddress(s.buffer, s.srcAddrOffset, 6)).toBe('2001:db8::a');
        expect(formatAddress(s.buffer, s.dstAddrOffset, 6)).toBe('2001:db8::b');
      }
    });

    it('keeps hop-by-hop in the unfragmentable part and parses destination options inside the datagram', () => {
      const withHeaders = tcpIpPacket({
        ...V6,
        extensionHeaders: [
          { kind: 'hop-by-hop' },
          { kind: 'routing', length: 24 },
          { kind: 'destination-options' },
        ],
      });
      const parts = fragmentIpv6(withHeaders, 48, 9);
      // each fragment: 40 + 8 (hop-by-hop) + 24 (routing) + 8 (fragment header) + data
      expect(parts[0]![40 + 8]).toBe(44);
      const decoder = decoderWith();
      const outcomes = feed(decoder, [parts[1]!, parts[0]!, ...parts.slice(2)]);
      expect(outcomes.at(-1)).toEqual(TCP);
      expect(decoder.segment.payloadOffset).toBe(40 + 8 + 24 + 8 + 20);
      expect(payloadOf(decoder)).toEqual(PAYLOAD);
      expect(decoder.segment.checksumOk).toBe(true);
    });

    it('drops the set on an overlap', () => {
      const overlapping = new Uint8Array(fragments[1]!);
      // move the second fragment from offset 64 to offset 56
      overlapping[40 + 2] = 0;
      overlapping[40 + 3] = 56 | 1;
      const decoder = decoderWith();
      expect(feed(decoder, [fragments[0]!, overlapping])).toEqual([PENDING, malformed('fragment-overlap')]);
    });

    it('skips fragments of upper layers that cannot lead to TCP', () => {
      const udp = fragmentIpv6(ipv6Packet({ ...V6, nextHeader: 17, payload: new Uint8Array(100) }), 48, 1);
      const esp = fragmentIpv6(ipv6Packet({ ...V6, nextHeader: 50, payload: new Uint8Array(100) }), 48, 2);
      const decoder = decoderWith();
      expect(feed(decoder, [udp[0]!, esp[0]!])).toEqual([skipped('not-tcp'), skipped('not-tcp')]);
    });

    it('reports a fragment header inside a reassembled datagram as ipv6-bad-extension', () => {
      // fragment an already-fragmented packet: the inner fragment header ends up in the datagram
      const inner = fragmentIpv6(packet, 4096, 5)[0]!;
      const innerWithMore = new Uint8Array(inner);
      innerWithMore[40 + 3] = 1; // M flag: a real (non-atomic) fragment
      const outer = fragmentIpv6(innerWithMore, 64, 6);
      const decoder = decoderWith({ verifyChecksums: false });
      expect(feed(decoder, outer).at(-1)).toEqual(malformed('ipv6-bad-extension'));
    });
  });
});
