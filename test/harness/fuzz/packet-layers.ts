/**
 * Fuzz layers of packet decoding (link, IPv4/IPv6 with fragments, TCP) and of TCP reassembly.
 *
 * Decoder cases are short sequences of real frames (one fresh decoder per case, so fragment state carries
 * across the frames of a case) mutated in the header of the layer under test. Invariants: decode never
 * throws; its outcome is one of the declared kinds; a `tcp` segment's address and payload ranges lie inside
 * its buffer with ports and sequence numbers in range; the same frames decode the same way twice.
 *
 * Reassembly cases are one or two SMTP dialogues turned into segments, then dropped, duplicated, reordered,
 * shifted, overlapped with conflicting bytes, cut or flagged at random, under random limits. Invariants: each
 * direction's data and gaps are contiguous from offset 0, each connection is created once and closed once,
 * nothing arrives after its close, buffered bytes stay within the limits, and after flushAll nothing is open
 * or buffered.
 */

import { LINKTYPE, type PacketView } from '../../../src/capture/types.js';
import { createPacketDecoder } from '../../../src/decode/packet-decoder.js';
import { TCP_FLAG, type TcpSegment } from '../../../src/decode/types.js';
import { createAssembler } from '../../../src/reassembly/assembler.js';
import type {
  AssemblerOptions,
  CloseReason,
  Direction,
  FlowKey,
  StreamHandler,
  UnopenedConnection,
} from '../../../src/reassembly/types.js';
import type { Corpus, DialogueSeed, FrameSeed } from './corpus.js';
import type { FuzzLayer } from './layer.js';
import { mutate, mutateRegion } from './mutate.js';
import type { Random } from './random.js';

const MAX_FRAME = 4096;
const LINK_TYPES = Object.values(LINKTYPE);
const OUTCOME_KINDS = new Set(['tcp', 'skipped', 'malformed']);

function view(frame: Uint8Array, linkType: number, index: number): PacketView {
  return {
    buffer: frame,
    offset: 0,
    capturedLength: frame.length,
    originalLength: frame.length,
    tsMicros: 1_700_000_000_000_000 + index * 1000,
    linkType,
    interfaceId: 0,
    index,
  };
}

function checkSegment(s: TcpSegment): string | null {
  const addr = s.ipVersion === 4 ? 4 : 16;
  const n = s.buffer.length;
  if (
    s.srcAddrOffset < 0 ||
    s.srcAddrOffset + addr > n ||
    s.dstAddrOffset < 0 ||
    s.dstAddrOffset + addr > n
  ) {
    return `address offsets ${s.srcAddrOffset}/${s.dstAddrOffset} outside a ${n}-byte buffer`;
  }
  if (s.payloadOffset < 0 || s.payloadLength < 0 || s.payloadOffset + s.payloadLength > n) {
    return `payload [${s.payloadOffset}, +${s.payloadLength}) outside a ${n}-byte buffer`;
  }
  if (s.wirePayloadLength < s.payloadLength)
    return `wire payload ${s.wirePayloadLength} < captured ${s.payloadLength}`;
  if (s.srcPort < 0 || s.srcPort > 65535 || s.dstPort < 0 || s.dstPort > 65535) return 'port out of range';
  if (s.seq < 0 || s.seq > 0xffffffff || s.ack < 0 || s.ack > 0xffffffff)
    return 'sequence number out of range';
  return null;
}

/** Decodes `frames` with a fresh decoder; returns the outcome log, or a violated invariant. */
export function runDecoder(
  frames: readonly { readonly bytes: Uint8Array; readonly linkType: number }[],
  verifyChecksums: boolean,
): { log: string[]; violation: string | null } {
  const decoder = createPacketDecoder({ verifyChecksums });
  const log: string[] = [];
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    const outcome = decoder.decode(view(f.bytes, f.linkType, i));
    if (!OUTCOME_KINDS.has(outcome.kind))
      return { log, violation: `unknown outcome ${JSON.stringify(outcome)}` };
    if (outcome.kind === 'tcp') {
      const s = decoder.segment;
      const bad = checkSegment(s);
      if (bad !== null) return { log, violation: `frame ${i}: ${bad}` };
      log.push(
        `tcp ${s.srcPort}>${s.dstPort} seq=${s.seq} flags=${s.flags} len=${s.payloadLength}/${s.wirePayloadLength}`,
      );
    } else log.push(`${outcome.kind} ${outcome.reason}`);
  }
  return { log, violation: null };
}

