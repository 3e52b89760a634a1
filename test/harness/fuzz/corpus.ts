/**
 * Seed inputs for every fuzzed layer, taken from the real captures (captures/*.pcap, *.pcapng) and from a few
 * built-in dialogues for what the captures lack (a 4 GB BDAT, deep pipelining, an AUTH exchange).
 *
 * Each capture is parsed once; its frames give the link, IP and TCP seeds (with the offsets of the IP and
 * TCP headers, so those layers can be mutated where they live); its reassembled connections give the SMTP
 * dialogues (steps in capture order), the command and reply lines, the message bodies (wire form, with
 * dot-stuffing, and decoded), the TLS hello bytes and the delivery-status parts of bounces.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createPcapParser } from '../../../src/capture/pcap-reader.js';
import { createPcapngParser } from '../../../src/capture/pcapng-reader.js';
import type { PacketView } from '../../../src/capture/types.js';
import { createPacketDecoder } from '../../../src/decode/packet-decoder.js';
import { partText, walkMime } from '../../../src/model/mime-parts.js';
import { createAssembler } from '../../../src/reassembly/assembler.js';
import type { Direction, FlowKey, StreamHandler } from '../../../src/reassembly/types.js';
import { createSmtpDecoder } from '../../../src/smtp/decoder.js';
import { eventRecorder } from '../../helpers/smtp-events.js';
import { REPO_ROOT } from '../repo-root.js';

export interface FrameSeed {
  readonly linkType: number;
  readonly bytes: Uint8Array;
  /** Start of the IP header; -1 when the frame is not IP. */
  readonly ipStart: number;
  /** Start of the TCP header; -1 when the frame is not TCP. */
  readonly tcpStart: number;
}

export interface DialogueStep {
  readonly direction: Direction;
  readonly bytes: Uint8Array;
}

export interface DialogueSeed {
  readonly serverPort: number;
  readonly steps: readonly DialogueStep[];
}

export interface DsnSeed {
  readonly contentType: string;
  readonly deliveryStatus: string;
  readonly originalMessage: string;
}

export interface Corpus {
  readonly pcap: readonly Uint8Array[];
  readonly pcapng: readonly Uint8Array[];
  readonly gzip: readonly Uint8Array[];
  readonly frames: readonly FrameSeed[];
  readonly dialogues: readonly DialogueSeed[];
  readonly bdatDialogues: readonly DialogueSeed[];
  readonly clientStreams: readonly Uint8Array[];
  readonly serverStreams: readonly Uint8Array[];
  readonly commandLines: readonly string[];
  readonly replyLines: readonly string[];
  /** DATA bodies as sent on the wire, from the first body byte to the end line and beyond. */
  readonly wireBodies: readonly Uint8Array[];
  /** Decoded message bytes (header and body). */
  readonly messages: readonly Uint8Array[];
  readonly tlsHellos: readonly { readonly side: 'client' | 'server'; readonly bytes: Uint8Array }[];
  readonly dsns: readonly DsnSeed[];
}

