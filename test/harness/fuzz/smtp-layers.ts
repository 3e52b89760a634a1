/**
 * Fuzz layers of the SMTP decoder's parts and of the whole decoder.
 *
 *  - line splitter: lines are the same for any chunking, never longer than the limit, and (when no line
 *    overflowed) lines plus their endings give back the input exactly;
 *  - command parser, reply assembler: never throw, results stay in their declared ranges and limits;
 *  - DATA dot decoder: same output for any chunking, and equal to a plain reference unstuffer;
 *  - TLS hello parser: same outcome for any chunking; the body parser never throws;
 *  - BDAT and whole decoder: dialogues (BDAT sizes lied about, steps mutated, gaps and close reasons added)
 *    give the same event log for two chunkings of every step, and each message's bytes add up to its size.
 */

import type { CloseReason, Direction, FlowKey, FlowStats, GapCause } from '../../../src/reassembly/types.js';
import { emptyDirectionStats } from '../../../src/reassembly/types.js';
import {
  decodeXtext,
  parseBdatArgument,
  parseCommandLine,
  parseEsmtpParams,
  toSmtpVerb,
} from '../../../src/smtp/command-parser.js';
import { createSmtpDecoder } from '../../../src/smtp/decoder.js';
import { createDotDecoder } from '../../../src/smtp/dot-decoder.js';
import { createLineSplitter, type LineEnding } from '../../../src/smtp/line-splitter.js';
import { createReplyAssembler, parseReplyLine } from '../../../src/smtp/reply-parser.js';
import { createTlsHelloParser, parseHelloBody } from '../../../src/smtp/tls-hello.js';
import type { SmtpDecoderOptions, SmtpEvent } from '../../../src/smtp/types.js';
import { eventList } from '../../helpers/smtp-events.js';
import type { Corpus, DialogueSeed } from './corpus.js';
import { diffLogs, type FuzzLayer, hashBytes, latin1Bytes, latin1Text } from './layer.js';
import { mutate } from './mutate.js';
import { type Random, randomBytes, randomChunking } from './random.js';

const MAX_STREAM = 64 * 1024;

/** Longest window of a seed stream fuzzed at once (keeps cases fast; the streams repeat their patterns). */
const WINDOW = 4096;

function window(random: Random, bytes: Uint8Array): Uint8Array {
  if (bytes.length <= WINDOW) return bytes;
  const start = random.chance(0.3) ? 0 : random.int(bytes.length - WINDOW);
  return bytes.subarray(start, start + WINDOW);
}

function streamInput(random: Random, seeds: readonly Uint8Array[]): Uint8Array {
  if (random.chance(0.1)) return randomBytes(random, random.int(512));
  return mutate(window(random, random.pick(seeds)), window(random, random.pick(seeds)), random, MAX_STREAM);
}

/** A random chunk bound, small for short inputs, so no case makes more than about 256 chunks. */
export function chunkBound(random: Random, length: number): number {
  const floor = Math.max(1, Math.ceil(length / 256));
  return Math.max(floor, 1 + random.int(random.chance(0.3) ? 4 : Math.max(1, length)));
}

// ---------------------------------------------------------------------------------------------------------
// Line splitter

export interface SplitLine {
  readonly bytes: Uint8Array;
  readonly ending: LineEnding;
  readonly offset: number;
}

export function runLineSplitter(
  chunks: readonly Uint8Array[],
  maxLineLength: number,
): { lines: SplitLine[]; violation: string | null } {
  const lines: SplitLine[] = [];
  let violation: string | null = null;
  const splitter = createLineSplitter({
    maxLineLength,
    onLine(line, ending, offset) {
      if (line.length > maxLineLength) violation ??= `line of ${line.length} bytes, limit ${maxLineLength}`;
      lines.push({ bytes: line.slice(), ending, offset });
    },
    onPlain() {
      violation ??= 'plain bytes without plain delivery';
    },
  });
  let offset = 0;
  for (const chunk of chunks) {
    const consumed = splitter.push(chunk, offset);
    if (consumed !== chunk.length)
      violation ??= `push consumed ${consumed} of ${chunk.length} bytes without a pause`;
    offset += chunk.length;
  }
  splitter.flush();
  return { lines, violation };
}

