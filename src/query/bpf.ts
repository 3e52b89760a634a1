/**
 * A subset of the pcap filter language (tcpdump's `-f` expressions) for capture files (docs/FILTERS.md), applied
 * to each decoded TCP segment: `host ADDR`, `net ADDR/LEN` (or `net ADDR mask MASK`), `port N`,
 * `portrange N-M`, each optionally after `src`, `dst`, `src or dst`, `src and dst`; `tcp`, `ip`, `ip6`
 * (`udp`, `icmp` and the rest never match a TCP segment); `and` / `&&`, `or` / `||`, `not` / `!`, parentheses;
 * a bare value after `and` / `or` repeats the previous primitive's kind (`host a or b`). Anything else is refused
 * with a message naming the word, rather than guessed.
 */

import type { TcpSegment } from '../decode/types.js';
import { addressBytes } from '../report/community-id.js';

export type SegmentPredicate = (segment: TcpSegment) => boolean;

type Dir = 'src' | 'dst' | 'either' | 'both';
type Kind = 'host' | 'net' | 'port' | 'portrange';

export class BpfError extends Error {
  override readonly name = 'BpfError';
}

function tokenize(text: string): string[] {
  return text.match(/\(|\)|&&|\|\||!|[^\s()!&|]+/g) ?? [];
}

function prefixMatch(buffer: Uint8Array, offset: number, net: Uint8Array, bits: number): boolean {
  const whole = Math.floor(bits / 8);
  for (let i = 0; i < whole; i++) if (buffer[offset + i] !== net[i]) return false;
  const rest = bits % 8;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return ((buffer[offset + whole] ?? 0) & mask) === ((net[whole] ?? 0) & mask);
}

function maskBits(mask: Uint8Array): number {
  let bits = 0;
  for (const b of mask) {
    if (b === 0xff) bits += 8;
    else {
      let x = b;
      while (x & 0x80) {
        bits++;
        x = (x << 1) & 0xff;
      }
      break;
    }
  }
  return bits;
}

function onSides(dir: Dir, test: (src: boolean) => boolean): boolean {
  switch (dir) {
    case 'src':
      return test(true);
    case 'dst':
      return test(false);
    case 'either':
      return test(true) || test(false);
    case 'both':
      return test(true) && test(false);
  }
}

/** Compiles an expression; throws BpfError with what is wrong. An empty expression matches everything. */
export function compileBpf(text: string): SegmentPredicate {
  const tokens = tokenize(text);
  let at = 0;
  let last: { dir: Dir; kind: Kind } | null = null;
  const peek = () => tokens[at];
  const next = () => tokens[at++];

  function primitive(dir: Dir, kind: Kind, value: string | undefined): SegmentPredicate {
    if (value === undefined) throw new BpfError(`'${kind}' needs a value`);
    last = { dir, kind };
    if (kind === 'port' || kind === 'portrange') {
      const m = kind === 'port' ? /^(\d{1,5})$/.exec(value) : /^(\d{1,5})-(\d{1,5})$/.exec(value);
      if (m === null) throw new BpfError(`bad ${kind} '${value}'`);
      const lo = Number(m[1]);
      const hi = Number(m[2] ?? m[1]);
      if (hi > 65535 || lo > hi) throw new BpfError(`bad ${kind} '${value}'`);
      return (s) => onSides(dir, (src) => ((p) => p >= lo && p <= hi)(src ? s.srcPort : s.dstPort));
    }
    let addr = value;
    let bits: number | null = null;
    const slash = value.indexOf('/');
    if (slash >= 0) {
      addr = value.slice(0, slash);
      bits = Number(value.slice(slash + 1));
    } else if (kind === 'net' && peek() === 'mask') {
      next();
      const mask = addressBytes(next() ?? '');
      if (mask === null) throw new BpfError('bad mask');
      bits = maskBits(mask);
    }
    // `net 10.1` (tcpdump's short form) means 10.1.0.0/16.
    if (kind === 'net' && /^\d{1,3}(\.\d{1,3}){0,2}$/.test(addr) && bits === null) {
      const parts = addr.split('.');
      bits = parts.length * 8;
      addr = [...parts, '0', '0', '0'].slice(0, 4).join('.');
    }
    const bytes = addressBytes(addr);
    if (bytes === null) throw new BpfError(`'${value}' is not an IP address (host names are not resolved)`);
    const width = bytes.length * 8;
    const prefix = bits ?? width;
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > width)
      throw new BpfError(`bad prefix in '${value}'`);
    const version = bytes.length === 4 ? 4 : 6;
    return (s) =>
      s.ipVersion === version &&
      onSides(dir, (src) => prefixMatch(s.buffer, src ? s.srcAddrOffset : s.dstAddrOffset, bytes, prefix));
  }

  function primary(): SegmentPredicate {
    const t = next();
    if (t === undefined) throw new BpfError('the expression ends too early');
    if (t === '(') {
      const e = orExpr();
      if (next() !== ')') throw new BpfError("missing ')'");
      return e;
    }
    const word = t.toLowerCase();
    if (word === 'tcp') return () => true;
    if (word === 'ip') return (s) => s.ipVersion === 4;
    if (word === 'ip6') return (s) => s.ipVersion === 6;
    if (['udp', 'icmp', 'icmp6', 'arp', 'sctp'].includes(word)) return () => false;
    let dir: Dir = 'either';
    let w = word;
    if (w === 'src' || w === 'dst') {
      dir = w;
      const after = peek()?.toLowerCase();
      if (
        (after === 'or' || after === 'and') &&
        ['src', 'dst'].includes(tokens[at + 1]?.toLowerCase() ?? '')
      ) {
        next();
        next();
        dir = after === 'or' ? 'either' : 'both';
      }
      w = (next() ?? '').toLowerCase();
    }
    if (w === 'host' || w === 'net' || w === 'port' || w === 'portrange') return primitive(dir, w, next());
    // A bare value repeats the previous primitive (`host a or b`).
    const previous = last as { dir: Dir; kind: Kind } | null;
    if (dir === 'either' && previous !== null) return primitive(previous.dir, previous.kind, t);
    throw new BpfError(`'${t}' is not supported here (docs/FILTERS.md lists the subset)`);
  }

  function notExpr(): SegmentPredicate {
    const t = peek()?.toLowerCase();
    if (t === 'not' || t === '!') {
      next();
      const inner = notExpr();
      return (s) => !inner(s);
    }
    return primary();
  }

  function andExpr(): SegmentPredicate {
    let left = notExpr();
    for (;;) {
      const t = peek()?.toLowerCase();
      if (t !== 'and' && t !== '&&') return left;
      next();
      const a = left;
      const b = notExpr();
      left = (s) => a(s) && b(s);
    }
  }

  function orExpr(): SegmentPredicate {
    let left = andExpr();
    for (;;) {
      const t = peek()?.toLowerCase();
      if (t !== 'or' && t !== '||') return left;
      next();
      const a = left;
      const b = andExpr();
      left = (s) => a(s) || b(s);
    }
  }

  if (tokens.length === 0) return () => true;
  const e = orExpr();
  if (at < tokens.length) throw new BpfError(`unexpected '${tokens[at]}'`);
  return e;
}
