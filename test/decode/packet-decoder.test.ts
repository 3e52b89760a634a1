import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/decode/address.js';
import { createPacketDecoder, DEFAULT_DECODER_OPTIONS } from '../../src/decode/packet-decoder.js';
import { type DecodeOutcome, type PacketDecoder, TCP_FLAG } from '../../src/decode/types.js';
import {
  fragmentIpv6,
  ipv4Packet,
  ipv6Packet,
  type LinkKind,
  linkFrame,
  packetView,
  type TcpFrameSpec,
  tcpFrame,
  tcpIpPacket,
  tcpSegment,
} from '../helpers/frames.js';

const TCP: DecodeOutcome = { kind: 'tcp' };
const skipped = (reason: string) => ({ kind: 'skipped', reason });
const malformed = (reason: string) => ({ kind: 'malformed', reason });

function decodeOne(
  frame: Uint8Array,
  view: Parameters<typeof packetView>[1] = {},
  options: Parameters<typeof createPacketDecoder>[0] = {},
): { outcome: DecodeOutcome; decoder: PacketDecoder } {
  const decoder = createPacketDecoder(options);
  const outcome = decoder.decode(packetView(frame, view));
  return { outcome, decoder };
}

function payloadOf(decoder: PacketDecoder): string {
  const s = decoder.segment;
  return Buffer.from(s.buffer.subarray(s.payloadOffset, s.payloadOffset + s.payloadLength)).toString(
    'latin1',
  );
}

const V4: TcpFrameSpec = {
  src: '192.0.2.10',
  dst: '198.51.100.25',
  sport: 51234,
  dport: 25,
  seq: 1000,
  ack: 2000,
  flags: 'PA',
  window: 512,
  payload: 'EHLO client.example\r\n',
};
const V6: TcpFrameSpec = { ...V4, src: '2001:db8::10', dst: 'fe80::1:2' };

