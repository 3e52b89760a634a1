/**
 * The adversarial captures. Each scenario writes one capture file through a streaming writer, in constant
 * memory whatever its size, and mixes in the intact session (intact-session.ts) so a test can check that
 * normal traffic still comes out right. Sizes are options, so tests can write smaller captures of the same
 * shape; the defaults are the full-size attacks `generate.js` writes.
 */

import { type CaptureWriter, createCaptureWriter } from './capture-writer.js';
import { ipv4, TCP_FLAG, TcpConversation, tcpFrame } from './frames.js';
import { INTACT_SERVER_IP, intactSessionFrames } from './intact-session.js';

const encoder = new TextEncoder();
const SERVER = ipv4(INTACT_SERVER_IP);
const START_MICROS = 1_700_000_000_000_000;
const MSS = 1460;

/** Writes the intact session's frames, one every `every` calls of the returned function. */
function intactMixer(writer: CaptureWriter, every: number) {
  const frames = intactSessionFrames();
  let next = 0;
  let calls = 0;
  return {
    /** Called once per adversarial packet; writes the next intact frame when it is due. */
    tick(tsMicros: number): void {
      if (next < frames.length && calls++ % every === 0) writer.packet(frames[next++]!, tsMicros);
    },
    /** Writes whatever of the intact session is left. */
    finish(tsMicros: number): void {
      while (next < frames.length) writer.packet(frames[next++]!, tsMicros);
    },
  };
}

export interface SynFloodOptions {
  readonly connections: number;
}

/** SYNs from `connections` distinct clients (no handshake completes); the intact session runs through them. */
export function writeSynFlood(path: string, options: SynFloodOptions = { connections: 1_000_000 }): void {
  const w = createCaptureWriter(path, 'pcap');
  const every = Math.max(1, Math.floor(options.connections / 40));
  const intact = intactMixer(w, every);
  let ts = START_MICROS;
  for (let i = 0; i < options.connections; i++) {
    const src = (ipv4('10.0.0.0') + 1 + Math.floor(i / 50_000)) >>> 0;
    const port = 1024 + (i % 50_000);
    w.packet(
      tcpFrame({
        srcIp: src,
        dstIp: SERVER,
        srcPort: port,
        dstPort: 25,
        seq: (i * 2654435761) >>> 0,
        ack: 0,
        flags: TCP_FLAG.SYN,
      }),
      ts,
    );
    intact.tick(ts);
    ts += 10;
  }
  intact.finish(ts);
  w.close();
}

export interface LongLineOptions {
  readonly bytes: number;
}

/** A client that, after EHLO, sends `bytes` bytes with no line ending, then closes. */
export function writeLongLine(path: string, options: LongLineOptions = { bytes: 100 * 1024 * 1024 }): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('203.0.113.5'), 50_001, SERVER, 25);
  let ts = START_MICROS;
  for (const f of c.handshake()) w.packet(f, ts++);
  w.packet(c.send(false, encoder.encode('220 mx ESMTP\r\n')), ts++);
  w.packet(c.send(true, encoder.encode('EHLO attacker\r\n')), ts++);
  w.packet(c.send(false, encoder.encode('250 mx\r\n')), ts++);
  const segments = Math.ceil(options.bytes / MSS);
  const intact = intactMixer(w, Math.max(1, Math.floor(segments / 40)));
  const piece = new Uint8Array(MSS).fill(0x41);
  for (let sent = 0; sent < options.bytes; sent += MSS) {
    const n = Math.min(MSS, options.bytes - sent);
    w.packet(c.send(true, n === MSS ? piece : piece.subarray(0, n)), ts);
    intact.tick(ts);
    ts += 5;
  }
  intact.finish(ts);
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

export interface OutOfOrderOptions {
  readonly connections: number;
  /** Out-of-order bytes each connection sends (after a hole that is never filled). */
  readonly bytesPerConnection: number;
}

