/**
 * One direction of a TCP connection: maps raw sequence numbers to relative offsets, delivers in-order bytes
 * at once (as views into the segment buffer), copies and holds out-of-order bytes until the hole before them
 * fills, and turns what can never arrive into explicit gaps.
 *
 * Overlap policy — the first copy of a byte wins: bytes already delivered, or already held out of order, are
 * never replaced by a later segment covering the same offsets; the later segment's overlapping bytes are
 * dropped (the segment is counted as a retransmission) and compared with the kept copy. A difference counts
 * the segment once in `overlapsDiffering`. The comparison covers the held out-of-order bytes and the last
 * `overlapCheckBytes` delivered bytes (a ring per direction, grown on demand); older delivered bytes, bytes
 * reported as gaps and bytes cut by the snaplen are not compared.
 *
 * Except when the peer acknowledged the later copy's side: a segment whose bytes differ from delivered bytes
 * that the peer never acknowledged, starting exactly at the peer's latest ACK, which was sent after the first
 * copy was seen (so the receiver had it and did not take it), is the copy the receiver took. Delivered bytes
 * cannot be taken back, so the stream goes on with the later copy: a one-byte `replaced` gap marks the
 * break, and from there on offsets run the first copy's unacknowledged length plus one ahead of sequence
 * numbers (a mapping shift). Not done while out-of-order bytes are held or after a FIN (their offsets would
 * need moving), nor when the first copy has left the ring.
 *
 * Acknowledgements — a hole the peer acknowledged is lost to the capture: the assembler passes each ACK number
 * the peer sends for this direction to `peerAcked`; when it lies past the start of a hole (the bytes between
 * `nextOffset` and the next held range or the FIN), the receiver got bytes the capture missed, so the hole is
 * reported at once as a `lost` gap up to the ACK (or the held range, whichever comes first) and the held data
 * after it is delivered. The latest ACK is kept so that a hole which appears later (data past an acknowledged
 * but unseen range) is declared when that data arrives. An ACK past everything seen creates no gap.
 */

import type { TcpSegment } from '../decode/types.js';
import { TCP_FLAG } from '../decode/types.js';
import { copyBytes } from '../util/copy-bytes.js';
import type { RingPool } from './ring-pool.js';
import { seqAdd, seqToOffset } from './seq.js';
import {
  type Direction,
  type DirectionStats,
  emptyDirectionStats,
  type GapCause,
  type StreamChunk,
  type StreamHandler,
} from './types.js';

/**
 * The chunk object half-streams hand to their handlers, refilled for every delivery (see StreamChunk): one per
 * assembler, shared by all its half-streams, since a delivery ends before the next begins.
 */
export interface ReusedChunk extends StreamChunk {
  direction: Direction;
  offset: number;
  tsMicros: number;
  bytes: Uint8Array;
}

/** Counters shared by all half-streams of one assembler. */
export interface SharedCounters {
  bufferedBytes: number;
  gaps: number;
  overlapsDiffering: number;
  retransmissions: number;
  perDirectionLimitHits: number;
}

/** A held out-of-order range: copied bytes, or (bytes null) a range the snaplen cut. */
class HeldRange {
  constructor(
    readonly offset: number,
    readonly length: number,
    readonly bytes: Uint8Array | null,
  ) {}
}

const NO_HANDLER: StreamHandler = {
  onData() {},
  onGap() {},
  onClose() {},
};

const FIRST_HISTORY_BYTES = 1024;
/**
 * A ring that needs more than this grows to its bound at once: such a direction carries a message body, and
 * doubling step by step would allocate and copy four rings on the way.
 */
const HISTORY_JUMP_BYTES = 4096;
const NO_BYTES = new Uint8Array(0);
/** The held list of a direction that holds nothing: shared and never written; a direction gets its own at its first hold. */
const NO_HELD: HeldRange[] = [];

/** A chunk object for the half-streams of one assembler. */
export function newReusedChunk(): ReusedChunk {
  return { direction: 'c2s', offset: 0, tsMicros: 0, bytes: NO_BYTES };
}

