/**
 * Golden dialogue helper: turns a `.dialogue.txt` file into the calls the assembler would make on an SMTP
 * decoder, runs them, and prints the decoder's calls (as event records) as a chunk-independent text log.
 *
 * File format, one directive per line:
 *   C: text        client line, sent with CRLF ("C:" alone is an empty line)
 *   S: text        server line, sent with CRLF
 *   C= bytes       raw client bytes, nothing appended; escapes \r \n \t \0 \\ \xHH
 *   S= bytes       raw server bytes
 *   C! gap N [cause]   N missing client bytes (cause: lost, snaplen, midstream, buffer-limit; default lost)
 *   S! gap N [cause]
 *   --             ends the current segment (otherwise consecutive lines of one side form one segment)
 *   @option name=value   decoder option (true/false/number)
 *   @close reason  how the connection ends (default fin)
 *   @basis name    how the flow was oriented (default syn: the handshake was seen; port: picked up without it)
 *   # comment, blank lines ignored
 * Every segment or gap is one step; step k has tsMicros 1_000_000 + 1000·k.
 */

import type {
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  OrientationBasis,
} from '../../src/reassembly/types.js';
import { createSmtpDecoder } from '../../src/smtp/decoder.js';
import type { SmtpDecoderOptions, SmtpEvent } from '../../src/smtp/types.js';
import { eventList } from './smtp-events.js';
import { createRandom, cutAt, randomChunks } from './splits.js';

export type DialogueStep =
  | {
      readonly kind: 'data';
      readonly direction: Direction;
      readonly bytes: Uint8Array;
      readonly tsMicros: number;
    }
  | {
      readonly kind: 'gap';
      readonly direction: Direction;
      readonly length: number;
      readonly cause: GapCause;
      readonly tsMicros: number;
    };

export interface Dialogue {
  readonly steps: readonly DialogueStep[];
  readonly options: Partial<SmtpDecoderOptions>;
  readonly close: CloseReason;
  readonly closeTsMicros: number;
  /** Orientation of the flow the dialogue runs on (TEST_FLOW's 'syn' unless `@basis` says otherwise). */
  readonly basis: OrientationBasis;
}

export const BASE_TS = 1_000_000;

export const TEST_FLOW: FlowKey = {
  id: 'test-flow',
  client: { ip: '192.0.2.1', port: 40000 },
  server: { ip: '192.0.2.25', port: 25 },
  basis: 'syn',
};

function unescapeBytes(text: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c !== '\\') {
      out.push(text.charCodeAt(i) & 0xff);
      continue;
    }
    const n = text[++i];
    if (n === 'r') out.push(13);
    else if (n === 'n') out.push(10);
    else if (n === 't') out.push(9);
    else if (n === '0') out.push(0);
    else if (n === '\\') out.push(92);
    else if (n === 'x') {
      out.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`bad escape \\${n}`);
  }
  return Uint8Array.from(out);
}

function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

export function parseDialogue(text: string): Dialogue {
  const steps: DialogueStep[] = [];
  const options: Record<string, boolean | number> = {};
  let close: CloseReason = 'fin';
  let basis: OrientationBasis = 'syn';
  let current: { direction: Direction; parts: Uint8Array[] } | null = null;
  const ts = (): number => BASE_TS + 1000 * steps.length;
  const endSegment = (): void => {
    if (current === null) return;
    const length = current.parts.reduce((sum, p) => sum + p.length, 0);
    const bytes = new Uint8Array(length);
    let offset = 0;
    for (const part of current.parts) {
      bytes.set(part, offset);
      offset += part.length;
    }
    if (length > 0) steps.push({ kind: 'data', direction: current.direction, bytes, tsMicros: ts() });
    current = null;
  };
  const addBytes = (direction: Direction, bytes: Uint8Array): void => {
    if (current !== null && current.direction !== direction) endSegment();
    if (current === null) current = { direction, parts: [] };
    current.parts.push(bytes);
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '' || line.startsWith('#')) continue;
    if (line === '--') {
      endSegment();
      continue;
    }
    if (line.startsWith('@option ')) {
      const [name, value] = line.slice(8).trim().split('=') as [string, string | undefined];
      options[name] =
        value === undefined || value === 'true' ? true : value === 'false' ? false : Number(value);
      continue;
    }
    if (line.startsWith('@basis ')) {
      basis = line.slice(7).trim() as OrientationBasis;
      continue;
    }
    if (line.startsWith('@close ')) {
      close = line.slice(7).trim() as CloseReason;
      continue;
    }
    const side = line[0];
    const mark = line[1];
    if ((side !== 'C' && side !== 'S') || (mark !== ':' && mark !== '=' && mark !== '!')) {
      throw new Error(`bad dialogue line: ${line}`);
    }
    const direction: Direction = side === 'C' ? 'c2s' : 's2c';
    const body = line.slice(2).startsWith(' ') ? line.slice(3) : line.slice(2);
    if (mark === ':') addBytes(direction, latin1Bytes(`${body}\r\n`));
    else if (mark === '=') addBytes(direction, unescapeBytes(body));
    else {
      const [word, length, cause] = body.split(/\s+/);
      if (word !== 'gap') throw new Error(`bad directive: ${line}`);
      endSegment();
      steps.push({
        kind: 'gap',
        direction,
        length: Number(length),
        cause: (cause ?? 'lost') as GapCause,
        tsMicros: ts(),
      });
    }
  }
  endSegment();
  return { steps, options: options as Partial<SmtpDecoderOptions>, close, closeTsMicros: ts(), basis };
}

