/**
 * The table of connections that have only sent SYNs (and the SYN+ACKs and RSTs answering them): connection
 * attempts, a flood's or a scan's whole traffic, held in typed arrays indexed by slot instead of one
 * Connection, half-streams and handler each. No JS object is made per entry. The assembler (assembler.ts)
 * starts an entry at a client's bare SYN, handles the segments listed in docs/REASSEMBLY.md ("Connection
 * attempts") in place, and promotes the entry to a full Connection at any other segment.
 *
 * Side A of an entry is the client (the sender of its first SYN); side B the server. Per slot: the address words
 * and ports, the ISNs, the latest ACK number the server sent, packet and SYN-retransmission counts per side,
 * whether a SYN+ACK was seen, the first and last packet time, the segment number of the last activity and the
 * connection's number (its id). Lookup: a bucket array indexed by the hash's low bits (the connection table's
 * hash, flow-table.ts), chained through slot indices. Activity: a doubly linked list of slot indices, least
 * recently active first, which the assembler merges with the connection table's open list by the segment
 * number of the last activity.
 *
 * Bounded: the assembler holds at most `maxConnections` open entries here and in the connection table together;
 * the arrays start at {@link FIRST_SLOTS} slots and double as needed, so they follow the most entries held at
 * once (about 130 bytes a slot).
 */

import type { TcpSegment } from '../decode/types.js';
import { addressText, formatId } from './connection.js';
import { readWord } from './flow-table.js';
import {
  type Direction,
  type DirectionStats,
  emptyDirectionStats,
  type FlowKey,
  type FlowStats,
  type UnopenedConnection,
} from './types.js';

/** Slots of a new table (a power of two). */
const FIRST_SLOTS = 256;
/** No slot. */
export const NONE = -1;
/** The counts of a side that sent nothing: shared, frozen, all zero (as the assembler reports them). */
export const NO_TRAFFIC: Readonly<DirectionStats> = Object.freeze(emptyDirectionStats());

export class SynTable {
  /** Open entries. */
  count = 0;
  /** Least and most recently active entries (NONE when empty). */
  head = NONE;
  tail = NONE;
  /** Set by a successful `find`: whether the segment was sent by side A (the client). */
  fromA = true;

  private capacity = 0;
  /** Slots handed out at least once; slots below it that are free are on the free list. */
  private used = 0;
  private freeHead = NONE;
  private mask = 0;
  private buckets = new Int32Array(0);

  hash = new Int32Array(0);
  /** Next slot in the same bucket; on the free list, the next free slot. */
  private chain = new Int32Array(0);
  prev = new Int32Array(0);
  next = new Int32Array(0);
  /** 1 for IPv6. */
  v6 = new Uint8Array(0);
  /** Eight words a slot: side A's address (IPv4: word 0, then zeros), then side B's. */
  words = new Int32Array(0);
  portA = new Uint16Array(0);
  portB = new Uint16Array(0);
  isnA = new Uint32Array(0);
  isnB = new Uint32Array(0);
  /** ACK number of the server's latest segment (valid once it sent one). */
  ackB = new Uint32Array(0);
  /** Packets and SYN retransmissions per side (int32: small integers for the counts they become). */
  packetsA = new Int32Array(0);
  packetsB = new Int32Array(0);
  retransmissionsA = new Int32Array(0);
  retransmissionsB = new Int32Array(0);
  /** 1 once the server's SYN+ACK was seen (its ISN is known). */
  synAck = new Uint8Array(0);
  firstTs = new Float64Array(0);
  lastTs = new Float64Array(0);
  /** Segment number of the last activity (the order of the activity list). */
  touchedAt = new Float64Array(0);
  /** The connection's number in first-seen order (its id is `formatId(serial)`). */
  serial = new Float64Array(0);

  constructor() {
    this.resize(FIRST_SLOTS);
  }

  /**
   * The slot of the connection of `segment` (whose table hash is `hash`), or NONE; sets `fromA`. Addresses are
   * read from the segment only when a slot's hash matches.
   */
  find(segment: TcpSegment, hash: number): number {
    if (this.count === 0) return NONE;
    for (let s = this.buckets[hash & this.mask]!; s !== NONE; s = this.chain[s]!) {
      if (this.hash[s] !== hash || this.v6[s] !== (segment.ipVersion === 6 ? 1 : 0)) continue;
      const sp = segment.srcPort;
      const dp = segment.dstPort;
      if (sp === this.portA[s] && dp === this.portB[s] && this.matches(segment, s, 0, 4)) {
        this.fromA = true;
        return s;
      }
      if (sp === this.portB[s] && dp === this.portA[s] && this.matches(segment, s, 4, 0)) {
        this.fromA = false;
        return s;
      }
    }
    return NONE;
  }

