/**
 * One tracked TCP connection: its two half-streams, orientation, handler and list links. Side A is the sender
 * of the first segment seen; which side is the client is decided by the assembler (see assembler.ts).
 *
 * A side's half-stream is made when the side first sends or is first asked for its state: a connection attempt
 * that is a bare SYN (a scan, a flood, an unanswered client) holds one, not two. Its words replace the
 * address bytes, so a connection holds no typed array of its own.
 */

import { formatAddress } from '../decode/address.js';
import type { HalfStream } from './half-stream.js';
import type { OrientationBasis, StreamHandler } from './types.js';

/** `pending`: orientation undecided, no handler yet; `ignored`: the factory returned null. */
/** Where an IPv6 address is rebuilt from its words for formatting (one, reused). */
const ADDRESS_SCRATCH = new Uint8Array(16);

function writeWord(bytes: Uint8Array, offset: number, word: number): void {
  bytes[offset] = word >>> 24;
  bytes[offset + 1] = (word >>> 16) & 0xff;
  bytes[offset + 2] = (word >>> 8) & 0xff;
  bytes[offset + 3] = word & 0xff;
}

/**
 * Text of recently formatted IPv4 addresses, direct-mapped by a hash of the address (a slot keeps the latest
 * address that fell in it): the same servers and clients come back connection after connection, and a flood
 * from a few sources costs no new string per connection. Bounded: {@link IPV4_TEXT_SLOTS} strings.
 */
const IPV4_TEXT_SLOTS = 1024;
const ipv4TextWords = new Int32Array(IPV4_TEXT_SLOTS);
const ipv4Texts: (string | null)[] = new Array<string | null>(IPV4_TEXT_SLOTS).fill(null);

/** Dotted-quad text of an IPv4 address given as an int32 word. */
function ipv4Text(word: number): string {
  const slot = (Math.imul(word, 0x9e3779b1) >>> 22) & (IPV4_TEXT_SLOTS - 1);
  const cached = ipv4Texts[slot];
  if (cached !== null && cached !== undefined && ipv4TextWords[slot] === word) return cached;
  const text = `${word >>> 24}.${(word >>> 16) & 0xff}.${(word >>> 8) & 0xff}.${word & 0xff}`;
  ipv4TextWords[slot] = word;
  ipv4Texts[slot] = text;
  return text;
}

/** The text of an address given as int32 words (IPv4: `w0` only). */
export function addressText(ipVersion: 4 | 6, w0: number, w1: number, w2: number, w3: number): string {
  if (ipVersion === 4) return ipv4Text(w0);
  const bytes = ADDRESS_SCRATCH;
  writeWord(bytes, 0, w0);
  writeWord(bytes, 4, w1);
  writeWord(bytes, 8, w2);
  writeWord(bytes, 12, w3);
  return formatAddress(bytes, 0, 6);
}

/** A connection id: `C` and its number in first-seen order, zero-padded to six digits (`C000001`). */
export function formatId(n: number): string {
  return `C${String(n).padStart(6, '0')}`;
}

export type ConnectionState = 'pending' | 'open' | 'ignored' | 'closed';

export class Connection {
  state: ConnectionState = 'pending';
  /** Its handler declined it: later segments are dropped at once. */
  declined = false;
  handler: StreamHandler | null = null;
  basis: OrientationBasis = 'guess';
  aIsClient = true;
  sawSyn = false;
  sawSynAck = false;
  /** Direction of the first FIN or RST delivered; null before one came. */
  firstClose: 'c2s' | 's2c' | null = null;
  lastTsMicros: number;
  closedTsMicros = 0;
  /** Packet time after which a connection with both FINs in closes even with holes left; -1: not waiting. */
  finDeadlineMicros = -1;
  /** Segment number of the last activity (the open list's order) and of the start of the FIN wait. */
  touchedAt = 0;
  finWaitFrom = 0;
  /** Links of the list the connection is on: open connections by activity, or closed ones by close time. */
  prev: Connection | null = null;
  next: Connection | null = null;
  /** The next connection whose table hash is the same (flow-table.ts). */
  bucketNext: Connection | null = null;
  /** The two half-streams, made at first use (see `a` and `b`); dropped at close (see `dropHalves`). */
  private halfA: HalfStream | null = null;
  private halfB: HalfStream | null = null;
  /**
   * After close: each side's ISN as an int32 (a small integer, no boxed number), or null when that side's ISN
   * was not seen. A lingering connection keeps these instead of its half-streams, to tell a retransmitted SYN
   * from a new handshake on the same addresses and ports.
   */
  private closedIsnA: number | null = null;
  private closedIsnB: number | null = null;
  /** Which list the connection is on. */
  listed: 'open' | 'closed' | 'none' = 'none';
  /** Addresses as int32 words for lookup (IPv4: w1..w3 are 0); the text is made from them when asked. */
  readonly a0: number;
  readonly a1: number;
  readonly a2: number;
  readonly a3: number;
  readonly b0: number;
  readonly b1: number;
  readonly b2: number;
  readonly b3: number;