/** How each data step is cut into chunks: `split(stepIndex, bytes)` returns the chunks. */
export type StepChunker = (stepIndex: number, bytes: Uint8Array) => Uint8Array[];

export const WHOLE: StepChunker = (_i, bytes) => [bytes.slice()];

function statsFor(dialogue: Dialogue, flow: FlowKey): FlowStats {
  const dir = (direction: Direction) => {
    let bytes = 0;
    let gapBytes = 0;
    let gaps = 0;
    for (const step of dialogue.steps) {
      if (step.direction !== direction) continue;
      if (step.kind === 'data') bytes += step.bytes.length;
      else {
        gapBytes += step.length;
        gaps++;
      }
    }
    return { packets: 0, bytes, gapBytes, gaps, retransmissions: 0, overlapsDiffering: 0, outOfOrder: 0 };
  };
  return {
    firstTsMicros: BASE_TS,
    lastTsMicros: dialogue.closeTsMicros,
    c2s: dir('c2s'),
    s2c: dir('s2c'),
    // A connection picked up without its handshake reports no SYN seen.
    sawSyn: flow.basis === 'syn',
    sawSynAck: flow.basis === 'syn',
  };
}

/** Feeds the dialogue to a fresh decoder on `flow` and returns its events (message bytes copied). */
export function runDialogue(
  dialogue: Dialogue,
  chunker: StepChunker = WHOLE,
  flow: FlowKey = dialogue.basis === TEST_FLOW.basis ? TEST_FLOW : { ...TEST_FLOW, basis: dialogue.basis },
): SmtpEvent[] {
  const events: SmtpEvent[] = [];
  const decoder = createSmtpDecoder(flow, eventList(events), dialogue.options);
  const offsets = { c2s: 0, s2c: 0 };
  dialogue.steps.forEach((step, index) => {
    if (step.kind === 'gap') {
      decoder.onGap(step.direction, offsets[step.direction], step.length, step.cause, step.tsMicros);
      offsets[step.direction] += step.length;
      return;
    }
    for (const chunk of chunker(index, step.bytes)) {
      if (chunk.length === 0) continue;
      decoder.onData({
        direction: step.direction,
        offset: offsets[step.direction],
        tsMicros: step.tsMicros,
        bytes: chunk,
      });
      offsets[step.direction] += chunk.length;
    }
  });
  decoder.onClose(dialogue.close, dialogue.closeTsMicros, statsFor(dialogue, flow));
  return events;
}

function quote(text: string): string {
  return JSON.stringify(text);
}

function step(tsMicros: number): string {
  return `t${(tsMicros - BASE_TS) / 1000}`;
}

/**
 * One line per event. Runs of message-bytes are merged (their chunking is not part of the contract), and
 * tls-bytes are summed per direction until the next event other than tls-bytes / tls-hello / tls-not-tls.
 */
