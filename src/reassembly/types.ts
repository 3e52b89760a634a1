/**
 * TCP reassembly contracts (shape after gopacket's tcpassembly and Zeek's reassembler).
 *
 * Call order for one connection, guaranteed by the assembler:
 *  1. `StreamHandlerFactory.create(flow, ...)` once, when the first segment of the connection is seen; returning
 *     null ignores the connection (its later segments are dropped cheaply).
 *  2. `onData` and `onGap` zero or more times, in capture order across both directions; within a direction,
 *     offsets are contiguous: every byte range is delivered exactly once, as data or as a gap.
 *  3. `onClose` exactly once.
 */

import type { Endpoint, TcpSegment } from '../decode/types.js';

export type Direction = 'c2s' | 's2c';

/** How the client/server orientation of a connection was decided, strongest first. */
export type OrientationBasis = 'syn' | 'port' | 'first-speaker' | 'guess';

export interface FlowKey {
  /**
   * Stable id within a run: `C` and a 6-digit (or longer) counter of connections in first-seen order, e.g.
   * `C000042`. The same input always yields the same ids; sortable by first-seen order up to C999999.
   */
  readonly id: string;
  readonly client: Endpoint;
  readonly server: Endpoint;
  readonly basis: OrientationBasis;
}

export type CloseReason = 'fin' | 'rst' | 'idle-timeout' | 'end-of-capture' | 'evicted' | 'limit';

/** One delivery of in-order bytes. The assembler reuses the object for its next call: read it during the call. */
export interface StreamChunk {
  readonly direction: Direction;
  /** Offset of bytes[0] relative to the direction's first byte (never wraps). */
  readonly offset: number;
  readonly tsMicros: number;
  /** Valid during the call only: copy to keep. */
  readonly bytes: Uint8Array;
}

/** Why bytes are missing from a direction. */
export type GapCause =
  | 'lost' // the peer acknowledged the missing bytes, or a later segment arrived and they never did
  | 'snaplen' // the capture cut the segment's payload
  | 'midstream' // the capture started after the connection did
  | 'buffer-limit' // out-of-order data was dropped because a buffer limit was hit
  /**
   * One byte marking where the stream goes on with a later, differing copy of bytes already delivered: the peer
   * acknowledged the later copy, not the first (half-stream.ts, overlap policy). Offsets after it run ahead
   * of sequence numbers by the first copy's unacknowledged length plus this byte.
   */
  | 'replaced';

export interface DirectionStats {
  packets: number;
  /** Payload bytes delivered as data. */
  bytes: number;
  gapBytes: number;
  gaps: number;
  retransmissions: number;
  /** Overlapping segments whose bytes differed from what was already delivered or buffered. */
  overlapsDiffering: number;
  outOfOrder: number;
}

/** The statistics of a direction that has seen nothing yet (every count zero). */
export function emptyDirectionStats(): DirectionStats {
  return {
    packets: 0,
    bytes: 0,
    gapBytes: 0,
    gaps: 0,
    retransmissions: 0,
    overlapsDiffering: 0,
    outOfOrder: 0,
  };
}

export interface FlowStats {
  readonly firstTsMicros: number;
  readonly lastTsMicros: number;
  readonly c2s: Readonly<DirectionStats>;
  readonly s2c: Readonly<DirectionStats>;
  /** Whether a SYN from the client was seen (false: picked up midstream). */
  readonly sawSyn: boolean;
  readonly sawSynAck: boolean;
  /**
   * Direction of the connection's first FIN or RST (who closed first); absent when neither came (idle timeout,
   * end of capture, eviction). Tells a server that closed without a greeting from a client that gave up.
   */
  readonly firstClose?: Direction;
}

export interface StreamHandler {
  /**
   * Set to true by a handler that wants no more of its connection (content detection found no SMTP): checked
   * after each delivery; the assembler then stops delivering, frees the connection's buffers, drops its later
   * segments without reassembling them, counts it in stats().declined and calls nothing more (no onClose).
   */
  readonly declined?: boolean;
  onData(chunk: StreamChunk): void;
  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void;
  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void;
}

export interface StreamHandlerFactory {
  create(flow: FlowKey, tsMicros: number): StreamHandler | null;
  /**
   * Optional. A factory with this method lets the assembler keep a connection on the listed ports that has only
   * sent SYNs (and the SYN+ACKs and RSTs answering them) in a compact table (syn-table.ts) without calling
   * `create`: `create(flow, firstTsMicros)` is called when the connection first needs more (data, the
   * handshake's ACK, a FIN: see docs/REASSEMBLY.md, "Connection attempts"). One that closes before that is
   * handed here instead of `create` and `onClose`: the factory must do what a handler it made at the first SYN
   * and closed now with `reason` would have done. The connection is valid during the call only.
   */
  closeUnopened?(connection: UnopenedConnection, reason: CloseReason, tsMicros: number): void;
}

