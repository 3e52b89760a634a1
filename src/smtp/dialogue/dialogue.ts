/**
 * The SMTP dialogue of one TCP connection: the driver that routes each direction's bytes by the dialogue's mode
 * (./modes.ts) and hands commands and replies to the transitions table (./transitions.ts). The parts it owns:
 * the pending-command queue, the held client bytes, the one transaction tracker, the AUTH exchange and the TLS
 * layer. docs/SMTP.md has the modes, the transitions and the anomaly catalogue.
 *
 * Both directions arrive interleaved in capture order. Each direction has a line splitter; the command side
 * (client, or the old server after ATRN/TURN) feeds the command parser, the DATA dot decoder and BDAT plain
 * delivery; the reply side feeds the reply assembler. Every command that expects a reply goes into the queue;
 * each complete reply answers the oldest one that its code can answer.
 *
 * Barriers: after DATA, STARTTLS and each AUTH step, what the client sends next depends on the reply. While such
 * a command awaits its reply and the server direction has been seen, later client bytes are held (bounded) and
 * read once the reply arrives. With no server bytes seen (a client-only capture) the dialogue assumes success.
 */

import type {
  CloseReason,
  Direction,
  FlowKey,
  FlowStats,
  GapCause,
  StreamChunk,
} from '../../reassembly/types.js';
import { clip } from '../../util/display-text.js';
import { decodeBase64Text, exposesSecret, extractAuthCredentials } from '../auth-credentials.js';
import { parseBdatArgument, parseCommandLine, toSmtpVerb } from '../command-parser.js';
import { createDotDecoder, type DotDecoder } from '../dot-decoder.js';
import { createLineSplitter, type LineEnding, type LineSplitter } from '../line-splitter.js';
import { resolveSmtpDecoderOptions } from '../options.js';
import { createReplyAssembler, isValidReplyCode, type ReplyAssembler } from '../reply-parser.js';
import type {
  AnomalyCode,
  AuthOutcome,
  ReplyTarget,
  SkippedReply,
  SmtpCommand,
  SmtpDecoderOptions,
  SmtpEvent,
  SmtpReply,
  SmtpState,
} from '../types.js';
import { AuthExchange, couldBeAuthResponse, expectedAuthResponses } from './auth-exchange.js';
import { HeldBytes } from './held-bytes.js';
import { firstWord, latin1, other, startsLikeReply, words } from './lines.js';
import { looksLikeCommand } from './looks-like-command.js';
import type { DialogueMode } from './modes.js';
import { canAnswer, PendingEntry, PendingQueue } from './pending-queue.js';
import { ProxyPreamble, sniffProxy } from './proxy-preamble.js';
import { TlsLayer } from './tls-layer.js';
import { BdatChunk, MessageInFlight, TransactionTracker } from './transaction.js';
import { TRANSITIONS } from './transitions.js';

export const REDACTED = '[redacted]';
const TLS_HANDSHAKE = 0x16;
const EMPTY_PARAMS = Object.freeze({});

/** Commands that open a session: a capture that starts with one may just have missed the greeting. */
const OPENING_VERBS = new Set(['HELO', 'EHLO', 'LHLO']);

/** Anomalies reported once per session, as bits. */
const ONCE_BITS: Partial<Record<AnomalyCode, number>> = {
  midstream: 1,
  'data-after-close': 2,
  'command-after-quit': 4,
  'unadvertised-pipelining': 8,
  'junk-before-greeting': 16,
};

export class SmtpDialogue {
  readonly opts: SmtpDecoderOptions;
  /** The handshake was seen (orientation from the SYN): a capture without it may start mid-session. */
  private readonly handshakeSeen: boolean;
  lmtp: boolean;
  state: SmtpState = 'connected';
  /** Routes the command side's next bytes (./modes.ts). */
  mode: DialogueMode = 'lines';
  private started = false;
  private closed = false;
  /** Direction that carries commands: c2s until ATRN/TURN swaps the roles. */
  cmdDir: Direction = 'c2s';
  private readonly seen = { c2s: false, s2c: false };
  private readonly bytesSeen = { c2s: 0, s2c: 0 };
  private readonly tsNow = { c2s: 0, s2c: 0 };
  /** The reply side lost its framing (a gap): lines are skipped until one starts like a reply. */
  private replyRecovering = false;
  /** `tls-pending`: time of the 220 to STARTTLS. */
  private tlsPendingSince = 0;
  /** The TLS layer once TLS started (hello parsers, byte counts, the decryptor when keys are given). */
  private tls: TlsLayer | null = null;
  /** Commands and replies now come from decrypted TLS bytes. */
  private encrypted = false;
  /** `proxy-preamble` before the protocol is known: the first client bytes so far. */
  private proxySniff: Uint8Array | null = null;
  /** The proxy exchange before the SMTP dialogue, once its protocol is known. */
  private proxy: ProxyPreamble | null = null;
  private proxyReported = false;
  /** Stream offset of the proxy's first answer byte (-1 until it answers). */
  private proxyServerOffset = -1;
  /** The bytes being fed are plaintext from the decryptor (not wire bytes for the TLS layer). */
  private readingPlaintext = false;

  readonly queue: PendingQueue;
  private readonly held: HeldBytes;
  readonly tx: TransactionTracker;
  private greetingSeen = false;
  private replySeen = false;
  private commandSeq = 0;
  /** The server offered PIPELINING; null: no EHLO reply seen. */
  pipelining: boolean | null = null;
  heloAccepted = false;
  quitSent = false;
  quitAnswered = false;
  private midstream = false;
  private onceBits = 0;
  auth: AuthExchange | null = null;
  /** Mechanism of the latest AUTH command, for an exchange resumed by a 334 that answers no AUTH step. */
  private lastAuthMechanism = '';
  /** Client lines before this offset were sent while an AUTH step awaited its reply: credential lines. */
  private credentialUntil = -1;

  /** Made at the first DATA body: most connections without one never pay for it. */
  private dotDecoder: DotDecoder | null = null;
  private readonly splitters: { c2s: LineSplitter; s2c: LineSplitter };
  private readonly assembler: ReplyAssembler;

  constructor(
    readonly flow: FlowKey,
    private readonly emit: (event: SmtpEvent) => void,
    options?: Partial<SmtpDecoderOptions>,
  ) {
    const opts = resolveSmtpDecoderOptions(options);
    this.opts = opts;
    this.handshakeSeen = flow.basis === 'syn';
    this.lmtp = opts.lmtp;
    this.queue = new PendingQueue(opts.maxPendingCommands);
    this.held = new HeldBytes(opts.maxHeldBytes);
    this.tx = new TransactionTracker(!this.handshakeSeen);
    this.splitters = { c2s: this.makeSplitter('c2s'), s2c: this.makeSplitter('s2c') };
    this.assembler = createReplyAssembler({
      maxReplyLines: opts.maxReplyLines,
      onReply: (reply) => this.onReply(reply),
      onCodeMismatch: (expected, got, offset, ts) =>
        this.anomaly(
          'reply-code-mismatch',
          this.replyDir,
          `continuation line has code ${got}, reply began with ${expected}`,
          offset,
          ts,
        ),
    });
  }

