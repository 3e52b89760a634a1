/**
 * The connection table. Lookup hashes the address bytes and ports of a segment into a number (symmetric, so
 * both directions find the same entry) and compares bytes on a hit: no string is built per packet. Also keeps
 * two intrusive lists: open connections ordered by last activity (head = least recently active, for idle
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

/** Hash of one endpoint: `length` address bytes at `offset` and the port. */
function hashEndpoint(buffer: Uint8Array, offset: number, length: number, port: number): number {
  let h = Math.imul(port + 0x9e3779b9, 0xcc9e2d51);
  for (let i = 0; i < length; i += 4) {
    const word =
      (buffer[offset + i]! << 24) |
      (buffer[offset + i + 1]! << 16) |
      (buffer[offset + i + 2]! << 8) |
      buffer[offset + i + 3]!;
    h = Math.imul(h ^ word, 0x1b873593);
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  return mix32(h);
}

function bytesEqual(buffer: Uint8Array, offset: number, address: Uint8Array): boolean {
  for (let i = 0; i < address.length; i++) {
    if (buffer[offset + i] !== address[i]) return false;
  }
  return true;
}

/** Symmetric hash of a segment's two endpoints, kept in the small-integer range. */
export function hashSegment(segment: TcpSegment): number {
  const length = segment.ipVersion === 4 ? 4 : 16;
  const src = hashEndpoint(segment.buffer, segment.srcAddrOffset, length, segment.srcPort);
  const dst = hashEndpoint(segment.buffer, segment.dstAddrOffset, length, segment.dstPort);
  return mix32((src + dst) | 0) & 0x3fffffff;
}

export class FlowTable {
  private readonly map = new Map<number, Connection | Connection[]>();
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
    const hash = hashSegment(segment);
    this.lastHash = hash;
    const slot = this.map.get(hash);
    if (slot === undefined) return null;
    if (!Array.isArray(slot)) return this.matches(slot, segment) ? slot : null;
    for (const conn of slot) if (this.matches(conn, segment)) return conn;
    return null;
  }

  private matches(conn: Connection, segment: TcpSegment): boolean {
    if (conn.ipVersion !== segment.ipVersion) return false;
    const buffer = segment.buffer;
    if (
      segment.srcPort === conn.portA &&
      segment.dstPort === conn.portB &&
      bytesEqual(buffer, segment.srcAddrOffset, conn.addrA) &&
      bytesEqual(buffer, segment.dstAddrOffset, conn.addrB)
    ) {
      this.fromA = true;
      return true;
    }
    if (
      segment.srcPort === conn.portB &&
      segment.dstPort === conn.portA &&
      bytesEqual(buffer, segment.srcAddrOffset, conn.addrB) &&
      bytesEqual(buffer, segment.dstAddrOffset, conn.addrA)
    ) {
      this.fromA = false;
      return true;
    }
    return false;
  }

  insert(conn: Connection): void {
    const slot = this.map.get(conn.hash);
    if (slot === undefined) this.map.set(conn.hash, conn);
    else if (Array.isArray(slot)) slot.push(conn);
    else this.map.set(conn.hash, [slot, conn]);
    this.appendOpen(conn);
  }

  /** Removes a connection from the table and from whichever list it is on. */
  remove(conn: Connection): void {
    this.unlist(conn);
    const slot = this.map.get(conn.hash);
    if (slot === conn) {
      this.map.delete(conn.hash);
    } else if (Array.isArray(slot)) {
      const index = slot.indexOf(conn);
      if (index >= 0) slot.splice(index, 1);
      if (slot.length === 1) this.map.set(conn.hash, slot[0]!);
    }
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
    conn.listed = 'closed';
    conn.prev = this.closedTail;
    conn.next = null;
    if (this.closedTail === null) this.closedHead = conn;
    else this.closedTail.next = conn;
    this.closedTail = conn;
    this.closedCount++;
  }

  clear(): void {
    this.map.clear();
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