/**
 * A connection closing in the assembler's table of connections that only sent SYNs and their answers: what a
 * handler's onClose would have been told, read in place. Nothing is allocated unless asked (`flow`, `stats`,
 * `id`). Never carried a byte or a gap; its orientation basis is `syn`.
 */
export interface UnopenedConnection {
  readonly ipVersion: 4 | 6;
  /** Word `i` (0 to 3, big-endian, as an int32) of the client's or the server's address; IPv4 has word 0 only. */
  clientWord(i: number): number;
  serverWord(i: number): number;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly firstTsMicros: number;
  readonly lastTsMicros: number;
  readonly c2sPackets: number;
  readonly s2cPackets: number;
  readonly sawSyn: boolean;
  readonly sawSynAck: boolean;
  /** Who sent the RST that closed it; null when no RST came (idle timeout, eviction, end of input). */
  readonly firstClose: Direction | null;
  /** Its FlowKey id (`C000001`), made on call. */
  id(): string;
  /** Its FlowKey, made on call. */
  flow(): FlowKey;
  /** Its FlowStats, as the handler's onClose would have had them, made on call. */
  stats(): FlowStats;
}

/** Every reassembly limit in one place; defaults in reassembly/options.ts and docs/LIMITS.md. */
export interface AssemblerOptions {
  /** Server ports that select connections (either side may match). */
  readonly ports: ReadonlySet<number>;
  /**
   * Track connections on other ports too, for the factory to detect SMTP by content (its handler sets
   * `declined` to drop one); false: only connections on `ports` are tracked (the port gate).
   */
  readonly detect: boolean;
  /** Out-of-order bytes buffered per direction before the oldest hole is declared a gap. */
  readonly maxBufferedBytesPerDirection: number;
  /** Out-of-order bytes buffered across all connections; past it the largest buffers are flushed as gaps. */
  readonly maxBufferedBytesTotal: number;
  /** Open connections tracked at once; past it one is closed as `evicted`, silent ones first (assembler.ts). */
  readonly maxConnections: number;
  /** Connections idle this long in packet time are closed as `idle-timeout`. */
  readonly idleTimeoutMs: number;
  /** Connections closed by FIN/RST linger this long (packet time) to absorb late retransmissions. */
  readonly closedLingerMs: number;
  /** Accept connections whose handshake was not captured. */
  readonly allowMidstream: boolean;
  /** After both FINs, how long (packet time) holes may still be filled before they become `lost` gaps. */
  readonly finLingerMs: number;
  /** Delivered bytes kept per direction to compare retransmitted bytes against (0: no check). */
  readonly overlapCheckBytes: number;
}

export interface AssemblerStats {
  readonly openFlows: number;
  readonly totalFlows: number;
  readonly bufferedBytes: number;
  readonly gaps: number;
  readonly overlapsDiffering: number;
  readonly retransmissions: number;
  readonly limitHits: { readonly perDirection: number; readonly total: number; readonly connections: number };
  /** Segments for ports in the set that belonged to no tracked connection and could not start one. */
  readonly orphanSegments: number;
  /** Connections whose handler declined them (content detection: not SMTP); their segments are dropped. */
  readonly declined: number;
}

export interface Assembler {
  /** Feeds one decoded segment (the decoder's reused object; the assembler copies what it buffers). */
  push(segment: TcpSegment): void;
  /**
   * Moves the packet clock to `tsMicros` without a packet (a live capture on a quiet link): connections idle
   * past the timeout, FIN waits and lingers run out as a packet at that time would make them.
   */
  advance(tsMicros: number): void;
  /** Closes connections idle since before `tsMicros` (packet time). Returns how many were closed. */
  flushOlderThan(tsMicros: number): number;
  /**
   * Closes the `count` least recently active open connections as `limit` (the global memory budget, see
   * pipeline/memory-budget.ts). Returns how many were closed.
   */
  shedOldest(count: number): number;
  /** Closes every open connection with `reason` (end of input, shutdown). */
  flushAll(reason: CloseReason): void;
  stats(): AssemblerStats;
  /**
   * Open connections held in the table of connections that only sent SYNs (no handler made yet: see
   * StreamHandlerFactory.closeUnopened); counted in `stats().openFlows` too.
   */
  unopened(): number;
}