/**
 * Connections whose client sends data beyond a hole at the start of its stream that is never filled: every
 * byte must be buffered until a limit turns the hole into a gap.
 */
export function writeOutOfOrder(
  path: string,
  options: OutOfOrderOptions = { connections: 48, bytesPerConnection: 3 * 1024 * 1024 },
): void {
  const w = createCaptureWriter(path, 'pcap');
  const conversations: TcpConversation[] = [];
  let ts = START_MICROS;
  for (let i = 0; i < options.connections; i++) {
    const c = new TcpConversation(ipv4('203.0.113.0') + 10 + i, 51_000 + i, SERVER, 25);
    conversations.push(c);
    for (const f of c.handshake()) w.packet(f, ts++);
    w.packet(c.send(false, encoder.encode('220 mx ESMTP\r\n')), ts++);
  }
  const rounds = Math.ceil(options.bytesPerConnection / MSS);
  const intact = intactMixer(w, Math.max(1, Math.floor((rounds * options.connections) / 40)));
  const piece = encoder.encode('RCPT TO:<x@example.net>\r\n'.repeat(Math.ceil(MSS / 25)).slice(0, MSS));
  for (let r = 0; r < rounds; r++) {
    for (const c of conversations) {
      // Offset MSS + r*MSS: the first MSS bytes (the hole) never arrive.
      w.packet(c.sendAt(true, MSS * (r + 1), piece), ts);
      intact.tick(ts);
      ts += 5;
    }
  }
  intact.finish(ts);
  w.close();
}

/** Retransmissions whose bytes conflict with what was first sent (a RCPT rewritten in flight). */
export function writeOverlap(path: string, options: { readonly repeats: number } = { repeats: 1000 }): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('203.0.113.7'), 50_007, SERVER, 25);
  let ts = START_MICROS;
  const intact = intactMixer(w, Math.max(1, Math.floor(options.repeats / 40)));
  for (const f of c.handshake()) w.packet(f, ts++);
  w.packet(c.send(false, encoder.encode('220 mx ESMTP\r\n')), ts++);
  w.packet(c.send(true, encoder.encode('EHLO overlap\r\n')), ts++);
  w.packet(c.send(false, encoder.encode('250 mx\r\n')), ts++);
  w.packet(c.send(true, encoder.encode('MAIL FROM:<m@example.org>\r\n')), ts++);
  w.packet(c.send(false, encoder.encode('250 Ok\r\n')), ts++);
  for (let i = 0; i < options.repeats; i++) {
    const good = encoder.encode(`RCPT TO:<good${String(i).padStart(6, '0')}@example.net>\r\n`);
    const evil = encoder.encode(`RCPT TO:<evil${String(i).padStart(6, '0')}@example.net>\r\n`);
    const first = c.send(true, good);
    w.packet(first, ts++);
    // The same sequence range again, with other bytes, overlapping the segment just sent.
    w.packet(tcpFrame(frameSpecOf(first), evil), ts++);
    w.packet(c.send(false, encoder.encode('250 Ok\r\n')), ts++);
    intact.tick(ts);
  }
  intact.finish(ts);
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

/** Reads back the addressing of a frame built by tcpFrame (for a conflicting copy at the same sequence). */
function frameSpecOf(frame: Uint8Array) {
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  return {
    srcIp: dv.getUint32(26),
    dstIp: dv.getUint32(30),
    srcPort: dv.getUint16(34),
    dstPort: dv.getUint16(36),
    seq: dv.getUint32(38),
    ack: dv.getUint32(42),
    flags: frame[47]!,
  };
}

export interface PipelineOptions {
  readonly commands: number;
}

