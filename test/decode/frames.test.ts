import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fragmentIpv4,
  fragmentIpv6,
  internetChecksum,
  LINK_TYPE_OF,
  type LinkKind,
  linkFrame,
  parseIp,
  type TcpFrameSpec,
  tcpFlags,
  tcpFrame,
  tcpIpPacket,
} from '../helpers/frames.js';
import { writePcapng } from './capture-file.js';

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const FIELDS = [
  'frame.number',
  'ip.src',
  'ipv6.src',
  'ip.dst',
  'ipv6.dst',
  'tcp.srcport',
  'tcp.dstport',
  'tcp.seq_raw',
  'tcp.ack_raw',
  'tcp.flags',
  'tcp.len',
  'tcp.checksum.status',
  'ip.checksum.status',
  'vlan.id',
] as const;
type Row = Record<(typeof FIELDS)[number], string>;

/** Decodes frames with tshark (checksum validation on) and returns one row of fields per frame. */
function tsharkRows(records: { frame: Uint8Array; link: LinkKind }[]): Row[] {
  const dir = mkdtempSync(join(tmpdir(), 'frames-'));
  try {
    const file = join(dir, 'frames.pcapng');
    writeFileSync(
      file,
      writePcapng(
        records.map((r, i) => ({ frame: r.frame, linkType: LINK_TYPE_OF[r.link], tsMicros: 1e15 + i })),
      ),
    );
    const args = ['-r', file, '-n', '-o', 'tcp.check_checksum:TRUE', '-o', 'ip.check_checksum:TRUE'];
    args.push(
      '-o',
      'tcp.relative_sequence_numbers:FALSE',
      '-T',
      'fields',
      '-E',
      'separator=|',
      '-E',
      'occurrence=a',
    );
    for (const field of FIELDS) args.push('-e', field);
    const out = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return out
      .trim()
      .split('\n')
      .map((line) => Object.fromEntries(line.split('|').map((v, i) => [FIELDS[i], v])) as Row);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('frames', () => {
  it('computes the RFC 1071 checksum of a known IPv4 header', () => {
    // 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7: the classic worked example
    const header = Uint8Array.from([
      0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7,
    ]);
    expect(internetChecksum(header)).toBe(0xb861);
  });

  it('lays out an Ethernet/802.1Q/IPv4/TCP frame byte by byte', () => {
    const frame = tcpFrame({
      vlan: [{ id: 0x123, priority: 5 }],
      src: '1.2.3.4',
      dst: '5.6.7.8',
      flags: 'S',
    });
    expect(Array.from(frame.subarray(12, 18))).toEqual([0x81, 0x00, 0xa1, 0x23, 0x08, 0x00]);
    expect(Array.from(frame.subarray(18, 22))).toEqual([0x45, 0, 0, 40]);
    expect(Array.from(frame.subarray(30, 38))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(frame[18 + 20 + 13]).toBe(0x02);
    expect(frame[18 + 20 + 12]).toBe(0x50);
  });

  it('parses IPv6 text with :: and a trailing dotted quad', () => {
    expect(Array.from(parseIp('::ffff:1.2.3.4'))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4,
    ]);
    expect(Array.from(parseIp('2001:db8::1').subarray(0, 4))).toEqual([0x20, 0x01, 0x0d, 0xb8]);
    expect(tcpFlags('SA')).toBe(0x12);
  });

  it.skipIf(!hasTshark())('builds frames that tshark decodes to the same fields with valid checksums', () => {
    const links: LinkKind[] = ['ethernet', 'sll', 'sll2', 'null', 'null-be', 'loop', 'raw'];
    const cases: { spec: TcpFrameSpec; link: LinkKind }[] = [];
    for (const link of links) {
      for (const v6 of [false, true]) {
        const vlan = link === 'ethernet' || link.startsWith('sll') ? [100 + cases.length] : undefined;
        const family = link === 'null-be' || link === 'null' || link === 'loop' ? (v6 ? 24 : 2) : undefined;
        cases.push({
          link,
          spec: {
            link,
            ...(vlan === undefined ? {} : { vlan }),
            ...(family === undefined ? {} : { family }),
            src: v6 ? '2001:db8::1:5' : '192.0.2.5',
            dst: v6 ? 'fd00::25' : '198.51.100.25',
            sport: 1000 + cases.length,
            dport: 25,
            seq: 0xfffffff0 - cases.length,
            ack: 123456 + cases.length,
            flags: 'PA',
            payload: `MAIL FROM:<a${cases.length}@example.org>\r\n`,
            ipOptions: v6 ? undefined : Uint8Array.of(1, 1, 1, 0),
            extensionHeaders: v6
              ? [{ kind: 'hop-by-hop' }, { kind: 'destination-options', length: 16 }]
              : undefined,
            tcpOptions: Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2),
          } as TcpFrameSpec,
        });
      }
    }
    const rows = tsharkRows(cases.map((c) => ({ frame: tcpFrame(c.spec), link: c.link })));
    expect(rows).toHaveLength(cases.length);
    rows.forEach((row, i) => {
      const spec = cases[i]!.spec;
      const v6 = spec.src!.includes(':');
      expect(v6 ? row['ipv6.src'] : row['ip.src']).toBe(spec.src);
      expect(v6 ? row['ipv6.dst'] : row['ip.dst']).toBe(spec.dst);
      expect([row['tcp.srcport'], row['tcp.dstport']]).toEqual([String(spec.sport), '25']);
      expect([row['tcp.seq_raw'], row['tcp.ack_raw']]).toEqual([String(spec.seq), String(spec.ack)]);
      expect(row['tcp.flags']).toBe('0x0018');
      expect(row['tcp.len']).toBe(String((spec.payload as string).length));
      expect(row['tcp.checksum.status']).toBe('1');
      if (!v6) expect(row['ip.checksum.status']).toBe('1');
      if (spec.vlan !== undefined) expect(row['vlan.id']).toBe(String(spec.vlan[0]));
    });
  });

  it.skipIf(!hasTshark())('builds wrong checksums that tshark flags as bad', () => {
    const rows = tsharkRows([
      { frame: tcpFrame({ tcpChecksum: 'bad', payload: 'x' }), link: 'ethernet' },
      { frame: tcpFrame({ ipChecksum: 'bad' }), link: 'ethernet' },
      { frame: tcpFrame({ src: '::1', dst: '::2', tcpChecksum: 'bad' }), link: 'ethernet' },
    ]);
    expect(rows.map((r) => [r['tcp.checksum.status'], r['ip.checksum.status']])).toEqual([
      ['0', '1'],
      ['1', '0'],
      ['0', ''],
    ]);
  });

  it.skipIf(!hasTshark())('builds IPv4 and IPv6 fragments that tshark reassembles', () => {
    const payload = 'DATA chunk '.repeat(20);
    const v4 = fragmentIpv4(tcpIpPacket({ payload, ipId: 99, ipOptions: Uint8Array.of(1, 1, 1, 0) }), 64);
    const v6 = fragmentIpv6(
      tcpIpPacket({
        src: '2001:db8::1',
        dst: '2001:db8::2',
        payload,
        extensionHeaders: [{ kind: 'hop-by-hop' }],
      }),
      64,
      7,
    );
    const rows = tsharkRows([...v4, ...v6].map((p) => ({ frame: linkFrame(p), link: 'ethernet' as const })));
    const withTcp = rows.filter((r) => r['tcp.len'] !== '');
    expect(withTcp.map((r) => [r['frame.number'], r['tcp.len'], r['tcp.checksum.status']])).toEqual([
      [String(v4.length), String(payload.length), '1'],
      [String(v4.length + v6.length), String(payload.length), '1'],
    ]);
  });
});
