/**
 * One tracked TCP connection: its two half-streams, orientation, handler and list links. Side A is the sender
 * of the first segment seen; which side is the client is decided by the assembler (see assembler.ts).
 */

import type { HalfStream } from './half-stream.js';
import type { FlowKey, OrientationBasis, StreamHandler } from './types.js';

/** `pending`: orientation undecided, no handler yet; `ignored`: the factory returned null. */
export type ConnectionState = 'pending' | 'open' | 'ignored' | 'closed';

export class Connection {
  state: ConnectionState = 'pending';
  handler: StreamHandler | null = null;
  flow: FlowKey | null = null;
  basis: OrientationBasis = 'guess';
  aIsClient = true;
  sawSyn = false;
  sawSynAck = false;
  lastTsMicros: number;
  closedTsMicros = 0;
  /** Packet time after which a connection with both FINs in closes even with holes left; -1: not waiting. */
  finDeadlineMicros = -1;
  /** Links of the list the connection is on: open connections by activity, or closed ones by close time. */
  prev: Connection | null = null;
  next: Connection | null = null;
  /** Whether the connection is on the open list (else on the closed list or none). */
  listed: 'open' | 'closed' | 'none' = 'none';

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
  }

  get client(): HalfStream {
    return this.aIsClient ? this.a : this.b;
  }

  get server(): HalfStream {
    return this.aIsClient ? this.b : this.a;
  }
}