describe('packet-decoder', () => {
  describe('link layers', () => {
    const cases: [string, LinkKind, TcpFrameSpec][] = [];
    for (const link of [
      'ethernet',
      'sll',
      'sll2',
      'null',
      'null-be',
      'loop',
      'raw',
      'raw-12',
      'raw-14',
    ] as const) {
      cases.push([`${link} IPv4`, link, V4], [`${link} IPv6`, link, V6]);
    }
    cases.push(['ipv4 (228)', 'ipv4', V4], ['ipv6 (229)', 'ipv6', V6]);

    it.each(cases)('decodes TCP over %s', (_name, link, spec) => {
      const { outcome, decoder } = decodeOne(tcpFrame({ ...spec, link }), { link, index: 7, tsMicros: 42 });
      expect(outcome).toEqual(TCP);
      const s = decoder.segment;
      expect(formatAddress(s.buffer, s.srcAddrOffset, s.ipVersion)).toBe(spec.src);
      expect(formatAddress(s.buffer, s.dstAddrOffset, s.ipVersion)).toBe(spec.dst);
      expect(s.ipVersion).toBe(spec.src?.includes(':') === true ? 6 : 4);
      expect([s.srcPort, s.dstPort, s.seq, s.ack, s.window]).toEqual([51234, 25, 1000, 2000, 512]);
      expect(s.flags).toBe(TCP_FLAG.PSH | TCP_FLAG.ACK);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
      expect(s.wirePayloadLength).toBe(21);
      expect([s.tsMicros, s.frameIndex, s.checksumOk]).toEqual([42, 7, null]);
    });

    it.each([
      ['little-endian', 'null', 24],
      ['little-endian', 'null', 28],
      ['little-endian', 'null', 30],
      ['big-endian', 'null-be', 24],
      ['big-endian', 'null-be', 28],
      ['big-endian', 'null-be', 30],
      ['network order', 'loop', 24],
      ['network order', 'loop', 28],
      ['network order', 'loop', 30],
    ] as const)('accepts BSD loopback in %s (%s) with IPv6 family %i', (_order, link, family) => {
      expect(decodeOne(tcpFrame({ ...V6, link, family }), { link }).outcome).toEqual(TCP);
    });

    it('accepts IPv4 family 2 in both NULL byte orders (02 00 00 00 and 00 00 00 02)', () => {
      const le = tcpFrame({ ...V4, link: 'null' });
      const be = tcpFrame({ ...V4, link: 'null-be' });
      expect(Array.from(le.subarray(0, 4))).toEqual([2, 0, 0, 0]);
      expect(Array.from(be.subarray(0, 4))).toEqual([0, 0, 0, 2]);
      expect(decodeOne(le, { link: 'null' }).outcome).toEqual(TCP);
      expect(decodeOne(be, { link: 'null' }).outcome).toEqual(TCP);
    });

    it.each([
      ['NULL with an unknown address family', tcpFrame({ ...V4, link: 'null', family: 7 }), 'null'],
      [
        'NULL with a non-family value in both halves',
        tcpFrame({ ...V4, link: 'null', family: 0x02000200 }),
        'null',
      ],
      ['LOOP written in little-endian order', tcpFrame({ ...V4, link: 'null' }), 'loop'],
      ['raw IP with version nibble 5', Uint8Array.of(0x50, 0, 0, 0), 'raw'],
      ['Ethernet ARP', tcpFrame({ ...V4, ethertype: 0x0806 }), 'ethernet'],
      ['Ethernet 802.3 length field (LLC)', tcpFrame({ ...V4, ethertype: 0x002e }), 'ethernet'],
      ['Ethernet 802.3 maximum length 1500', tcpFrame({ ...V4, ethertype: 1500 }), 'ethernet'],
      ['SLL with the 802.2 LLC protocol value', tcpFrame({ ...V4, link: 'sll', ethertype: 0x0004 }), 'sll'],
      ['SLL of a netlink socket', tcpFrame({ ...V4, link: 'sll', arphrd: 824 }), 'sll'],
      ['SLL2 of a netlink socket', tcpFrame({ ...V4, link: 'sll2', arphrd: 824 }), 'sll2'],
    ] as const)('skips %s as not-ip', (_name, frame, link) => {
      expect(decodeOne(frame, { link }).outcome).toEqual(skipped('not-ip'));
    });

    it('skips an unknown link type as unsupported-link', () => {
      expect(decodeOne(tcpFrame(V4), { linkType: 147 }).outcome).toEqual(skipped('unsupported-link'));
    });

    it.each([
      ['ethernet', 13],
      ['sll', 15],
      ['sll2', 19],
      ['null', 3],
      ['loop', 3],
      ['raw', 0],
    ] as const)('reports a %s header cut to %i bytes as link-truncated', (link, bytes) => {
      const frame = tcpFrame({ ...V4, link });
      expect(decodeOne(frame.subarray(0, bytes), { link }).outcome).toEqual(malformed('link-truncated'));
    });

    it('reads the packet at its offset inside a larger buffer', () => {
      const { outcome, decoder } = decodeOne(tcpFrame(V4), { offset: 37 });
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.srcAddrOffset).toBe(37 + 14 + 12);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
    });
  });

  describe('VLAN tags', () => {
    it.each([
      ['one 802.1Q tag', [100]],
      ['802.1Q in 802.1Q', [100, 200]],
      ['802.1ad outer, 802.1Q inner', [{ id: 10, tpid: 0x88a8 }, 20]],
      ['0x9100 outer, 802.1Q inner', [{ id: 10, tpid: 0x9100 }, 20]],
      ['three tags with priorities', [{ id: 1, priority: 7 }, { id: 4095, tpid: 0x88a8 }, 5]],
      ['eight tags (the bound)', [1, 2, 3, 4, 5, 6, 7, 8]],
    ] as const)('follows %s on Ethernet', (_name, vlan) => {
      const frame = tcpFrame({ ...V4, vlan });
      expect(frame.length).toBe(14 + 4 * vlan.length + 20 + 20 + 21);
      const { outcome, decoder } = decodeOne(frame);
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.srcAddrOffset).toBe(14 + 4 * vlan.length + 12);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
    });

    it.each(['sll', 'sll2'] as const)('follows tags on %s', (link) => {
      const { outcome, decoder } = decodeOne(tcpFrame({ ...V6, link, vlan: [7, 8] }), { link });
      expect(outcome).toEqual(TCP);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
    });

    it('gives up past eight tags as not-ip', () => {
      expect(decodeOne(tcpFrame({ ...V4, vlan: [1, 2, 3, 4, 5, 6, 7, 8, 9] })).outcome).toEqual(
        skipped('not-ip'),
      );
    });

    it('reports a frame ending inside a tag as vlan-truncated', () => {
      const frame = tcpFrame({ ...V4, vlan: [100, 200] });
      for (const bytes of [14, 15, 17, 18, 21]) {
        expect(decodeOne(frame.subarray(0, bytes)).outcome).toEqual(malformed('vlan-truncated'));
      }
    });

    it('skips a tagged non-IP frame as not-ip', () => {
      expect(decodeOne(tcpFrame({ ...V4, vlan: [3], ethertype: 0x0806 })).outcome).toEqual(skipped('not-ip'));
    });
  });

  describe('IPv4', () => {
    it('skips over options (IHL above 5)', () => {
      for (const optionBytes of [4, 12, 40]) {
        const ipOptions = new Uint8Array(optionBytes).fill(1); // NOP options
        const { outcome, decoder } = decodeOne(tcpFrame({ ...V4, ipOptions }), {}, { verifyChecksums: true });
        expect(outcome).toEqual(TCP);
        expect(decoder.segment.payloadOffset).toBe(14 + 20 + optionBytes + 20);
        expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
        expect(decoder.segment.checksumOk).toBe(true);
      }
    });

    it('trims Ethernet padding after a short datagram', () => {
      const frame = tcpFrame({ ...V4, payload: '', flags: 'S', padTo: 60 });
      expect(frame.length).toBe(60);
      const { outcome, decoder } = decodeOne(frame, {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect([decoder.segment.payloadLength, decoder.segment.wirePayloadLength]).toEqual([0, 0]);
      expect(decoder.segment.checksumOk).toBe(true);
    });

    it('trims a trailing FCS', () => {
      const frame = tcpFrame({ ...V4, trailer: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) });
      const { outcome, decoder } = decodeOne(frame, {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
    });

    it('keeps the wire length of a datagram cut by the snaplen and does not verify its checksum', () => {
      const payload = 'x'.repeat(100);
      const frame = tcpFrame({ ...V4, payload, tcpChecksum: 'bad' });
      const { outcome, decoder } = decodeOne(frame, { snaplen: 14 + 40 + 30 }, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect([decoder.segment.payloadLength, decoder.segment.wirePayloadLength]).toEqual([30, 100]);
      expect(decoder.segment.checksumOk).toBeNull();
    });

    it('accepts a snaplen cut exactly at the end of the TCP header', () => {
      const { outcome, decoder } = decodeOne(tcpFrame(V4), { snaplen: 54 });
      expect(outcome).toEqual(TCP);
      expect([decoder.segment.payloadLength, decoder.segment.wirePayloadLength]).toEqual([0, 21]);
    });

    it('takes a total length of 0 (offload on the sender) as the captured length', () => {
      const { outcome, decoder } = decodeOne(tcpFrame({ ...V4, ipLength: 0 }));
      expect(outcome).toEqual(TCP);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
    });

    it.each([
      ['UDP', 17, skipped('not-tcp')],
      ['ICMP', 1, skipped('not-tcp')],
      ['IPv4 in IPv4', 4, skipped('ip-in-ip')],
      ['IPv6 in IPv4 (6in4)', 41, skipped('ip-in-ip')],
    ] as const)('skips %s', (_name, protocol, expected) => {
      const frame = linkFrame(ipv4Packet({ protocol, payload: new Uint8Array(28) }));
      expect(decodeOne(frame).outcome).toEqual(expected);
    });

    it.each([
      ['a header cut at 19 bytes', () => tcpFrame(V4).subarray(0, 14 + 19), 'ipv4-truncated'],
      [
        'options cut by the snaplen',
        () => tcpFrame({ ...V4, ipOptions: new Uint8Array(8).fill(1) }).subarray(0, 14 + 24),
        'ipv4-truncated',
      ],
      ['IHL 4', () => tcpFrame({ ...V4, ihl: 4 }), 'ipv4-bad-header-length'],
      ['IHL 0', () => tcpFrame({ ...V4, ihl: 0 }), 'ipv4-bad-header-length'],
      [
        'total length below the header length',
        () => tcpFrame({ ...V4, ipLength: 19 }),
        'ipv4-bad-total-length',
      ],
      [
        'IHL 15 beyond a 40-byte total length',
        () => tcpFrame({ ...V4, ihl: 15, ipLength: 40 }),
        'ipv4-bad-total-length',
      ],
      ['total length past the frame', () => tcpFrame({ ...V4, ipLength: 200 }), 'ipv4-bad-total-length'],
      [
        'version 6 behind EtherType IPv4',
        () => linkFrame(tcpIpPacket(V6), { ethertype: 0x0800 }),
        'ip-bad-version',
      ],
      ['version 5 behind EtherType IPv4', () => tcpFrame({ ...V4, ipVersion: 5 }), 'ip-bad-version'],
      [
        'version 4 behind EtherType IPv6',
        () => linkFrame(tcpIpPacket(V4), { ethertype: 0x86dd }),
        'ip-bad-version',
      ],
    ] as const)('reports %s as %s', (_name, build, kind) => {
      // a frame cut by subarray() here is a complete frame on the wire, not a snaplen cut
      expect(decodeOne(build()).outcome).toEqual(malformed(kind));
    });

    it('reports a total length beyond what the snaplen cut as ipv4-bad-total-length', () => {
      const frame = tcpFrame({ ...V4, ipLength: 1000 });
      // 20 bytes cut, but the header claims 1000 - 61 more
      expect(decodeOne(frame, { snaplen: frame.length - 20 }).outcome).toEqual(
        malformed('ipv4-bad-total-length'),
      );
      expect(decodeOne(frame, { snaplen: frame.length - 20, originalLength: 14 + 1000 }).outcome).toEqual(
        TCP,
      );
    });
  });

  describe('IPv6', () => {
    it('walks hop-by-hop, destination options, routing and AH headers', () => {
      const spec: TcpFrameSpec = {
        ...V6,
        extensionHeaders: [
          { kind: 'hop-by-hop', length: 8 },
          { kind: 'destination-options', length: 24 },
          { kind: 'routing', length: 16 },
          { kind: 'authentication', length: 12 },
          { kind: 'destination-options' },
        ],
      };
      const { outcome, decoder } = decodeOne(tcpFrame(spec), {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.payloadOffset).toBe(14 + 40 + 8 + 24 + 16 + 12 + 8 + 20);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
      expect(decoder.segment.checksumOk).toBe(true);
    });

    it('does not verify the checksum when a routing header has segments left (destination unknown)', () => {
      const frame = tcpFrame({
        ...V6,
        extensionHeaders: [{ kind: 'routing', segmentsLeft: 2 }],
        tcpChecksum: 'bad',
      });
      const { outcome, decoder } = decodeOne(frame, {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.checksumOk).toBeNull();
    });

    it('decodes through an atomic fragment header (offset 0, no more fragments)', () => {
      const [atomic, ...rest] = fragmentIpv6(tcpIpPacket(V6), 4096, 77);
      expect(rest).toHaveLength(0);
      const { outcome, decoder } = decodeOne(linkFrame(atomic!), {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
      expect(decoder.counters().fragmentsReassembled).toBe(0);
    });

    it('accepts a chain of 16 extension headers and rejects 17', () => {
      const chain = (n: number) =>
        Array.from({ length: n }, () => ({ kind: 'destination-options' as const }));
      expect(decodeOne(tcpFrame({ ...V6, extensionHeaders: chain(16) })).outcome).toEqual(TCP);
      expect(decodeOne(tcpFrame({ ...V6, extensionHeaders: chain(17) })).outcome).toEqual(
        malformed('ipv6-bad-extension'),
      );
    });

    it.each([
      ['ESP', 50, skipped('not-tcp')],
      ['no next header', 59, skipped('not-tcp')],
      ['UDP', 17, skipped('not-tcp')],
      ['ICMPv6', 58, skipped('not-tcp')],
      ['IPv4 in IPv6', 4, skipped('ip-in-ip')],
      ['IPv6 in IPv6', 41, skipped('ip-in-ip')],
    ] as const)('skips %s after an extension header', (_name, nextHeader, expected) => {
      const packet = ipv6Packet({
        nextHeader,
        payload: new Uint8Array(24),
        extensionHeaders: [{ kind: 'hop-by-hop' }],
      });
      expect(decodeOne(linkFrame(packet)).outcome).toEqual(expected);
    });

    it('trims a payload length shorter than the frame, and takes 0 as the captured length', () => {
      const padded = tcpFrame({ ...V6, trailer: new Uint8Array(6) });
      const first = decodeOne(padded);
      expect(first.outcome).toEqual(TCP);
      expect(payloadOf(first.decoder)).toBe('EHLO client.example\r\n');
      const zero = decodeOne(tcpFrame({ ...V6, ipLength: 0 }));
      expect(zero.outcome).toEqual(TCP);
      expect(payloadOf(zero.decoder)).toBe('EHLO client.example\r\n');
    });

    it.each([
      ['a header cut at 39 bytes', () => tcpFrame(V6).subarray(0, 14 + 39), 'ipv6-truncated'],
      [
        'a payload length past the frame',
        () => tcpFrame({ ...V6, ipLength: 500 }),
        'ipv6-bad-payload-length',
      ],
      [
        'hop-by-hop after another extension',
        () =>
          tcpFrame({ ...V6, extensionHeaders: [{ kind: 'destination-options' }, { kind: 'hop-by-hop' }] }),
        'ipv6-bad-extension',
      ],
      [
        'an extension longer than the payload',
        () =>
          tcpFrame({
            ...V6,
            payload: '',
            extensionHeaders: [{ kind: 'destination-options', length: 48 }],
            ipLength: 40,
          }),
        'ipv6-bad-extension',
      ],
      [
        'an extension header with fewer than 8 bytes left',
        () => linkFrame(ipv6Packet({ nextHeader: 60, payload: new Uint8Array(4) })),
        'ipv6-bad-extension',
      ],
    ] as const)('reports %s as %s', (_name, build, kind) => {
      expect(decodeOne(build()).outcome).toEqual(malformed(kind));
    });

    it('reports an extension header cut by the snaplen as ipv6-truncated', () => {
      const frame = tcpFrame({ ...V6, extensionHeaders: [{ kind: 'destination-options', length: 32 }] });
      expect(decodeOne(frame, { snaplen: 14 + 40 + 20 }).outcome).toEqual(malformed('ipv6-truncated'));
      expect(decodeOne(frame, { snaplen: 14 + 40 + 4 }).outcome).toEqual(malformed('ipv6-truncated'));
    });
  });

  describe('TCP', () => {
    it('skips over TCP options and reads full 32-bit sequence numbers and all flags', () => {
      const tcpOptions = Uint8Array.of(2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 3, 3, 7);
      const { outcome, decoder } = decodeOne(
        tcpFrame({ ...V4, tcpOptions, seq: 0xffffffff, ack: 0x80000000, flags: 'FSRPAUEC', window: 0xffff }),
        {},
        { verifyChecksums: true },
      );
      expect(outcome).toEqual(TCP);
      const s = decoder.segment;
      expect(s.payloadOffset).toBe(14 + 20 + 40);
      expect([s.seq, s.ack, s.flags, s.window]).toEqual([4294967295, 2147483648, 0xff, 65535]);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
      expect(s.checksumOk).toBe(true);
    });

    it.each([
      [
        'an IP payload of 3 bytes',
        () => linkFrame(ipv4Packet({ protocol: 6, payload: Uint8Array.of(0, 25, 0) })),
        'tcp-truncated',
      ],
      [
        'an IP payload of 19 bytes',
        () => linkFrame(ipv4Packet({ protocol: 6, payload: tcpSegment().subarray(0, 19) })),
        'tcp-truncated',
      ],
      ['data offset 4', () => tcpFrame({ ...V4, dataOffset: 4 }), 'tcp-bad-data-offset'],
      ['data offset 0', () => tcpFrame({ ...V4, dataOffset: 0 }), 'tcp-bad-data-offset'],
      [
        'data offset past the IP payload',
        () => tcpFrame({ ...V4, payload: '', dataOffset: 6 }),
        'tcp-bad-data-offset',
      ],
    ] as const)('reports %s as %s', (_name, build, kind) => {
      expect(decodeOne(build()).outcome).toEqual(malformed(kind));
    });

    it('reports a header or options cut by the snaplen as tcp-truncated', () => {
      const frame = tcpFrame({ ...V4, tcpOptions: new Uint8Array(12).fill(1) });
      expect(decodeOne(frame, { snaplen: 14 + 20 + 3 }).outcome).toEqual(malformed('tcp-truncated'));
      expect(decodeOne(frame, { snaplen: 14 + 20 + 19 }).outcome).toEqual(malformed('tcp-truncated'));
      expect(decodeOne(frame, { snaplen: 14 + 20 + 31 }).outcome).toEqual(malformed('tcp-truncated'));
      expect(decodeOne(frame, { snaplen: 14 + 20 + 32 }).outcome).toEqual(TCP);
    });
  });

  describe('checksums', () => {
    it('does not verify by default, even when both are wrong', () => {
      expect(DEFAULT_DECODER_OPTIONS.verifyChecksums).toBe(false);
      const { outcome, decoder } = decodeOne(tcpFrame({ ...V4, tcpChecksum: 'bad', ipChecksum: 'bad' }));
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.checksumOk).toBeNull();
    });

    it.each([
      ['IPv4 header', { ...V4, ipChecksum: 'bad' }, 'ipv4-bad-checksum'],
      ['IPv4 TCP', { ...V4, tcpChecksum: 'bad' }, 'tcp-bad-checksum'],
      ['IPv4 TCP, odd payload length', { ...V4, payload: 'abc', tcpChecksum: 'bad' }, 'tcp-bad-checksum'],
      ['IPv6 TCP', { ...V6, tcpChecksum: 'bad' }, 'tcp-bad-checksum'],
      ['IPv4 TCP stored as zero', { ...V4, tcpChecksum: 0 }, 'tcp-bad-checksum'],
    ] as const)('rejects a wrong %s checksum when verifying', (_name, spec, kind) => {
      const { outcome, decoder } = decodeOne(tcpFrame(spec), {}, { verifyChecksums: true });
      expect(outcome).toEqual(malformed(kind));
      if (kind === 'tcp-bad-checksum') expect(decoder.segment.checksumOk).toBe(false);
    });

    it.each([
      ['IPv4', V4],
      ['IPv4, odd payload', { ...V4, payload: 'odd' }],
      ['IPv4, empty payload', { ...V4, payload: '' }],
      ['IPv6', V6],
      ['IPv6, odd payload', { ...V6, payload: 'odd' }],
    ] as const)('accepts correct %s checksums when verifying', (_name, spec) => {
      const { outcome, decoder } = decodeOne(tcpFrame(spec), {}, { verifyChecksums: true });
      expect(outcome).toEqual(TCP);
      expect(decoder.segment.checksumOk).toBe(true);
    });

    it('detects a single flipped payload bit', () => {
      const frame = tcpFrame(V4);
      frame[frame.length - 3]! ^= 0x04;
      expect(decodeOne(frame, {}, { verifyChecksums: true }).outcome).toEqual(malformed('tcp-bad-checksum'));
    });
  });

  describe('port filter', () => {
    const ports = new Set([25, 587]);

    it.each([
      ['destination port in the set', { ...V4, sport: 40000, dport: 25 }, TCP],
      ['source port in the set', { ...V4, sport: 587, dport: 40000 }, TCP],
      ['neither port in the set', { ...V4, sport: 40000, dport: 80 }, skipped('port-filtered')],
      ['neither port in the set (IPv6)', { ...V6, sport: 443, dport: 80 }, skipped('port-filtered')],
    ] as const)('passes or filters: %s', (_name, spec, expected) => {
      expect(decodeOne(tcpFrame(spec), {}, { ports }).outcome).toEqual(expected);
    });

    it('filters before checking checksums or the TCP header past the ports', () => {
      const spec = { ...V4, dport: 80, ipChecksum: 'bad', tcpChecksum: 'bad', dataOffset: 2 } as const;
      expect(decodeOne(tcpFrame(spec), {}, { ports, verifyChecksums: true }).outcome).toEqual(
        skipped('port-filtered'),
      );
      expect(decodeOne(tcpFrame(spec), {}, { verifyChecksums: true }).outcome).toEqual(
        malformed('ipv4-bad-checksum'),
      );
    });

    it('needs the four port bytes first', () => {
      const frame = linkFrame(ipv4Packet({ protocol: 6, payload: Uint8Array.of(0, 25) }));
      expect(decodeOne(frame, {}, { ports }).outcome).toEqual(malformed('tcp-truncated'));
    });

    it('passes everything with the default null filter and filters everything with an empty set', () => {
      expect(decodeOne(tcpFrame({ ...V4, dport: 1 })).outcome).toEqual(TCP);
      expect(decodeOne(tcpFrame(V4), {}, { ports: new Set() }).outcome).toEqual(skipped('port-filtered'));
    });
  });

  describe('outcomes and counters', () => {
    it('returns the same frozen outcome object for the same outcome', () => {
      const decoder = createPacketDecoder();
      const a = decoder.decode(packetView(tcpFrame(V4)));
      const b = decoder.decode(packetView(tcpFrame(V6)));
      const c = decoder.decode(packetView(tcpFrame({ ...V4, ethertype: 0x0806 })));
      const d = decoder.decode(packetView(tcpFrame({ ...V4, ethertype: 0x0806 })));
      expect(a).toBe(b);
      expect(c).toBe(d);
      expect(Object.isFrozen(a)).toBe(true);
    });

    it('fills one segment object in place', () => {
      const decoder = createPacketDecoder();
      const segment = decoder.segment;
      decoder.decode(packetView(tcpFrame({ ...V4, sport: 1111 })));
      expect(decoder.segment).toBe(segment);
      expect(segment.srcPort).toBe(1111);
      decoder.decode(packetView(tcpFrame({ ...V4, sport: 2222 })));
      expect(segment.srcPort).toBe(2222);
    });

    it('counts each outcome once per decoded packet', () => {
      const decoder = createPacketDecoder({ ports: new Set([25]), verifyChecksums: true });
      const frames: [Uint8Array, LinkKind][] = [
        [tcpFrame(V4), 'ethernet'],
        [tcpFrame({ ...V6, link: 'sll2' }), 'sll2'],
        [tcpFrame({ ...V4, link: 'loop' }), 'loop'],
        [tcpFrame({ ...V4, ethertype: 0x0806 }), 'ethernet'],
        [tcpFrame({ ...V4, ethertype: 0x0806 }), 'ethernet'],
        [tcpFrame({ ...V4, dport: 80 }), 'ethernet'],
        [tcpFrame({ ...V4, tcpChecksum: 'bad' }), 'ethernet'],
        [tcpFrame(V4).subarray(0, 10), 'ethernet'],
      ];
      for (const [frame, link] of frames) decoder.decode(packetView(frame, { link }));
      decoder.decode(packetView(tcpFrame(V4), { linkType: 9999 }));
      expect(decoder.counters()).toEqual({
        tcp: 3,
        skipped: { 'not-ip': 2, 'port-filtered': 1, 'unsupported-link': 1 },
        malformed: { 'tcp-bad-checksum': 1, 'link-truncated': 1 },
        fragmentsReassembled: 0,
        fragmentSetsDropped: 0,
      });
    });

    it('does not throw when the view claims more bytes than its buffer holds', () => {
      const frame = tcpFrame(V4);
      const decoder = createPacketDecoder({ verifyChecksums: true });
      const view = {
        ...packetView(frame),
        capturedLength: frame.length + 100,
        originalLength: frame.length + 100,
      };
      expect(decoder.decode(view)).toEqual(TCP);
      expect(payloadOf(decoder)).toBe('EHLO client.example\r\n');
      const cut = { ...packetView(frame.subarray(0, 30)), capturedLength: 60, originalLength: 60 };
      expect(decoder.decode(cut)).toEqual(malformed('ipv4-truncated'));
    });
  });
});