/** A client that pipelines `commands` commands the server never answers. */
export function writePipelined(path: string, options: PipelineOptions = { commands: 10_000 }): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('203.0.113.9'), 50_009, SERVER, 25);
  let ts = START_MICROS;
  for (const f of c.handshake()) w.packet(f, ts++);
  w.packet(c.send(false, encoder.encode('220 mx ESMTP\r\n')), ts++);
  w.packet(c.send(true, encoder.encode('EHLO pipeliner\r\n')), ts++);
  w.packet(c.send(false, encoder.encode('250-mx\r\n250 PIPELINING\r\n')), ts++);
  const perSegment = 50;
  const intact = intactMixer(w, Math.max(1, Math.floor(options.commands / perSegment / 40)));
  for (let sent = 0; sent < options.commands; sent += perSegment) {
    const n = Math.min(perSegment, options.commands - sent);
    w.packet(c.send(true, encoder.encode('NOOP\r\n'.repeat(n))), ts);
    intact.tick(ts);
    ts += 5;
  }
  intact.finish(ts);
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

export interface BdatOptions {
  /** Octets actually sent after the 4 GB announcement. */
  readonly bytesSent: number;
}

/** A BDAT command announcing 4 GB (4294967296 octets), followed by `bytesSent` octets and a close. */
export function writeBdat4g(path: string, options: BdatOptions = { bytesSent: 32 * 1024 * 1024 }): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('203.0.113.11'), 50_011, SERVER, 25);
  let ts = START_MICROS;
  for (const f of c.handshake()) w.packet(f, ts++);
  for (const [fromClient, text] of [
    [false, '220 mx ESMTP\r\n'],
    [true, 'EHLO chunker\r\n'],
    [false, '250-mx\r\n250 CHUNKING\r\n'],
    [true, 'MAIL FROM:<big@example.org>\r\n'],
    [false, '250 Ok\r\n'],
    [true, 'RCPT TO:<victim@example.net>\r\n'],
    [false, '250 Ok\r\n'],
    [true, 'BDAT 4294967296 LAST\r\n'],
  ] as const) {
    w.packet(c.send(fromClient, encoder.encode(text)), ts++);
  }
  const segments = Math.ceil(options.bytesSent / MSS);
  const intact = intactMixer(w, Math.max(1, Math.floor(segments / 40)));
  const piece = encoder.encode('Subject: big\r\n'.repeat(Math.ceil(MSS / 14)).slice(0, MSS));
  for (let sent = 0; sent < options.bytesSent; sent += MSS) {
    w.packet(c.send(true, piece.subarray(0, Math.min(MSS, options.bytesSent - sent))), ts);
    intact.tick(ts);
    ts += 5;
  }
  intact.finish(ts);
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

export type LengthLie = 'zero' | 'huge' | 'past-end';

/**
 * A capture whose records (pcap) or blocks (pcapng) lie about their length. The intact session comes first,
 * with zero-length records (pcap) between its packets; then the lie. pcap: `zero` is a zero-length record
 * claiming a 60-byte original length followed by more packets, `huge` a record claiming 0xfffffff0 bytes,
 * `past-end` a record claiming more bytes than the file holds. pcapng: a block length of 0, 0xfffffff0, or
 * past the end of the file.
 */
export function writeLengthLie(path: string, format: 'pcap' | 'pcapng', lie: LengthLie): void {
  const w = createCaptureWriter(path, format);
  let ts = START_MICROS;
  const zeroRecord = new Uint8Array(16);
  const zv = new DataView(zeroRecord.buffer);
  zv.setUint32(12, 60, true);
  for (const frame of intactSessionFrames()) {
    w.packet(frame, ts);
    if (format === 'pcap') {
      zv.setUint32(0, Math.floor(ts / 1_000_000), true);
      w.raw(zeroRecord);
    }
    ts += 1000;
  }
  const filler = tcpFrame({
    srcIp: ipv4('203.0.113.13'),
    dstIp: SERVER,
    srcPort: 50_013,
    dstPort: 25,
    seq: 1,
    ack: 0,
    flags: TCP_FLAG.SYN,
  });
  const header = new Uint8Array(format === 'pcap' ? 16 : 8);
  const hv = new DataView(header.buffer);
  const claimed = lie === 'zero' ? 0 : lie === 'huge' ? 0xfffffff0 : 4096;
  if (format === 'pcap') {
    hv.setUint32(8, claimed, true);
    hv.setUint32(12, claimed === 0 ? 60 : claimed, true);
  } else {
    hv.setUint32(0, 6, true);
    hv.setUint32(4, claimed, true);
  }
  w.raw(header);
  // What follows the lie: a few more packets' worth of bytes (fewer than a past-end claim needs).
  for (let i = 0; i < 8; i++) w.raw(filler);
  w.close();
}

