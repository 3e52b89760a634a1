/**
 * The connection table. Lookup hashes the address bytes and ports of a segment into a number (symmetric, so
 * both directions find the same entry) and compares addresses and ports on a hit: no string is built per packet.
 * The table is an array of buckets indexed by the hash's low bits, each a chain of connections through
 * `bucketNext` (every slot holds a Connection or null: one shape for the lookup's property loads); it doubles
 * when it holds more connections than buckets, so chains stay short, and never shrinks (its size follows the
 * most connections held at once, open and lingering: with the default limits at most 32,768, so at most 32,768
 * slots). Also keeps two intrusive lists: open connections ordered by last activity (head = least recently active, for idle
 * timeouts and eviction) and closed connections lingering to absorb late packets, ordered by close time.
 */

import type { TcpSegment } from '../decode/types.js';
import type { Connection } from './connection.js';

function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

function step(h: number, word: number): number {
  h = Math.imul(h ^ word, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** Hash of one endpoint from its address words (w1..w3 are 0 for IPv4) and port. */
function hashEndpoint(w0: number, w1: number, w2: number, w3: number, port: number): number {
  return mix32(step(step(step(step(Math.imul(port + 0x9e3779b9, 0xcc9e2d51), w0), w1), w2), w3));
}

/** The big-endian 32-bit word at `o` as an int32. */
export function readWord(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

/** Writes the segment's source address words to `out[0..3]` and its destination's to `out[4..7]` (IPv4: one word and zeros). */
export function readSegmentWords(segment: TcpSegment, out: Int32Array): void {
  const b = segment.buffer;
  const s = segment.srcAddrOffset;
  const d = segment.dstAddrOffset;
  const v6 = segment.ipVersion === 6;
  out[0] = readWord(b, s);
  out[4] = readWord(b, d);
  for (let i = 1; i < 4; i++) {
    out[i] = v6 ? readWord(b, s + 4 * i) : 0;
    out[4 + i] = v6 ? readWord(b, d + 4 * i) : 0;
  }
}

/** Symmetric hash of a segment's two endpoints (either direction gives the same value), as a small integer. */
export function hashSegment(segment: TcpSegment): number {
  const b = segment.buffer;
  const s = segment.srcAddrOffset;
  const d = segment.dstAddrOffset;
  let src: number;
  let dst: number;
  if (segment.ipVersion === 4) {
    src = hashEndpoint(readWord(b, s), 0, 0, 0, segment.srcPort);
    dst = hashEndpoint(readWord(b, d), 0, 0, 0, segment.dstPort);
  } else {
    src = hashEndpoint(
      readWord(b, s),
      readWord(b, s + 4),
      readWord(b, s + 8),
      readWord(b, s + 12),
      segment.srcPort,
    );
    dst = hashEndpoint(
      readWord(b, d),
      readWord(b, d + 4),
      readWord(b, d + 8),
      readWord(b, d + 12),
      segment.dstPort,
    );
  }
  return mix32((src + dst) | 0) & 0x3fffffff;
}

/** Buckets of a new table (a power of two). */
const INITIAL_BUCKETS = 1024;

export class FlowTable {
  private buckets: (Connection | null)[] = new Array<Connection | null>(INITIAL_BUCKETS).fill(null);
  private mask = INITIAL_BUCKETS - 1;
  private count = 0;
  /** Set by a successful lookup: whether the segment was sent by side A. */
  fromA = true;
  /** Hash computed by the last lookup (reused to insert a new connection). */
  lastHash = 0;
  openCount = 0;
  closedCount = 0;
  openHead: Connection | null = null;
  private openTail: Connection | null = null;
  closedHead: Connection | null = null;
  private closedTail: Connection | null = null;

  lookup(segment: TcpSegment): Connection | null {
    const b = segment.buffer;
    const so = segment.srcAddrOffset;
    const dOff = segment.dstAddrOffset;
    const v4 = segment.ipVersion === 4;
    const s0 = readWord(b, so);
    const d0 = readWord(b, dOff);
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let d1 = 0;
    let d2 = 0;
    let d3 = 0;
    if (!v4) {
      s1 = readWord(b, so + 4);
      s2 = readWord(b, so + 8);
      s3 = readWord(b, so + 12);
      d1 = readWord(b, dOff + 4);
      d2 = readWord(b, dOff + 8);
      d3 = readWord(b, dOff + 12);
    }
    const sp = segment.srcPort;
    const dp = segment.dstPort;
    const hash =
      mix32((hashEndpoint(s0, s1, s2, s3, sp) + hashEndpoint(d0, d1, d2, d3, dp)) | 0) & 0x3fffffff;
    this.lastHash = hash;
    for (let c = this.buckets[hash & this.mask] ?? null; c !== null; c = c.bucketNext) {
      if (c.ipVersion !== segment.ipVersion) continue;
      if (
        sp === c.portA &&
        dp === c.portB &&
        s0 === c.a0 &&
        d0 === c.b0 &&
        s1 === c.a1 &&
        s2 === c.a2 &&
        s3 === c.a3 &&
        d1 === c.b1 &&
        d2 === c.b2 &&
        d3 === c.b3
      ) {
        this.fromA = true;
        return c;
      }
      if (
        sp === c.portB &&
        dp === c.portA &&
        s0 === c.b0 &&
        d0 === c.a0 &&
        s1 === c.b1 &&
        s2 === c.b2 &&
        s3 === c.b3 &&
        d1 === c.a1 &&
        d2 === c.a2 &&
        d3 === c.a3
      ) {
        this.fromA = false;
        return c;
      }
    }
    return null;
  }

  insert(conn: Connection): void {
    this.link(conn);
    this.appendOpen(conn);
  }

  /** Adds a connection that is already closed, at the tail of the closed list (it lingers like any other). */
  insertClosed(conn: Connection): void {
    this.link(conn);
    this.appendClosed(conn);
  }

  private link(conn: Connection): void {
    if (this.count >= this.buckets.length) this.grow();
    const index = conn.hash & this.mask;
    conn.bucketNext = this.buckets[index] ?? null;
    this.buckets[index] = conn;
    this.count++;
  }

  /** Removes a connection from the table and from whichever list it is on. */
  remove(conn: Connection): void {
    this.unlist(conn);
    const index = conn.hash & this.mask;
    const head = this.buckets[index] ?? null;
    if (head === conn) {
      this.buckets[index] = conn.bucketNext;
      this.count--;
    } else {
      for (let c = head; c !== null; c = c.bucketNext) {
        if (c.bucketNext === conn) {
          c.bucketNext = conn.bucketNext;
          this.count--;
          break;
        }
      }
    }
    conn.bucketNext = null;
  }

  /** Doubles the bucket array and spreads the chains over it. */
  private grow(): void {
    const old = this.buckets;
    const size = old.length * 2;
    const buckets = new Array<Connection | null>(size).fill(null);
    const mask = size - 1;
    for (let c of old) {
      while (c !== null && c !== undefined) {
        const next: Connection | null = c.bucketNext;
        const index = c.hash & mask;
        c.bucketNext = buckets[index] ?? null;
        buckets[index] = c;
        c = next;
      }
    }
    this.buckets = buckets;
    this.mask = mask;
  }

  /** Marks activity: moves an open connection to the tail of the open list. */
  touch(conn: Connection): void {
    if (this.openTail === conn || conn.listed !== 'open') return;
    this.unlist(conn);
    this.appendOpen(conn);
  }

  /** Moves a connection from the open list to the tail of the closed list. */
  moveToClosed(conn: Connection): void {
    this.unlist(conn);
    this.appendClosed(conn);
  }

  private appendClosed(conn: Connection): void {
    conn.listed = 'closed';
    conn.prev = this.closedTail;
    conn.next = null;
    if (this.closedTail === null) this.closedHead = conn;
    else this.closedTail.next = conn;
    this.closedTail = conn;
    this.closedCount++;
  }

  clear(): void {
    this.buckets.fill(null);
    this.count = 0;
    this.openHead = this.openTail = this.closedHead = this.closedTail = null;
    this.openCount = this.closedCount = 0;
  }

  private appendOpen(conn: Connection): void {
    conn.listed = 'open';
    conn.prev = this.openTail;
    conn.next = null;
    if (this.openTail === null) this.openHead = conn;
    else this.openTail.next = conn;
    this.openTail = conn;
    this.openCount++;
  }

  private unlist(conn: Connection): void {
    if (conn.listed === 'none') return;
    const prev = conn.prev;
    const next = conn.next;
    if (conn.listed === 'open') {
      if (prev === null) this.openHead = next;
      else prev.next = next;
      if (next === null) this.openTail = prev;
      else next.prev = prev;
      this.openCount--;
    } else {
      if (prev === null) this.closedHead = next;
      else prev.next = next;
      if (next === null) this.closedTail = prev;
      else next.prev = prev;
      this.closedCount--;
    }
    conn.prev = conn.next = null;
    conn.listed = 'none';
  }
}