  /** Whether the segment's source address is the slot's words at `src`, and its destination those at `dst`. */
  private matches(segment: TcpSegment, slot: number, src: number, dst: number): boolean {
    const w = this.words;
    const base = slot * 8;
    const b = segment.buffer;
    const so = segment.srcAddrOffset;
    const d = segment.dstAddrOffset;
    if (readWord(b, so) !== w[base + src] || readWord(b, d) !== w[base + dst]) return false;
    if (segment.ipVersion === 4) return true;
    for (let i = 1; i < 4; i++) {
      if (readWord(b, so + 4 * i) !== w[base + src + i] || readWord(b, d + 4 * i) !== w[base + dst + i])
        return false;
    }
    return true;
  }

  /**
   * Starts an entry for the bare SYN `segment` (its sender is side A, the client) with table hash `hash`,
   * connection number `serial`, at segment number `touchedAt`; appended as the most recently active.
   */
  insert(segment: TcpSegment, hash: number, serial: number, touchedAt: number): number {
    if (this.freeHead === NONE && this.used === this.capacity) this.resize(this.capacity * 2);
    let s: number;
    if (this.freeHead !== NONE) {
      s = this.freeHead;
      this.freeHead = this.chain[s]!;
    } else s = this.used++;
    const ts = segment.tsMicros;
    this.hash[s] = hash;
    const v6 = segment.ipVersion === 6;
    this.v6[s] = v6 ? 1 : 0;
    const w = this.words;
    const base = s * 8;
    const b = segment.buffer;
    const so = segment.srcAddrOffset;
    const d = segment.dstAddrOffset;
    w[base] = readWord(b, so);
    w[base + 4] = readWord(b, d);
    for (let i = 1; i < 4; i++) {
      w[base + i] = v6 ? readWord(b, so + 4 * i) : 0;
      w[base + 4 + i] = v6 ? readWord(b, d + 4 * i) : 0;
    }
    this.portA[s] = segment.srcPort;
    this.portB[s] = segment.dstPort;
    this.isnA[s] = segment.seq;
    this.isnB[s] = 0;
    this.ackB[s] = 0;
    this.packetsA[s] = 1;
    this.packetsB[s] = 0;
    this.retransmissionsA[s] = 0;
    this.retransmissionsB[s] = 0;
    this.synAck[s] = 0;
    this.firstTs[s] = ts;
    this.lastTs[s] = ts;
    this.touchedAt[s] = touchedAt;
    this.serial[s] = serial;
    const bucket = hash & this.mask;
    this.chain[s] = this.buckets[bucket]!;
    this.buckets[bucket] = s;
    this.append(s);
    this.count++;
    return s;
  }

  /** Marks activity at segment number `touchedAt`: moves the entry to the tail of the activity list. */
  touch(slot: number, touchedAt: number): void {
    this.touchedAt[slot] = touchedAt;
    if (this.tail === slot) return;
    this.unlink(slot);
    this.append(slot);
  }

  /** Frees a slot (the entry closed or became a full connection). */
  remove(slot: number): void {
    this.unlink(slot);
    const bucket = this.hash[slot]! & this.mask;
    let s = this.buckets[bucket]!;
    if (s === slot) this.buckets[bucket] = this.chain[slot]!;
    else {
      while (s !== NONE && this.chain[s] !== slot) s = this.chain[s]!;
      if (s !== NONE) this.chain[s] = this.chain[slot]!;
    }
    this.chain[slot] = this.freeHead;
    this.freeHead = slot;
    this.count--;
  }

  /** Forgets every entry (the arrays are kept). */
  clear(): void {
    this.buckets.fill(NONE);
    this.count = 0;
    this.used = 0;
    this.freeHead = NONE;
    this.head = this.tail = NONE;
  }

  private append(slot: number): void {
    this.prev[slot] = this.tail;
    this.next[slot] = NONE;
    if (this.tail === NONE) this.head = slot;
    else this.next[this.tail] = slot;
    this.tail = slot;
  }

  private unlink(slot: number): void {
    const prev = this.prev[slot]!;
    const next = this.next[slot]!;
    if (prev === NONE) this.head = next;
    else this.next[prev] = next;
    if (next === NONE) this.tail = prev;
    else this.prev[next] = prev;
  }

