/**
 * Community ID v1 (https://github.com/corelight/community-id-spec): the flow hash Zeek, Suricata and Arkime
 * write, so a session can be found in their records. SHA-1 over the seed (2 bytes, big-endian), the two
 * addresses, the protocol number, a zero byte and the two ports, the endpoints ordered so the smaller
 * (address, then port) comes first; written as `1:` and the base64 of the digest. TCP only here (protocol 6).
 */

import { createHash } from 'node:crypto';
import type { Endpoint } from '../decode/types.js';

const TCP = 6;

/** Bytes of a dotted IPv4 or an IPv6 text address (`::` shorthand and embedded IPv4 allowed); null if neither. */
export function addressBytes(ip: string): Uint8Array | null {
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(ip)) {
    const parts = ip.split('.').map(Number);
    return parts.every((p) => p <= 255) ? Uint8Array.from(parts) : null;
  }
  if (!ip.includes(':')) return null;
  let text = ip.replace(/%.*$/, '');
  // An embedded IPv4 tail (`::ffff:192.0.2.1`) becomes its two hex groups.
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (v4 !== null) {
    const b = addressBytes(v4[1] ?? '');
    if (b === null) return null;
    const hex = (hi: number, lo: number) => ((hi << 8) | lo).toString(16);
    text = `${text.slice(0, v4.index)}${hex(b[0] ?? 0, b[1] ?? 0)}:${hex(b[2] ?? 0, b[3] ?? 0)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const group = (s: string) =>
    s === ''
      ? []
      : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? Number.parseInt(g, 16) : Number.NaN));
  const head = group(halves[0] ?? '');
  const rest = halves.length === 2 ? group(halves[1] ?? '') : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const words = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  if (words.length !== 8 || words.some((w) => Number.isNaN(w))) return null;
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[i * 2] = w >> 8;
    out[i * 2 + 1] = w & 0xff;
  });
  return out;
}

function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** `1:<base64>` for a TCP connection, or null when an address is not an IP address. */
export function communityId(client: Endpoint, server: Endpoint, seed = 0): string | null {
  const a = addressBytes(client.ip);
  const b = addressBytes(server.ip);
  if (a === null || b === null || a.length !== b.length) return null;
  const order = compare(a, b);
  const clientFirst = order < 0 || (order === 0 && client.port <= server.port);
  const [ip1, port1, ip2, port2] = clientFirst
    ? [a, client.port, b, server.port]
    : [b, server.port, a, client.port];
  const buf = new Uint8Array(2 + ip1.length * 2 + 2 + 4);
  const view = new DataView(buf.buffer);
  view.setUint16(0, seed);
  buf.set(ip1, 2);
  buf.set(ip2, 2 + ip1.length);
  let at = 2 + ip1.length * 2;
  buf[at++] = TCP;
  buf[at++] = 0;
  view.setUint16(at, port1);
  view.setUint16(at + 2, port2);
  return `1:${createHash('sha1').update(buf).digest('base64')}`;
}