type Region = 'link' | 'ip' | 'tcp';

/** A sequence of 1-6 frames from the corpus, mutated in `region`. */
export function frameCase(random: Random, frames: readonly FrameSeed[], region: Region) {
  const ipFrames = frames.filter((f) => f.ipStart >= 0);
  const pool = region === 'link' || ipFrames.length === 0 ? frames : ipFrames;
  const count = 1 + random.int(6);
  const out: { bytes: Uint8Array; linkType: number }[] = [];
  for (let i = 0; i < count; i++) {
    const f = random.pick(pool);
    const other = random.pick(pool).bytes;
    let bytes: Uint8Array;
    let linkType = f.linkType;
    if (random.chance(0.15)) bytes = f.bytes.slice();
    else if (region === 'link') {
      if (random.chance(0.2)) linkType = random.chance(0.8) ? random.pick(LINK_TYPES) : random.int(300);
      bytes = random.chance(0.7)
        ? mutateRegion(f.bytes, 0, Math.max(f.ipStart, 24), other, random, MAX_FRAME)
        : mutate(f.bytes, other, random, MAX_FRAME);
    } else if (region === 'ip') {
      bytes = mutateRegion(f.bytes, f.ipStart, f.tcpStart, other, random, MAX_FRAME);
    } else {
      bytes = mutateRegion(f.bytes, f.tcpStart, f.tcpStart + 60, other, random, MAX_FRAME);
    }
    out.push({ bytes, linkType });
    // Repeat a frame now and then: duplicate fragments and retransmissions.
    if (random.chance(0.1)) out.push({ bytes: bytes.slice(), linkType });
  }
  return out;
}

function decoderLayer(region: Region, description: string): FuzzLayer {
  return {
    name: region,
    description,
    runCase(random: Random, corpus: Corpus) {
      const frames = frameCase(random, corpus.frames, region);
      const verify = random.chance(0.3);
      const first = runDecoder(frames, verify);
      if (first.violation !== null) return first.violation;
      if (!random.chance(0.125)) return null;
      const again = runDecoder(frames, verify);
      return again.log.join('\n') === first.log.join('\n')
        ? null
        : 'the same frames decoded differently twice';
    },
  };
}

export const linkLayer = decoderLayer(
  'link',
  'packet decoder, link headers mutated (and link types changed)',
);
export const ipLayer = decoderLayer('ip', 'packet decoder, IPv4/IPv6 headers mutated (fragments included)');
export const tcpLayer = decoderLayer('tcp', 'packet decoder, TCP headers mutated');

// ---------------------------------------------------------------------------------------------------------
// Reassembly

interface SegmentSpec {
  readonly fromClient: boolean;
  seq: number;
  flags: number;
  payload: Uint8Array;
  tsMicros: number;
  readonly clientPort: number;
  readonly serverPort: number;
}

const CLIENT_ADDR = [192, 0, 2, 1];
const SERVER_ADDR = [192, 0, 2, 25];

/** Builds a TcpSegment the way the decoder fills one: addresses and payload inside one buffer. */
export function toSegment(spec: SegmentSpec, frameIndex: number): TcpSegment {
  const buffer = new Uint8Array(8 + spec.payload.length);
  buffer.set(spec.fromClient ? CLIENT_ADDR : SERVER_ADDR, 0);
  buffer.set(spec.fromClient ? SERVER_ADDR : CLIENT_ADDR, 4);
  buffer.set(spec.payload, 8);
  return {
    tsMicros: spec.tsMicros,
    frameIndex,
    buffer,
    ipVersion: 4,
    srcAddrOffset: 0,
    dstAddrOffset: 4,
    srcPort: spec.fromClient ? spec.clientPort : spec.serverPort,
    dstPort: spec.fromClient ? spec.serverPort : spec.clientPort,
    seq: spec.seq >>> 0,
    ack: 0,
    flags: spec.flags,
    window: 65535,
    payloadOffset: 8,
    payloadLength: spec.payload.length,
    wirePayloadLength: spec.payload.length,
    checksumOk: null,
  };
}