function lineLog(lines: readonly SplitLine[]): string[] {
  return lines.map((l) => `${l.ending} @${l.offset} ${l.bytes.length} h=${hashBytes(l.bytes)}`);
}

export function checkLineSplitter(input: Uint8Array, maxLineLength: number, random: Random): string | null {
  const whole = runLineSplitter([input.slice()], maxLineLength);
  if (whole.violation !== null) return whole.violation;
  const maxChunk = chunkBound(random, input.length);
  const chunked = runLineSplitter(randomChunking(input, random, maxChunk), maxLineLength);
  if (chunked.violation !== null) return chunked.violation;
  const diff = diffLogs(
    lineLog(whole.lines),
    lineLog(chunked.lines),
    'one chunk',
    `chunks of at most ${maxChunk}`,
  );
  if (diff !== null) return diff;
  if (whole.lines.some((l) => l.ending === 'overflow')) return null;
  // Reference: without overflow, the lines and their endings are the input.
  const parts: number[] = [];
  let expectOffset = 0;
  for (const l of whole.lines) {
    if (l.offset !== expectOffset) return `line at offset ${l.offset}, expected ${expectOffset}`;
    for (const b of l.bytes) parts.push(b);
    if (l.ending === 'crlf') parts.push(13, 10);
    else if (l.ending === 'lf') parts.push(10);
    expectOffset = parts.length;
  }
  if (parts.length !== input.length || hashBytes(Uint8Array.from(parts)) !== hashBytes(input)) {
    return 'lines and their endings do not give back the input';
  }
  return null;
}

export const lineSplitterLayer: FuzzLayer = {
  name: 'line-splitter',
  description: 'line framing: chunk independence, length limit, exact reconstruction',
  runCase(random, corpus) {
    const input = streamInput(random, random.chance(0.5) ? corpus.clientStreams : corpus.serverStreams);
    const max = random.chance(0.5) ? 1 + random.int(80) : 4096;
    return checkLineSplitter(input, max, random);
  },
};

// ---------------------------------------------------------------------------------------------------------
// Command parser

const VERB_TEXTS = [
  'MAIL FROM:',
  'RCPT TO:',
  'BDAT ',
  'AUTH ',
  'EHLO ',
  'XCLIENT ',
  'MAIL FROM: <',
  'RCPT TO:<@a,@b:',
];

export function checkCommandLine(line: string): string | null {
  const parsed = parseCommandLine(line);
  if (parsed.verb !== 'UNKNOWN' && toSmtpVerb(parsed.verb) !== parsed.verb)
    return `verb ${parsed.verb} not in the list`;
  if (typeof parsed.argument !== 'string' || typeof parsed.verbText !== 'string') return 'non-string fields';
  if (parsed.path !== null && typeof parsed.path !== 'string') return 'path is not a string';
  for (const [key, value] of Object.entries(parsed.params)) {
    if (key !== key.toUpperCase()) return `parameter key ${JSON.stringify(key)} not upper-cased`;
    if (value !== true && typeof value !== 'string') return `parameter ${key} has a ${typeof value} value`;
  }
  const bdat = parseBdatArgument(parsed.argument);
  if (bdat.ok && (!Number.isSafeInteger(bdat.size) || bdat.size < 0)) return `BDAT size ${bdat.size}`;
  parseEsmtpParams(parsed.argument);
  decodeXtext(parsed.argument);
  return null;
}

export const commandParserLayer: FuzzLayer = {
  name: 'command-parser',
  description: 'command line, ESMTP parameter, xtext and BDAT argument parsing',
  runCase(random, corpus) {
    let bytes: Uint8Array;
    if (random.chance(0.2)) {
      const prefix = latin1Bytes(random.pick(VERB_TEXTS));
      const tail = randomBytes(random, random.int(200));
      bytes = new Uint8Array(prefix.length + tail.length);
      bytes.set(prefix);
      bytes.set(tail, prefix.length);
    } else {
      const line = latin1Bytes(random.pick(corpus.commandLines));
      bytes = mutate(line, latin1Bytes(random.pick(corpus.commandLines)), random, 4096);
    }
    return checkCommandLine(latin1Text(bytes));
  },
};