/**
 * What the half-streams of one assembler share: counters, limits, the chunk handed to handlers, the ring pool,
 * and the segment being handled (kept in fields so the helpers need no closures; one segment is handled at a
 * time, and a delivery ends before the next segment). One object per assembler rather than ten fields per
 * half-stream: a direction is made for every connection attempt.
 */
export class HalfStreamShared {
  segBuffer: Uint8Array = NO_BYTES;
  segPayload = 0;
  segOffset = 0;
  segPresentEnd = 0;
  segOverlap = false;
  segDiffers = false;
  readonly chunk: ReusedChunk = newReusedChunk();

  constructor(
    readonly counters: SharedCounters,
    readonly maxBufferedBytes: number,
    readonly maxHistoryBytes: number,
    /** Where rings come from and go back to; null: each ring is new and left to the collector. */
    readonly rings: RingPool | null = null,
  ) {}
}

export class HalfStream {
  direction: Direction = 'c2s';
  handler: StreamHandler = NO_HANDLER;
  readonly stats: DirectionStats = emptyDirectionStats();

  /** Raw sequence number of offset 0, once known. */
  baseSeq = 0;
  baseKnown = false;
  /** The ISN came from a SYN (offset 0 is ISN + 1); otherwise the base is the first sequence number seen. */
  isnKnown = false;
  isn = 0;
  /** Every byte before this offset was delivered as data or reported as a gap. */
  nextOffset = 0;
  /** Offset the FIN occupies, or -1. */
  finOffset = -1;
  /** Bytes held out of order (copied). */
  bufferedBytes = 0;
  /**
   * Offset just past the furthest byte seen, or the FIN's offset if further: greater than `nextOffset` exactly
   * when a hole is open (bytes missing before held data or before the FIN).
   */
  seenEnd = 0;
  /** Raw ACK number of the latest segment of the peer that acknowledged this direction (valid if `ackSeen`). */
  ack = 0;
  /** Whether `ack` was sent after this direction's offset 0 was fixed (an ACK before that cannot be placed). */
  ackSeen = false;
  /** `nextOffset` when the peer sent `ack`: the bytes the capture had delivered by then. */
  deliveredAtAck = 0;

  private held: HeldRange[] = NO_HELD;
  private delivered = false;

  /** Whether nothing was delivered, reported as a gap or held out of order in this direction yet. */
  get silent(): boolean {
    return !this.delivered && this.bufferedBytes === 0;
  }
  private history: Uint8Array | null = null;
  /** Lowest offset whose delivered byte is still in `history`. */
  private historyStart = 0;

  constructor(private readonly shared: HalfStreamShared) {}

  /** Sets offset 0 to `isn + 1` (from a SYN or SYN+ACK), unless the base is already known. */
  setIsn(isn: number): void {
    if (this.baseKnown) return;
    this.isn = isn;
    this.isnKnown = true;
    this.baseSeq = seqAdd(isn, 1);
    this.baseKnown = true;
  }

  /** Whether the FIN was seen and every byte before it was delivered or reported. */
  finished(): boolean {
    return this.finOffset >= 0 && this.nextOffset >= this.finOffset;
  }

