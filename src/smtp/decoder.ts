/**
 * The SMTP dialogue decoder for one TCP connection (after Zeek's SMTP analyzer; docs/SMTP.md has the state table
 * and the anomaly catalogue).
 *
 * Both directions arrive interleaved in capture order. Each direction has a line splitter; the command side
 * (client, or the old server after ATRN/TURN) feeds the command parser, the DATA dot-decoder and BDAT plain
 * delivery; the reply side feeds the reply assembler. Every command that expects a reply goes into a FIFO of
 * pending targets; each complete reply takes the oldest one. State is updated optimistically on a command and
 * corrected on its reply.
 *
 * Barriers: after DATA, STARTTLS and each step of AUTH, what the client sends next depends on the reply (body
 * or commands, TLS or commands, AUTH response or commands). While such a command awaits its reply and the
 * server direction has been seen, later client bytes are held (bounded by `maxHeldBytes`) and interpreted
 * once the reply arrives. With no server bytes seen (a client-only capture) the decoder assumes success at once
 * (for STARTTLS: if the next client byte starts a TLS record).
 */

import type {
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  StreamChunk,
  StreamHandler,
} from '../reassembly/types.js';
import { copyBytes } from '../util/copy-bytes.js';
import {
  type AuthItem,
  decodeBase64Text,
  exposesSecret,
  extractAuthCredentials,
} from './auth-credentials.js';
import { parseBdatArgument, parseCommandLine, toSmtpVerb } from './command-parser.js';
import { createDotDecoder } from './dot-decoder.js';
import { parseEhloCapabilities } from './extensions.js';
import { createLineSplitter, type LineEnding, type LineSplitter } from './line-splitter.js';
import { resolveSmtpDecoderOptions } from './options.js';
import { createReplyAssembler, isValidReplyCode } from './reply-parser.js';
import { createTlsHelloParser, type TlsHelloParser } from './tls-hello.js';
import type {
  AnomalyCode,
  AuthOutcome,
  ReplyTarget,
  SmtpCommand,
  SmtpDecoderOptions,
  SmtpEvent,
  SmtpReply,
  SmtpState,
} from './types.js';

export interface SmtpDecoder extends StreamHandler {
  readonly state: SmtpState;
}

export const REDACTED = '[redacted]';

interface PendingEntry {
  readonly target: ReplyTarget;
  readonly command: SmtpCommand | null;
  /** RCPT: 0-based index among the transaction's RCPT commands. */
  readonly rcptIndex: number;
  /** MAIL: transaction generation, to ignore a late refusal of an older MAIL. */
  readonly mailGeneration: number;
  /** DATA, STARTTLS, AUTH, AUTH response: what the client sends next depends on this reply. */
  readonly barrier: boolean;
  resolved: boolean;
  /** LMTP end of data: replies still expected (null until the first one arrives). */
  lmtpRemaining: number | null;
  lmtpRecipients: readonly number[];
  lmtpNext: number;
}

interface HeldChunk {
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly tsMicros: number;
}

interface AuthExchange {
  readonly mechanism: string;
  readonly items: AuthItem[];
  prompt: string | null;
  /** The next client line is an AUTH response. */
  expectResponse: boolean;
  /** Responses the mechanism needs when no server reply is seen (client-only capture). */
  expectedRemaining: number;
  aborted: boolean;
  readonly tsMicros: number;
  /** The AUTH command or the latest response: what a 334 answers when the queue lost it (a gap). */
  lastStep: SmtpCommand | null;
}

interface Message {
  readonly mode: 'DATA' | 'BDAT';
  damaged: boolean;
  /** A DATA body went on after a capture gap: the final dot may have been lost with it. */
  afterGap: boolean;
}

interface BdatChunk {
  readonly size: number;
  readonly last: boolean;
  remaining: number;
}

const MAX_AUTH_ITEMS = 8;
const TLS_HANDSHAKE = 0x16;
const EMPTY_PARAMS = Object.freeze({});

