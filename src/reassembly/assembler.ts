/**
 * The TCP assembler: turns decoded segments of the selected ports into ordered per-direction byte streams
 * for one {@link StreamHandler} per connection (call order in types.ts; limits in options.ts).
 *
 * Orientation (which side is the client), strongest first:
 *  - `syn`: from the handshake — the sender of a SYN without ACK is the client, of a SYN+ACK the server.
 *  - `port`: picked up midstream and exactly one side's port is in `options.ports`: that side is the server.
 *  - `first-speaker`: both ports are in the set; decided by the first payload seen: a sender whose first
 *    payload starts with three digits and a space or hyphen (a reply line) is the server, otherwise the
 *    sender is the client. The handler is created at that payload, not at the first segment.
 *  - `guess`: nothing decided before the connection closed: the sender of the first segment is the client.
 *
 * Connection ids are `C` plus a 6-digit counter in first-seen order (`C000001`, ...): the same input gives
 * the same ids whatever the timing of unrelated connections.
 *
 * Time is packet time only. Before handling a segment, push() closes every connection idle for longer than
 * `idleTimeoutMs` at the segment's timestamp (oldest first; a check of the list head when nothing expires),
 * forgets closed connections whose linger ran out, and closes FIN-closed connections whose holes outlived
 * `finLingerMs`, so a plain loop of push() calls gets timeouts without calling flushOlderThan.
 *
 * Closing: once both FINs are in and every byte before them was delivered, the connection closes with
 * `fin`; with holes left it waits up to `finLingerMs` for retransmissions, then the holes become `lost`
 * gaps. RST closes at once. Closed (FIN/RST) connections stay in the table for `closedLingerMs`: their late
 * segments are absorbed (those carrying payload, SYN or FIN count as retransmissions in stats()); a SYN with
 * a new ISN starts a new connection on the same addresses and ports. A SYN with a new ISN on an open
 * connection that already carried data also starts a new one, closing the old one as `evicted`.
 *
 * Acknowledgements: the ACK number of every segment with the ACK flag is handed to the other direction's
 * half-stream; a hole in that direction that the ACK covers is reported as a `lost` gap at once (the receiver
 * got bytes the capture missed) and the data held after it is delivered, before this segment's own payload.
 *
 * Connection attempts: when the factory takes unopened closes (`closeUnopened`), a client's bare SYN on the listed
 * ports starts an entry of the SYN table (syn-table.ts), not a Connection; the table handles the SYNs, SYN+ACKs and
 * RSTs of the handshake in place and promotes the entry to a Connection (made as the connection path would have
 * made it, `create` called with the first SYN's time) at any other segment. Wherever the least recently active
 * open connection is taken (expiry, eviction, shedding, the end), the two tables' activity lists are merged by the
 * segment number of each connection's last activity, so the order is the single list's.
 *
 * Limits degrade instead of failing: per direction, past `maxBufferedBytesPerDirection` the oldest hole
 * becomes a `buffer-limit` gap and the held data is delivered; past `maxBufferedBytesTotal` the directions
 * holding the most bytes are flushed the same way until under the limit; past `maxConnections` a connection
 * is closed as `evicted`: among the 64 least recently active, the first that never carried a byte and heard
 * nothing from its second side (a bare SYN), else the first that never carried a byte, else the least
 * recently active. Each event counts once in stats().limitHits.
 */

import type { TcpSegment } from '../decode/types.js';
import { TCP_FLAG } from '../decode/types.js';
import { Connection, formatId } from './connection.js';
import { FlowTable, hashSegment, readSegmentWords } from './flow-table.js';
import { HalfStream, HalfStreamShared, type SharedCounters } from './half-stream.js';
import { resolveAssemblerOptions } from './options.js';
import { RingPool } from './ring-pool.js';
import { type AssemblerShard, SHARD_PHASE, type ShardPosition } from './shard.js';
import { NO_TRAFFIC, NONE, SynTable, UnopenedView } from './syn-table.js';
import type {
  Assembler,
  AssemblerOptions,
  AssemblerStats,
  CloseReason,
  Direction,
  FlowStats,
  OrientationBasis,
  StreamHandlerFactory,
} from './types.js';

