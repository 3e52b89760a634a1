import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/decode/address.js';
import type { TcpSegment } from '../../src/decode/types.js';
import { Connection } from '../../src/reassembly/connection.js';
import { FlowTable, hashSegment, readSegmentWords } from '../../src/reassembly/flow-table.js';
import { HalfStream, HalfStreamShared, type SharedCounters } from '../../src/reassembly/half-stream.js';
import { makeSegment, parseAddress } from '../helpers/segments.js';

const counters: SharedCounters = {
  bufferedBytes: 0,
  gaps: 0,
  overlapsDiffering: 0,
  retransmissions: 0,
  perDirectionLimitHits: 0,
};

function connection(hash: number, id: string, src: string, srcPort: number, dst: string, dstPort: number) {
  const a = parseAddress(src);
  const words = new Int32Array(8);
  readSegmentWords(makeSegment({ src, srcPort, dst, dstPort, seq: 0 }), words);
  return new Connection(
    hash,
    id,
    a.length === 4 ? 4 : 6,
    words,
    0,
    srcPort,
    dstPort,
    () => new HalfStream(new HalfStreamShared(counters, 1000, 0)),
    0,
  );
}

function segment(src: string, srcPort: number, dst: string, dstPort: number): TcpSegment {
  return makeSegment({ src, srcPort, dst, dstPort, seq: 0 });
}

describe('flow-table', () => {
  it('hashes both directions of a connection to the same value', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
    const v6 = fc
      .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
      .map((groups) => groups.map((g) => g.toString(16)).join(':'));
    const port = fc.nat(0xffff);
    fc.assert(
      fc.property(fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)), port, port, ([x, y], px, py) => {
        expect(hashSegment(segment(x, px, y, py))).toBe(hashSegment(segment(y, py, x, px)));
      }),
    );
  });

  it('spreads nearby endpoints over distinct hashes', () => {
    const hashes = new Set<number>();
    for (let port = 40000; port < 42000; port++)
      hashes.add(hashSegment(segment('10.0.0.1', port, '10.0.0.2', 25)));
    for (let host = 0; host < 2000; host++) {
      hashes.add(hashSegment(segment(`10.1.${host >> 8}.${host & 255}`, 40000, '10.0.0.2', 25)));
    }
    expect(hashes.size).toBeGreaterThan(3990);
  });

  it('finds connections from either direction and tells which side sent', () => {
    const table = new FlowTable();
    const seg = segment('2001:db8::1', 50000, '2001:db8::2', 25);
    const conn = connection(hashSegment(seg), 'C1', '2001:db8::1', 50000, '2001:db8::2', 25);
    table.insert(conn);
    expect(table.lookup(seg)).toBe(conn);
    expect(table.fromA).toBe(true);
    expect(table.lookup(segment('2001:db8::2', 25, '2001:db8::1', 50000))).toBe(conn);
    expect(table.fromA).toBe(false);
    expect(table.lookup(segment('2001:db8::2', 25, '2001:db8::1', 50001))).toBeNull();
    expect(table.lookup(segment('10.0.0.1', 50000, '10.0.0.2', 25))).toBeNull();
  });

  it('keeps colliding connections apart by comparing addresses and ports', () => {
    const table = new FlowTable();
    const seg = segment('10.0.0.1', 40000, '10.0.0.2', 25);
    const hash = hashSegment(seg);
    // Two other connections forced into the same slot.
    const other = connection(hash, 'C1', '10.0.0.1', 40001, '10.0.0.2', 25);
    const swapped = connection(hash, 'C2', '10.0.0.2', 40000, '10.0.0.1', 25);
    const wanted = connection(hash, 'C3', '10.0.0.1', 40000, '10.0.0.2', 25);
    table.insert(other);
    table.insert(swapped);
    table.insert(wanted);
    expect(table.lookup(seg)).toBe(wanted);
    table.remove(other);
    table.remove(wanted);
    expect(table.lookup(seg)).toBeNull();
    table.insert(wanted);
    expect(table.lookup(seg)).toBe(wanted);
    expect(table.openCount).toBe(2);
  });

  it('orders open connections by activity and closed ones by close time', () => {
    const table = new FlowTable();
    const conns = [1, 2, 3].map((n) => connection(n, `C${n}`, '10.0.0.1', 40000 + n, '10.0.0.2', 25));
    for (const c of conns) table.insert(c);
    expect(table.openHead).toBe(conns[0]);
    table.touch(conns[0]!);
    expect(table.openHead).toBe(conns[1]);
    table.moveToClosed(conns[1]!);
    table.moveToClosed(conns[2]!);
    expect(table.openHead).toBe(conns[0]);
    expect(table.closedHead).toBe(conns[1]);
    expect([table.openCount, table.closedCount]).toEqual([1, 2]);
    table.remove(conns[1]!);
    expect(table.closedHead).toBe(conns[2]);
    table.clear();
    expect([table.openHead, table.closedHead, table.openCount]).toEqual([null, null, 0]);
  });

  it('finds every connection while the bucket array grows and after removals', () => {
    const table = new FlowTable();
    const endpoints = (n: number) => ({ src: `10.${(n >> 8) & 255}.${n & 255}.1`, port: 1024 + (n % 7) });
    const conns: Connection[] = [];
    // 5000 connections: the table starts with 1024 buckets and doubles three times on the way.
    for (let n = 0; n < 5000; n++) {
      const { src, port } = endpoints(n);
      const conn = connection(
        hashSegment(segment(src, port, '192.0.2.25', 25)),
        `C${n}`,
        src,
        port,
        '192.0.2.25',
        25,
      );
      table.insert(conn);
      conns.push(conn);
    }
    const find = (n: number) => {
      const { src, port } = endpoints(n);
      return table.lookup(segment('192.0.2.25', 25, src, port));
    };
    for (let n = 0; n < 5000; n++) expect(find(n)).toBe(conns[n]);
    for (let n = 0; n < 5000; n += 2) table.remove(conns[n]!);
    for (let n = 0; n < 5000; n++) expect(find(n)).toBe(n % 2 === 0 ? null : conns[n]);
    expect(table.openCount).toBe(2500);
  });

  it('writes address text as formatAddress does, for any address, IPv4 twice in a row (cached) and IPv6', () => {
    const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
    const v6 = fc
      .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
      .map((groups) => groups.map((g) => g.toString(16)).join(':'));
    fc.assert(
      fc.property(fc.oneof(fc.tuple(v4, v4), fc.tuple(v6, v6)), ([x, y]) => {
        const conn = connection(0, 'C1', x, 1, y, 2);
        const a = parseAddress(x);
        const b = parseAddress(y);
        const version = a.length === 4 ? 4 : 6;
        for (let i = 0; i < 2; i++) {
          expect(conn.addressText(true)).toBe(formatAddress(a, 0, version));
          expect(conn.addressText(false)).toBe(formatAddress(b, 0, version));
        }
      }),
    );
  });
});