export interface ShortSessionsOptions {
  readonly sessions: number;
  /** Sessions open at once (their packets interleaved). */
  readonly concurrent?: number;
  /** Message body bytes per session. */
  readonly bodyBytes?: number;
}

/** The frames of one short complete session: greeting, EHLO, one message of `body`, QUIT, FINs. */
function shortSessionFrames(c: TcpConversation, n: number, body: Uint8Array): Uint8Array[] {
  const frames = c.handshake();
  const say = (fromClient: boolean, text: string) => frames.push(c.send(fromClient, encoder.encode(text)));
  say(false, '220 mx.example.net ESMTP\r\n');
  say(true, `EHLO c${n}.example.org\r\n`);
  say(false, '250-mx.example.net\r\n250 PIPELINING\r\n');
  say(true, `MAIL FROM:<s${n}@example.org>\r\n`);
  say(false, '250 2.1.0 Ok\r\n');
  say(true, `RCPT TO:<r${n}@example.net>\r\n`);
  say(false, '250 2.1.5 Ok\r\n');
  say(true, 'DATA\r\n');
  say(false, '354 go ahead\r\n');
  frames.push(c.send(true, body));
  say(false, `250 2.0.0 Ok: queued as Q${n.toString(16).toUpperCase()}\r\n`);
  say(true, 'QUIT\r\n');
  say(false, '221 2.0.0 Bye\r\n');
  frames.push(...c.close());
  return frames;
}

/**
 * `sessions` short complete sessions (a 1 kB message each), `concurrent` open at once, their packets
 * interleaved round-robin: ordinary traffic in quantity, for the memory bound that must not grow with the number
 * of sessions or with the output. The intact session runs through them.
 */
export function writeShortSessions(path: string, options: ShortSessionsOptions): void {
  const w = createCaptureWriter(path, 'pcap');
  const concurrent = options.concurrent ?? 200;
  const bodyBytes = options.bodyBytes ?? 1000;
  const line = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod.\r\n';
  let text = `Subject: short session\r\n\r\n`;
  while (text.length < bodyBytes) text += line;
  const body = encoder.encode(`${text.slice(0, bodyBytes)}\r\n.\r\n`);
  const intact = intactMixer(w, Math.max(1, Math.floor(options.sessions / 10)));
  const open: { frames: Uint8Array[]; next: number }[] = [];
  let started = 0;
  let ts = START_MICROS;
  const startOne = (): void => {
    const n = started++;
    const client = (ipv4('10.64.0.0') + 1 + (n % 60_000)) >>> 0;
    const c = new TcpConversation(client, 1024 + Math.floor(n / 60_000), SERVER, 25, n * 7919, n * 104_729);
    open.push({ frames: shortSessionFrames(c, n, body), next: 0 });
  };
  while (started < options.sessions && open.length < concurrent) startOne();
  while (open.length > 0) {
    for (let i = 0; i < open.length; ) {
      const s = open[i]!;
      w.packet(s.frames[s.next++]!, ts);
      ts += 5;
      if (s.next < s.frames.length) {
        i++;
        continue;
      }
      open.splice(i, 1);
      intact.tick(ts);
      if (started < options.sessions) startOne();
    }
  }
  intact.finish(ts);
  w.close();
}