// ---------------------------------------------------------------------------------------------------------
// Reply assembler

export function checkReplyLines(lines: readonly string[], maxReplyLines: number): string | null {
  let violation: string | null = null;
  const assembler = createReplyAssembler({
    maxReplyLines,
    onReply(reply) {
      if (reply.lines.length > maxReplyLines)
        violation ??= `reply kept ${reply.lines.length} lines, limit ${maxReplyLines}`;
      if (!Number.isInteger(reply.code) || reply.code < 0 || reply.code > 999)
        violation ??= `reply code ${reply.code}`;
    },
    onCodeMismatch() {},
  });
  let offset = 0;
  for (const line of lines) {
    parseReplyLine(line);
    assembler.pushLine(line, offset, offset);
    offset += line.length + 2;
  }
  assembler.flush(offset);
  return violation;
}

export const replyAssemblerLayer: FuzzLayer = {
  name: 'reply-assembler',
  description: 'reply line parsing and multi-line reply assembly',
  runCase(random, corpus) {
    const count = 1 + random.int(12);
    const lines: string[] = [];
    for (let i = 0; i < count; i++) {
      const seed = latin1Bytes(random.pick(corpus.replyLines));
      lines.push(latin1Text(random.chance(0.3) ? seed : mutate(seed, seed, random, 2048, 2)));
    }
    return checkReplyLines(lines, random.chance(0.5) ? 1 + random.int(4) : 1000);
  },
};

// ---------------------------------------------------------------------------------------------------------
// DATA dot decoder

export interface DotRun {
  readonly output: Uint8Array;
  /** Input bytes consumed; the input length when the end line was not found. */
  readonly consumed: number;
  readonly ended: boolean;
  readonly sizeBytes: number;
}

export function runDotDecoder(chunks: readonly Uint8Array[]): DotRun {
  const out: Uint8Array[] = [];
  const decoder = createDotDecoder({
    onBytes(bytes) {
      out.push(bytes.slice());
    },
    onBareLf() {},
  });
  let consumed = 0;
  for (const chunk of chunks) {
    const n = decoder.push(chunk, consumed);
    consumed += n;
    if (decoder.ended) break;
  }
  return { output: Buffer.concat(out), consumed, ended: decoder.ended, sizeBytes: decoder.sizeBytes };
}

/** Reference unstuffer: lines end at LF; a line "." or ".\r" ends the body; a leading dot is removed. */
export function referenceUnstuff(input: Uint8Array): DotRun {
  const out: number[] = [];
  let start = 0;
  while (start < input.length) {
    const lf = input.indexOf(10, start);
    const end = lf < 0 ? input.length : lf + 1;
    const line = input.subarray(start, end);
    const body = lf < 0 ? line : line.subarray(0, line.length - 1);
    const isEnd = body.length === 1 ? body[0] === 46 : body.length === 2 && body[0] === 46 && body[1] === 13;
    if (isEnd && lf >= 0)
      return { output: Uint8Array.from(out), consumed: end, ended: true, sizeBytes: out.length };
    if (isEnd || (lf < 0 && body.length === 1 && body[0] === 46)) break; // "." or ".\r" pending at the end
    for (let i = line[0] === 46 ? 1 : 0; i < line.length; i++) out.push(line[i] as number);
    start = end;
  }
  return { output: Uint8Array.from(out), consumed: input.length, ended: false, sizeBytes: out.length };
}

function sameRun(a: DotRun, b: DotRun): boolean {
  return (
    a.consumed === b.consumed &&
    a.ended === b.ended &&
    a.sizeBytes === b.sizeBytes &&
    a.output.length === b.output.length &&
    hashBytes(a.output) === hashBytes(b.output)
  );
}