/** The captures/ folder of the repository (found from the package.json above this file, built or not). */
export function defaultCapturesDir(): string {
  return join(REPO_ROOT, 'captures');
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder('latin1');

function ascii(text: string): Uint8Array {
  return encoder.encode(text);
}

const FLOW: FlowKey = {
  id: 'C000001',
  client: { ip: '192.0.2.1', port: 40000 },
  server: { ip: '192.0.2.25', port: 25 },
  basis: 'syn',
};

/** Built-in dialogues covering what the captures do not: BDAT, huge BDAT, pipelining, AUTH, LMTP. */
function builtinDialogues(): { plain: DialogueSeed[]; bdat: DialogueSeed[] } {
  const d = (port: number, ...steps: [Direction, string][]): DialogueSeed => ({
    serverPort: port,
    steps: steps.map(([direction, text]) => ({ direction, bytes: ascii(text) })),
  });
  const bdat = [
    d(
      25,
      ['s2c', '220 mx.example ESMTP\r\n'],
      ['c2s', 'EHLO c.example\r\n'],
      ['s2c', '250-mx.example\r\n250-CHUNKING\r\n250 PIPELINING\r\n'],
      ['c2s', 'MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nBDAT 12\r\nSubject: x\r\n'],
      ['s2c', '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 12 octets\r\n'],
      ['c2s', 'BDAT 6 LAST\r\nhello\n'],
      ['s2c', '250 2.0.0 Ok: queued as ABC123\r\n'],
      ['c2s', 'QUIT\r\n'],
      ['s2c', '221 2.0.0 Bye\r\n'],
    ),
    d(
      25,
      ['s2c', '220 mx.example ESMTP\r\n'],
      ['c2s', 'EHLO c.example\r\n'],
      ['s2c', '250-mx.example\r\n250 CHUNKING\r\n'],
      ['c2s', 'MAIL FROM:<a@example.org>\r\n'],
      ['s2c', '250 Ok\r\n'],
      ['c2s', 'RCPT TO:<b@example.net>\r\n'],
      ['s2c', '250 Ok\r\n'],
      ['c2s', 'BDAT 4294967296 LAST\r\nSubject: huge\r\n\r\nbody that never reaches four gigabytes\r\n'],
      ['s2c', '552 5.3.4 Message too big\r\n'],
      ['c2s', 'RSET\r\n'],
      ['s2c', '250 Ok\r\n'],
    ),
    d(
      25,
      ['s2c', '220 mx\r\n'],
      [
        'c2s',
        'EHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nBDAT 0 LAST\r\nBDAT -1\r\nBDAT 5 BOGUS\r\nBDAT 99999999999999999999\r\n',
      ],
      ['s2c', '250 CHUNKING\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n501 bad\r\n501 bad\r\n552 too big\r\n'],
    ),
  ];
  const pipelined = ['MAIL FROM:<p@example.org>\r\n'];
  for (let i = 0; i < 40; i++) pipelined.push(`RCPT TO:<r${i}@example.net>\r\n`);
  const plain = [
    d(
      587,
      ['s2c', '220 sub.example ESMTP\r\n'],
      ['c2s', 'EHLO c.example\r\n'],
      ['s2c', '250-sub.example\r\n250-AUTH PLAIN LOGIN\r\n250-STARTTLS\r\n250 PIPELINING\r\n'],
      ['c2s', 'AUTH LOGIN\r\n'],
      ['s2c', '334 VXNlcm5hbWU6\r\n'],
      ['c2s', 'dXNlcg==\r\n'],
      ['s2c', '334 UGFzc3dvcmQ6\r\n'],
      ['c2s', 'c2VjcmV0\r\n'],
      ['s2c', '235 2.7.0 Authentication successful\r\n'],
      ['c2s', pipelined.join('')],
      ['s2c', '250 Ok\r\n'.repeat(41)],
      ['c2s', 'DATA\r\n'],
      ['s2c', '354 go\r\n'],
      ['c2s', 'Subject: =?UTF-8?B?aGVsbG8=?=\r\nFrom: A <a@example.org>\r\n\r\n..dot\r\nbody\n.\r\n'],
      ['s2c', '250 Ok\r\n'],
      ['c2s', 'STARTTLS\r\n'],
      ['s2c', '220 Ready\r\n'],
      ['c2s', '\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00'],
    ),
    d(
      24,
      ['s2c', '220 lmtp ready\r\n'],
      ['c2s', 'LHLO c\r\nMAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n'],
      ['s2c', '250 PIPELINING\r\n250 Ok\r\n250 Ok\r\n250 Ok\r\n354 go\r\n'],
      ['c2s', 'Subject: t\r\n\r\nx\r\n.\r\nQUIT\r\n'],
      ['s2c', '250 2.0.0 <b@y> delivered\r\n452 4.2.2 <c@y> over quota\r\n221 bye\r\n'],
    ),
  ];
  return { plain, bdat };
}

interface Recorded {
  port: number;
  steps: DialogueStep[];
}

/** Offsets of the IP and TCP headers of a decoded frame (the decoder's segment points into the frame). */
function headerOffsets(buffer: Uint8Array, ipVersion: 4 | 6, srcAddrOffset: number, payloadOffset: number) {
  if (ipVersion === 4) {
    const ipStart = srcAddrOffset - 12;
    return { ipStart, tcpStart: ipStart + ((buffer[ipStart] ?? 0x45) & 0x0f) * 4 };
  }
  const ipStart = srcAddrOffset - 8;
  const tcpStart = buffer[ipStart + 6] === 6 ? ipStart + 40 : Math.max(ipStart + 40, payloadOffset - 20);
  return { ipStart, tcpStart };
}

function readPackets(bytes: Uint8Array, pcapng: boolean, onPacket: (p: PacketView) => void): void {
  const config = { onPacket };
  const parser = pcapng ? createPcapngParser(config) : createPcapParser(config);
  parser.push(bytes);
  parser.end();
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0];
  if (first === undefined) return -1;
  let i = haystack.indexOf(first, from);
  while (i >= 0 && i + needle.length <= haystack.length) {
    let ok = true;
    for (let j = 1; j < needle.length; j++) {
      if (haystack[i + j] !== needle[j]) {
        ok = false;
        break;
      }
    }
    if (ok) return i;
    i = haystack.indexOf(first, i + 1);
  }
  return -1;
}