/** The segments of a whole connection carrying `dialogue`, cut into pieces of at most `mss` bytes. */
export function dialogueSegments(
  dialogue: DialogueSeed,
  clientPort: number,
  random: Random,
  startMicros: number,
): SegmentSpec[] {
  const isn = {
    c2s: random.chance(0.2) ? 0xffffff00 + random.int(256) : random.int(0x100000000),
    s2c: random.int(0x100000000),
  };
  const next = { c2s: isn.c2s + 1, s2c: isn.s2c + 1 };
  const mss = random.chance(0.5) ? 1460 : random.chance(0.2) ? 1 + random.int(16) : 16 + random.int(512);
  let t = startMicros;
  const out: SegmentSpec[] = [];
  const port = dialogue.serverPort;
  const add = (dir: Direction, seq: number, flags: number, payload: Uint8Array) => {
    out.push({ fromClient: dir === 'c2s', seq, flags, payload, tsMicros: t, clientPort, serverPort: port });
    t += 100 + random.int(2000);
  };
  add('c2s', isn.c2s, TCP_FLAG.SYN, new Uint8Array(0));
  add('s2c', isn.s2c, TCP_FLAG.SYN | TCP_FLAG.ACK, new Uint8Array(0));
  for (const step of dialogue.steps) {
    for (let at = 0; at < step.bytes.length; at += mss) {
      const piece = step.bytes.subarray(at, at + mss);
      add(step.direction, next[step.direction], TCP_FLAG.ACK | TCP_FLAG.PSH, piece);
      next[step.direction] += piece.length;
    }
  }
  add('c2s', next.c2s, TCP_FLAG.FIN | TCP_FLAG.ACK, new Uint8Array(0));
  add('s2c', next.s2c, TCP_FLAG.FIN | TCP_FLAG.ACK, new Uint8Array(0));
  return out;
}

/** Damages a segment list in place: drop, duplicate, reorder, shift, conflict, cut, flag, time jumps. */
export function damageSegments(segments: SegmentSpec[], random: Random): void {
  const rounds = 1 + random.int(8);
  for (let r = 0; r < rounds && segments.length > 0; r++) {
    const i = random.int(segments.length);
    const s = segments[i]!;
    switch (random.int(9)) {
      case 0:
        segments.splice(i, 1);
        break;
      case 1:
        segments.splice(i + random.int(4), 0, { ...s, payload: s.payload.slice() });
        break;
      case 2: {
        const j = random.int(segments.length);
        segments[i] = segments[j]!;
        segments[j] = s;
        break;
      }
      case 3:
        s.seq = (s.seq + (random.chance(0.5) ? random.int(64) - 32 : random.int(0x100000000))) >>> 0;
        break;
      case 4: {
        // Overlapping copy with conflicting bytes.
        const payload = s.payload.slice();
        for (let k = 0; k < payload.length; k++) payload[k] = (payload[k] ?? 0) ^ 0x20;
        segments.splice(i + 1 + random.int(3), 0, { ...s, seq: (s.seq + random.int(4)) >>> 0, payload });
        break;
      }
      case 5:
        s.payload = s.payload.subarray(0, random.int(s.payload.length + 1));
        break;
      case 6:
        s.flags = random.int(256);
        break;
      case 7:
        s.tsMicros += random.chance(0.5) ? -random.int(1_000_000) : random.int(2_000_000_000);
        break;
      default:
        // Move a segment far later (out of order, possibly never filling the hole in time).
        segments.splice(i, 1);
        segments.splice(random.int(segments.length + 1), 0, s);
        break;
    }
  }
}

interface FlowRecord {
  readonly next: { c2s: number; s2c: number };
  closed: boolean;
}

function randomAssemblerOptions(random: Random): Partial<AssemblerOptions> {
  const options: { -readonly [K in keyof AssemblerOptions]?: AssemblerOptions[K] } = {};
  if (random.chance(0.5)) options.maxBufferedBytesPerDirection = 1 + random.int(4096);
  if (random.chance(0.5)) options.maxBufferedBytesTotal = 1 + random.int(8192);
  if (random.chance(0.3)) options.maxConnections = 1 + random.int(3);
  if (random.chance(0.3)) options.idleTimeoutMs = 1 + random.int(5000);
  if (random.chance(0.3)) options.finLingerMs = random.int(5000);
  if (random.chance(0.3)) options.overlapCheckBytes = random.int(64);
  if (random.chance(0.2)) options.allowMidstream = false;
  return options;
}

/**
 * Feeds `segments` to an assembler and checks the stream contract; returns a violation or null. With `unopened`,
 * the factory takes closes of connections that only sent SYNs (the SYN table's path): each such close must be
 * of a connection not open at that moment, that saw a SYN and carried no byte, and come once per connection (its
 * times are the packets' own, which damaged captures may put out of order).
 */