function describeRun(r: DotRun): string {
  return `consumed=${r.consumed} ended=${r.ended} size=${r.sizeBytes} output=${JSON.stringify(latin1Text(r.output.subarray(0, 80)))}`;
}

export function checkDotDecoder(input: Uint8Array, random: Random): string | null {
  const whole = runDotDecoder([input.slice()]);
  if (whole.sizeBytes !== whole.output.length)
    return `sizeBytes ${whole.sizeBytes} but ${whole.output.length} bytes delivered`;
  const reference = referenceUnstuff(input);
  if (!sameRun(whole, reference))
    return `decoder (${describeRun(whole)}) differs from reference (${describeRun(reference)})`;
  const maxChunk = chunkBound(random, input.length);
  const chunked = runDotDecoder(randomChunking(input, random, maxChunk));
  if (!sameRun(whole, chunked))
    return `one chunk (${describeRun(whole)}) differs from chunks of at most ${maxChunk} (${describeRun(chunked)})`;
  return null;
}

export const dotDecoderLayer: FuzzLayer = {
  name: 'dot-decoder',
  description: 'DATA body unstuffing and end-line detection against a reference, any chunking',
  runCase(random, corpus) {
    return checkDotDecoder(streamInput(random, corpus.wireBodies), random);
  },
};

// ---------------------------------------------------------------------------------------------------------
// TLS hello

export function runTlsHello(
  side: 'client' | 'server',
  chunks: readonly Uint8Array[],
  maxBytes: number,
): string {
  let result = 'pending';
  const parser = createTlsHelloParser({
    side,
    maxBytes,
    onHello(hello) {
      result = `hello ${JSON.stringify(hello)}`;
    },
    onNotTls(detail) {
      result = `not-tls ${detail}`;
    },
  });
  for (const chunk of chunks) parser.push(chunk);
  return `${result} done=${parser.done}`;
}

export const tlsHelloLayer: FuzzLayer = {
  name: 'tls-hello',
  description: 'TLS ClientHello/ServerHello reader: any chunking, bounded buffer, body parser',
  runCase(random, corpus) {
    const seed = random.pick(corpus.tlsHellos);
    const input = mutate(seed.bytes, random.pick(corpus.tlsHellos).bytes, random, 16_384);
    const maxBytes = random.chance(0.3) ? 64 + random.int(1024) : 16_384;
    const whole = runTlsHello(seed.side, [input.slice()], maxBytes);
    const maxChunk = 1 + random.int(Math.max(1, input.length >> 1));
    const chunked = runTlsHello(seed.side, randomChunking(input, random, maxChunk), maxBytes);
    if (whole !== chunked)
      return `one chunk gave ${whole.slice(0, 200)}, chunks of at most ${maxChunk} gave ${chunked.slice(0, 200)}`;
    if (input.length > 9) parseHelloBody(seed.side, input.subarray(9));
    return null;
  },
};

// ---------------------------------------------------------------------------------------------------------
// Whole decoder (BDAT and general dialogues)

export type SmtpStep =
  | { readonly kind: 'data'; readonly direction: Direction; readonly bytes: Uint8Array }
  | {
      readonly kind: 'gap';
      readonly direction: Direction;
      readonly length: number;
      readonly cause: GapCause;
    };

const CLOSE_REASONS: readonly CloseReason[] = [
  'fin',
  'rst',
  'idle-timeout',
  'end-of-capture',
  'evicted',
  'limit',
];
const GAP_CAUSES: readonly GapCause[] = ['lost', 'snaplen', 'midstream', 'buffer-limit', 'replaced'];

const ZERO_DIRECTION = emptyDirectionStats();
const STATS: FlowStats = {
  firstTsMicros: 0,
  lastTsMicros: 0,
  c2s: ZERO_DIRECTION,
  s2c: ZERO_DIRECTION,
  sawSyn: true,
  sawSynAck: true,
};

