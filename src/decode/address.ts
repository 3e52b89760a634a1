/**
 * Address text for endpoints. Called once per new flow, never per packet.
 */

const HEX = '0123456789abcdef';

function hex16(value: number): string {
  if (value === 0) return '0';
  let text = '';
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const digit = (value >>> shift) & 0xf;
    if (digit !== 0 || started) {
      text += HEX[digit];
      started = true;
    }
  }
  return text;
}

function dotted(buffer: Uint8Array, offset: number): string {
  return `${buffer[offset] ?? 0}.${buffer[offset + 1] ?? 0}.${buffer[offset + 2] ?? 0}.${buffer[offset + 3] ?? 0}`;
}

/**
 * Formats the address at `buffer[offset]`: 4 bytes as dotted-quad IPv4, 16 bytes as RFC 5952 IPv6 text
 * (lowercase hex, no leading zeros, the longest run of two or more zero groups — the first one on a tie —
 * written as `::`, and IPv4-mapped addresses written as `::ffff:a.b.c.d` per RFC 5952 section 5).
 * Bytes past the end of the buffer read as zero.
 */
export function formatAddress(buffer: Uint8Array, offset: number, ipVersion: 4 | 6): string {
  if (ipVersion === 4) return dotted(buffer, offset);

  const groups: number[] = [];
  for (let i = 0; i < 8; i++) {
    groups.push(((buffer[offset + 2 * i] ?? 0) << 8) | (buffer[offset + 2 * i + 1] ?? 0));
  }

  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return `::ffff:${dotted(buffer, offset + 12)}`;
  }

  let bestStart = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) bestStart = -1;

  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (text.length > 0 && !text.endsWith(':')) text += ':';
    text += hex16(groups[i] ?? 0);
  }
  return text;
}