  /** Handles the payload and FIN of a segment sent in this direction (SYN/RST are the caller's business). */
  segment(seg: TcpSegment, tsMicros: number): void {
    const flags = seg.flags;
    const fin = (flags & TCP_FLAG.FIN) !== 0;
    const present = seg.payloadLength;
    const wire = Math.max(seg.wirePayloadLength, present);
    const dataSeq = (flags & TCP_FLAG.SYN) !== 0 ? seqAdd(seg.seq, 1) : seg.seq;
    if (!this.baseKnown) {
      if (wire === 0 && !fin) return;
      // Picked up midstream: the first byte seen is offset 0, and no gap is reported for what came before.
      this.baseSeq = dataSeq;
      this.baseKnown = true;
    }
    let offset = seqToOffset(dataSeq, this.baseSeq, this.nextOffset);
    if (
      offset < this.nextOffset &&
      wire > 0 &&
      this.ackSeen &&
      this.replacesUnacknowledged(seg, offset, tsMicros)
    )
      offset = this.nextOffset;
    const end = offset + wire;
    if (wire > 0) {
      if (end > this.seenEnd) this.seenEnd = end;
      this.data(seg, offset, present, wire, tsMicros);
      // Let go of the packet buffer: from a stream source (standard input, gzip) each chunk is a new buffer,
      // and a connection keeping the view of its last packet would keep that whole chunk alive.
      this.shared.segBuffer = NO_BYTES;
    }
    if (fin) {
      if (this.finOffset < 0) {
        this.finOffset = end;
        if (end > this.seenEnd) this.seenEnd = end;
      } else if (wire === 0) this.countRetransmission(false);
    }
    // A hole is open after this segment: the peer may already have acknowledged past its start.
    if (this.seenEnd > this.nextOffset && this.ackSeen) this.acknowledged(tsMicros);
  }

  /**
   * Records the ACK number `ack` (raw) of a segment the peer sent with the ACK flag; if a hole is open and the
   * ACK lies past its start, reports the acknowledged part of the hole as a `lost` gap and delivers what follows.
   * Returns whether a gap was reported. Costs one comparison when no hole is open.
   */
  peerAcked(ack: number, tsMicros: number): boolean {
    this.ack = ack;
    this.deliveredAtAck = this.nextOffset;
    // On a connection picked up midstream, an ACK sent before this direction's first byte was seen is ignored.
    this.ackSeen = this.baseKnown;
    return this.seenEnd > this.nextOffset && this.acknowledged(tsMicros);
  }

  /** Reports every hole (or part of one) before the latest peer ACK as a `lost` gap; returns whether any was. */
  private acknowledged(tsMicros: number): boolean {
    const acked = seqToOffset(this.ack, this.baseSeq, this.nextOffset);
    let reported = false;
    while (acked > this.nextOffset) {
      // The hole ends at the first held range, or at the FIN when nothing is held.
      const first = this.held[0];
      let holeEnd: number;
      if (first !== undefined) holeEnd = first.offset;
      else if (this.finOffset > this.nextOffset) holeEnd = this.finOffset;
      else break; // nothing seen past the ACK: data missing at the end is not a hole yet
      this.emitGap(Math.min(acked, holeEnd) - this.nextOffset, this.holeCause('lost'), tsMicros);
      this.drain(tsMicros);
      reported = true;
    }
    return reported;
  }

  /** Reports every hole before held data as a gap with `cause` and delivers the held data. */
  flushHeld(cause: GapCause, tsMicros: number): void {
    while (this.held.length > 0) this.skipHole(cause, tsMicros);
  }

  /** At close: flushes held data ('lost' holes) and reports the bytes before a seen FIN that never came. */
  closeOut(tsMicros: number): void {
    this.flushHeld('lost', tsMicros);
    if (this.finOffset > this.nextOffset)
      this.emitGap(this.finOffset - this.nextOffset, this.holeCause('lost'), tsMicros);
  }

  /**
   * Whether the segment at `offset` (before `nextOffset`) is the copy the peer acknowledged of delivered bytes it
   * did not acknowledge (see the file comment); if so, reports the break as a one-byte `replaced` gap and shifts
   * the offset mapping so that the segment starts at the new `nextOffset`.
   */
  private replacesUnacknowledged(seg: TcpSegment, offset: number, tsMicros: number): boolean {
    if (this.held.length > 0 || this.finOffset >= 0) return false;
    const next = this.nextOffset;
    // The peer acknowledged everything before this copy and nothing from its start, after the first copy's
    // bytes there had been seen.
    if (seqToOffset(this.ack, this.baseSeq, next) !== offset || this.deliveredAtAck <= offset) return false;
    this.shared.segBuffer = seg.buffer;
    this.shared.segPayload = seg.payloadOffset;
    this.shared.segOffset = offset;
    this.shared.segPresentEnd = offset + seg.payloadLength;
    const differs = this.compareHistory(offset, Math.min(offset + seg.payloadLength, next));
    this.shared.segBuffer = NO_BYTES;
    if (!differs) return false;
    this.countRetransmission(true);
    this.emitGap(1, 'replaced', tsMicros);
    // Sequence numbers from this copy's first byte on map to the offsets after the gap.
    this.baseSeq = seqAdd(this.baseSeq, offset - this.nextOffset);
    if (this.seenEnd < this.nextOffset) this.seenEnd = this.nextOffset;
    return true;
  }

