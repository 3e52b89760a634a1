/**
 * One tracked TCP connection: its two half-streams, orientation, handler and list links. Side A is the sender
 * of the first segment seen; which side is the client is decided by the assembler (see assembler.ts).
 */

import { addressWords } from './flow-table.js';
import type { HalfStream } from './half-stream.js';
import type { FlowKey, OrientationBasis, StreamHandler } from './types.js';

/** `pending`: orientation undecided, no handler yet; `ignored`: the factory returned null. */
export type ConnectionState = 'pending' | 'open' | 'ignored' | 'closed';

export class Connection {
  state: ConnectionState = 'pending';
  /** Its handler declined it: later segments are dropped at once. */
  declined = false;
  handler: StreamHandler | null = null;
  flow: FlowKey | null = null;
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
  /** Which list the connection is on. */
  listed: 'open' | 'closed' | 'none' = 'none';
  /** Addresses as int32 words for lookup (IPv4: w1..w3 are 0). */
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
    readonly addrA: Uint8Array,
    readonly portA: number,
    readonly addrB: Uint8Array,
    readonly portB: number,
    readonly a: HalfStream,
    readonly b: HalfStream,
    readonly firstTsMicros: number,
  ) {
    this.lastTsMicros = firstTsMicros;
    const wa = addressWords(addrA, 0, ipVersion);
    const wb = addressWords(addrB, 0, ipVersion);
    this.a0 = wa.w0;
    this.a1 = wa.w1;
    this.a2 = wa.w2;
    this.a3 = wa.w3;
    this.b0 = wb.w0;
    this.b1 = wb.w1;
    this.b2 = wb.w2;
    this.b3 = wb.w3;
  }

  get client(): HalfStream {
    return this.aIsClient ? this.a : this.b;
  }

  get server(): HalfStream {
    return this.aIsClient ? this.b : this.a;
  }
}