  constructor(
    /** Table hash of the connection's address/port pair (either order). */
    readonly hash: number,
    readonly id: string,
    readonly ipVersion: 4 | 6,
    /** Side A's address words at `at` (IPv4: a word and three zeros), then side B's: read here, not kept. */
    words: Int32Array,
    at: number,
    readonly portA: number,
    readonly portB: number,
    /** Makes a half-stream when a side first needs one. */
    private readonly newHalf: () => HalfStream,
    readonly firstTsMicros: number,
  ) {
    this.lastTsMicros = firstTsMicros;
    this.a0 = words[at]!;
    this.a1 = words[at + 1]!;
    this.a2 = words[at + 2]!;
    this.a3 = words[at + 3]!;
    this.b0 = words[at + 4]!;
    this.b1 = words[at + 5]!;
    this.b2 = words[at + 6]!;
    this.b3 = words[at + 7]!;
  }

  /** The text of side A's (`sideA`) or side B's address. */
  addressText(sideA: boolean): string {
    return sideA
      ? addressText(this.ipVersion, this.a0, this.a1, this.a2, this.a3)
      : addressText(this.ipVersion, this.b0, this.b1, this.b2, this.b3);
  }

  /** Side A's half-stream, made at its first use. */
  get a(): HalfStream {
    return this.halfA ?? this.makeHalf(true);
  }

  /** Side B's half-stream, made at its first use: a bare SYN never needs one. */
  get b(): HalfStream {
    return this.halfB ?? this.makeHalf(false);
  }

  get client(): HalfStream {
    return this.aIsClient ? this.a : this.b;
  }

  get server(): HalfStream {
    return this.aIsClient ? this.b : this.a;
  }

  /** A side's half-stream if it was made (null: that side has sent nothing and nothing was asked of it). */
  halfOf(sideA: boolean): HalfStream | null {
    return sideA ? this.halfA : this.halfB;
  }

  /**
   * Whether side A's (`sideA`) or side B's ISN is known and equals `seq`: from its half-stream while open, from
   * what `dropHalves` kept once closed.
   */
  isnIs(sideA: boolean, seq: number): boolean {
    const half = sideA ? this.halfA : this.halfB;
    if (half !== null) return half.isnKnown && half.isn === seq;
    return (sideA ? this.closedIsnA : this.closedIsnB) === (seq | 0);
  }

  /**
   * At close, after the half-streams were released: lets go of them, keeping only their ISNs. What a lingering
   * connection needs to recognise its late segments is its key, its close time and the ISNs (`isnIs`); a
   * half-stream with its counters is about 300 bytes, most of a closed connection's footprint.
   */
  dropHalves(): void {
    const a = this.halfA;
    const b = this.halfB;
    this.closedIsnA = a?.isnKnown ? a.isn | 0 : null;
    this.closedIsnB = b?.isnKnown ? b.isn | 0 : null;
    this.halfA = null;
    this.halfB = null;
  }

  /**
   * Makes this connection one closed at `tsMicros` that kept the ISNs `isnA` and `isnB` (null: not seen), as
   * `dropHalves` leaves one: for a connection of the SYN table (syn-table.ts) closed by a RST, which lingers like
   * any other.
   */
  closedWithIsns(tsMicros: number, isnA: number, isnB: number | null): void {
    this.state = 'closed';
    this.lastTsMicros = tsMicros;
    this.closedTsMicros = tsMicros;
    this.closedIsnA = isnA | 0;
    this.closedIsnB = isnB === null ? null : isnB | 0;
  }

  /** Orients the half-streams made so far and hands them `handler` (those made later get it when made). */
  handOver(handler: StreamHandler): void {
    this.handler = handler;
    if (this.halfA !== null) this.handTo(this.halfA, true, handler);
    if (this.halfB !== null) this.handTo(this.halfB, false, handler);
  }

  private handTo(half: HalfStream, sideA: boolean, handler: StreamHandler): void {
    half.direction = sideA === this.aIsClient ? 'c2s' : 's2c';
    half.handler = handler;
  }

  /** The half-stream of side A (`sideA`) or B, oriented and handed the handler like one made at the start. */
  private makeHalf(sideA: boolean): HalfStream {
    const half = this.newHalf();
    if (this.handler !== null) this.handTo(half, sideA, this.handler);
    if (sideA) this.halfA = half;
    else this.halfB = half;
    return half;
  }
}