export function formatEvents(events: readonly SmtpEvent[]): string {
  const out: string[] = [];
  let body: number[] | null = null;
  const tlsBytes = { c2s: 0, s2c: 0 };
  const flushBody = (): void => {
    if (body === null) return;
    const text = String.fromCharCode(...body);
    out.push(`  message-bytes ${body.length} ${quote(text.length > 400 ? `${text.slice(0, 400)}…` : text)}`);
    body = null;
  };
  const flushTls = (): void => {
    if (tlsBytes.c2s > 0 || tlsBytes.s2c > 0) out.push(`  tls-bytes c2s=${tlsBytes.c2s} s2c=${tlsBytes.s2c}`);
    tlsBytes.c2s = 0;
    tlsBytes.s2c = 0;
  };
  for (const event of events) {
    if (event.type === 'message-bytes') {
      if (body === null) body = [];
      for (const b of event.bytes) body.push(b);
      continue;
    }
    flushBody();
    if (event.type === 'tls-bytes') {
      tlsBytes[event.direction] += event.length;
      continue;
    }
    // What the hello parser finds (a hello, or bytes that are not TLS) comes at a byte position inside a run of
    // TLS bytes: where the byte count is cut around it depends on the chunking, so the run is not cut there.
    if (event.type !== 'tls-hello' && !(event.type === 'anomaly' && event.code === 'tls-not-tls')) flushTls();
    switch (event.type) {
      case 'command': {
        const c = event.command;
        let line = `C #${c.seq} ${c.kind === 'auth-response' ? 'auth-response' : c.verb}`;
        if (c.verb === 'UNKNOWN' || c.verbText !== c.verb) line += ` verbText=${quote(c.verbText)}`;
        line += ` ${quote(c.argument)}`;
        if (c.path !== null) line += ` path=<${c.path}>`;
        const params = Object.entries(c.params);
        if (params.length > 0)
          line += ` params={${params.map(([k, v]) => (v === true ? k : `${k}=${v}`)).join(' ')}}`;
        out.push(`${line} @${c.offset} ${step(c.tsMicros)}${c.encrypted ? ' encrypted' : ''}`);
        break;
      }
      case 'reply': {
        const r = event.reply;
        const to = event.to;
        const target =
          to.kind === 'command'
            ? `#${to.command.seq} ${to.command.kind === 'auth-response' ? 'auth-response' : to.command.verb}`
            : to.kind === 'end-of-data'
              ? `end-of-data ${to.mode}${to.lmtpRecipient === null ? '' : ` lmtp-rcpt=${to.lmtpRecipient}`}`
              : to.kind;
        const status = r.enhancedStatus === null ? '' : ` [${r.enhancedStatus}]`;
        const times =
          r.tsMicros === r.endTsMicros ? step(r.tsMicros) : `${step(r.tsMicros)}-${step(r.endTsMicros)}`;
        out.push(
          `S ${r.code}${status} ${r.lines.map(quote).join(' | ')} -> ${target} @${r.offset} ${times}${r.encrypted ? ' encrypted' : ''}`,
        );
        break;
      }
      case 'state':
        out.push(`  state ${event.from} -> ${event.to}`);
        break;
      case 'message-start':
        out.push(`  message-start ${event.mode} ${step(event.tsMicros)}`);
        break;
      case 'message-end':
        out.push(`  message-end size=${event.sizeBytes} complete=${event.complete} ${step(event.tsMicros)}`);
        break;
      case 'bdat-chunk':
        out.push(`  bdat-chunk size=${event.sizeBytes}${event.last ? ' last' : ''}`);
        break;
      case 'tls-start':
        out.push(`  tls-start ${event.mode} ${step(event.tsMicros)}`);
        break;
      case 'tls-hello': {
        const h = event.hello;
        out.push(
          `  tls-hello ${h.side} versions=${h.versions.join(',')} sni=${h.sni ?? '-'} cipher=${h.cipher ?? '-'} alpn=${h.alpn.join(',') || '-'}`,
        );
        break;
      }
      case 'auth':
        out.push(
          `  auth ${event.mechanism} user=${event.username === null ? '-' : quote(event.username)} outcome=${event.outcome}${event.secret === null ? '' : ` secret=${quote(event.secret)}`}`,
        );
        break;
      case 'roles-swapped':
        out.push('  roles-swapped');
        break;
      case 'proxy':
        out.push(`  proxy ${event.protocol} target=${event.target ?? '-'} accepted=${event.accepted ?? '-'}`);
        break;
      case 'tls-decryption':
        out.push(`  tls-decryption ${event.status.kind}`);
        break;
      case 'gap':
        out.push(`  gap ${event.direction} ${event.length}`);
        break;
      case 'anomaly':
        out.push(
          `  ! ${event.code} ${event.direction ?? '-'} ${quote(event.detail)}${event.offset === null ? '' : ` @${event.offset}`}`,
        );
        break;
      case 'closed':
        out.push(`  closed ${event.reason}`);
        break;
      default:
        throw new Error('unknown event');
    }
  }
  flushBody();
  flushTls();
  return `${out.join('\n')}\n`;
}

/** The chunkings a dialogue is replayed under: 1-byte chunks, each 2-way split of each step, random runs. */
export function forEachDialogueSplit(
  dialogue: Dialogue,
  fn: (chunker: StepChunker, label: string) => void,
  randomRuns = 20,
): void {
  fn((_i, bytes) => Array.from(bytes, (b) => Uint8Array.of(b)), '1-byte chunks');
  dialogue.steps.forEach((step, index) => {
    if (step.kind !== 'data') return;
    for (let cut = 1; cut < step.bytes.length; cut++) {
      fn(
        (i, bytes) => (i === index ? cutAt(bytes, [cut]) : [bytes.slice()]),
        `step ${index} split at ${cut}`,
      );
    }
  });
  const random = createRandom(7);
  for (let run = 0; run < randomRuns; run++) {
    const max = 1 + Math.floor(random() * 40);
    fn((_i, bytes) => randomChunks(bytes, random, max), `random chunking #${run}`);
  }
}