function concatSteps(steps: readonly DialogueStep[], direction: Direction): Uint8Array {
  const parts = steps.filter((s) => s.direction === direction).map((s) => s.bytes);
  return Buffer.concat(parts);
}

function linesOf(stream: Uint8Array, limit: number): string[] {
  const text = latin1.decode(stream);
  return text
    .split('\n')
    .slice(0, limit)
    .map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l))
    .filter((l) => l.length > 0 && l.length < 2000);
}

export function loadCorpus(capturesDir = defaultCapturesDir()): Corpus {
  const names = readdirSync(capturesDir)
    .filter((n) => n.endsWith('.pcap') || n.endsWith('.pcapng'))
    .sort();
  const pcap: Uint8Array[] = [];
  const pcapng: Uint8Array[] = [];
  const frames: FrameSeed[] = [];
  const recorded: Recorded[] = [];

  for (const name of names) {
    const bytes = new Uint8Array(readFileSync(join(capturesDir, name)));
    const isNg = name.endsWith('.pcapng');
    (isNg ? pcapng : pcap).push(bytes);
    const decoder = createPacketDecoder();
    const flows = new Map<string, Recorded>();
    const assembler = createAssembler({
      create(flow: FlowKey): StreamHandler {
        const rec: Recorded = { port: flow.server.port, steps: [] };
        flows.set(flow.id, rec);
        return {
          onData(chunk) {
            rec.steps.push({ direction: chunk.direction, bytes: chunk.bytes.slice() });
          },
          onGap() {},
          onClose() {},
        };
      },
    });
    readPackets(bytes, isNg, (p) => {
      const frame = p.buffer.slice(p.offset, p.offset + p.capturedLength);
      const view = { ...p, buffer: frame, offset: 0 };
      const outcome = decoder.decode(view);
      if (outcome.kind === 'tcp') {
        const s = decoder.segment;
        const offs =
          s.buffer === frame
            ? headerOffsets(frame, s.ipVersion, s.srcAddrOffset, s.payloadOffset)
            : { ipStart: -1, tcpStart: -1 };
        frames.push({ linkType: p.linkType, bytes: frame, ...offs });
        assembler.push(s);
      } else {
        frames.push({ linkType: p.linkType, bytes: frame, ipStart: -1, tcpStart: -1 });
      }
    });
    assembler.flushAll('end-of-capture');
    for (const rec of flows.values()) if (rec.steps.length > 0) recorded.push(rec);
  }

  const builtin = builtinDialogues();
  const dialogues: DialogueSeed[] = recorded.map((r) => ({ serverPort: r.port, steps: r.steps }));
  dialogues.push(...builtin.plain);
  const bdatDialogues = [
    ...builtin.bdat,
    ...dialogues.filter((d) => d.steps.some((s) => indexOfBytes(s.bytes, ascii('BDAT ')) >= 0)),
  ];

  const clientStreams = dialogues.map((d) => concatSteps(d.steps, 'c2s'));
  const serverStreams = dialogues.map((d) => concatSteps(d.steps, 's2c'));
  const commandLines = clientStreams.flatMap((s) => linesOf(s, 200));
  const replyLines = serverStreams.flatMap((s) => linesOf(s, 200));

  // Message bodies: decoded by the SMTP decoder; wire bodies found after "DATA" + its 354 in the client stream.
  const messages: Uint8Array[] = [];
  for (const dialogue of dialogues) {
    let body: Uint8Array[] | null = null;
    const decoder = createSmtpDecoder(
      { ...FLOW, server: { ip: '192.0.2.25', port: dialogue.serverPort } },
      eventRecorder((e) => {
        if (e.type === 'message-start') body = [];
        else if (e.type === 'message-bytes' && body !== null) body.push(e.bytes.slice());
        else if (e.type === 'message-end' && body !== null) {
          messages.push(Buffer.concat(body));
          body = null;
        }
      }),
    );
    const offsets = { c2s: 0, s2c: 0 };
    for (const step of dialogue.steps) {
      decoder.onData({
        direction: step.direction,
        offset: offsets[step.direction],
        tsMicros: 1,
        bytes: step.bytes,
      });
      offsets[step.direction] += step.bytes.length;
    }
  }
  const wireBodies: Uint8Array[] = [];
  const dataLine = ascii('DATA\r\n');
  for (const stream of clientStreams) {
    let at = indexOfBytes(stream, dataLine);
    while (at >= 0) {
      wireBodies.push(stream.slice(at + dataLine.length, at + dataLine.length + 65_536));
      at = indexOfBytes(stream, dataLine, at + 1);
    }
  }
  wireBodies.push(
    ascii('line\r\n..stuffed\r\n.\r\n'),
    ascii('bare\n.\n'),
    ascii('\r\n.\r\n'),
    ascii('.\r\n'),
  );

  const tlsHellos: { side: 'client' | 'server'; bytes: Uint8Array }[] = [];
  const handshake = new Uint8Array([0x16, 0x03]);
  for (const [side, streams] of [
    ['client', clientStreams],
    ['server', serverStreams],
  ] as const) {
    for (const stream of streams) {
      const at = indexOfBytes(stream, handshake);
      if (at >= 0) tlsHellos.push({ side, bytes: stream.slice(at, at + 8192) });
    }
  }
  if (tlsHellos.length === 0)
    tlsHellos.push({ side: 'client', bytes: new Uint8Array([0x16, 3, 1, 0, 4, 1, 0, 0, 0]) });

  const dsns: DsnSeed[] = [];
  for (const message of messages) {
    const structure = walkMime(message);
    const status = structure.parts.find((p) => p.contentType.endsWith('delivery-status'));
    if (status === undefined) continue;
    const original = structure.parts.find((p) => p.contentType.includes('rfc822'));
    const ct = structure.headers.find((h) => h.key === 'content-type');
    dsns.push({
      contentType: ct?.value ?? 'multipart/report; report-type=delivery-status',
      deliveryStatus: partText(message, status),
      originalMessage: original === undefined ? '' : partText(message, original),
    });
  }
  dsns.push({
    contentType: 'multipart/report; report-type=delivery-status; boundary="b"',
    deliveryStatus:
      'Reporting-MTA: dns; mx.example\r\nArrival-Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nFinal-Recipient: rfc822; u@example.net\r\nOriginal-Recipient: rfc822;u@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx2.example\r\nDiagnostic-Code: smtp; 550 5.1.1 <u@example.net>: Recipient address rejected\r\n',
    originalMessage: 'Message-ID: <abc@example.org>\r\nSubject: hi\r\n\r\n',
  });

  return {
    pcap,
    pcapng,
    gzip: [...pcap, ...pcapng].map((b) => new Uint8Array(gzipSync(b, { level: 1 }))),
    frames,
    dialogues,
    bdatDialogues,
    clientStreams,
    serverStreams,
    commandLines,
    replyLines,
    wireBodies,
    messages,
    tlsHellos,
    dsns,
  };
}