  /** Grows every array to `capacity` slots (copying the entries) and the buckets to match. */
  private resize(capacity: number): void {
    const grow = <T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(
      old: T,
      make: (n: number) => T,
      per = 1,
    ): T => {
      const fresh = make(capacity * per);
      fresh.set(old);
      return fresh;
    };
    this.hash = grow(this.hash, (n) => new Int32Array(n));
    this.chain = grow(this.chain, (n) => new Int32Array(n));
    this.prev = grow(this.prev, (n) => new Int32Array(n));
    this.next = grow(this.next, (n) => new Int32Array(n));
    this.v6 = grow(this.v6, (n) => new Uint8Array(n));
    this.words = grow(this.words, (n) => new Int32Array(n), 8);
    this.portA = grow(this.portA, (n) => new Uint16Array(n));
    this.portB = grow(this.portB, (n) => new Uint16Array(n));
    this.isnA = grow(this.isnA, (n) => new Uint32Array(n));
    this.isnB = grow(this.isnB, (n) => new Uint32Array(n));
    this.ackB = grow(this.ackB, (n) => new Uint32Array(n));
    this.packetsA = grow(this.packetsA, (n) => new Int32Array(n));
    this.packetsB = grow(this.packetsB, (n) => new Int32Array(n));
    this.retransmissionsA = grow(this.retransmissionsA, (n) => new Int32Array(n));
    this.retransmissionsB = grow(this.retransmissionsB, (n) => new Int32Array(n));
    this.synAck = grow(this.synAck, (n) => new Uint8Array(n));
    this.firstTs = grow(this.firstTs, (n) => new Float64Array(n));
    this.lastTs = grow(this.lastTs, (n) => new Float64Array(n));
    this.touchedAt = grow(this.touchedAt, (n) => new Float64Array(n));
    this.serial = grow(this.serial, (n) => new Float64Array(n));
    this.capacity = capacity;
    // As many buckets as slots: chains stay short. Rebuilt from the live entries' chains.
    const buckets = new Int32Array(capacity).fill(NONE);
    const mask = capacity - 1;
    const old = this.buckets;
    for (let i = 0; i < old.length; i++) {
      let s = old[i]!;
      while (s !== NONE) {
        const after = this.chain[s]!;
        const bucket = this.hash[s]! & mask;
        this.chain[s] = buckets[bucket]!;
        buckets[bucket] = s;
        s = after;
      }
    }
    this.buckets = buckets;
    this.mask = mask;
  }
}

/**
 * An entry of a {@link SynTable} seen as an {@link UnopenedConnection}: one object per assembler, pointed at the
 * slot being closed (`slot`, `firstClose`) before each call.
 */
export class UnopenedView implements UnopenedConnection {
  slot = 0;
  firstClose: Direction | null = null;

  constructor(private readonly table: SynTable) {}

  get ipVersion(): 4 | 6 {
    return this.table.v6[this.slot] === 1 ? 6 : 4;
  }

  clientWord(i: number): number {
    return this.table.words[this.slot * 8 + i]!;
  }

  serverWord(i: number): number {
    return this.table.words[this.slot * 8 + 4 + i]!;
  }

  get clientPort(): number {
    return this.table.portA[this.slot]!;
  }

  get serverPort(): number {
    return this.table.portB[this.slot]!;
  }

  get firstTsMicros(): number {
    return this.table.firstTs[this.slot]!;
  }

  get lastTsMicros(): number {
    return this.table.lastTs[this.slot]!;
  }

  get c2sPackets(): number {
    return this.table.packetsA[this.slot]!;
  }

  get s2cPackets(): number {
    return this.table.packetsB[this.slot]!;
  }

  get sawSyn(): boolean {
    return true;
  }

  get sawSynAck(): boolean {
    return this.table.synAck[this.slot] === 1;
  }

  id(): string {
    return formatId(this.table.serial[this.slot]!);
  }

  private address(base: number): string {
    const w = this.table.words;
    return addressText(this.ipVersion, w[base]!, w[base + 1]!, w[base + 2]!, w[base + 3]!);
  }

  flow(): FlowKey {
    const base = this.slot * 8;
    return {
      id: this.id(),
      client: { ip: this.address(base), port: this.clientPort },
      server: { ip: this.address(base + 4), port: this.serverPort },
      basis: 'syn',
    };
  }

  stats(): FlowStats {
    const t = this.table;
    const s = this.slot;
    const c2s = emptyDirectionStats();
    c2s.packets = t.packetsA[s]!;
    c2s.retransmissions = t.retransmissionsA[s]!;
    let s2c: Readonly<DirectionStats> = NO_TRAFFIC;
    if (t.packetsB[s]! > 0) {
      const b = emptyDirectionStats();
      b.packets = t.packetsB[s]!;
      b.retransmissions = t.retransmissionsB[s]!;
      s2c = b;
    }
    const firstClose = this.firstClose;
    // The key order of the assembler's own FlowStats.
    return firstClose === null
      ? {
          firstTsMicros: this.firstTsMicros,
          lastTsMicros: this.lastTsMicros,
          c2s,
          s2c,
          sawSyn: true,
          sawSynAck: this.sawSynAck,
        }
      : {
          firstTsMicros: this.firstTsMicros,
          lastTsMicros: this.lastTsMicros,
          c2s,
          s2c,
          sawSyn: true,
          sawSynAck: this.sawSynAck,
          firstClose,
        };
  }
}