function latin1(bytes: Uint8Array): string {
  // Short lines (nearly all SMTP lines) convert faster without creating a Buffer view.
  if (bytes.length <= 512) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function other(direction: Direction): Direction {
  return direction === 'c2s' ? 's2c' : 'c2s';
}

function clip(text: string, length = 60): string {
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

function expectedAuthResponses(mechanism: string, hasInitialResponse: boolean): number {
  switch (mechanism) {
    case 'PLAIN':
    case 'XOAUTH2':
    case 'OAUTHBEARER':
      return hasInitialResponse ? 0 : 1;
    case 'LOGIN':
      return hasInitialResponse ? 1 : 2;
    case 'CRAM-MD5':
      return 1;
    case 'DIGEST-MD5':
      return 2;
    default:
      return Number.POSITIVE_INFINITY;
  }
}

/**
 * Whether a reply with this code can answer the waiting entry. Only codes tied to one command are checked (RFC
 * 5321 4.3.2, RFC 4954): 354 answers DATA alone, 334 and 235 an AUTH command or AUTH response, 221 QUIT. Every
 * other code can answer anything, so normal (and pipelined) traffic pairs strictly in order.
 */
function canAnswer(code: number, entry: PendingEntry): boolean {
  const command = entry.command;
  switch (code) {
    case 354:
      return command !== null && command.kind === 'command' && command.verb === 'DATA';
    case 334:
    case 235:
      return command !== null && command.verb === 'AUTH';
    case 221:
      return command !== null && command.kind === 'command' && command.verb === 'QUIT';
    default:
      return true;
  }
}

function describeEntry(entry: PendingEntry): string {
  const command = entry.command;
  if (command === null) return entry.target.kind === 'end-of-data' ? 'the end of data' : 'a command';
  return command.kind === 'auth-response' ? 'an AUTH response' : command.verb;
}

/** Commands that open a session: a capture that starts with one may just have missed the greeting. */
const OPENING_VERBS = new Set(['HELO', 'EHLO', 'LHLO']);

const RESYNC_NO_ARGUMENT = new Set(['DATA', 'RSET', 'QUIT', 'STARTTLS', 'TURN']);

/**
 * Whether a line, seen while resynchronising after a gap, is a command rather than body text: an upper-case
 * verb with the shape of its arguments (`MAIL FROM:`, `RCPT TO:`, one HELO word, no argument for DATA...).
 */
export function looksLikeCommand(text: string): boolean {
  const parsed = parseCommandLine(text);
  if (parsed.verb === 'UNKNOWN' || parsed.verbText !== parsed.verb) return false;
  const words = parsed.argument === '' ? 0 : parsed.argument.split(/[ \t]+/).length;
  switch (parsed.verb) {
    case 'MAIL':
    case 'RCPT':
      return !parsed.malformedPath && parsed.path !== null;
    case 'HELO':
    case 'EHLO':
    case 'LHLO':
      return words === 1;
    case 'BDAT':
      return parseBdatArgument(parsed.argument).ok;
    case 'AUTH':
      return words >= 1 && words <= 2;
    case 'VRFY':
    case 'EXPN':
    case 'ETRN':
    case 'ATRN':
    case 'NOOP':
    case 'HELP':
      return words <= 1;
    default:
      return RESYNC_NO_ARGUMENT.has(parsed.verb) && words === 0;
  }
}

export function createSmtpDecoder(
  flow: FlowKey,
  emit: (event: SmtpEvent) => void,
  options?: Partial<SmtpDecoderOptions>,
): SmtpDecoder {
  const opts = resolveSmtpDecoderOptions(options);
  /**
   * The handshake was seen (orientation from the SYN). Without it the capture may have started mid-session: a
   * first reply that answers a command, or a first command that cannot open a session, is flagged `midstream`
   * (not `no-greeting`), and envelope-order anomalies wait for MAIL, RSET or HELO as after a gap.
   */
  const handshakeSeen = flow.basis === 'syn';
  let lmtp = opts.lmtp;

  let state: SmtpState = 'connected';
  let started = false;
  let closed = false;
  /** Direction that carries commands: c2s until ATRN/TURN swaps the roles. */
  let cmdDir: Direction = 'c2s';
  const seen = { c2s: false, s2c: false };
  const bytesSeen = { c2s: 0, s2c: 0 };
  const tsNow = { c2s: 0, s2c: 0 };
  const recovering = { c2s: false, s2c: false };
  const tls: { c2s: TlsHelloParser | null; s2c: TlsHelloParser | null } = { c2s: null, s2c: null };
  let tlsActive = false;
  /**
   * Time of a 220 to STARTTLS while nothing after it was seen yet: the first byte either way decides whether TLS
   * started (a TLS record type) or the dialogue goes on in clear text (`tls-not-tls`).
   */
  let tlsPendingTs: number | null = null;

  // Reply pairing.
  const pending: PendingEntry[] = [];
  let pendingHead = 0;
  let barrier: PendingEntry | null = null;
  let held: HeldChunk[] = [];
  let heldBytes = 0;
  let greetingSeen = false;
  let replySeen = false;
  let commandSeq = 0;

  // Session facts.
  let pipelining: boolean | null = null; // null: no EHLO reply seen
  let heloAccepted = false;
  let quitSent = false;
  let quitAnswered = false;
  const once = new Set<AnomalyCode>();

  // Transaction.
  let txOpen = false;
  let txGeneration = 0;
  let txRcpts = 0;
  let txTooMany = false;
  /** After a gap the envelope so far is unknown: no envelope-order anomalies until MAIL, RSET or HELO. */
  let txUnknown = !handshakeSeen;
  let accepted: number[] = [];

  // Message body.
  let cmdMode: 'lines' | 'data' = 'lines';
  let message: Message | null = null;
  let bdatOpen = false;
  let chunk: BdatChunk | null = null;
  let bdatSize = 0;
  let bdatRefused = false;
  let auth: AuthExchange | null = null;
  /** Mechanism of the latest AUTH command, for an exchange resumed by a 334 that answers no AUTH step. */
  let lastAuthMechanism = '';
  /**
   * Client lines starting before this offset were sent while an AUTH step awaited its reply (held bytes): they
   * are credential lines whatever the reply turned out to be, so that no pairing mistake can print a secret.
   */
  let credentialUntil = -1;

  // ---------------------------------------------------------------- emit helpers
  function setState(to: SmtpState, tsMicros: number): void {
    if (to === state) return;
    const from = state;
    state = to;
    emit({ type: 'state', from, to, tsMicros });
  }

  function anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    ts: number,
  ): void {
    emit({ type: 'anomaly', code, direction, detail, offset, tsMicros: ts });
  }

  function anomalyOnce(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    ts: number,
  ): void {
    if (once.has(code)) return;
    once.add(code);
    anomaly(code, direction, detail, offset, ts);
  }

  // ---------------------------------------------------------------- line splitters
  const dot = createDotDecoder({
    onBytes(bytes) {
      emit({ type: 'message-bytes', bytes });
    },
    onBareLf(offset) {
      anomaly(
        'bare-lf',
        cmdDir,
        'body line ended by a bare LF (accepted as a line end, as Postfix does)',
        offset,
        tsNow[cmdDir],
      );
    },
  });

  function makeSplitter(direction: Direction): LineSplitter {
    return createLineSplitter({
      maxLineLength: opts.maxLineLength,
      onLine(line, ending, offset) {
        // Checked per line, not per chunk, so that bytes after the 221 are found whatever the chunking.
        if (quitAnswered) {
          anomalyOnce(
            'data-after-close',
            direction,
            'bytes after the 221 reply to QUIT',
            offset,
            tsNow[direction],
          );
        }
        if (direction === cmdDir) onCommandLine(line, ending, offset);
        else onReplyLine(line, ending, offset);
      },
      onPlain(bytes, offset) {
        onBdatOctets(bytes, offset);
      },
    });
  }
  const splitters = { c2s: makeSplitter('c2s'), s2c: makeSplitter('s2c') };

  const assembler = createReplyAssembler({
    maxReplyLines: opts.maxReplyLines,
    onReply(reply) {
      onReply(reply);
    },
    onCodeMismatch(expected, got, offset, ts) {
      anomaly(
        'reply-code-mismatch',
        other(cmdDir),
        `continuation line has code ${got}, reply began with ${expected}`,
        offset,
        ts,
      );
    },
  });

  /** Line-level anomalies shared by both sides; returns the line text without a stray trailing CR. */
  function lineText(line: Uint8Array, ending: LineEnding, offset: number, direction: Direction): string {
    const ts = tsNow[direction];
    let text = latin1(line);
    if (ending === 'lf') anomaly('bare-lf', direction, 'line ended by a bare LF', offset, ts);
    else if (ending === 'overflow')
      anomaly('line-too-long', direction, `line longer than ${opts.maxLineLength} bytes, cut`, offset, ts);
    if (ending === 'crlf' && text.endsWith('\r')) {
      anomaly('extra-cr', direction, 'more than one CR before LF', offset, ts);
      while (text.endsWith('\r')) text = text.slice(0, -1);
    }
    if (ending === 'eof' && text.endsWith('\r')) text = text.slice(0, -1);
    if (text.indexOf('\0') >= 0) anomaly('nul-in-line', direction, 'NUL byte in line', offset, ts);
    if (text.indexOf('\r') >= 0) anomaly('bare-cr', direction, 'bare CR inside line', offset, ts);
    return text;
  }

  // ---------------------------------------------------------------- pending queue
  function pendingCount(): number {
    return pending.length - pendingHead;
  }

  function pushPending(entry: PendingEntry, ts: number): void {
    if (pendingCount() >= opts.maxPendingCommands) {
      anomaly(
        'excessive-pending-commands',
        cmdDir,
        `more than ${opts.maxPendingCommands} commands await replies; queue cleared`,
        null,
        ts,
      );
      clearPending();
    }
    pending.push(entry);
  }

  function peekPending(): PendingEntry | null {
    return pendingHead < pending.length ? (pending[pendingHead] as PendingEntry) : null;
  }

  function advancePending(): void {
    pendingHead++;
    if (pendingHead >= pending.length) {
      pending.length = 0;
      pendingHead = 0;
    } else if (pendingHead > 64 && pendingHead * 2 > pending.length) {
      pending.splice(0, pendingHead);
      pendingHead = 0;
    }
  }

  function clearPending(): void {
    pending.length = 0;
    pendingHead = 0;
    barrier = null;
  }

  function entry(
    target: ReplyTarget,
    command: SmtpCommand | null,
    isBarrier: boolean,
    rcptIndex = -1,
  ): PendingEntry {
    return {
      target,
      command,
      rcptIndex,
      mailGeneration: txGeneration,
      barrier: isBarrier,
      resolved: false,
      lmtpRemaining: null,
      lmtpRecipients: [],
      lmtpNext: 0,
    };
  }

  // ---------------------------------------------------------------- messages
  function startMessage(mode: 'DATA' | 'BDAT', ts: number): void {
    message = { mode, damaged: false, afterGap: false };
    emit({ type: 'message-start', mode, tsMicros: ts });
  }

  /** `atEnd`: the end-of-data mark was reached (final dot, BDAT LAST octets), so a final reply is due. */
  function endMessage(complete: boolean, ts: number, atEnd = false): void {
    if (message === null) return;
    const sizeBytes = message.mode === 'DATA' ? dot.sizeBytes : bdatSize;
    emit({
      type: 'message-end',
      sizeBytes,
      complete: complete && !message.damaged,
      awaitsReply: atEnd,
      tsMicros: ts,
    });
    message = null;
    bdatOpen = false;
    chunk = null;
    bdatSize = 0;
    if (cmdMode === 'data') cmdMode = 'lines';
  }
  function startData(ts: number): void {
    dot.reset();
    cmdMode = 'data';
    startMessage('DATA', ts);
    setState('data', ts);
  }

  function onBdatOctets(bytes: Uint8Array, offset: number): void {
    void offset;
    if (chunk === null) return;
    emit({ type: 'message-bytes', bytes });
    chunk.remaining -= bytes.length;
    bdatSize += bytes.length;
    if (chunk.remaining <= 0) bdatChunkDone(tsNow[cmdDir]);
  }

  function bdatChunkDone(ts: number): void {
    const done = chunk as BdatChunk;
    chunk = null;
    emit({ type: 'bdat-chunk', sizeBytes: done.size, last: done.last, tsMicros: ts });
    if (bdatRefused) {
      bdatRefused = false;
      endMessage(false, ts);
    } else if (done.last) {
      endMessage(true, ts, true);
      txOpen = false;
      setState('ready', ts);
    }
  }

  // ---------------------------------------------------------------- TLS
  function startTls(mode: 'starttls' | 'implicit', ts: number): void {
    if (tlsActive) return;
    tlsActive = true;
    endMessage(false, ts);
    finishAuth('unknown', ts);
    clearPending();
    cmdMode = 'lines';
    const make = (direction: Direction): TlsHelloParser =>
      createTlsHelloParser({
        side: direction === cmdDir ? 'client' : 'server',
        maxBytes: opts.maxTlsHelloBytes,
        onHello(hello) {
          emit({ type: 'tls-hello', hello, tsMicros: tsNow[direction] });
        },
        onNotTls(detail) {
          anomaly('tls-not-tls', direction, detail, null, tsNow[direction]);
        },
      });
    tls.c2s = make('c2s');
    tls.s2c = make('s2c');
    emit({ type: 'tls-start', mode, tsMicros: ts });
    setState('tls', ts);
  }

  /** The first byte after a 220 to STARTTLS: TLS starts, or both directions stay clear text. */
  function decideTls(direction: Direction, firstByte: number, offset: number, ts: number): void {
    const since = tlsPendingTs as number;
    tlsPendingTs = null;
    // Client: a handshake record (0x16); server: any TLS record type (0x14-0x17), e.g. an alert.
    const isTls = direction === cmdDir ? firstByte === TLS_HANDSHAKE : firstByte >= 0x14 && firstByte <= 0x17;
    if (isTls) {
      startTls('starttls', since);
      return;
    }
    anomaly(
      'tls-not-tls',
      direction,
      `${direction === cmdDir ? 'client' : 'server'} sent clear text after the 220 to STARTTLS, no TLS record; read as clear text`,
      offset,
      ts,
    );
  }

  function tlsData(direction: Direction, bytes: Uint8Array): void {
    const parser = tls[direction];
    if (parser !== null && !parser.done) parser.push(bytes);
    emit({ type: 'tls-bytes', direction, length: bytes.length });
  }

  // ---------------------------------------------------------------- AUTH
  function finishAuth(outcome: AuthOutcome, ts: number): void {
    if (auth === null) return;
    const exchange = auth;
    auth = null;
    const credentials = extractAuthCredentials(exchange.mechanism, exchange.items);
    emit({
      type: 'auth',
      mechanism: exchange.mechanism,
      username: credentials.username,
      secret: opts.revealSecrets ? credentials.secret : null,
      outcome: exchange.aborted && outcome !== 'success' ? 'aborted' : outcome,
      tsMicros: ts,
    });
    if (state === 'auth') setState('ready', ts);
  }

  // ---------------------------------------------------------------- barriers and held bytes
  /** Decides how the client bytes after a barrier command are read, and replays what was held. */
  function resolveBarrier(target: PendingEntry, reply: SmtpReply | null, ts: number): void {
    if (target.resolved) return;
    target.resolved = true;
    if (barrier === target) barrier = null;
    const chunks = held;
    held = [];
    heldBytes = 0;
    const command = target.command;
    const last = chunks[chunks.length - 1];
    if (command !== null && command.verb === 'AUTH' && last !== undefined)
      credentialUntil = Math.max(credentialUntil, last.offset + last.bytes.length);
    const verb = command !== null && command.kind === 'command' ? command.verb : undefined;
    if (verb === 'DATA') {
      if (reply === null || reply.code === 354) startData(ts);
    } else if (verb === 'STARTTLS') {
      const first = chunks[0]?.bytes[0];
      const positive = reply === null ? first === TLS_HANDSHAKE : reply.code === 220;
      if (positive) {
        if (first !== undefined && first !== TLS_HANDSHAKE) {
          anomaly(
            'invalid-pipelined-sequence',
            cmdDir,
            'clear text sent after STARTTLS before its 220 reply',
            chunks[0]?.offset ?? null,
            ts,
          );
        }
        // Nothing held: TLS starts only if the next bytes are TLS (a client may go on in clear text instead).
        if (first === undefined && reply !== null) tlsPendingTs = ts;
        else startTls('starttls', ts);
      }
    } else if (auth !== null) {
      if (reply === null) {
        auth.expectResponse = auth.expectedRemaining > 0;
        if (!auth.expectResponse) finishAuth('unknown', ts);
      } else if (reply.code === 334) {
        auth.expectResponse = true;
        auth.prompt = decodeBase64Text(reply.lines[0] ?? '');
      }
    }
    if (
      chunks.length > 0 &&
      reply !== null &&
      !tlsActive &&
      cmdMode === 'lines' &&
      auth?.expectResponse !== true
    ) {
      const what =
        command === null ? 'a command' : command.kind === 'auth-response' ? 'an AUTH response' : command.verb;
      anomaly(
        'invalid-pipelined-sequence',
        cmdDir,
        `client sent data after ${what} before its reply`,
        chunks[0]?.offset ?? null,
        ts,
      );
    }
    for (const held of chunks) {
      tsNow[cmdDir] = held.tsMicros;
      feed(cmdDir, held.bytes, held.offset, held.tsMicros);
    }
  }

  function resolveHeldOptimistically(ts: number): void {
    if (barrier !== null) resolveBarrier(barrier, null, ts);
  }

  // ---------------------------------------------------------------- feeding
  function feed(direction: Direction, bytes: Uint8Array, offset: number, ts: number): void {
    let pos = 0;
    let stalls = 0;
    while (pos < bytes.length) {
      tsNow[direction] = ts;
      const rest = pos === 0 ? bytes : bytes.subarray(pos);
      const n = direction === cmdDir ? stepCommand(rest, offset + pos, ts) : stepReply(rest, offset + pos);
      pos += n;
      if (n > 0) stalls = 0;
      else if (++stalls > 4) break; // mode changes that consume nothing; never loop forever
    }
  }

  function stepReply(bytes: Uint8Array, offset: number): number {
    const direction = other(cmdDir);
    const skipped = splitters[direction].skipDiscarded(bytes);
    if (skipped > 0) return skipped;
    if (tlsPendingTs !== null) {
      decideTls(direction, bytes[0] as number, offset, tsNow[direction]);
      return 0;
    }
    if (tls[direction] !== null) {
      tlsData(direction, bytes);
      return bytes.length;
    }
    return splitters[direction].push(bytes, offset);
  }

  function stepCommand(bytes: Uint8Array, offset: number, ts: number): number {
    // The rest of a line cut at the length limit is discarded up to its LF before anything else reads these
    // bytes (a TLS decision, held bytes, a DATA body), as it is when the whole line comes in one chunk.
    const skipped = splitters[cmdDir].skipDiscarded(bytes);
    if (skipped > 0) return skipped;
    if (tlsPendingTs !== null) {
      decideTls(cmdDir, bytes[0] as number, offset, ts);
      return 0;
    }
    if (tls[cmdDir] !== null) {
      tlsData(cmdDir, bytes);
      return bytes.length;
    }
    if (barrier !== null) {
      if (!seen[other(cmdDir)]) {
        // No server bytes in this capture: assume success, sniffing TLS from the next byte.
        resolveBarrierSniff(barrier, bytes[0], ts);
        return 0;
      }
      const room = opts.maxHeldBytes - heldBytes;
      if (bytes.length <= room) {
        held.push({ bytes: copyBytes(bytes), offset, tsMicros: ts });
        heldBytes += bytes.length;
        return bytes.length;
      }
      if (room > 0) {
        held.push({ bytes: bytes.slice(0, room), offset, tsMicros: ts });
        heldBytes += room;
      }
      resolveHeldOptimistically(ts);
      return room;
    }
    if (cmdMode === 'data') {
      const n = dot.push(bytes, offset);
      if (dot.ended) endOfData(ts);
      return n;
    }
    return splitters[cmdDir].push(bytes, offset);
  }

  /** Client-only capture: resolve a barrier at once; STARTTLS is taken as accepted when TLS bytes follow. */
  function resolveBarrierSniff(target: PendingEntry, firstByte: number | undefined, ts: number): void {
    const verb = target.command?.kind === 'command' ? target.command.verb : undefined;
    if (verb === 'STARTTLS') {
      target.resolved = true;
      barrier = null;
      if (firstByte === TLS_HANDSHAKE) startTls('starttls', ts);
      return;
    }
    resolveBarrier(target, null, ts);
  }

  function endOfData(ts: number): void {
    endMessage(true, ts, true);
    cmdMode = 'lines';
    txOpen = false;
    pushPending(entry({ kind: 'end-of-data', mode: 'DATA', lmtpRecipient: null }, null, false), ts);
    setState('ready', ts);
  }

  // ---------------------------------------------------------------- commands
  function onCommandLine(line: Uint8Array, ending: LineEnding, offset: number): void {
    const ts = tsNow[cmdDir];
    const text = lineText(line, ending, offset, cmdDir);
    const splitter = splitters[cmdDir];

    if (recovering[cmdDir]) {
      if (text === '.') {
        // The end of a body whose start was lost: its reply follows. The message-end (without a message-start)
        // tells the model that a message ended here, of unknown size.
        recovering[cmdDir] = false;
        emit({ type: 'message-end', sizeBytes: 0, complete: false, awaitsReply: true, tsMicros: ts });
        txOpen = false;
        pushPending(entry({ kind: 'end-of-data', mode: 'DATA', lmtpRecipient: null }, null, false), ts);
        setState('ready', ts);
        return;
      }
      if (ending !== 'crlf' || !looksLikeCommand(text)) return; // still lost: body or half a line
      recovering[cmdDir] = false;
    } else if (!greetingSeen && offset === 0 && commandSeq === 0 && auth === null) {
      const verb = toSmtpVerb(text.split(/[ \t]/, 1)[0] ?? '');
      if (verb !== null && !handshakeSeen && !OPENING_VERBS.has(verb)) {
        anomalyOnce(
          'midstream',
          cmdDir,
          `no handshake seen and the first client line is ${verb}; the capture starts mid-session`,
          offset,
          ts,
        );
      } else if (verb === null) {
        anomalyOnce(
          'midstream',
          cmdDir,
          'first client line is not a command; the capture starts mid-session',
          offset,
          ts,
        );
        recovering[cmdDir] = true;
        setState('gap-recovery', ts);
        return;
      }
    }

    if (offset < credentialUntil && auth?.expectResponse !== true) {
      // Sent before the AUTH step's reply arrived: a credential line even though the exchange is over.
      credentialCommand(text, offset, ts);
      return;
    }

    if (auth?.expectResponse) {
      const onlyCountingResponses =
        !seen[other(cmdDir)] && auth.expectedRemaining === Number.POSITIVE_INFINITY;
      const looksLikeCommand = toSmtpVerb(text.split(/[ \t]/, 1)[0] ?? '') !== null && / /.test(text);
      if (!(onlyCountingResponses && looksLikeCommand)) {
        authResponse(text, offset, ts);
        return;
      }
      finishAuth('unknown', ts);
    } else if (auth !== null && barrier === null) {
      // AUTH exchange over without a final reply (client-only capture).
      finishAuth('unknown', ts);
    }

    const parsed = parseCommandLine(text);
    let argument = parsed.argument;
    let authInitial: string | null = null;
    let authMechanism = '';
    if (parsed.verb === 'AUTH') {
      const words = parsed.argument.split(/[ \t]+/).filter((w) => w !== '');
      authMechanism = (words[0] ?? '').toUpperCase();
      authInitial = words[1] ?? null;
      if (authInitial !== null && !opts.revealSecrets && authInitial !== '=') {
        argument = `${words[0] ?? ''} ${REDACTED}`;
      }
    }
    const command: SmtpCommand = {
      seq: commandSeq++,
      verb: parsed.verb,
      verbText: parsed.verbText,
      argument,
      path: parsed.path,
      params: parsed.params,
      kind: 'command',
      offset,
      tsMicros: ts,
    };
    beforeCommand(command, ts);
    emit({ type: 'command', command });
    afterCommand(command, authMechanism, authInitial, splitter, ts);
  }

  function authResponse(text: string, offset: number, ts: number): void {
    const exchange = auth as AuthExchange;
    const trimmed = text.trim();
    if (trimmed === '*') exchange.aborted = true;
    else if (exchange.items.length < MAX_AUTH_ITEMS)
      exchange.items.push({ data: trimmed, prompt: exchange.prompt });
    exchange.expectResponse = false;
    exchange.expectedRemaining--;
    const command = credentialCommand(text, offset, ts);
    exchange.lastStep = command;
    const e = entry({ kind: 'command', command }, command, true);
    pushPending(e, ts);
    barrier = e;
    splitters[cmdDir].pause();
  }

  /** Emits a client line of an AUTH exchange, redacted (kept as sent only when empty, `=` or `*`). */
  function credentialCommand(text: string, offset: number, ts: number): SmtpCommand {
    const trimmed = text.trim();
    const argument =
      opts.revealSecrets || trimmed === '*' || trimmed === '' || trimmed === '=' ? trimmed : REDACTED;
    const command: SmtpCommand = {
      seq: commandSeq++,
      verb: 'AUTH',
      verbText: '',
      argument,
      path: null,
      params: EMPTY_PARAMS,
      kind: 'auth-response',
      offset,
      tsMicros: ts,
    };
    emit({ type: 'command', command });
    return command;
  }

  /** Anomalies that look at the command against the session so far. */
  function beforeCommand(command: SmtpCommand, ts: number): void {
    const dir = cmdDir;
    const { verb, offset } = command;
    if (verb === 'UNKNOWN')
      anomaly('unknown-command', dir, `unknown command ${clip(command.verbText, 30)}`, offset, ts);
    if (quitSent) anomalyOnce('command-after-quit', dir, `${command.verbText} after QUIT`, offset, ts);
    if (
      pipelining === false &&
      pendingCount() > 0 &&
      verb !== 'UNKNOWN' &&
      greetingSeen &&
      seen[other(dir)]
    ) {
      anomalyOnce(
        'unadvertised-pipelining',
        dir,
        `${verb} sent before earlier replies; server did not offer PIPELINING`,
        offset,
        ts,
      );
    }
    if (bdatOpen && verb !== 'BDAT') {
      if (verb !== 'RSET' && verb !== 'QUIT' && verb !== 'NOOP') {
        anomaly('bdat-missing-last', dir, `${verb} while a BDAT message awaits its LAST chunk`, offset, ts);
      }
      if (verb !== 'NOOP') {
        endMessage(false, ts);
        if (state === 'bdat') setState(txOpen ? 'rcpt' : 'ready', ts);
      }
    }
    switch (verb) {
      case 'MAIL':
        if (txOpen) anomaly('nested-mail', dir, 'MAIL inside an open transaction', offset, ts);
        break;
      case 'RCPT':
        if (!txOpen && !txUnknown) anomaly('rcpt-without-mail', dir, 'RCPT without MAIL', offset, ts);
        if (txRcpts + 1 > opts.maxRecipients && !txTooMany) {
          txTooMany = true;
          anomaly(
            'too-many-recipients',
            dir,
            `more than ${opts.maxRecipients} RCPT commands in one transaction`,
            offset,
            ts,
          );
        }
        break;
      case 'DATA':
        if (txRcpts === 0 && !txUnknown)
          anomaly('data-without-recipients', dir, 'DATA without any RCPT', offset, ts);
        break;
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        if (heloAccepted)
          anomaly('duplicate-helo', dir, `${verb} after an accepted greeting command`, offset, ts);
        break;
      default:
        break;
    }
  }

  function afterCommand(
    command: SmtpCommand,
    authMechanism: string,
    authInitial: string | null,
    splitter: LineSplitter,
    ts: number,
  ): void {
    const verb = command.verb;
    const target: ReplyTarget = { kind: 'command', command };
    switch (verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
      case 'RSET':
        if (verb === 'LHLO') lmtp = true;
        txOpen = false;
        txUnknown = false;
        txRcpts = 0;
        pushPending(entry(target, command, false), ts);
        setState('ready', ts);
        return;
      case 'MAIL':
        if (txOpen) {
          // Nested MAIL: the server refuses it (503) and the open transaction goes on.
          pushPending({ ...entry(target, command, false), mailGeneration: -1 }, ts);
          return;
        }
        txOpen = true;
        txUnknown = false;
        txGeneration++;
        txRcpts = 0;
        txTooMany = false;
        pushPending(entry(target, command, false), ts);
        setState('mail', ts);
        return;
      case 'RCPT':
        pushPending(entry(target, command, false, txRcpts), ts);
        txRcpts++;
        setState('rcpt', ts);
        return;
      case 'DATA':
      case 'STARTTLS': {
        const e = entry(target, command, true);
        pushPending(e, ts);
        barrier = e;
        splitter.pause();
        return;
      }
      case 'AUTH': {
        const e = entry(target, command, true);
        pushPending(e, ts);
        finishAuth('unknown', ts);
        const hasInitial = authInitial !== null;
        auth = {
          mechanism: authMechanism,
          items: hasInitial && authInitial !== '=' ? [{ data: authInitial as string, prompt: null }] : [],
          prompt: null,
          expectResponse: false,
          expectedRemaining: expectedAuthResponses(authMechanism, hasInitial),
          aborted: false,
          tsMicros: ts,
          lastStep: command,
        };
        lastAuthMechanism = authMechanism;
        if (exposesSecret(authMechanism)) {
          anomaly(
            'auth-cleartext',
            cmdDir,
            `AUTH ${authMechanism} without TLS exposes the secret`,
            command.offset,
            ts,
          );
        }
        barrier = e;
        setState('auth', ts);
        splitter.pause();
        return;
      }
      case 'BDAT': {
        const arg = parseBdatArgument(command.argument);
        if (!arg.ok) {
          anomaly('bdat-bad-argument', cmdDir, arg.reason, command.offset, ts);
          pushPending(entry(target, command, false), ts);
          return;
        }
        if (arg.size > opts.maxBdatChunkBytes) {
          anomaly(
            'bdat-chunk-too-large',
            cmdDir,
            `BDAT chunk of ${arg.size} bytes (limit ${opts.maxBdatChunkBytes})`,
            command.offset,
            ts,
          );
        }
        if (!bdatOpen) {
          bdatOpen = true;
          bdatSize = 0;
          startMessage('BDAT', ts);
        }
        setState('bdat', ts);
        pushPending(
          arg.last
            ? entry({ kind: 'end-of-data', mode: 'BDAT', lmtpRecipient: null }, null, false)
            : entry(target, command, false),
          ts,
        );
        chunk = { size: arg.size, last: arg.last, remaining: arg.size };
        if (arg.last) txOpen = false;
        if (arg.size === 0) bdatChunkDone(ts);
        else splitter.setPlainDelivery(arg.size);
        return;
      }
      case 'QUIT':
        quitSent = true;
        pushPending(entry(target, command, false), ts);
        setState('quit', ts);
        return;
      default:
        pushPending(entry(target, command, false), ts);
        if (state === 'gap-recovery' || state === 'connected') setState('ready', ts);
        return;
    }
  }

  // ---------------------------------------------------------------- replies
  function onReplyLine(line: Uint8Array, ending: LineEnding, offset: number): void {
    const direction = other(cmdDir);
    const ts = tsNow[direction];
    const text = lineText(line, ending, offset, direction);
    if (recovering[direction] && !assembler.open) {
      if (text.length < 3 || !/^[0-9]{3}([ \t-]|$)/.test(text)) return;
      recovering[direction] = false;
    }
    if (!replySeen && !assembler.open && offset === 0 && !/^[0-9]{3}([ \t-]|$)/.test(text)) {
      anomalyOnce(
        'midstream',
        direction,
        'first server line is not a reply; the capture starts mid-session',
        offset,
        ts,
      );
      recovering[direction] = true;
      return;
    }
    const result = assembler.pushLine(text, offset, ts);
    if (result === 'invalid')
      anomaly('invalid-reply', direction, `not a reply line: ${clip(text)}`, offset, ts);
  }

  function onReply(reply: SmtpReply): void {
    const direction = other(cmdDir);
    const ts = reply.endTsMicros;
    if (!isValidReplyCode(reply.code)) {
      anomaly(
        'invalid-reply',
        direction,
        `reply code ${String(reply.code).padStart(3, '0')} out of range`,
        reply.offset,
        ts,
      );
    }
    if (cmdMode === 'data' && message !== null && message.afterGap && barrier === null) {
      // A reply while a body cut by a gap is still open: its final dot was in the gap. The reply answers the end
      // of data; what the client sends next may be body or commands, so the command side resynchronises.
      endMessage(false, ts, true);
      pushPending(entry({ kind: 'end-of-data', mode: 'DATA', lmtpRecipient: null }, null, false), ts);
      recovering[cmdDir] = true;
      txOpen = false;
      setState('gap-recovery', ts);
    }
    let target: ReplyTarget;
    let matched: PendingEntry | null = null;
    const first = !replySeen;
    replySeen = true;
    const greetingCode = reply.code === 220 || reply.code === 421 || reply.code === 554;
    if (first && !greetingSeen && !once.has('midstream') && !handshakeSeen && !greetingCode) {
      // No handshake and the first reply is no greeting: it answers a command, maybe one sent before the capture.
      anomalyOnce(
        'midstream',
        direction,
        `no handshake seen and the first reply ${reply.code} is not a greeting; the capture starts mid-session`,
        reply.offset,
        ts,
      );
    }
    if (first && !greetingSeen && !once.has('midstream')) {
      const waiting = pendingCount();
      if (waiting === 0 || greetingCode) {
        if (waiting > 0)
          anomaly(
            'command-before-greeting',
            cmdDir,
            `${waiting} command(s) sent before the server greeting`,
            null,
            ts,
          );
        greetingSeen = true;
        emit({ type: 'reply', reply, to: { kind: 'greeting' } });
        if (state === 'connected') setState('ready', ts);
        return;
      }
      anomaly(
        'no-greeting',
        direction,
        `first reply ${reply.code} answers a command; no greeting`,
        reply.offset,
        ts,
      );
    }
    matched = peekPending();
    if (matched !== null && !canAnswer(reply.code, matched)) {
      // With nothing later that can take it, a reply pairs in order; but a 334 never answers anything but AUTH.
      matched = skipToAnswerable(reply, ts) ?? (reply.code === 334 ? null : matched);
    }
    if (matched === null && reply.code === 334 && seen[cmdDir] && tls[cmdDir] === null) {
      onLoneChallenge(reply, ts);
      return;
    }
    if (matched === null) {
      target = { kind: 'unmatched' };
      if (!seen[cmdDir]) {
        // Server-only capture: nothing could be paired; `one-sided` says so once at the end.
      } else if (
        once.has('midstream') ||
        state === 'gap-recovery' ||
        recovering[cmdDir] ||
        recovering[direction]
      ) {
        anomaly(
          'reply-without-command',
          direction,
          `reply ${reply.code} after a gap; the command it answers is unknown`,
          reply.offset,
          ts,
        );
      } else {
        anomaly(
          'unmatched-reply',
          direction,
          `reply ${reply.code} with no command awaiting it`,
          reply.offset,
          ts,
        );
      }
      emit({ type: 'reply', reply, to: target });
      if (reply.code === 354 && tls[cmdDir] === null && cmdMode === 'lines') {
        recovering[cmdDir] = false;
        startData(ts);
      }
      return;
    }
    if (matched.target.kind === 'end-of-data' && lmtp) {
      if (matched.lmtpRemaining === null) {
        matched.lmtpRecipients = accepted;
        matched.lmtpRemaining = Math.max(1, accepted.length);
      }
      const index = matched.lmtpRecipients[matched.lmtpNext] ?? null;
      matched.lmtpNext++;
      matched.lmtpRemaining--;
      if (matched.lmtpRemaining <= 0) advancePending();
      target = { kind: 'end-of-data', mode: matched.target.mode, lmtpRecipient: index };
    } else {
      advancePending();
      target = matched.target;
    }
    emit({ type: 'reply', reply, to: target });
    applyReply(matched, reply, ts);
  }

  /**
   * A 334 with no AUTH step waiting. With an exchange open (a gap cleared the queue), it answers the exchange's
   * latest step. With none, an earlier reply was paired with AUTH that was not its answer: the server still waits
   * for an AUTH response, so the exchange resumes and the next client line is read (and redacted) as one.
   */
  function onLoneChallenge(reply: SmtpReply, ts: number): void {
    const prompt = decodeBase64Text(reply.lines[0] ?? '');
    if (auth !== null && auth.lastStep !== null) {
      emit({ type: 'reply', reply, to: { kind: 'command', command: auth.lastStep } });
      auth.expectResponse = true;
      auth.prompt = prompt;
      return;
    }
    const direction = other(cmdDir);
    const afterGap = once.has('midstream') || state === 'gap-recovery' || recovering[cmdDir];
    anomaly(
      afterGap ? 'reply-without-command' : 'unmatched-reply',
      direction,
      'reply 334 answers no waiting AUTH step; the next client line is read as an AUTH response',
      reply.offset,
      ts,
    );
    emit({ type: 'reply', reply, to: { kind: 'unmatched' } });
    finishAuth('unknown', ts);
    auth = {
      mechanism: lastAuthMechanism === '' ? 'UNKNOWN' : lastAuthMechanism,
      items: [],
      prompt,
      expectResponse: true,
      expectedRemaining: Number.POSITIVE_INFINITY,
      aborted: false,
      tsMicros: ts,
      lastStep: null,
    };
    setState('auth', ts);
  }

  /**
   * Pairing by code (RFC 5321 4.3.2, RFC 4954): when the oldest waiting command cannot take this reply but a later
   * one can, the commands before it got no reply in the capture (a reply lost, or glued to another line): each is
   * flagged `missing-reply` and left without one. Returns the new head, or null when nothing later fits (the reply
   * is then paired in order, as before).
   */
  function skipToAnswerable(reply: SmtpReply, ts: number): PendingEntry | null {
    let index = pendingHead + 1;
    while (index < pending.length && !canAnswer(reply.code, pending[index] as PendingEntry)) index++;
    if (index >= pending.length) return null;
    const answered = pending[index] as PendingEntry;
    const answeredName = describeEntry(answered);
    // Skip up to the answered entry by identity: resolving a barrier below replays held client bytes, which
    // may queue, compact or clear the pending list, so positions do not stay valid.
    for (let skipped = peekPending(); skipped !== null && skipped !== answered; skipped = peekPending()) {
      advancePending();
      anomaly(
        'missing-reply',
        cmdDir,
        `no reply to ${describeEntry(skipped)} in the capture: ${reply.code} answers ${answeredName}`,
        // The offset of a skipped command (not of an AUTH response or an end of data), which the model counts.
        skipped.command?.kind === 'command' ? skipped.command.offset : null,
        ts,
      );
      if (barrier === skipped) {
        resolveBarrier(skipped, null, ts);
        // The replay dropped the answered entry (the queue was cleared): what it queued since is not skipped.
        if (pending.indexOf(answered, pendingHead) < 0) break;
      }
    }
    return peekPending();
  }

  function applyReply(matched: PendingEntry, reply: SmtpReply, ts: number): void {
    const code = reply.code;
    const positive = code >= 200 && code < 300;
    const command = matched.command;
    if (command === null) return; // end of data: nothing changes beyond what the command side did
    if (command.kind === 'auth-response' || command.verb === 'AUTH') {
      if (auth !== null && code !== 334)
        finishAuth(positive ? 'success' : code >= 400 ? 'failure' : 'unknown', ts);
      if (matched.barrier) resolveBarrier(matched, reply, ts);
      return;
    }
    switch (command.verb) {
      case 'EHLO':
      case 'LHLO':
        if (positive) {
          heloAccepted = true;
          pipelining = parseEhloCapabilities(reply.lines).pipelining;
        }
        break;
      case 'HELO':
        if (positive) {
          heloAccepted = true;
          pipelining = false;
        }
        break;
      case 'MAIL':
        if (matched.mailGeneration === txGeneration) accepted = [];
        if (!positive && matched.mailGeneration === txGeneration) {
          txOpen = false;
          if (state === 'mail' || state === 'rcpt') setState('ready', ts);
        }
        break;
      case 'RCPT':
        if (positive && matched.mailGeneration === txGeneration) accepted.push(matched.rcptIndex);
        break;
      case 'DATA':
        if (code !== 354) {
          anomaly('data-rejected', other(cmdDir), `DATA answered ${code}`, reply.offset, ts);
          if (state === 'mail' || state === 'rcpt') setState('ready', ts);
        }
        resolveBarrier(matched, reply, ts);
        break;
      case 'STARTTLS':
        if (code !== 220)
          anomaly('tls-rejected', other(cmdDir), `STARTTLS answered ${code}`, reply.offset, ts);
        else splitters[other(cmdDir)].pause();
        resolveBarrier(matched, reply, ts);
        break;
      case 'BDAT':
        if (!positive && message !== null && message.mode === 'BDAT') {
          // RFC 3030 §3: a refused chunk fails the transaction; its octets (if still coming) are skipped.
          if (chunk === null) endMessage(false, ts);
          else bdatRefused = true;
        }
        break;
      case 'QUIT':
        if (code === 221) quitAnswered = true;
        break;
      case 'ATRN':
      case 'TURN':
        if (code === 250) swapRoles(ts);
        break;
      case 'XCLIENT':
        // A 220 to XCLIENT is a new greeting for the client it names: the EHLO sent again is expected.
        if (code === 220) {
          heloAccepted = false;
          pipelining = null;
        }
        break;
      default:
        break;
    }
  }

  function swapRoles(ts: number): void {
    const oldServer = other(cmdDir);
    splitters[oldServer].pause();
    cmdDir = oldServer;
    clearPending();
    assembler.reset();
    greetingSeen = false;
    replySeen = false;
    pipelining = null;
    heloAccepted = false;
    txOpen = false;
    txRcpts = 0;
    accepted = [];
    emit({ type: 'roles-swapped', tsMicros: ts });
    setState('connected', ts);
  }

  // ---------------------------------------------------------------- StreamHandler
  function start(ts: number): void {
    if (started) return;
    started = true;
    if (opts.implicitTls) startTls('implicit', ts);
  }

  return {
    get state(): SmtpState {
      return state;
    },
    onData(chunk: StreamChunk): void {
      if (closed || chunk.bytes.length === 0) return;
      start(chunk.tsMicros);
      const direction = chunk.direction;
      seen[direction] = true;
      bytesSeen[direction] += chunk.bytes.length;
      feed(direction, chunk.bytes, chunk.offset, chunk.tsMicros);
    },
    onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
      if (closed) return;
      start(tsMicros);
      tsNow[direction] = tsMicros;
      // Bytes after a 220 to STARTTLS lost: assume TLS started, as the reply said.
      if (tlsPendingTs !== null) {
        const since = tlsPendingTs;
        tlsPendingTs = null;
        startTls('starttls', since);
      }
      emit({ type: 'gap', direction, length, tsMicros });
      if (cause === 'midstream')
        anomalyOnce(
          'midstream',
          direction,
          `capture starts ${length} bytes into the stream`,
          offset,
          tsMicros,
        );
      if (tls[direction] !== null) return; // opaque anyway
      seen[direction] = true;
      resolveHeldOptimistically(tsMicros);
      if (direction === cmdDir) {
        const splitter = splitters[direction];
        if (
          message !== null &&
          message.mode === 'BDAT' &&
          chunk !== null &&
          splitter.plainRemaining >= length
        ) {
          // The gap lies inside a BDAT chunk: its octets are lost, the framing is not.
          message.damaged = true;
          anomaly('content-gap', direction, `${length} bytes of a BDAT chunk lost`, offset, tsMicros);
          skipPlain(splitter, length);
          return;
        }
        if (message !== null && message.mode === 'DATA' && cmdMode === 'data') {
          // The body goes on: whatever follows up to the final dot is still message text, even a line that looks
          // like a command. The message is marked damaged; a server reply before the dot means the dot was lost.
          message.damaged = true;
          message.afterGap = true;
          anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
          dot.resumeAfterGap();
          clearPending();
          return;
        }
        if (message !== null) {
          anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
          endMessage(false, tsMicros);
        }
        finishAuth('unknown', tsMicros);
        splitter.reset();
        cmdMode = 'lines';
        recovering[direction] = true;
      } else {
        splitters[direction].reset();
        assembler.reset();
        recovering[direction] = true;
      }
      clearPending();
      txUnknown = true;
      setState('gap-recovery', tsMicros);
    },
    onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
      if (closed) return;
      start(tsMicros);
      tsNow.c2s = tsMicros;
      tsNow.s2c = tsMicros;
      resolveHeldOptimistically(tsMicros);
      if (tls[cmdDir] === null) splitters[cmdDir].flush();
      const replyDir = other(cmdDir);
      if (tls[replyDir] === null) {
        splitters[replyDir].flush();
        if (assembler.open) {
          anomaly(
            'invalid-reply',
            replyDir,
            'multi-line reply cut by the end of the connection',
            null,
            tsMicros,
          );
          assembler.flush(tsMicros);
        }
      }
      if (message !== null) {
        if (message.mode === 'BDAT' && chunk === null) {
          anomaly('bdat-missing-last', cmdDir, 'connection ended before the LAST BDAT chunk', null, tsMicros);
        }
        endMessage(false, tsMicros);
      }
      finishAuth('unknown', tsMicros);
      if (bytesSeen.c2s > 0 && !seen.s2c)
        anomaly('one-sided', null, 'only client-to-server bytes were captured', null, tsMicros);
      else if (bytesSeen.s2c > 0 && !seen.c2s)
        anomaly('one-sided', null, 'only server-to-client bytes were captured', null, tsMicros);
      closed = true;
      emit({ type: 'closed', reason, tsMicros, stats });
    },
  };

  function skipPlain(splitter: LineSplitter, length: number): void {
    // Consume `length` plain octets that were never captured, without emitting them.
    const remaining = splitter.plainRemaining;
    splitter.reset();
    splitter.setPlainDelivery(remaining - length);
    if (chunk !== null) {
      chunk.remaining -= length;
      if (chunk.remaining <= 0) bdatChunkDone(tsNow[cmdDir]);
    }
  }
}