  /** Drops held data and history (after close). */
  /** Frees what the closed direction holds, its handler included (the SMTP decoder and session behind it). */
  release(): void {
    this.shared.counters.bufferedBytes -= this.bufferedBytes;
    this.bufferedBytes = 0;
    this.held = NO_HELD;
    if (this.history !== null) this.shared.rings?.give(this.history);
    this.history = null;
    this.handler = NO_HANDLER;
  }

  private data(seg: TcpSegment, offset: number, present: number, wire: number, tsMicros: number): void {
    const end = offset + wire;
    this.shared.segBuffer = seg.buffer;
    this.shared.segPayload = seg.payloadOffset;
    this.shared.segOffset = offset;
    this.shared.segPresentEnd = offset + present;
    this.shared.segOverlap = false;
    this.shared.segDiffers = false;
    const next = this.nextOffset;
    if (offset < next) {
      // Some or all of it was delivered (or reported) already.
      this.shared.segOverlap = true;
      if (this.compareHistory(offset, Math.min(end, next))) this.shared.segDiffers = true;
      if (end <= next) {
        this.countRetransmission(this.shared.segDiffers);
        return;
      }
      this.inOrder(next, end, tsMicros);
    } else if (offset === next) {
      this.inOrder(offset, end, tsMicros);
    } else {
      this.outOfOrder(offset, end, tsMicros);
    }
    if (this.shared.segOverlap) this.countRetransmission(this.shared.segDiffers);
  }

  private countRetransmission(differs: boolean): void {
    this.stats.retransmissions++;
    this.shared.counters.retransmissions++;
    if (differs) {
      this.stats.overlapsDiffering++;
      this.shared.counters.overlapsDiffering++;
    }
  }

  /** Delivers [cursor, end) of the current segment, interleaving held ranges it meets; cursor === nextOffset. */
  private inOrder(cursor: number, end: number, tsMicros: number): void {
    const held = this.held;
    while (cursor < end) {
      const first = held[0];
      if (first === undefined || first.offset >= end) {
        this.deliverSegmentPart(cursor, end, tsMicros);
        break;
      }
      if (first.offset > cursor) {
        this.deliverSegmentPart(cursor, first.offset, tsMicros);
        cursor = first.offset;
      }
      // The held copy arrived first: it wins over the overlapping part of this segment.
      const firstEnd = first.offset + first.length;
      this.shared.segOverlap = true;
      if (this.compareHeld(first, cursor, Math.min(end, firstEnd))) this.shared.segDiffers = true;
      held.shift();
      this.deliverHeld(first, tsMicros);
      cursor = firstEnd;
    }
    this.drain(tsMicros);
  }