const SYN = TCP_FLAG.SYN;
const ACK = TCP_FLAG.ACK;
const FIN = TCP_FLAG.FIN;
const RST = TCP_FLAG.RST;
const CONTROL = SYN | FIN | RST;
/** Connections looked at from the least recently active one for a silent one to evict. */
const EVICTION_LOOK = 64;

/** Whether both sides sent their FIN. */
function bothFinsSeen(conn: Connection): boolean {
  const a = conn.halfOf(true);
  const b = conn.halfOf(false);
  return a !== null && b !== null && a.finOffset >= 0 && b.finOffset >= 0;
}

function isDigit(byte: number | undefined): boolean {
  return byte !== undefined && byte >= 0x30 && byte <= 0x39;
}

/** Whether a payload starts like an SMTP reply line: three digits, then a space or hyphen. */
function looksLikeReply(segment: TcpSegment): boolean {
  if (segment.payloadLength < 4) return false;
  const b = segment.buffer;
  const p = segment.payloadOffset;
  const fourth = b[p + 3];
  return isDigit(b[p]) && isDigit(b[p + 1]) && isDigit(b[p + 2]) && (fourth === 0x20 || fourth === 0x2d);
}

export { formatId };

export function createAssembler(
  factory: StreamHandlerFactory,
  options?: Partial<AssemblerOptions>,
  shard?: AssemblerShard,
): Assembler {
  const o = resolveAssemblerOptions(options);
  /** Where this assembler is; without a shard nobody reads it. */
  const at: ShardPosition = shard?.at ?? { segment: -1, phase: 0, rank: 0 };
  /** Segments on the selected ports seen so far, whichever shard they belong to. */
  let segments = 0;
  const ports = o.ports;
  const idleMicros = o.idleTimeoutMs * 1000;
  const lingerMicros = o.closedLingerMs * 1000;
  const finLingerMicros = o.finLingerMs * 1000;
  const table = new FlowTable();
  /**
   * Connections that only sent SYNs and their answers, kept without a Connection or handler when the factory
   * takes their closes (`closeUnopened`); open entries here and in `table` share `maxConnections`.
   */
  const syn = new SynTable();
  const deferring = factory.closeUnopened !== undefined;
  const unopenedView = new UnopenedView(syn);
  /** A new connection's address words (side A's, then side B's). */
  const words = new Int32Array(8);
  const counters: SharedCounters = {
    bufferedBytes: 0,
    gaps: 0,
    overlapsDiffering: 0,
    retransmissions: 0,
    perDirectionLimitHits: 0,
  };
  let totalLimitHits = 0;
  let connectionLimitHits = 0;
  let orphanSegments = 0;
  let declined = 0;
  let totalFlows = 0;
  let latestTsMicros = 0;
  /** Directions that held out-of-order bytes after some segment (checked when the total limit is hit). */
  const holding = new Set<HalfStream>();
  /** Connections with both FINs in but holes left, waiting for their deadline. */
  const finWaiting: Connection[] = [];
  let finWaitingNext = Number.POSITIVE_INFINITY;

  const shared = new HalfStreamShared(
    counters,
    o.maxBufferedBytesPerDirection,
    o.overlapCheckBytes,
    new RingPool(),
  );

  function newHalf(): HalfStream {
    return new HalfStream(shared);
  }

  /** Decides orientation, builds the FlowKey and asks the factory for a handler. */
  function orient(conn: Connection, aIsClient: boolean, basis: OrientationBasis, tsMicros: number): boolean {
    conn.aIsClient = aIsClient;
    conn.basis = basis;
    const flow = {
      id: conn.id,
      client: { ip: conn.addressText(aIsClient), port: aIsClient ? conn.portA : conn.portB },
      server: { ip: conn.addressText(!aIsClient), port: aIsClient ? conn.portB : conn.portA },
      basis,
    };
    const handler = factory.create(flow, tsMicros);
    if (handler === null) {
      conn.state = 'ignored';
      return false;
    }
    conn.state = 'open';
    conn.handOver(handler);
    return true;
  }

  /**
   * Starts tracking the connection of `segment`, or returns null: counted as an orphan when on our ports, or
   * started in the SYN table (the segment is then handled in full).
   */
  function start(segment: TcpSegment, tsMicros: number): Connection | null {
    const srcIn = ports.has(segment.srcPort);
    const dstIn = ports.has(segment.dstPort);
    const listed = srcIn || dstIn;
    if (!listed && !o.detect) return null;
    const flags = segment.flags;
    const hasPayload = segment.payloadLength > 0 || segment.wirePayloadLength > 0;
    let basis: OrientationBasis | null = null;
    let aIsClient = true;
    if ((flags & SYN) !== 0) {
      basis = 'syn';
      aIsClient = (flags & ACK) === 0;
    } else if (!o.allowMidstream || ((flags & RST) !== 0 && !hasPayload)) {
      // A bare RST cannot start anything worth reporting.
      if (listed) orphanSegments++;
      return null;
    } else if (srcIn !== dstIn) {
      basis = 'port';
      aIsClient = dstIn;
    }
    if (table.openCount + syn.count >= o.maxConnections && (table.openHead !== null || syn.head !== NONE)) {
      connectionLimitHits++;
      evict(tsMicros);
    }
    if (deferring && listed && (flags & (SYN | ACK | FIN | RST)) === SYN && !hasPayload) {
      // A client's bare SYN: an entry of the SYN table, no Connection (handled there until it needs one).
      const serial = ++totalFlows;
      syn.insert(segment, table.lastHash, serial, at.segment);
      shard?.onStart(formatId(serial));
      return null;
    }
    readSegmentWords(segment, words);
    const conn = new Connection(
      table.lastHash,
      formatId(++totalFlows),
      segment.ipVersion,
      words,
      0,
      segment.srcPort,
      segment.dstPort,
      newHalf,
      tsMicros,
    );
    table.insert(conn);
    conn.touchedAt = at.segment;
    shard?.onStart(conn.id);
    if (basis !== null) orient(conn, aIsClient, basis, tsMicros);
    return conn;
  }

  /**
   * Whether the least recently active open connection is in the SYN table: the two activity lists' heads compared
   * by the segment number of their last activity, which no two open connections share (see `evict`).
   */
  function unopenedFirst(): boolean {
    const slot = syn.head;
    if (slot === NONE) return false;
    const head = table.openHead;
    return head === null || syn.touchedAt[slot]! < head.touchedAt;
  }

  /**
   * Closes a connection at the connection limit. Among the least recently active few: the first that never
   * carried a byte and heard nothing from its second side (a bare SYN: what a flood is made of), else the first
   * that never carried a byte (a handshake in progress), else the least recently active. So a flood of bare SYNs
   * evicts its own kind, not the sessions and handshakes between them; the look is bounded, so a full table of
   * busy connections costs no scan. The SYN table's entries and the open connections are looked at in one order
   * of last activity: the segment number of each one's last activity, which no two open entries share (a
   * segment touches one connection).
   */
  function evict(tsMicros: number): void {
    let conn = table.openHead;
    let slot = syn.head;
    let silent: Connection | null = null;
    let silentSlot = NONE;
    for (let i = 0; i < EVICTION_LOOK && (conn !== null || slot !== NONE); i++) {
      if (slot !== NONE && (conn === null || syn.touchedAt[slot]! < conn.touchedAt)) {
        // Never carried a byte; a bare SYN when the server sent nothing.
        if (syn.packetsB[slot] === 0) {
          closeUnopened(slot, 'evicted', tsMicros, null);
          return;
        }
        if (silent === null && silentSlot === NONE) silentSlot = slot;
        slot = syn.next[slot]!;
        continue;
      }
      if (conn === null) break;
      const a = conn.halfOf(true);
      const b = conn.halfOf(false);
      if (!((a !== null && !a.silent) || (b !== null && !b.silent))) {
        if (b === null || b.stats.packets === 0) {
          close(conn, 'evicted', tsMicros);
          return;
        }
        if (silent === null && silentSlot === NONE) silent = conn;
      }
      conn = conn.next;
    }
    if (silent !== null) close(silent, 'evicted', tsMicros);
    else if (silentSlot !== NONE) closeUnopened(silentSlot, 'evicted', tsMicros, null);
    else if (unopenedFirst()) closeUnopened(syn.head, 'evicted', tsMicros, null);
    else if (table.openHead !== null) close(table.openHead, 'evicted', tsMicros);
  }

  /**
   * Closes the SYN table's entry `slot` with `reason` at `tsMicros` (`firstClose`: who sent the closing RST):
   * the factory is told (closeUnopened), and one closed by a RST lingers like any connection, as a Connection
   * that kept only its ISNs.
   */
  function closeUnopened(
    slot: number,
    reason: CloseReason,
    tsMicros: number,
    firstClose: Direction | null,
  ): void {
    unopenedView.slot = slot;
    unopenedView.firstClose = firstClose;
    factory.closeUnopened?.(unopenedView, reason, tsMicros);
    if (reason === 'rst' && lingerMicros > 0) {
      const conn = connectionOfSlot(slot);
      conn.closedWithIsns(tsMicros, syn.isnA[slot]!, syn.synAck[slot] === 1 ? syn.isnB[slot]! : null);
      table.insertClosed(conn);
      if (table.closedCount > o.maxConnections && table.closedHead !== null) table.remove(table.closedHead);
    }
    syn.remove(slot);
  }

  /** Moves the SYN table's entry `slot` to the table's activity tail: a segment of it at `tsMicros`. */
  function touchUnopened(slot: number, tsMicros: number): void {
    syn.lastTs[slot] = tsMicros;
    syn.touch(slot, at.segment);
  }

  /**
   * Handles a segment of the SYN table's entry `slot` in place when it is one the table keeps (a SYN or its
   * retransmission from the client, a SYN+ACK from the server, a RST answering the SYN); returns false for
   * anything else, which needs a Connection (`promote`). Each case does what the connection path does.
   */
  function unopenedSegment(slot: number, segment: TcpSegment, tsMicros: number): boolean {
    if (segment.payloadLength > 0 || segment.wirePayloadLength > 0) return false;
    const control = segment.flags & (SYN | ACK | FIN | RST);
    if (syn.fromA) {
      if (control === SYN) {
        touchUnopened(slot, tsMicros);
        syn.packetsA[slot]!++;
        if (syn.isnA[slot] === segment.seq) {
          syn.retransmissionsA[slot]!++;
          counters.retransmissions++;
          return true;
        }
        // Another ISN: a new handshake on the same addresses and ports; the first one is evicted.
        closeUnopened(slot, 'evicted', tsMicros, null);
        start(segment, tsMicros);
        return true;
      }
      if (control === RST || control === (RST | ACK)) {
        touchUnopened(slot, tsMicros);
        syn.packetsA[slot]!++;
        closeUnopened(slot, 'rst', tsMicros, 'c2s');
        return true;
      }
      return false;
    }
    if (control === (SYN | ACK)) {
      touchUnopened(slot, tsMicros);
      syn.packetsB[slot]!++;
      syn.ackB[slot] = segment.ack;
      if (syn.synAck[slot] === 0) {
        syn.synAck[slot] = 1;
        syn.isnB[slot] = segment.seq;
      } else if (syn.isnB[slot] === segment.seq) {
        syn.retransmissionsB[slot]!++;
        counters.retransmissions++;
      }
      return true;
    }
    if ((control === RST || control === (RST | ACK)) && syn.synAck[slot] === 0) {
      // The SYN refused.
      touchUnopened(slot, tsMicros);
      syn.packetsB[slot]!++;
      closeUnopened(slot, 'rst', tsMicros, 's2c');
      return true;
    }
    return false;
  }

  /** The `Connection` of a SYN-table slot: its words, ports, id and first time (the slot is not freed). */
  function connectionOfSlot(slot: number): Connection {
    return new Connection(
      syn.hash[slot]!,
      formatId(syn.serial[slot]!),
      syn.v6[slot] === 1 ? 6 : 4,
      syn.words,
      slot * 8,
      syn.portA[slot]!,
      syn.portB[slot]!,
      newHalf,
      syn.firstTs[slot]!,
    );
  }

  /**
   * Turns the SYN table's entry `slot` into the Connection the connection path would have built from the same
   * segments (its half-streams, counts, ISNs and the server's latest ACK), hands it a handler (created now,
   * with the first SYN's time) and puts it in the connection table. The caller touches it at once.
   */
  function promote(slot: number): Connection {
    const conn = connectionOfSlot(slot);
    conn.lastTsMicros = syn.lastTs[slot]!;
    conn.touchedAt = syn.touchedAt[slot]!;
    conn.sawSyn = true;
    const a = conn.a;
    a.setIsn(syn.isnA[slot]!);
    a.stats.packets = syn.packetsA[slot]!;
    a.stats.retransmissions = syn.retransmissionsA[slot]!;
    if (syn.packetsB[slot]! > 0) {
      // The server sent SYN+ACKs only (its RST closes the entry).
      const b = conn.b;
      b.setIsn(syn.isnB[slot]!);
      b.stats.packets = syn.packetsB[slot]!;
      b.stats.retransmissions = syn.retransmissionsB[slot]!;
      conn.sawSynAck = true;
      a.peerAcked(syn.ackB[slot]!, conn.lastTsMicros);
    }
    syn.remove(slot);
    table.insert(conn);
    orient(conn, true, 'syn', conn.firstTsMicros);
    return conn;
  }

  function flowStats(conn: Connection): FlowStats {
    const client = conn.halfOf(conn.aIsClient);
    const server = conn.halfOf(!conn.aIsClient);
    const c2s = client === null ? NO_TRAFFIC : client.stats;
    const s2c = server === null ? NO_TRAFFIC : server.stats;
    const firstClose = conn.firstClose;
    // Two literal shapes rather than a spread: one object per close.
    return firstClose === null
      ? {
          firstTsMicros: conn.firstTsMicros,
          lastTsMicros: conn.lastTsMicros,
          c2s,
          s2c,
          sawSyn: conn.sawSyn,
          sawSynAck: conn.sawSynAck,
        }
      : {
          firstTsMicros: conn.firstTsMicros,
          lastTsMicros: conn.lastTsMicros,
          c2s,
          s2c,
          sawSyn: conn.sawSyn,
          sawSynAck: conn.sawSynAck,
          firstClose,
        };
  }

  /** Lets go of a connection's buffers (both sides, those it has). */
  function releaseHalves(conn: Connection): void {
    const a = conn.halfOf(true);
    const b = conn.halfOf(false);
    if (a !== null) {
      a.release();
      holding.delete(a);
    }
    if (b !== null) {
      b.release();
      holding.delete(b);
    }
  }

  function close(conn: Connection, reason: CloseReason, tsMicros: number): void {
    if (conn.state === 'closed') return;
    if (conn.state === 'pending') orient(conn, true, 'guess', tsMicros);
    const handler = conn.handler;
    if (conn.state === 'open' && handler !== null) {
      conn.halfOf(conn.aIsClient)?.closeOut(tsMicros);
      conn.halfOf(!conn.aIsClient)?.closeOut(tsMicros);
      handler.onClose(reason, tsMicros, flowStats(conn));
    }
    conn.state = 'closed';
    conn.closedTsMicros = tsMicros;
    // A closed connection may linger (closedLingerMs) to absorb late packets: it keeps only its own small
    // bookkeeping, not the handler (for SMTP, the decoder and the whole session model behind it).
    conn.handler = null;
    releaseHalves(conn);
    conn.dropHalves();
    if (conn.finDeadlineMicros >= 0) {
      conn.finDeadlineMicros = -1;
      const index = finWaiting.indexOf(conn);
      if (index >= 0) finWaiting.splice(index, 1);
    }
    if ((reason === 'fin' || reason === 'rst') && lingerMicros > 0) {
      table.moveToClosed(conn);
      // The closed list is bounded like the open one.
      if (table.closedCount > o.maxConnections && table.closedHead !== null) table.remove(table.closedHead);
    } else {
      table.remove(conn);
    }
  }

  /** Drops a connection its handler declined: it stays in the table (bounded like any) to absorb its segments. */
  function decline(conn: Connection): void {
    declined++;
    conn.declined = true;
    conn.state = 'ignored';
    conn.handler = null;
    releaseHalves(conn);
    if (conn.finDeadlineMicros >= 0) {
      conn.finDeadlineMicros = -1;
      const index = finWaiting.indexOf(conn);
      if (index >= 0) finWaiting.splice(index, 1);
    }
  }

  /** Idle close time: when the timeout ran out, but never later than the latest packet seen. */
  function idleClose(conn: Connection): void {
    const bothFins = bothFinsSeen(conn);
    const due = conn.lastTsMicros + idleMicros;
    close(conn, bothFins ? 'fin' : 'idle-timeout', Math.min(due, latestTsMicros));
  }

  /** Idle close of the SYN table's entry `slot`, as `idleClose` (no FIN there). */
  function idleCloseUnopened(slot: number): void {
    closeUnopened(slot, 'idle-timeout', Math.min(syn.lastTs[slot]! + idleMicros, latestTsMicros), null);
  }

  /**
   * Closes open connections, least recently active first (both tables), while their last packet is before
   * `cutoff`, as idle; returns how many. `shardPhase`: label the closes for sharding (expiry at a segment).
   */
  function closeIdleBefore(cutoff: number, shardPhase: boolean): number {
    let closed = 0;
    for (;;) {
      if (unopenedFirst()) {
        const slot = syn.head;
        if (syn.lastTs[slot]! >= cutoff) break;
        if (shardPhase) {
          at.phase = SHARD_PHASE.IDLE;
          at.rank = syn.touchedAt[slot]!;
        }
        idleCloseUnopened(slot);
      } else {
        const head = table.openHead;
        if (head === null || head.lastTsMicros >= cutoff) break;
        if (shardPhase) {
          at.phase = SHARD_PHASE.IDLE;
          at.rank = head.touchedAt;
        }
        idleClose(head);
      }
      closed++;
    }
    return closed;
  }

  function expire(nowMicros: number): void {
    closeIdleBefore(nowMicros - idleMicros, true);
    const lingerCutoff = nowMicros - lingerMicros;
    let closed = table.closedHead;
    while (closed !== null && closed.closedTsMicros < lingerCutoff) {
      table.remove(closed);
      closed = table.closedHead;
    }
    if (nowMicros >= finWaitingNext) {
      let next = Number.POSITIVE_INFINITY;
      for (const conn of finWaiting.slice()) {
        if (conn.finDeadlineMicros <= nowMicros) {
          at.phase = SHARD_PHASE.FIN_WAIT;
          at.rank = conn.finWaitFrom;
          close(conn, 'fin', conn.finDeadlineMicros);
        } else if (conn.finDeadlineMicros < next) next = conn.finDeadlineMicros;
      }
      finWaitingNext = next;
    }
  }

  /** Handles a SYN or SYN+ACK on a tracked connection; returns false when it starts a new connection. */
  function synOnOpen(conn: Connection, fromA: boolean, segment: TcpSegment): boolean {
    const half = fromA ? conn.a : conn.b;
    const isSynAck = (segment.flags & ACK) !== 0;
    if (half.isnKnown) {
      if (half.isn === segment.seq) {
        if (segment.payloadLength === 0 && segment.wirePayloadLength === 0) {
          half.stats.retransmissions++;
          counters.retransmissions++;
        }
        return true;
      }
      // A SYN with another ISN: the 5-tuple was reused for a new connection.
      return isSynAck;
    }
    // Data already placed this direction (or the other one, picked up midstream): a SYN now is a new connection.
    const other = conn.halfOf(!fromA);
    if (half.baseKnown || (other?.baseKnown && !other.isnKnown)) return isSynAck;
    half.setIsn(segment.seq);
    if (conn.state === 'pending') orient(conn, isSynAck ? !fromA : fromA, 'syn', segment.tsMicros);
    const fromClient = fromA === conn.aIsClient;
    if (!isSynAck && fromClient) conn.sawSyn = true;
    if (isSynAck && !fromClient) conn.sawSynAck = true;
    return true;
  }

  function enforceTotalLimit(tsMicros: number): void {
    totalLimitHits++;
    while (counters.bufferedBytes > o.maxBufferedBytesTotal) {
      let largest: HalfStream | null = null;
      for (const half of holding) {
        if (half.bufferedBytes === 0) holding.delete(half);
        else if (largest === null || half.bufferedBytes > largest.bufferedBytes) largest = half;
      }
      if (largest === null) break;
      largest.flushHeld('buffer-limit', tsMicros);
      holding.delete(largest);
    }
  }

  function push(segment: TcpSegment): void {
    const ts = segment.tsMicros;
    if (ts > latestTsMicros) latestTsMicros = ts;
    at.segment = segments++;
    const head = table.openHead;
    const oldest = syn.head;
    if (
      (head !== null && head.lastTsMicros < ts - idleMicros) ||
      (oldest !== NONE && syn.lastTs[oldest]! < ts - idleMicros) ||
      (table.closedHead !== null && table.closedHead.closedTsMicros < ts - lingerMicros) ||
      ts >= finWaitingNext
    ) {
      expire(ts);
    }
    // Another shard's connection: it only moved the clock.
    if (shard !== undefined && hashSegment(segment) % shard.count !== shard.index) return;
    at.phase = SHARD_PHASE.SEGMENT;
    at.rank = 0;

    let conn = table.lookup(segment);
    const flags = segment.flags;
    if (conn === null) {
      const slot = syn.count === 0 ? NONE : syn.find(segment, table.lastHash);
      if (slot === NONE) {
        conn = start(segment, ts);
        if (conn === null) return;
        table.fromA = true;
      } else {
        if (unopenedSegment(slot, segment, ts)) return;
        const fromA = syn.fromA;
        conn = promote(slot);
        table.fromA = fromA;
      }
    } else if (conn.state === 'closed') {
      if ((flags & (SYN | ACK)) === SYN && !conn.isnIs(table.fromA, segment.seq)) {
        // Port reuse: a new handshake on the addresses and ports of a closed connection.
        table.remove(conn);
        conn = start(segment, ts);
        if (conn === null) return;
        table.fromA = true;
      } else {
        if ((flags & (SYN | FIN)) !== 0 || segment.payloadLength > 0) counters.retransmissions++;
        return;
      }
    }
    let fromA = table.fromA;
    conn.lastTsMicros = ts;
    conn.touchedAt = at.segment;
    table.touch(conn);
    if (conn.declined) {
      // Not SMTP (content detection): nothing is reassembled; a RST or FIN frees the slot.
      if ((flags & (RST | FIN)) !== 0) close(conn, 'rst', ts);
      return;
    }
    (fromA ? conn.a : conn.b).stats.packets++;
    const pure = (flags & CONTROL) === 0 && segment.wirePayloadLength === 0 && segment.payloadLength === 0;
    // The peer acknowledged bytes of the other direction: a hole it covers will not be filled.
    // A side with no half-stream yet has no base: an ACK of it could not be placed, so none is made for it.
    const peer = conn.halfOf(!fromA);
    if ((flags & ACK) !== 0 && peer !== null && peer.peerAcked(segment.ack, ts) && pure) {
      // A pure ACK that completed both directions after both FINs closes the connection now.
      if (conn.finDeadlineMicros >= 0 && conn.a.finished() && conn.b.finished()) close(conn, 'fin', ts);
      return;
    }
    if (pure) return;

    if ((flags & SYN) !== 0 && !synOnOpen(conn, fromA, segment)) {
      // A new handshake on the addresses and ports of a connection that is still open.
      close(conn, 'evicted', ts);
      const fresh = start(segment, ts);
      if (fresh === null) return;
      conn = fresh;
      fromA = true;
      conn.a.stats.packets++;
      synOnOpen(conn, true, segment);
    }
    if (conn.state === 'ignored') {
      // Nothing is delivered for declined connections; a RST still frees their slot.
      if ((flags & RST) !== 0) close(conn, 'rst', ts);
      return;
    }
    const active = fromA ? conn.a : conn.b;
    if (conn.state === 'pending') {
      let created: boolean;
      if (segment.payloadLength > 0) {
        const reply = looksLikeReply(segment);
        created = orient(conn, fromA ? !reply : reply, 'first-speaker', ts);
      } else if ((flags & (FIN | RST)) !== 0 || segment.wirePayloadLength > 0) {
        created = orient(conn, true, 'guess', ts);
      } else {
        return;
      }
      if (!created) return;
    }

    if ((flags & (FIN | RST)) !== 0 && conn.firstClose === null)
      conn.firstClose = fromA === conn.aIsClient ? 'c2s' : 's2c';
    active.segment(segment, ts);
    if (conn.handler?.declined === true) {
      decline(conn);
      return;
    }
    if (active.bufferedBytes > 0) holding.add(active);

    if ((flags & RST) !== 0) {
      close(conn, 'rst', ts);
      return;
    }
    if (bothFinsSeen(conn)) {
      if (conn.a.finished() && conn.b.finished()) {
        close(conn, 'fin', ts);
        return;
      }
      if (conn.finDeadlineMicros < 0) {
        conn.finDeadlineMicros = ts + finLingerMicros;
        conn.finWaitFrom = at.segment;
        finWaiting.push(conn);
        if (conn.finDeadlineMicros < finWaitingNext) finWaitingNext = conn.finDeadlineMicros;
      }
    }
    if (counters.bufferedBytes > o.maxBufferedBytesTotal) enforceTotalLimit(ts);
  }

  function advance(tsMicros: number): void {
    if (tsMicros <= latestTsMicros) return;
    latestTsMicros = tsMicros;
    expire(tsMicros);
  }

  function flushOlderThan(tsMicros: number): number {
    const closedCount = closeIdleBefore(tsMicros, false);
    let closed = table.closedHead;
    while (closed !== null && closed.closedTsMicros < tsMicros) {
      table.remove(closed);
      closed = table.closedHead;
    }
    return closedCount;
  }

  function shedOldest(count: number): number {
    let closedCount = 0;
    while (closedCount < count) {
      if (unopenedFirst()) closeUnopened(syn.head, 'limit', latestTsMicros, null);
      else if (table.openHead !== null) close(table.openHead, 'limit', latestTsMicros);
      else break;
      closedCount++;
    }
    return closedCount;
  }

  function flushAll(reason: CloseReason): void {
    at.segment = segments;
    at.phase = SHARD_PHASE.END;
    for (;;) {
      if (unopenedFirst()) {
        const slot = syn.head;
        at.rank = syn.touchedAt[slot]!;
        closeUnopened(slot, reason, latestTsMicros, null);
        continue;
      }
      const head = table.openHead;
      if (head === null) break;
      at.rank = head.touchedAt;
      // A connection waiting after both FINs for holes to fill was closed by FIN, whatever ends the input.
      close(head, bothFinsSeen(head) ? 'fin' : reason, latestTsMicros);
    }
    table.clear();
    syn.clear();
    finWaiting.length = 0;
    finWaitingNext = Number.POSITIVE_INFINITY;
  }

  function stats(): AssemblerStats {
    return {
      openFlows: table.openCount + syn.count,
      totalFlows,
      bufferedBytes: counters.bufferedBytes,
      gaps: counters.gaps,
      overlapsDiffering: counters.overlapsDiffering,
      retransmissions: counters.retransmissions,
      limitHits: {
        perDirection: counters.perDirectionLimitHits,
        total: totalLimitHits,
        connections: connectionLimitHits,
      },
      orphanSegments,
      declined,
    };
  }

  return { push, advance, flushOlderThan, shedOldest, flushAll, stats, unopened: () => syn.count };
}
