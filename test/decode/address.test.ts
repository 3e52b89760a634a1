import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/decode/address.js';
import { parseIp } from '../helpers/frames.js';

function groupsToBytes(groups: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

describe('address', () => {
  it.each([
    [[192, 0, 2, 1], '192.0.2.1'],
    [[0, 0, 0, 0], '0.0.0.0'],
    [[255, 255, 255, 255], '255.255.255.255'],
    [[10, 0, 100, 7], '10.0.100.7'],
  ])('formats IPv4 %j as %s', (bytes, text) => {
    expect(formatAddress(Uint8Array.from(bytes), 0, 4)).toBe(text);
  });

  it.each([
    // RFC 5952 section 4 examples and edge cases
    [[0x2001, 0xdb8, 0, 0, 0, 0, 0, 1], '2001:db8::1'],
    [[0x2001, 0xdb8, 0, 0, 0, 0, 2, 1], '2001:db8::2:1'],
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'], // 4.2.2: one zero group is not shortened
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'], // 4.2.3: the longest run
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'], // 4.2.3: the first of equal runs
    [
      [0x2001, 0xdb8, 0xaaaa, 0xbbbb, 0xcccc, 0xdddd, 0xeeee, 0xaaaa],
      '2001:db8:aaaa:bbbb:cccc:dddd:eeee:aaaa',
    ],
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[1, 0, 0, 0, 0, 0, 0, 0], '1::'],
    [[0xfe80, 0, 0, 0, 0, 0, 1, 2], 'fe80::1:2'],
    [[0, 0, 1, 0, 0, 0, 0, 0], '0:0:1::'],
    [[0x0abc, 0x00d0, 0x000f, 0, 0, 0x1000, 0x0100, 0x0010], 'abc:d0:f::1000:100:10'],
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'], // section 5: IPv4-mapped
    [[0, 0, 0, 0, 0, 0, 0xc000, 0x0201], '::c000:201'], // IPv4-compatible (deprecated): plain hex
  ])('formats IPv6 %j as %s', (groups, text) => {
    expect(formatAddress(groupsToBytes(groups), 0, 6)).toBe(text);
  });

  it('reads at the given offset', () => {
    const buffer = new Uint8Array(40).fill(0xff);
    buffer.set(groupsToBytes([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x25]), 9);
    buffer.set([127, 0, 0, 1], 30);
    expect(formatAddress(buffer, 9, 6)).toBe('2001:db8::25');
    expect(formatAddress(buffer, 30, 4)).toBe('127.0.0.1');
  });

  it('agrees with the WHATWG URL serializer and parses back to the same bytes', () => {
    const group = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
    fc.assert(
      fc.property(fc.array(group, { minLength: 8, maxLength: 8 }), (groups) => {
        const bytes = groupsToBytes(groups);
        const text = formatAddress(bytes, 0, 6);
        expect(parseIp(text)).toEqual(bytes);
        const mapped = groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff;
        if (!mapped) expect(new URL(`http://[${text}]/`).hostname).toBe(`[${text}]`);
      }),
      { numRuns: 2000 },
    );
  });
});