/** Formats events so that the chunking of message and TLS bytes does not show. */
export function eventLog(events: readonly SmtpEvent[]): string[] {
  const out: string[] = [];
  let body = -1;
  let bodyHash = 0x811c9dc5;
  let tls = '';
  const tlsCount = { c2s: 0, s2c: 0 };
  const flush = (): void => {
    if (body >= 0) out.push(`message-bytes ${body} h=${bodyHash}`);
    body = -1;
    bodyHash = 0x811c9dc5;
    if (tlsCount.c2s + tlsCount.s2c > 0) out.push(`tls-bytes ${tlsCount.c2s}/${tlsCount.s2c}${tls}`);
    tlsCount.c2s = 0;
    tlsCount.s2c = 0;
    tls = '';
  };
  for (const e of events) {
    if (e.type === 'message-bytes') {
      if (body < 0) body = 0;
      body += e.bytes.length;
      bodyHash = hashBytes(e.bytes, bodyHash);
      continue;
    }
    if (e.type === 'tls-bytes') {
      tlsCount[e.direction] += e.length;
      continue;
    }
    // Where the hello (or the finding that it is not TLS) falls among the opaque byte counts depends on
    // how many bytes the hello reader needed, so those two do not end a run of TLS byte counts.
    if (e.type === 'tls-hello' || (e.type === 'anomaly' && e.code === 'tls-not-tls')) {
      out.push(JSON.stringify(e));
      continue;
    }
    flush();
    out.push(JSON.stringify(e));
  }
  flush();
  return out;
}

export interface DialogueRun {
  readonly events: SmtpEvent[];
}

/** Feeds steps to a fresh decoder, each data step cut by `chunker`. Message bytes are copied. */
export function runSmtpDecoder(
  steps: readonly SmtpStep[],
  serverPort: number,
  options: Partial<SmtpDecoderOptions>,
  close: CloseReason,
  chunker: (bytes: Uint8Array) => Uint8Array[],
): SmtpEvent[] {
  const events: SmtpEvent[] = [];
  const flow: FlowKey = {
    id: 'C000001',
    client: { ip: '192.0.2.1', port: 40000 },
    server: { ip: '192.0.2.25', port: serverPort },
    basis: 'syn',
  };
  const decoder = createSmtpDecoder(flow, eventList(events), options);
  const offsets = { c2s: 0, s2c: 0 };
  let ts = 1_000_000;
  for (const step of steps) {
    ts += 1000;
    if (step.kind === 'gap') {
      decoder.onGap(step.direction, offsets[step.direction], step.length, step.cause, ts);
      offsets[step.direction] += step.length;
      continue;
    }
    for (const chunk of chunker(step.bytes)) {
      if (chunk.length === 0) continue;
      decoder.onData({
        direction: step.direction,
        offset: offsets[step.direction],
        tsMicros: ts,
        bytes: chunk,
      });
      offsets[step.direction] += chunk.length;
    }
  }
  decoder.onClose(close, ts + 1000, STATS);
  return events;
}

const BDAT_SIZE = /BDAT[ \t]+([0-9]+)/i;
const SIZE_LIES = [
  '0',
  '1',
  '4294967296',
  '18446744073709551616',
  '999999999999999',
  '-1',
  '0x10',
  '',
  '1 LAST',
  '7 last junk',
];

/** Replaces the size in one BDAT command with a lie (or a nearby number). */
function lieAboutBdat(text: string, random: Random): string {
  const m = BDAT_SIZE.exec(text);
  if (m === null) return text;
  const size = Number(m[1]);
  const lie = random.chance(0.5) ? random.pick(SIZE_LIES) : String(Math.max(0, size + random.int(41) - 20));
  return `${text.slice(0, m.index)}BDAT ${lie}${text.slice(m.index + m[0].length)}`;
}