  private get dot(): DotDecoder {
    if (this.dotDecoder === null)
      this.dotDecoder = createDotDecoder({
        onBytes: (bytes) => this.emit({ type: 'message-bytes', bytes }),
        onBareLf: (offset) =>
          this.anomaly(
            'bare-lf',
            this.cmdDir,
            'body line ended by a bare LF (accepted as a line end, as Postfix does)',
            offset,
            this.tsNow[this.cmdDir],
          ),
      });
    return this.dotDecoder;
  }

  get replyDir(): Direction {
    return other(this.cmdDir);
  }

  // ---------------------------------------------------------------- emit helpers
  setState(to: SmtpState, tsMicros: number): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.emit({ type: 'state', from, to, tsMicros });
  }

  anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    ts: number,
    skipped: SkippedReply | null = null,
  ): void {
    this.emit({ type: 'anomaly', code, direction, detail, offset, tsMicros: ts, skipped });
  }

  private anomalyOnce(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    ts: number,
  ): void {
    const bit = ONCE_BITS[code] ?? 0;
    if ((this.onceBits & bit) !== 0) return;
    this.onceBits |= bit;
    if (code === 'midstream') this.midstream = true;
    this.anomaly(code, direction, detail, offset, ts);
  }

  private makeSplitter(direction: Direction): LineSplitter {
    return createLineSplitter({
      maxLineLength: this.opts.maxLineLength,
      onLine: (line, ending, offset) => {
        // Checked per line, not per chunk, so that bytes after the 221 are found whatever the chunking.
        if (this.quitAnswered)
          this.anomalyOnce(
            'data-after-close',
            direction,
            'bytes after the 221 reply to QUIT',
            offset,
            this.tsNow[direction],
          );
        if (direction === this.cmdDir) this.onCommandLine(line, ending, offset);
        else this.onReplyLine(line, ending, offset);
      },
      onPlain: (bytes) => this.onBdatOctets(bytes),
    });
  }

  /** Line-level anomalies shared by both sides; returns the line text without a stray trailing CR. */
  private lineText(line: Uint8Array, ending: LineEnding, offset: number, direction: Direction): string {
    const ts = this.tsNow[direction];
    let text = latin1(line);
    if (ending === 'lf') this.anomaly('bare-lf', direction, 'line ended by a bare LF', offset, ts);
    else if (ending === 'overflow')
      this.anomaly(
        'line-too-long',
        direction,
        `line longer than ${this.opts.maxLineLength} bytes, cut`,
        offset,
        ts,
      );
    else if (ending === 'eof' && text !== '' && text !== '\r')
      this.anomaly(
        'unterminated-line',
        direction,
        'last line ended by the end of the connection, no CRLF',
        offset,
        ts,
      );
    if (ending === 'crlf' && text.charCodeAt(text.length - 1) === 13) {
      this.anomaly('extra-cr', direction, 'more than one CR before LF', offset, ts);
      while (text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    }
    if (ending === 'eof' && text.charCodeAt(text.length - 1) === 13) text = text.slice(0, -1);
    if (text.indexOf('\0') >= 0) this.anomaly('nul-in-line', direction, 'NUL byte in line', offset, ts);
    if (text.indexOf('\r') >= 0) this.anomaly('bare-cr', direction, 'bare CR inside line', offset, ts);
    return text;
  }

  // ---------------------------------------------------------------- queue
  /** Queues a command for its reply; a barrier holds the client bytes after it until the reply. */
  queueCommand(
    command: SmtpCommand,
    barrier: boolean,
    ts: number,
    generation = this.tx.generation,
  ): PendingEntry {
    const entry = new PendingEntry({ kind: 'command', command }, command, barrier, generation);
    this.push(entry, ts);
    if (barrier) {
      this.held.barrier = entry;
      this.splitters[this.cmdDir].pause();
    }
    return entry;
  }

  private queueEndOfData(mode: 'DATA' | 'BDAT', transaction: number | null, ts: number): void {
    const target: ReplyTarget = { kind: 'end-of-data', mode, lmtpRecipient: null, transaction };
    this.push(new PendingEntry(target, null, false, this.tx.generation), ts);
  }

  private push(entry: PendingEntry, ts: number): void {
    if (!this.queue.push(entry)) {
      this.held.barrier = null;
      this.anomaly(
        'excessive-pending-commands',
        this.cmdDir,
        `more than ${this.opts.maxPendingCommands} commands await replies; queue cleared`,
        null,
        ts,
      );
    }
  }

  private clearPending(): void {
    this.queue.clear();
    this.held.barrier = null;
  }

  pauseReplies(): void {
    this.splitters[this.replyDir].pause();
  }

  // ---------------------------------------------------------------- messages
  private startMessage(mode: 'DATA' | 'BDAT', transaction: number | null, ts: number): void {
    this.tx.message = new MessageInFlight(mode, transaction);
    this.emit({ type: 'message-start', mode, tsMicros: ts });
  }

  /** `atEnd`: the end-of-data mark was reached (final dot, BDAT LAST octets), so a final reply is due. */
  private endMessage(complete: boolean, ts: number, atEnd = false): void {
    const message = this.tx.message;
    if (message === null) return;
    const sizeBytes = message.mode === 'DATA' ? this.dot.sizeBytes : message.bdatSize;
    this.emit({
      type: 'message-end',
      sizeBytes,
      complete: complete && !message.damaged,
      awaitsReply: atEnd,
      tsMicros: ts,
    });
    this.tx.message = null;
    this.tx.bdatOpen = false;
    this.tx.chunk = null;
    if (this.mode === 'data' || this.mode === 'bdat') this.mode = 'lines';
  }

  private startData(ts: number): void {
    this.dot.reset();
    this.mode = 'data';
    this.startMessage('DATA', this.tx.current, ts);
    this.setState('data', ts);
  }

  private endOfData(ts: number): void {
    const transaction = this.tx.message?.transaction ?? this.tx.current;
    this.endMessage(true, ts, true);
    this.mode = 'lines';
    this.tx.close();
    this.queueEndOfData('DATA', transaction, ts);
    this.setState('ready', ts);
  }

  startBdatChunk(command: SmtpCommand, size: number, last: boolean, ts: number): void {
    const tx = this.tx;
    if (size > this.opts.maxBdatChunkBytes)
      this.anomaly(
        'bdat-chunk-too-large',
        this.cmdDir,
        `BDAT chunk of ${size} bytes (limit ${this.opts.maxBdatChunkBytes})`,
        command.offset,
        ts,
      );
    if (!tx.bdatOpen) {
      tx.bdatOpen = true;
      this.startMessage('BDAT', command.transaction, ts);
    }
    this.setState('bdat', ts);
    if (last) this.queueEndOfData('BDAT', command.transaction, ts);
    else this.queueCommand(command, false, ts);
    tx.chunk = new BdatChunk(size, last);
    if (last) tx.close();
    if (size === 0) this.bdatChunkDone(ts);
    else {
      this.mode = 'bdat';
      this.splitters[this.cmdDir].setPlainDelivery(size);
    }
  }

  private onBdatOctets(bytes: Uint8Array): void {
    const chunk = this.tx.chunk;
    const message = this.tx.message;
    if (chunk === null) return;
    this.emit({ type: 'message-bytes', bytes });
    chunk.remaining -= bytes.length;
    if (message !== null) message.bdatSize += bytes.length;
    if (chunk.remaining <= 0) this.bdatChunkDone(this.tsNow[this.cmdDir]);
  }

  private bdatChunkDone(ts: number): void {
    const done = this.tx.chunk as BdatChunk;
    this.tx.chunk = null;
    if (this.mode === 'bdat') this.mode = 'lines';
    this.emit({ type: 'bdat-chunk', sizeBytes: done.size, last: done.last, tsMicros: ts });
    if (done.refused) this.endMessage(false, ts);
    else if (done.last) {
      this.endMessage(true, ts, true);
      this.tx.close();
      this.setState('ready', ts);
    }
  }

  /** A non-2xx reply to a BDAT chunk (RFC 3030 3): the message fails, at once or when the octets end. */
  bdatRefused(_entry: PendingEntry, ts: number): void {
    const message = this.tx.message;
    if (message === null || message.mode !== 'BDAT') return;
    if (this.tx.chunk === null) this.endMessage(false, ts);
    else this.tx.chunk.refused = true;
  }

  // ---------------------------------------------------------------- TLS
  private startTls(how: 'starttls' | 'implicit', ts: number): void {
    if (this.tls !== null) return;
    this.endMessage(false, ts);
    this.finishAuth('unknown', ts);
    this.clearPending();
    this.tls = new TlsLayer(this, this.emit, this.opts, this.cmdDir);
    this.mode = 'tls';
    this.emit({ type: 'tls-start', mode: how, tsMicros: ts });
    this.setState('tls', ts);
    this.tls.start(this.flow, ts);
  }

  /**
   * Decrypted bytes follow (the TLS layer has a decryptor): the SMTP state restarts (RFC 3207 4.2: the client
   * sends EHLO again; the greeting is not repeated) and the plaintext is read in line mode like clear text.
   */
  restartInsideTls(ts: number): void {
    this.encrypted = true;
    this.assembler.encrypted = true;
    this.mode = 'lines';
    this.splitters.c2s.reset();
    this.splitters.s2c.reset();
    this.assembler.reset();
    this.heloAccepted = false;
    this.pipelining = null;
    this.tx.reset();
    this.setState('ready', ts);
  }

  /** Plaintext from the decryptor, in stream order per direction. */
  feedPlaintext(direction: Direction, bytes: Uint8Array, offset: number, ts: number): void {
    if (this.closed) return;
    this.readingPlaintext = true;
    try {
      this.feed(direction, bytes, offset, ts);
    } finally {
      this.readingPlaintext = false;
    }
  }

  /** The decrypted stream of a direction lost bytes: read it like a capture gap. */
  plaintextGap(direction: Direction, ts: number): void {
    if (this.closed) return;
    this.emit({ type: 'gap', direction, length: 0, tsMicros: ts });
    this.readingPlaintext = true;
    try {
      this.lineGap(direction, 0, 0, ts);
    } finally {
      this.readingPlaintext = false;
    }
  }

  /** The first byte after a 220 to STARTTLS: TLS starts, or both directions stay clear text. */
  private decideTls(direction: Direction, firstByte: number, offset: number, ts: number): void {
    const since = this.tlsPendingSince;
    this.mode = 'lines';
    // Client: a handshake record (0x16); server: any TLS record type (0x14-0x17), e.g. an alert.
    const client = direction === this.cmdDir;
    const isTls = client ? firstByte === TLS_HANDSHAKE : firstByte >= 0x14 && firstByte <= 0x17;
    if (isTls) {
      this.startTls('starttls', since);
      return;
    }
    this.anomaly(
      'tls-not-tls',
      direction,
      `${client ? 'client' : 'server'} sent clear text after the 220 to STARTTLS, no TLS record; read as clear text`,
      offset,
      ts,
    );
  }

  // ---------------------------------------------------------------- AUTH
  startAuth(command: SmtpCommand, ts: number): void {
    const args = words(command.argument);
    const mechanism = (args[0] ?? '').toUpperCase();
    const initial = this.authInitial;
    this.queueCommand(command, true, ts);
    this.finishAuth('unknown', ts);
    const exchange = new AuthExchange(mechanism, expectedAuthResponses(mechanism, initial !== null), command);
    if (initial !== null && initial !== '=') exchange.items.push({ data: initial, prompt: null });
    this.auth = exchange;
    this.lastAuthMechanism = mechanism;
    if (exposesSecret(mechanism) && !this.encrypted)
      this.anomaly(
        'auth-cleartext',
        this.cmdDir,
        `AUTH ${mechanism} without TLS exposes the secret`,
        command.offset,
        ts,
      );
    this.setState('auth', ts);
  }

  /** The initial response of the AUTH command being parsed (kept out of the event unless asked). */
  private authInitial: string | null = null;

  finishAuth(outcome: AuthOutcome, ts: number): void {
    const exchange = this.auth;
    if (exchange === null) return;
    this.auth = null;
    if (this.mode === 'auth') this.mode = 'lines';
    const credentials = extractAuthCredentials(exchange.mechanism, exchange.items);
    this.emit({
      type: 'auth',
      mechanism: exchange.mechanism,
      username: credentials.username,
      secret: this.opts.revealSecrets ? credentials.secret : null,
      outcome: exchange.aborted && outcome !== 'success' ? 'aborted' : outcome,
      tsMicros: ts,
    });
    if (this.state === 'auth') this.setState('ready', ts);
  }

  private expectAuthResponse(on: boolean): void {
    if (on) this.mode = 'auth';
    else if (this.mode === 'auth') this.mode = 'lines';
  }

  // ---------------------------------------------------------------- barriers and held bytes
  /** Decides how the client bytes after a barrier command are read, and replays what was held. */
  resolveBarrier(target: PendingEntry, reply: SmtpReply | null, ts: number): void {
    if (target.resolved) return;
    target.resolved = true;
    if (this.held.barrier === target) this.held.barrier = null;
    const chunks = this.held.take();
    const command = target.command;
    const last = chunks[chunks.length - 1];
    if (command !== null && command.verb === 'AUTH' && last !== undefined)
      this.credentialUntil = Math.max(this.credentialUntil, last.offset + last.bytes.length);
    const verb = command !== null && command.kind === 'command' ? command.verb : undefined;
    const auth = this.auth;
    if (verb === 'DATA') {
      if (reply === null || reply.code === 354) this.startData(ts);
    } else if (verb === 'STARTTLS') {
      const first = chunks[0]?.bytes[0];
      const positive = reply === null ? first === TLS_HANDSHAKE : reply.code === 220;
      if (positive) {
        if (first !== undefined && first !== TLS_HANDSHAKE)
          this.anomaly(
            'invalid-pipelined-sequence',
            this.cmdDir,
            'clear text sent after STARTTLS before its 220 reply',
            chunks[0]?.offset ?? null,
            ts,
          );
        // Nothing held: TLS starts only if the next bytes are TLS (a client may go on in clear text instead).
        if (first === undefined && reply !== null) {
          this.mode = 'tls-pending';
          this.tlsPendingSince = ts;
        } else this.startTls('starttls', ts);
      }
    } else if (auth !== null) {
      if (reply === null) {
        this.expectAuthResponse(auth.expectedRemaining > 0);
        if (auth.expectedRemaining <= 0) this.finishAuth('unknown', ts);
      } else if (reply.code === 334) {
        this.expectAuthResponse(true);
        auth.prompt = decodeBase64Text(reply.lines[0] ?? '');
      }
    }
    if (
      chunks.length > 0 &&
      reply !== null &&
      (this.mode === 'lines' || this.mode === 'bdat' || this.mode === 'gap-recovery')
    ) {
      this.anomaly(
        'invalid-pipelined-sequence',
        this.cmdDir,
        `client sent data after ${target.describe()} before its reply`,
        chunks[0]?.offset ?? null,
        ts,
      );
    }
    for (const chunk of chunks) {
      this.tsNow[this.cmdDir] = chunk.tsMicros;
      this.feed(this.cmdDir, chunk.bytes, chunk.offset, chunk.tsMicros);
    }
  }

  private resolveHeldOptimistically(ts: number): void {
    const barrier = this.held.barrier;
    if (barrier !== null) this.resolveBarrier(barrier, null, ts);
  }

  // ---------------------------------------------------------------- feeding
  private feed(direction: Direction, bytes: Uint8Array, offset: number, ts: number): void {
    let pos = 0;
    let stalls = 0;
    while (pos < bytes.length) {
      this.tsNow[direction] = ts;
      const rest = pos === 0 ? bytes : bytes.subarray(pos);
      const n =
        direction === this.cmdDir
          ? this.stepCommand(rest, offset + pos, ts)
          : this.stepReply(rest, offset + pos);
      pos += n;
      if (n > 0) stalls = 0;
      else if (++stalls > 4) break; // mode changes that consume nothing; never loop forever
    }
  }

  private stepReply(bytes: Uint8Array, offset: number): number {
    const direction = this.replyDir;
    const splitter = this.splitters[direction];
    const skipped = splitter.skipDiscarded(bytes);
    if (skipped > 0) return skipped;
    if (this.mode === 'tls-pending') {
      this.decideTls(direction, bytes[0] as number, offset, this.tsNow[direction]);
      return 0;
    }
    const proxy = this.proxy;
    if (proxy !== null && !proxy.serverDone)
      return this.proxyServer(proxy, bytes, offset, this.tsNow[direction]);
    if (this.tls !== null && !this.readingPlaintext) {
      this.tls.wire(direction, bytes, this.tsNow[direction]);
      return bytes.length;
    }
    return splitter.push(bytes, offset);
  }

  private stepCommand(bytes: Uint8Array, offset: number, ts: number): number {
    // The rest of a line cut at the length limit is discarded up to its LF before anything else reads these
    // bytes (a TLS decision, held bytes, a DATA body), as it is when the whole line comes in one chunk.
    const splitter = this.splitters[this.cmdDir];
    const skipped = splitter.skipDiscarded(bytes);
    if (skipped > 0) return skipped;
    const mode = this.mode;
    if (mode === 'proxy-preamble') return this.proxyClient(bytes, ts);
    if (mode === 'tls-pending') {
      this.decideTls(this.cmdDir, bytes[0] as number, offset, ts);
      return 0;
    }
    if (this.tls !== null && !this.readingPlaintext) {
      this.tls.wire(this.cmdDir, bytes, ts);
      return bytes.length;
    }
    const barrier = this.held.barrier;
    if (barrier !== null) {
      if (!this.seen[this.replyDir]) {
        // No server bytes in this capture: assume success, sniffing TLS from the next byte.
        this.resolveBarrierSniff(barrier, bytes[0], ts);
        return 0;
      }
      const kept = this.held.hold(bytes, offset, ts);
      if (barrier.command?.verb === 'AUTH' && this.heldCommandAfterAuth()) {
        // A line that cannot be base64 was sent after an AUTH step: its reply came before and is missing.
        this.authReplyMissing(barrier, ts);
        return kept;
      }
      if (kept === bytes.length) return kept;
      this.resolveHeldOptimistically(ts);
      return kept;
    }
    if (mode === 'data') {
      const n = this.dot.push(bytes, offset);
      if (this.dot.ended) this.endOfData(ts);
      return n;
    }
    return splitter.push(bytes, offset);
  }

  /** A complete line held behind an AUTH step is a command that cannot be an AUTH response (not base64). */
  private heldCommandAfterAuth(): boolean {
    return this.held.someLine((line) => {
      const text = latin1(line).trim();
      return !couldBeAuthResponse(text) && toSmtpVerb(firstWord(text)) !== null;
    });
  }

  /**
   * An AUTH step whose reply the capture lacks (RFC 4954: the client waits for it before sending anything else,
   * so a command after it proves the reply was sent): the step is left without a reply and the held bytes are
   * read as if it had been accepted (more AUTH responses while they look like base64, then commands).
   */
  private authReplyMissing(entry: PendingEntry, ts: number): void {
    const command = entry.command as SmtpCommand;
    if (this.queue.remove(entry)) {
      this.queue.replyMissing();
      this.anomaly(
        'missing-reply',
        this.cmdDir,
        `no reply to ${entry.describe()} in the capture: the client sent a command after it`,
        command.kind === 'command' ? command.offset : null,
        ts,
        { kind: command.kind, seq: command.seq },
      );
    }
    this.resolveBarrier(entry, null, ts);
  }

  // ---------------------------------------------------------------- proxy preamble
  /** The client's part of a proxy exchange (or the first bytes that may start one). */
  private proxyClient(bytes: Uint8Array, ts: number): number {
    let proxy = this.proxy;
    if (proxy === null) {
      const before = this.proxySniff ?? new Uint8Array(0);
      const joined = new Uint8Array(before.length + bytes.length);
      joined.set(before);
      joined.set(bytes, before.length);
      const protocol = sniffProxy(joined);
      if (protocol === 'more') {
        this.proxySniff = joined;
        return bytes.length;
      }
      this.proxySniff = null;
      if (protocol === 'no') {
        // Not a proxy after all: the bytes held to tell are read as the dialogue's first bytes.
        this.mode = 'lines';
        if (before.length > 0) this.feed(this.cmdDir, before, 0, ts);
        return 0;
      }
      proxy = new ProxyPreamble(protocol);
      this.proxy = proxy;
      if (before.length > 0) proxy.client(before);
    }
    const n = proxy.client(bytes);
    if (n < 0) {
      // The bytes do not follow the protocol: not a proxy. Everything taken so far is read as SMTP, from the
      // start, whichever chunks it came in.
      this.proxy = null;
      this.mode = 'lines';
      const held = proxy.held('client');
      if (held.length > 0) this.feed(this.cmdDir, held, 0, ts);
      return 0;
    }
    if (proxy.clientDone) {
      // The SMTP dialogue follows the request.
      this.mode = 'lines';
      this.reportProxy(ts);
    }
    return n;
  }

  private proxyServer(proxy: ProxyPreamble, bytes: Uint8Array, offset: number, ts: number): number {
    if (this.proxyServerOffset < 0) this.proxyServerOffset = offset;
    const n = proxy.server(bytes);
    if (n < 0) {
      // Not the proxy's answer: what was taken of it is read as SMTP replies.
      proxy.serverDone = true;
      const held = proxy.held('server');
      if (held.length > 0) this.feed(this.replyDir, held, this.proxyServerOffset, ts);
    }
    if (proxy.serverDone) this.reportProxy(ts);
    return Math.max(0, n);
  }

  private reportProxy(ts: number): void {
    const proxy = this.proxy;
    if (proxy === null || this.proxyReported || !proxy.clientDone || !proxy.serverDone) return;
    this.proxyReported = true;
    this.emit({
      type: 'proxy',
      protocol: proxy.protocol,
      target: proxy.target,
      accepted: proxy.accepted,
      tsMicros: ts,
    });
  }

  /** Client-only capture: resolve a barrier at once; STARTTLS is taken as accepted when TLS bytes follow. */
  private resolveBarrierSniff(target: PendingEntry, firstByte: number | undefined, ts: number): void {
    const verb = target.command?.kind === 'command' ? target.command.verb : undefined;
    if (verb === 'STARTTLS') {
      target.resolved = true;
      this.held.barrier = null;
      if (firstByte === TLS_HANDSHAKE) this.startTls('starttls', ts);
      return;
    }
    this.resolveBarrier(target, null, ts);
  }

  // ---------------------------------------------------------------- commands
  private onCommandLine(line: Uint8Array, ending: LineEnding, offset: number): void {
    const cmdDir = this.cmdDir;
    const ts = this.tsNow[cmdDir];
    const text = this.lineText(line, ending, offset, cmdDir);

    if (this.mode === 'gap-recovery') {
      if (text === '.') {
        // The end of a body whose start was lost: its reply follows. The message-end (without a message-start)
        // tells the model that a message ended here, of unknown size.
        this.mode = 'lines';
        this.emit({ type: 'message-end', sizeBytes: 0, complete: false, awaitsReply: true, tsMicros: ts });
        const transaction = this.tx.current;
        this.tx.close();
        this.queueEndOfData('DATA', transaction, ts);
        this.setState('ready', ts);
        return;
      }
      if (ending !== 'crlf' || !looksLikeCommand(text)) return; // still lost: body or half a line
      this.mode = 'lines';
    } else if (!this.greetingSeen && offset === 0 && this.commandSeq === 0 && this.auth === null) {
      const verb = toSmtpVerb(firstWord(text));
      if (verb !== null && !this.handshakeSeen && !OPENING_VERBS.has(verb)) {
        this.anomalyOnce(
          'midstream',
          cmdDir,
          `no handshake seen and the first client line is ${verb}; the capture starts mid-session`,
          offset,
          ts,
        );
      } else if (verb === null && this.handshakeSeen && !this.replySeen) {
        // The handshake was seen and the server has not spoken: bytes sent before the greeting (an HTTP request,
        // an impatient client), not a capture started mid-session. Read as an unknown command, which the server
        // may answer after its greeting.
        this.anomalyOnce(
          'junk-before-greeting',
          cmdDir,
          `client sent ${clip(JSON.stringify(text), 41)} before the server greeting, not a command`,
          offset,
          ts,
        );
      } else if (verb === null) {
        this.anomalyOnce(
          'midstream',
          cmdDir,
          'first client line is not a command; the capture starts mid-session',
          offset,
          ts,
        );
        this.mode = 'gap-recovery';
        this.setState('gap-recovery', ts);
        return;
      }
    }

    if (offset < this.credentialUntil && this.mode !== 'auth' && couldBeAuthResponse(text.trim())) {
      // Sent before the AUTH step's reply arrived: a credential line even though the exchange is over.
      this.credentialCommand(text, offset, ts);
      return;
    }

    const auth = this.auth;
    if (this.mode === 'auth' && auth !== null) {
      // Base64 evidence: a line that cannot be base64 is a command, whatever the (missing) replies said.
      const looksLikeCommandLine = toSmtpVerb(firstWord(text)) !== null && text.indexOf(' ') >= 0;
      const countingOnly = !this.seen[this.replyDir] && auth.expectedRemaining === Number.POSITIVE_INFINITY;
      if (!(looksLikeCommandLine && (countingOnly || !couldBeAuthResponse(text.trim())))) {
        this.authResponse(auth, text, offset, ts);
        return;
      }
      this.finishAuth('unknown', ts);
    } else if (auth !== null && this.held.barrier === null) {
      // AUTH exchange over without a final reply (client-only capture, or replies missing).
      this.finishAuth('unknown', ts);
    }

    const parsed = parseCommandLine(text);
    let argument = parsed.argument;
    this.authInitial = null;
    if (parsed.verb === 'AUTH') {
      const args = words(parsed.argument);
      const initial = args[1] ?? null;
      this.authInitial = initial;
      if (initial !== null && !this.opts.revealSecrets && initial !== '=')
        argument = `${args[0] ?? ''} ${REDACTED}`;
    }
    const verb = parsed.verb;
    this.beforeCommand(verb, parsed.verbText, offset, ts);
    const transaction = this.tx.place(verb, verb !== 'BDAT' || parseBdatArgument(parsed.argument).ok);
    const command: SmtpCommand = {
      seq: this.commandSeq++,
      verb,
      verbText: parsed.verbText,
      argument,
      path: parsed.path,
      params: parsed.params,
      kind: 'command',
      offset,
      tsMicros: ts,
      transaction,
      recipient: this.tx.recipient,
      encrypted: this.encrypted,
    };
    this.emit({ type: 'command', command });
    TRANSITIONS[verb].onCommand(this, command, ts);
  }

  private authResponse(exchange: AuthExchange, text: string, offset: number, ts: number): void {
    exchange.addResponse(text.trim());
    this.expectAuthResponse(false);
    const command = this.credentialCommand(text, offset, ts);
    exchange.lastStep = command;
    this.queueCommand(command, true, ts);
  }

  /** Emits a client line of an AUTH exchange, redacted (kept as sent only when empty, `=` or `*`). */
  private credentialCommand(text: string, offset: number, ts: number): SmtpCommand {
    const trimmed = text.trim();
    const argument =
      this.opts.revealSecrets || trimmed === '*' || trimmed === '' || trimmed === '=' ? trimmed : REDACTED;
    const command: SmtpCommand = {
      seq: this.commandSeq++,
      verb: 'AUTH',
      verbText: '',
      argument,
      path: null,
      params: EMPTY_PARAMS,
      kind: 'auth-response',
      offset,
      tsMicros: ts,
      transaction: null,
      recipient: null,
      encrypted: this.encrypted,
    };
    this.emit({ type: 'command', command });
    return command;
  }

  /** Anomalies that look at the command against the session so far. */
  private beforeCommand(verb: SmtpCommand['verb'], verbText: string, offset: number, ts: number): void {
    const dir = this.cmdDir;
    const tx = this.tx;
    if (verb === 'UNKNOWN')
      this.anomaly('unknown-command', dir, `unknown command ${clip(verbText, 31)}`, offset, ts);
    if (this.quitSent) this.anomalyOnce('command-after-quit', dir, `${verbText} after QUIT`, offset, ts);
    if (
      this.pipelining === false &&
      this.queue.size > 0 &&
      verb !== 'UNKNOWN' &&
      this.greetingSeen &&
      this.seen[other(dir)]
    )
      this.anomalyOnce(
        'unadvertised-pipelining',
        dir,
        `${verb} sent before earlier replies; server did not offer PIPELINING`,
        offset,
        ts,
      );
    if (tx.bdatOpen && verb !== 'BDAT') {
      if (verb !== 'RSET' && verb !== 'QUIT' && verb !== 'NOOP')
        this.anomaly(
          'bdat-missing-last',
          dir,
          `${verb} while a BDAT message awaits its LAST chunk`,
          offset,
          ts,
        );
      if (verb !== 'NOOP') {
        this.endMessage(false, ts);
        if (this.state === 'bdat') this.setState(tx.open ? 'rcpt' : 'ready', ts);
      }
    }
    switch (verb) {
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        if (tx.open) this.anomaly('nested-mail', dir, `${verb} inside an open transaction`, offset, ts);
        break;
      case 'RCPT':
        if (!tx.open && !tx.unknown) this.anomaly('rcpt-without-mail', dir, 'RCPT without MAIL', offset, ts);
        if (tx.rcpts + 1 > this.opts.maxRecipients && !tx.tooMany) {
          tx.tooMany = true;
          this.anomaly(
            'too-many-recipients',
            dir,
            `more than ${this.opts.maxRecipients} RCPT commands in one transaction`,
            offset,
            ts,
          );
        }
        break;
      case 'DATA':
        if (tx.rcpts === 0 && !tx.unknown)
          this.anomaly('data-without-recipients', dir, 'DATA without any RCPT', offset, ts);
        break;
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        if (this.heloAccepted)
          this.anomaly('duplicate-helo', dir, `${verb} after an accepted greeting command`, offset, ts);
        break;
      default:
        break;
    }
  }

  // ---------------------------------------------------------------- replies
  private onReplyLine(line: Uint8Array, ending: LineEnding, offset: number): void {
    const direction = this.replyDir;
    const ts = this.tsNow[direction];
    const text = this.lineText(line, ending, offset, direction);
    const assembler = this.assembler;
    if (this.replyRecovering && !assembler.open) {
      if (!startsLikeReply(text)) return;
      this.replyRecovering = false;
    }
    if (!this.replySeen && !assembler.open && offset === 0 && !startsLikeReply(text)) {
      this.anomalyOnce(
        'midstream',
        direction,
        'first server line is not a reply; the capture starts mid-session',
        offset,
        ts,
      );
      this.replyRecovering = true;
      return;
    }
    if (assembler.pushLine(text, offset, ts) === 'invalid')
      this.anomaly('invalid-reply', direction, `not a reply line: ${clip(text, 61)}`, offset, ts);
  }

  private afterGapAnywhere(): boolean {
    return (
      this.midstream || this.state === 'gap-recovery' || this.mode === 'gap-recovery' || this.replyRecovering
    );
  }

  private onReply(reply: SmtpReply): void {
    this.queue.replyRead();
    const direction = this.replyDir;
    const ts = reply.endTsMicros;
    const cmdDir = this.cmdDir;
    if (!isValidReplyCode(reply.code))
      this.anomaly(
        'invalid-reply',
        direction,
        `reply code ${String(reply.code).padStart(3, '0')} out of range`,
        reply.offset,
        ts,
      );
    const message = this.tx.message;
    if (this.mode === 'data' && message !== null && message.afterGap && this.held.barrier === null) {
      // A reply while a body cut by a gap is still open: its final dot was in the gap. The reply answers the end
      // of data; what the client sends next may be body or commands, so the command side resynchronises.
      const transaction = message.transaction;
      this.endMessage(false, ts, true);
      this.queueEndOfData('DATA', transaction, ts);
      this.mode = 'gap-recovery';
      this.tx.close();
      this.setState('gap-recovery', ts);
    }
    const first = !this.replySeen;
    this.replySeen = true;
    const code = reply.code;
    const greetingCode = code === 220 || code === 421 || code === 554;
    if (first && !this.greetingSeen && !this.midstream && !this.handshakeSeen && !greetingCode) {
      // No handshake and the first reply is no greeting: it answers a command, maybe one sent before the capture.
      this.anomalyOnce(
        'midstream',
        direction,
        `no handshake seen and the first reply ${code} is not a greeting; the capture starts mid-session`,
        reply.offset,
        ts,
      );
    }
    if (first && !this.greetingSeen && !this.midstream) {
      const waiting = this.queue.size;
      if (waiting === 0 || greetingCode) {
        if (waiting > 0)
          this.anomaly(
            'command-before-greeting',
            cmdDir,
            `${waiting} command(s) sent before the server greeting`,
            null,
            ts,
          );
        this.greetingSeen = true;
        this.emit({ type: 'reply', reply, to: { kind: 'greeting' } });
        if (this.state === 'connected') this.setState('ready', ts);
        return;
      }
      this.anomaly(
        'no-greeting',
        direction,
        `first reply ${code} answers a command; no greeting`,
        reply.offset,
        ts,
      );
    }
    let matched = this.queue.peek();
    if (matched !== null && !canAnswer(code, matched)) {
      // With nothing later that can take it, a reply pairs in order; but a 334 never answers anything but AUTH.
      matched = this.skipToAnswerable(reply, ts) ?? (code === 334 ? null : matched);
    }
    if (matched === null && code === 334 && this.seen[cmdDir] && this.mode !== 'tls') {
      this.onLoneChallenge(reply, ts);
      return;
    }
    if (matched === null) {
      if (!this.seen[cmdDir]) {
        // Server-only capture: nothing could be paired; `one-sided` says so once at the end.
      } else if (this.afterGapAnywhere())
        this.anomaly(
          'reply-without-command',
          direction,
          `reply ${code} after a gap; the command it answers is unknown`,
          reply.offset,
          ts,
        );
      else
        this.anomaly(
          'unmatched-reply',
          direction,
          `reply ${code} with no command awaiting it`,
          reply.offset,
          ts,
        );
      this.emit({ type: 'reply', reply, to: { kind: 'unmatched' } });
      if (code === 354 && this.mode !== 'data' && this.mode !== 'tls') this.startData(ts);
      return;
    }
    let target: ReplyTarget;
    if (matched.target.kind === 'end-of-data' && this.lmtp) {
      if (matched.lmtpRemaining < 0) {
        matched.lmtpRecipients = this.tx.accepted;
        matched.lmtpRemaining = Math.max(1, this.tx.accepted.length);
      }
      const index = matched.lmtpRecipients[matched.lmtpNext] ?? null;
      matched.lmtpNext++;
      matched.lmtpRemaining--;
      if (matched.lmtpRemaining <= 0) this.queue.shift();
      target = { ...matched.target, lmtpRecipient: index };
    } else {
      this.queue.shift();
      target = matched.target;
    }
    this.emit({ type: 'reply', reply, to: target });
    const command = matched.command;
    if (command === null) return; // end of data: nothing changes beyond what the command side did
    if (command.kind === 'auth-response') TRANSITIONS.AUTH.onReply(this, matched, reply, ts);
    else TRANSITIONS[command.verb].onReply(this, matched, reply, ts);
  }

  /**
   * A 334 with no AUTH step waiting. With an exchange open (a gap cleared the queue), it answers the exchange's
   * latest step. With none, an earlier reply was paired with AUTH that was not its answer: the server still waits
   * for an AUTH response, so the exchange resumes and the next client line is read (and redacted) as one.
   */
  private onLoneChallenge(reply: SmtpReply, ts: number): void {
    const prompt = decodeBase64Text(reply.lines[0] ?? '');
    const auth = this.auth;
    if (auth !== null && auth.lastStep !== null) {
      this.emit({ type: 'reply', reply, to: { kind: 'command', command: auth.lastStep } });
      this.expectAuthResponse(true);
      auth.prompt = prompt;
      return;
    }
    this.anomaly(
      this.midstream || this.state === 'gap-recovery' || this.mode === 'gap-recovery'
        ? 'reply-without-command'
        : 'unmatched-reply',
      this.replyDir,
      'reply 334 answers no waiting AUTH step; the next client line is read as an AUTH response',
      reply.offset,
      ts,
    );
    this.emit({ type: 'reply', reply, to: { kind: 'unmatched' } });
    this.finishAuth('unknown', ts);
    const exchange = new AuthExchange(
      this.lastAuthMechanism === '' ? 'UNKNOWN' : this.lastAuthMechanism,
      Number.POSITIVE_INFINITY,
      null,
    );
    exchange.prompt = prompt;
    this.auth = exchange;
    this.expectAuthResponse(true);
    this.setState('auth', ts);
  }

  /**
   * Pairing by code: when the oldest waiting command cannot take this reply but a later one can, the commands
   * before it got no reply in the capture: each is flagged `missing-reply` and left without one. Returns the new
   * head, or null when nothing later fits.
   */
  private skipToAnswerable(reply: SmtpReply, ts: number): PendingEntry | null {
    const queue = this.queue;
    const answered = queue.laterAnswering(reply.code);
    if (answered === null) return null;
    const answeredName = answered.describe();
    // Skip up to the answered entry by identity: resolving a barrier below replays held client bytes, which
    // may queue, compact or clear the pending list, so positions do not stay valid.
    for (let skipped = queue.peek(); skipped !== null && skipped !== answered; skipped = queue.peek()) {
      queue.shift();
      const command = skipped.command;
      const target = skipped.target;
      this.anomaly(
        'missing-reply',
        this.cmdDir,
        `no reply to ${skipped.describe()} in the capture: ${reply.code} answers ${answeredName}`,
        command?.kind === 'command' ? command.offset : null,
        ts,
        command === null
          ? { kind: 'end-of-data', transaction: target.kind === 'end-of-data' ? target.transaction : null }
          : { kind: command.kind, seq: command.seq },
      );
      if (this.held.barrier === skipped) {
        this.resolveBarrier(skipped, null, ts);
        // The replay dropped the answered entry (the queue was cleared): what it queued since is not skipped.
        if (!queue.has(answered)) break;
      }
    }
    return queue.peek();
  }

  swapRoles(ts: number): void {
    const oldServer = this.replyDir;
    this.splitters[oldServer].pause();
    this.cmdDir = oldServer;
    this.clearPending();
    this.assembler.reset();
    this.greetingSeen = false;
    this.replySeen = false;
    this.pipelining = null;
    this.heloAccepted = false;
    this.tx.swap();
    this.emit({ type: 'roles-swapped', tsMicros: ts });
    this.setState('connected', ts);
  }

  // ---------------------------------------------------------------- StreamHandler
  private start(ts: number): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.implicitTls) this.startTls('implicit', ts);
  }

  onData(chunk: StreamChunk): void {
    if (this.closed || chunk.bytes.length === 0) return;
    this.start(chunk.tsMicros);
    const direction = chunk.direction;
    if (
      chunk.offset === 0 &&
      direction === this.cmdDir &&
      this.tls === null &&
      !this.replySeen &&
      this.commandSeq === 0 &&
      isClientHelloStart(chunk.bytes)
    ) {
      // The connection's first client bytes are a TLS handshake record: implicit TLS on any port.
      this.startTls('implicit', chunk.tsMicros);
    } else if (
      chunk.offset === 0 &&
      direction === this.cmdDir &&
      this.mode === 'lines' &&
      this.proxy === null &&
      !this.replySeen &&
      this.commandSeq === 0 &&
      sniffProxy(chunk.bytes) !== 'no'
    ) {
      // SOCKS4/5 or HTTP CONNECT before the greeting: the proxy exchange is read first.
      this.mode = 'proxy-preamble';
    }
    this.seen[direction] = true;
    this.bytesSeen[direction] += chunk.bytes.length;
    this.feed(direction, chunk.bytes, chunk.offset, chunk.tsMicros);
  }

  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
    if (this.closed) return;
    this.start(tsMicros);
    this.tsNow[direction] = tsMicros;
    // Bytes after a 220 to STARTTLS lost: assume TLS started, as the reply said.
    if (this.mode === 'tls-pending') {
      this.mode = 'lines';
      this.startTls('starttls', this.tlsPendingSince);
    }
    this.emit({ type: 'gap', direction, length, tsMicros });
    if (cause === 'midstream')
      this.anomalyOnce(
        'midstream',
        direction,
        `capture starts ${length} bytes into the stream`,
        offset,
        tsMicros,
      );
    if (this.tls !== null) {
      this.tls.wireGap(direction, length, tsMicros);
      return;
    }
    this.seen[direction] = true;
    this.lineGap(direction, offset, length, tsMicros);
  }

  /** A gap in the bytes the dialogue reads (the wire in clear text, or the plaintext of a decrypted TLS). */
  private lineGap(direction: Direction, offset: number, length: number, tsMicros: number): void {
    if (direction === this.replyDir && this.queue.gapHoldsMissingReplies(length)) {
      // The hole holds the AUTH replies the client proved were sent: the commands after them still await their
      // own replies, so the queue and the transaction stay; the reply side resumes at the next reply line.
      this.splitters[direction].reset();
      this.assembler.reset();
      this.replyRecovering = true;
      return;
    }
    this.resolveHeldOptimistically(tsMicros);
    const tx = this.tx;
    const message = tx.message;
    if (direction === this.cmdDir) {
      const splitter = this.splitters[direction];
      if (
        message !== null &&
        message.mode === 'BDAT' &&
        tx.chunk !== null &&
        length > 0 &&
        splitter.plainRemaining >= length
      ) {
        // The gap lies inside a BDAT chunk: its octets are lost, the framing is not.
        message.damaged = true;
        this.anomaly('content-gap', direction, `${length} bytes of a BDAT chunk lost`, offset, tsMicros);
        const remaining = splitter.plainRemaining;
        splitter.reset();
        splitter.setPlainDelivery(remaining - length);
        tx.chunk.remaining -= length;
        if (tx.chunk.remaining <= 0) this.bdatChunkDone(tsMicros);
        return;
      }
      if (message !== null && message.mode === 'DATA' && this.mode === 'data') {
        // The body goes on: whatever follows up to the final dot is still message text, even a line that looks
        // like a command. The message is marked damaged; a server reply before the dot means the dot was lost.
        message.damaged = true;
        message.afterGap = true;
        this.anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
        this.dot.resumeAfterGap();
        this.clearPending();
        return;
      }
      if (message !== null) {
        this.anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
        this.endMessage(false, tsMicros);
      }
      this.finishAuth('unknown', tsMicros);
      splitter.reset();
      this.mode = 'gap-recovery';
    } else {
      this.splitters[direction].reset();
      this.assembler.reset();
      this.replyRecovering = true;
    }
    this.clearPending();
    tx.unknown = true;
    tx.forget();
    this.setState('gap-recovery', tsMicros);
  }

  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    if (this.closed) return;
    this.start(tsMicros);
    this.tsNow.c2s = tsMicros;
    this.tsNow.s2c = tsMicros;
    if (this.tls !== null) this.tls.close(tsMicros);
    if (this.mode === 'proxy-preamble') {
      const sniffed = this.proxySniff;
      this.mode = 'lines';
      this.proxySniff = null;
      if (sniffed !== null) this.feed(this.cmdDir, sniffed, 0, tsMicros);
    }
    const proxy = this.proxy;
    if (proxy !== null && !this.proxyReported) {
      proxy.clientDone = true;
      proxy.serverDone = true;
      this.reportProxy(tsMicros);
    }
    this.flushLines(tsMicros);
    const message = this.tx.message;
    if (message !== null) {
      if (message.mode === 'BDAT' && this.tx.chunk === null)
        this.anomaly(
          'bdat-missing-last',
          this.cmdDir,
          'connection ended before the LAST BDAT chunk',
          null,
          tsMicros,
        );
      this.endMessage(false, tsMicros);
    }
    this.finishAuth('unknown', tsMicros);
    if (this.bytesSeen.c2s > 0 && !this.seen.s2c)
      this.anomaly('one-sided', null, 'only client-to-server bytes were captured', null, tsMicros);
    else if (this.bytesSeen.s2c > 0 && !this.seen.c2s)
      this.anomaly('one-sided', null, 'only server-to-client bytes were captured', null, tsMicros);
    this.closed = true;
    this.emit({ type: 'closed', reason, tsMicros, stats });
  }

  /** The end of the streams the dialogue reads: held bytes decided, partial lines and replies delivered. */
  private flushLines(tsMicros: number): void {
    this.resolveHeldOptimistically(tsMicros);
    const readsLines = this.mode !== 'tls';
    if (readsLines) this.splitters[this.cmdDir].flush();
    const replyDir = this.replyDir;
    if (readsLines) {
      this.splitters[replyDir].flush();
      if (this.assembler.open) {
        this.anomaly(
          'invalid-reply',
          replyDir,
          'multi-line reply cut by the end of the connection',
          null,
          tsMicros,
        );
        this.assembler.flush(tsMicros);
      }
    }
  }
}

/** A TLS handshake record header: type 22, version 3.x. */
function isClientHelloStart(bytes: Uint8Array): boolean {
  return bytes[0] === TLS_HANDSHAKE && (bytes.length < 2 || bytes[1] === 3);
}