  /** Holds the parts of [cursor, end) that no held range covers; cursor > nextOffset. */
  private outOfOrder(cursor: number, end: number, tsMicros: number): void {
    const held = this.held;
    // First held range ending after cursor (held ranges are sorted and disjoint, so ends are sorted too).
    let lo = 0;
    let hi = held.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const range = held[mid]!;
      if (range.offset + range.length <= cursor) lo = mid + 1;
      else hi = mid;
    }
    let index = lo;
    let added = false;
    while (cursor < end) {
      const range = held[index];
      if (range === undefined || range.offset >= end) {
        this.hold(index, cursor, end);
        added = true;
        break;
      }
      if (range.offset > cursor) {
        index += this.hold(index, cursor, range.offset);
        added = true;
        cursor = range.offset;
      }
      const rangeEnd = range.offset + range.length;
      this.shared.segOverlap = true;
      if (this.compareHeld(range, cursor, Math.min(end, rangeEnd))) this.shared.segDiffers = true;
      cursor = rangeEnd;
      index++;
    }
    if (!added) return;
    this.stats.outOfOrder++;
    if (this.bufferedBytes > this.shared.maxBufferedBytes) {
      this.shared.counters.perDirectionLimitHits++;
      while (this.bufferedBytes > this.shared.maxBufferedBytes && this.held.length > 0) {
        this.skipHole('buffer-limit', tsMicros);
      }
    }
  }

  /** Inserts copies of the current segment's [from, to) at `index`; returns how many ranges were inserted. */
  private hold(index: number, from: number, to: number): number {
    const presentEnd = this.shared.segPresentEnd;
    let inserted = 0;
    if (this.held === NO_HELD) this.held = [];
    if (from < presentEnd) {
      const stop = Math.min(to, presentEnd);
      const start = this.shared.segPayload + (from - this.shared.segOffset);
      const bytes = copyBytes(this.shared.segBuffer.subarray(start, start + (stop - from)));
      this.held.splice(index, 0, new HeldRange(from, stop - from, bytes));
      this.bufferedBytes += bytes.length;
      this.shared.counters.bufferedBytes += bytes.length;
      inserted++;
    }
    if (to > presentEnd) {
      const cut = Math.max(from, presentEnd);
      this.held.splice(index + inserted, 0, new HeldRange(cut, to - cut, null));
      inserted++;
    }
    return inserted;
  }

  /** Delivers [from, to) of the current segment: present bytes as a view, the cut remainder as a gap. */
  private deliverSegmentPart(from: number, to: number, tsMicros: number): void {
    const presentEnd = this.shared.segPresentEnd;
    if (from < presentEnd) {
      const stop = Math.min(to, presentEnd);
      const start = this.shared.segPayload + (from - this.shared.segOffset);
      this.emitData(this.shared.segBuffer.subarray(start, start + (stop - from)), tsMicros);
    }
    if (to > presentEnd) this.emitGap(to - Math.max(from, presentEnd), 'snaplen', tsMicros);
  }

  private deliverHeld(range: HeldRange, tsMicros: number): void {
    const bytes = range.bytes;
    if (bytes === null) {
      this.emitGap(range.length, 'snaplen', tsMicros);
      return;
    }
    this.bufferedBytes -= bytes.length;
    this.shared.counters.bufferedBytes -= bytes.length;
    this.emitData(bytes, tsMicros);
  }

  private drain(tsMicros: number): void {
    const held = this.held;
    let first = held[0];
    while (first !== undefined && first.offset === this.nextOffset) {
      held.shift();
      this.deliverHeld(first, tsMicros);
      first = held[0];
    }
  }

  /** Reports the hole before the first held range as a gap, then delivers what became contiguous. */
  private skipHole(cause: GapCause, tsMicros: number): void {
    const first = this.held[0];
    if (first === undefined) return;
    this.emitGap(first.offset - this.nextOffset, this.holeCause(cause), tsMicros);
    this.drain(tsMicros);
  }

  /** A hole at the very start of a direction whose ISN came from a SYN is the part the capture missed. */
  private holeCause(cause: GapCause): GapCause {
    return !this.delivered && this.isnKnown && this.nextOffset === 0 ? 'midstream' : cause;
  }

  private emitData(bytes: Uint8Array, tsMicros: number): void {
    const length = bytes.length;
    if (length === 0) return;
    const offset = this.nextOffset;
    if (this.shared.maxHistoryBytes > 0) this.remember(bytes, offset);
    this.nextOffset = offset + length;
    this.delivered = true;
    this.stats.bytes += length;
    const chunk = this.shared.chunk;
    chunk.direction = this.direction;
    chunk.offset = offset;
    chunk.tsMicros = tsMicros;
    chunk.bytes = bytes;
    this.handler.onData(chunk);
    chunk.bytes = NO_BYTES; // let go of the packet buffer
  }

  private emitGap(length: number, cause: GapCause, tsMicros: number): void {
    if (length <= 0) return;
    const offset = this.nextOffset;
    this.nextOffset = offset + length;
    this.historyStart = this.nextOffset;
    this.delivered = true;
    this.stats.gaps++;
    this.stats.gapBytes += length;
    this.shared.counters.gaps++;
    this.handler.onGap(this.direction, offset, length, cause, tsMicros);
  }

  /** Whether the current segment's present bytes in [from, to) differ from the held copy. */
  private compareHeld(range: HeldRange, from: number, to: number): boolean {
    const bytes = range.bytes;
    if (bytes === null) return false;
    if (to > this.shared.segPresentEnd) to = this.shared.segPresentEnd;
    const buffer = this.shared.segBuffer;
    let s = this.shared.segPayload + (from - this.shared.segOffset);
    let h = from - range.offset;
    for (let o = from; o < to; o++) {
      if (buffer[s++] !== bytes[h++]) return true;
    }
    return false;
  }

  /** Whether the current segment's present bytes in [from, to) differ from the remembered delivered bytes. */
  private compareHistory(from: number, to: number): boolean {
    const history = this.history;
    if (history === null) return false;
    if (from < this.historyStart) from = this.historyStart;
    if (to > this.shared.segPresentEnd) to = this.shared.segPresentEnd;
    if (to > this.nextOffset) to = this.nextOffset;
    if (from >= to) return false;
    const capacity = history.length;
    const buffer = this.shared.segBuffer;
    let s = this.shared.segPayload + (from - this.shared.segOffset);
    let h = from % capacity;
    for (let o = from; o < to; o++) {
      if (buffer[s++] !== history[h]) return true;
      if (++h === capacity) h = 0;
    }
    return false;
  }

  /** Copies delivered bytes at `offset` (=== nextOffset) into the history ring, growing it up to the bound. */
  private remember(bytes: Uint8Array, offset: number): void {
    const end = offset + bytes.length;
    let need = end - this.historyStart;
    if (need > this.shared.maxHistoryBytes) need = this.shared.maxHistoryBytes;
    let history = this.history;
    if (history === null || history.length < need) history = this.growHistory(need, offset);
    const capacity = history.length;
    let source = bytes;
    let at = offset;
    if (source.length > capacity) {
      source = source.subarray(source.length - capacity);
      at = end - capacity;
    }
    const position = at % capacity;
    if (position + source.length <= capacity) {
      history.set(source, position);
    } else {
      const first = capacity - position;
      history.set(source.subarray(0, first), position);
      history.set(source.subarray(first), 0);
    }
    if (end - capacity > this.historyStart) this.historyStart = end - capacity;
  }

  private growHistory(need: number, next: number): Uint8Array {
    const old = this.history;
    let capacity = old === null ? FIRST_HISTORY_BYTES : old.length * 2;
    while (capacity < need) capacity *= 2;
    if (capacity > HISTORY_JUMP_BYTES) capacity = this.shared.maxHistoryBytes;
    if (capacity > this.shared.maxHistoryBytes) capacity = this.shared.maxHistoryBytes;
    const grown = this.shared.rings === null ? new Uint8Array(capacity) : this.shared.rings.take(capacity);
    if (old !== null && next <= old.length) {
      // Nothing written past the old ring's first lap: every offset sits at the same index in both rings, and
      // one copy of the whole old ring (stale bytes past `next` included, never read) makes no view object.
      grown.set(old, 0);
    } else if (old !== null) {
      const oldCapacity = old.length;
      const from = Math.max(next - oldCapacity, this.historyStart);
      // Copy [from, next) in pieces that wrap in neither ring.
      let o = from;
      while (o < next) {
        const oldPosition = o % oldCapacity;
        const newPosition = o % capacity;
        const length = Math.min(next - o, oldCapacity - oldPosition, capacity - newPosition);
        grown.set(old.subarray(oldPosition, oldPosition + length), newPosition);
        o += length;
      }
    }
    if (old !== null) this.shared.rings?.give(old);
    this.history = grown;
    return grown;
  }
}