export function dialogueCase(random: Random, dialogue: DialogueSeed, bdat: boolean): SmtpStep[] {
  const steps: SmtpStep[] = dialogue.steps.map((s) => ({
    kind: 'data',
    direction: s.direction,
    bytes: s.bytes,
  }));
  const rounds = 1 + random.int(3);
  for (let r = 0; r < rounds && steps.length > 0; r++) {
    const i = random.int(steps.length);
    const step = steps[i]!;
    const choice = random.int(bdat ? 6 : 5);
    if (step.kind !== 'data' || choice === 0) {
      steps.splice(i, 0, {
        kind: 'gap',
        direction: random.chance(0.5) ? 'c2s' : 's2c',
        length: 1 + random.int(random.chance(0.8) ? 64 : 1 << 20),
        cause: random.pick(GAP_CAUSES),
      });
    } else if (choice === 1) steps.splice(i, 1);
    else if (choice === 2) steps.splice(i + 1, 0, { ...step, bytes: step.bytes.slice() });
    else if (choice === 5)
      steps[i] = { ...step, bytes: latin1Bytes(lieAboutBdat(latin1Text(step.bytes), random)) };
    else {
      const other = random.pick(dialogue.steps).bytes;
      steps[i] = { ...step, bytes: mutate(step.bytes, other, random, MAX_STREAM, 2) };
    }
  }
  return steps;
}

function smtpOptions(random: Random): Partial<SmtpDecoderOptions> {
  const o: { -readonly [K in keyof SmtpDecoderOptions]?: SmtpDecoderOptions[K] } = {};
  if (random.chance(0.3)) o.maxLineLength = 8 + random.int(200);
  if (random.chance(0.3)) o.maxPendingCommands = 1 + random.int(8);
  if (random.chance(0.3)) o.maxHeldBytes = 1 + random.int(256);
  if (random.chance(0.2)) o.maxReplyLines = 1 + random.int(4);
  if (random.chance(0.2)) o.maxBdatChunkBytes = 1 + random.int(64);
  if (random.chance(0.2)) o.maxRecipients = 1 + random.int(4);
  if (random.chance(0.2)) o.maxTlsHelloBytes = 64 + random.int(512);
  if (random.chance(0.1)) o.revealSecrets = true;
  return o;
}

/** Message bytes between message-start and message-end must add up to the size message-end reports. */
function checkMessageSizes(events: readonly SmtpEvent[]): string | null {
  let size = -1;
  for (const e of events) {
    if (e.type === 'message-start') size = 0;
    else if (e.type === 'message-bytes') {
      if (size < 0) return 'message bytes outside a message';
      size += e.bytes.length;
    } else if (e.type === 'message-end') {
      if (size >= 0 && e.sizeBytes !== size)
        return `message-end says ${e.sizeBytes} bytes, ${size} were delivered`;
      size = -1;
    }
  }
  return null;
}

export function checkDialogue(
  steps: readonly SmtpStep[],
  serverPort: number,
  options: Partial<SmtpDecoderOptions>,
  close: CloseReason,
  random: Random,
): string | null {
  const whole = runSmtpDecoder(steps, serverPort, options, close, (b) => [b.slice()]);
  const sizes = checkMessageSizes(whole);
  if (sizes !== null) return sizes;
  const closed = whole.filter((e) => e.type === 'closed').length;
  if (closed !== 1) return `${closed} closed events`;
  const maxChunk = 1 + random.int(random.chance(0.3) ? 3 : 256);
  const chunked = runSmtpDecoder(steps, serverPort, options, close, (b) =>
    randomChunking(b, random, Math.max(maxChunk, Math.ceil(b.length / 64))),
  );
  return diffLogs(
    eventLog(whole),
    eventLog(chunked),
    'whole steps',
    `steps cut into chunks of at most ${maxChunk}`,
  );
}

function decoderLayer(name: string, description: string, bdat: boolean): FuzzLayer {
  return {
    name,
    description,
    runCase(random: Random, corpus: Corpus) {
      const dialogue = random.pick(bdat ? corpus.bdatDialogues : corpus.dialogues);
      const steps = dialogueCase(random, dialogue, bdat);
      return checkDialogue(
        steps,
        dialogue.serverPort,
        smtpOptions(random),
        random.pick(CLOSE_REASONS),
        random,
      );
    },
  };
}

export const bdatLayer = decoderLayer('bdat', 'SMTP decoder on BDAT dialogues with lying chunk sizes', true);
export const smtpLayer = decoderLayer(
  'smtp',
  'SMTP decoder on every captured dialogue, mutated, with gaps',
  false,
);