export function runAssembler(
  segments: readonly TcpSegment[],
  options: Partial<AssemblerOptions>,
  unopened = false,
): string | null {
  const flows = new Map<string, FlowRecord>();
  let violation: string | null = null;
  const fail = (text: string): void => {
    violation ??= text;
  };
  const assembler = createAssembler(
    {
      create(flow: FlowKey): StreamHandler {
        if (flows.has(flow.id)) fail(`connection ${flow.id} created twice`);
        const rec: FlowRecord = { next: { c2s: 0, s2c: 0 }, closed: false };
        flows.set(flow.id, rec);
        const advance = (dir: Direction, offset: number, length: number, what: string) => {
          if (rec.closed) fail(`${flow.id}: ${what} after close`);
          if (length <= 0) fail(`${flow.id}: ${what} of ${length} bytes`);
          if (offset !== rec.next[dir])
            fail(`${flow.id} ${dir}: ${what} at offset ${offset}, expected ${rec.next[dir]}`);
          rec.next[dir] = offset + length;
        };
        return {
          onData(chunk) {
            advance(chunk.direction, chunk.offset, chunk.bytes.length, 'data');
          },
          onGap(direction, offset, length) {
            advance(direction, offset, length, 'gap');
          },
          onClose() {
            if (rec.closed) fail(`${flow.id} closed twice`);
            rec.closed = true;
          },
        };
      },
      ...(unopened
        ? {
            closeUnopened(connection: UnopenedConnection, _reason: CloseReason, _tsMicros: number): void {
              const id = connection.id();
              const rec = flows.get(id);
              if (rec !== undefined && !rec.closed) fail(`${id}: closed unopened while open`);
              if (!connection.sawSyn) fail(`${id}: closed unopened without a SYN`);
              const stats = connection.stats();
              if (stats.c2s.bytes !== 0 || stats.s2c.bytes !== 0) fail(`${id}: closed unopened with bytes`);
              flows.set(id, { next: { c2s: 0, s2c: 0 }, closed: true });
            },
          }
        : {}),
    },
    options,
  );
  const perDirection = options.maxBufferedBytesPerDirection ?? 4 * 1024 * 1024;
  const total = options.maxBufferedBytesTotal ?? 128 * 1024 * 1024;
  let maxSegment = 0;
  for (const s of segments) {
    assembler.push(s);
    maxSegment = Math.max(maxSegment, s.payloadLength);
    const st = assembler.stats();
    // A buffer may hold one segment past its limit before the limit is applied on the next push.
    if (st.bufferedBytes > total + maxSegment)
      fail(`buffered ${st.bufferedBytes} bytes, total limit ${total}`);
    if (st.bufferedBytes > st.openFlows * 2 * (perDirection + maxSegment)) {
      fail(
        `buffered ${st.bufferedBytes} bytes in ${st.openFlows} connections, per-direction limit ${perDirection}`,
      );
    }
    if (violation !== null) return violation;
  }
  assembler.flushAll('end-of-capture');
  const st = assembler.stats();
  if (st.openFlows !== 0) fail(`${st.openFlows} connections open after flushAll`);
  if (st.bufferedBytes !== 0) fail(`${st.bufferedBytes} bytes buffered after flushAll`);
  for (const [id, rec] of flows) if (!rec.closed) fail(`${id} never closed`);
  return violation;
}

export const reassemblyLayer: FuzzLayer = {
  name: 'reassembly',
  description: 'TCP assembler on damaged segment sequences of one or two SMTP connections, random limits',
  runCase(random: Random, corpus: Corpus) {
    const count = random.chance(0.7) ? 1 : 2;
    let specs: SegmentSpec[] = [];
    for (let k = 0; k < count; k++) {
      const dialogue = random.pick(corpus.dialogues);
      const specsK = dialogueSegments(dialogue, 40000 + random.int(3), random, 1_700_000_000_000_000);
      // Interleave the second connection with the first.
      specs = k === 0 ? specsK : interleave(specs, specsK, random);
    }
    damageSegments(specs, random);
    const segments = specs.map((s, i) => toSegment(s, i));
    return runAssembler(segments, randomAssemblerOptions(random), random.chance(0.5));
  },
};

function interleave<T>(a: readonly T[], b: readonly T[], random: Random): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && random.chance(0.5))) out.push(a[i++]!);
    else out.push(b[j++]!);
  }
  return out;
}
