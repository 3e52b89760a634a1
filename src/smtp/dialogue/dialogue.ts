/**
 * The SMTP dialogue of one TCP connection: the driver that routes each direction's bytes by the dialogue's mode
 * (./modes.ts) and hands commands and replies to the transitions table (./transitions.ts). It owns the state the
 * parts share: the pending-command queue (./pending-queue.ts), the held client bytes (./held-bytes.ts), the one
 * transaction tracker (./transaction.ts), the AUTH exchange and the TLS layer. The parts, one concern each:
 * ./messages.ts (DATA body and BDAT chunks), ./barriers.ts (bytes held behind DATA, STARTTLS and AUTH),
 * ./auth-steps.ts, ./tls-start.ts, ./proxy-stage.ts, ./gap-recovery.ts, ./reply-pairing.ts (which command a
 * reply answers), ./command-checks.ts and ./line-text.ts (anomalies). docs/SMTP.md has the modes, the
 * transitions and the anomaly catalogue.
 *
 * Both directions arrive interleaved in capture order. Each direction has a line splitter; the command side
 * (client, or the old server after ATRN/TURN) feeds the command parser, the DATA dot decoder and BDAT plain
 * delivery; the reply side feeds the reply assembler. Every command that expects a reply goes into the queue;
 * each complete reply answers the oldest one that its code can answer.
 *
 * Fields are read and set by the parts (functions taking the dialogue), not by other modules.
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
import { CommandLine, parseBdatArgument, readCommandLine } from '../command-parser.js';
import { DotDecoder, type DotDecoderCallbacks } from '../dot-decoder.js';
import { type LineEnding, type LineSink, LineSplitter } from '../line-splitter.js';
import { resolveSmtpDecoderOptions } from '../options.js';
import { ReplyAssembler, type ReplyAssemblerCallbacks } from '../reply-parser.js';
import type {
  AnomalyCode,
  SkippedReply,
  SmtpCommand,
  SmtpDecoderOptions,
  SmtpHandler,
  SmtpReply,
  SmtpState,
} from '../types.js';
import type { AuthExchange } from './auth-exchange.js';
import { authLine, authReplyMissing, finishAuth, heldCommandAfterAuth, REDACTED } from './auth-steps.js';
import { resolveBarrierSniff, resolveHeldOptimistically } from './barriers.js';
import { beforeCommand, firstClientLine } from './command-checks.js';
import { lineGap, recoveringLine } from './gap-recovery.js';
import { HeldBytes } from './held-bytes.js';
import { lineEnd, lineText } from './line-text.js';
import { latin1Range, other, replyCodeAt, words } from './lines.js';
import { endMessage, endOfData, onBdatOctets } from './messages.js';
import type { DialogueMode } from './modes.js';
import { PendingEntry, PendingQueue } from './pending-queue.js';
import { type ProxyPreamble, sniffProxy } from './proxy-preamble.js';
import { closeProxy, proxyClient, proxyServer } from './proxy-stage.js';
import { onReply as pairReply } from './reply-pairing.js';
import type { TlsLayer } from './tls-layer.js';
import { decideTls, isClientHelloStart, startTls, TLS_HANDSHAKE } from './tls-start.js';
import { TransactionTracker } from './transaction.js';
import { TRANSITIONS } from './transitions.js';

/** Anomalies reported once per session, as bits. */
const ONCE_BITS: Partial<Record<AnomalyCode, number>> = {
  midstream: 1,
  'data-after-close': 2,
  'command-after-quit': 4,
  'unadvertised-pipelining': 8,
  'junk-before-greeting': 16,
};

/** `bytes` from `start` on, as a view only when it does not start at 0. */
function rest(bytes: Uint8Array, start: number): Uint8Array {
  return start === 0 ? bytes : bytes.subarray(start);
}

/**
 * One connection's dialogue: every piece of its state is a field of this one object (the parts with a concern of
 * their own, the queue, held bytes, transaction tracker, line splitters and reply assembler, are objects it
 * makes once); it is also the sink of both line splitters, of the reply assembler and of the DATA dot decoder.
 */
export class SmtpDialogue implements ReplyAssemblerCallbacks, LineSink, DotDecoderCallbacks {
  readonly opts: SmtpDecoderOptions;
  /** The handshake was seen (orientation from the SYN): a capture without it may start mid-session. */
  readonly handshakeSeen: boolean;
  lmtp: boolean;
  state: SmtpState = 'connected';
  /** Routes the command side's next bytes (./modes.ts). */
  mode: DialogueMode = 'lines';
  started = false;
  closed = false;
  /** Direction that carries commands: c2s until ATRN/TURN swaps the roles. */
  cmdDir: Direction = 'c2s';
  /** Each direction carried a byte or a gap (`seen`). */
  seenC2s = false;
  seenS2c = false;
  /** Bytes each direction carried. */
  bytesC2s = 0;
  bytesS2c = 0;
  /** Capture time of the bytes each direction is reading (`tsOf`). */
  tsC2s = 0;
  tsS2c = 0;
  /** The reply side lost its framing (a gap): lines are skipped until one starts like a reply. */
  replyRecovering = false;
  /** `tls-pending`: time of the 220 to STARTTLS. */
  tlsPendingSince = 0;
  /** The TLS layer once TLS started (hello parsers, byte counts, the decryptor when keys are given). */
  tls: TlsLayer | null = null;
  /** Commands and replies now come from decrypted TLS bytes. */
  encrypted = false;
  /** `proxy-preamble` before the protocol is known: the first client bytes so far. */
  proxySniff: Uint8Array | null = null;
  /**
   * A connection's first client chunk when it is the single byte 0x16: held until the next byte tells a TLS
   * record (0x16 0x03) from anything else, so that the decision does not depend on where chunks were cut.
   */
  private firstByte: StreamChunk | null = null;
  /** The proxy exchange before the SMTP dialogue, once its protocol is known. */
  proxy: ProxyPreamble | null = null;
  proxyReported = false;
  /** Stream offset of the proxy's first answer byte (-1 until it answers). */
  proxyServerOffset = -1;
  /** The bytes being fed are plaintext from the decryptor (not wire bytes for the TLS layer). */
  readingPlaintext = false;

  readonly queue: PendingQueue;
  readonly held: HeldBytes;
  readonly tx: TransactionTracker;
  greetingSeen = false;
  replySeen = false;
  commandSeq = 0;
  /** The server offered PIPELINING; null: no EHLO reply seen. */
  pipelining: boolean | null = null;
  heloAccepted = false;
  quitSent = false;
  quitAnswered = false;
  midstream = false;
  onceBits = 0;
  auth: AuthExchange | null = null;
  /** Mechanism of the latest AUTH command, for an exchange resumed by a 334 that answers no AUTH step. */
  lastAuthMechanism = '';
  /** Client lines before this offset were sent while an AUTH step awaited its reply: credential lines. */
  credentialUntil = -1;

  /** The command line being read (one object per connection, filled again for each line). */
  private readonly commandLine = new CommandLine();
  /** Made at the first DATA body: most connections without one never pay for it. */
  dotDecoder: DotDecoder | null = null;
  readonly c2sLines: LineSplitter;
  readonly s2cLines: LineSplitter;
  readonly assembler: ReplyAssembler;

  constructor(
    readonly flow: FlowKey,
    readonly out: SmtpHandler,
    options?: Partial<SmtpDecoderOptions>,
  ) {
    const opts = resolveSmtpDecoderOptions(options);
    this.opts = opts;
    this.handshakeSeen = flow.basis === 'syn';
    this.lmtp = opts.lmtp;
    this.queue = new PendingQueue(opts.maxPendingCommands);
    this.held = new HeldBytes(opts.maxHeldBytes);
    this.tx = new TransactionTracker(!this.handshakeSeen);
    this.c2sLines = new LineSplitter(opts.maxLineLength, this, 'c2s');
    this.s2cLines = new LineSplitter(opts.maxLineLength, this, 's2c');
    // The replies it hands out are one reused object (valid during the handler's call, as SmtpHandler says).
    this.assembler = new ReplyAssembler(this, true);
  }

  // ---------------------------------------------------------------- the reply assembler's callbacks
  get maxReplyLines(): number {
    return this.opts.maxReplyLines;
  }

  onReply(reply: SmtpReply): void {
    pairReply(this, reply);
  }

  onCodeMismatch(expected: number, got: number, offset: number, ts: number): void {
    this.anomaly(
      'reply-code-mismatch',
      this.replyDir,
      `continuation line has code ${got}, reply began with ${expected}`,
      offset,
      ts,
    );
  }

  get dot(): DotDecoder {
    if (this.dotDecoder === null) this.dotDecoder = new DotDecoder(this);
    return this.dotDecoder;
  }

  // ---------------------------------------------------------------- per direction
  /** The direction carried a byte or a gap. */
  seen(direction: Direction): boolean {
    return direction === 'c2s' ? this.seenC2s : this.seenS2c;
  }

  /** Capture time of the bytes the direction is reading. */
  tsOf(direction: Direction): number {
    return direction === 'c2s' ? this.tsC2s : this.tsS2c;
  }

  setTs(direction: Direction, ts: number): void {
    if (direction === 'c2s') this.tsC2s = ts;
    else this.tsS2c = ts;
  }

  splitter(direction: Direction): LineSplitter {
    return direction === 'c2s' ? this.c2sLines : this.s2cLines;
  }

  // ---------------------------------------------------------------- the line splitters' sink
  onLine(
    bytes: Uint8Array,
    start: number,
    end: number,
    ending: LineEnding,
    offset: number,
    direction: Direction,
  ): void {
    // Checked per line, not per chunk, so that bytes after the 221 are found whatever the chunking.
    if (this.quitAnswered)
      this.anomalyOnce(
        'data-after-close',
        direction,
        'bytes after the 221 reply to QUIT',
        offset,
        this.tsOf(direction),
      );
    if (direction === this.cmdDir) this.onCommandLine(bytes, start, end, ending, offset);
    else this.onReplyLine(bytes, start, end, ending, offset);
  }

  onPlain(bytes: Uint8Array): void {
    onBdatOctets(this, bytes);
  }

  // ---------------------------------------------------------------- the DATA dot decoder's sink
  onBytes(bytes: Uint8Array): void {
    this.out.messageBytes(bytes);
  }

  onBareLf(offset: number): void {
    const cmdDir = this.cmdDir;
    this.anomaly(
      'bare-lf',
      cmdDir,
      'body line ended by a bare LF (accepted as a line end, as Postfix does)',
      offset,
      this.tsOf(cmdDir),
    );
  }

  get replyDir(): Direction {
    return other(this.cmdDir);
  }

  // ---------------------------------------------------------------- event helpers
  setState(to: SmtpState, tsMicros: number): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.out.state(from, to, tsMicros);
  }

  anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    ts: number,
    skipped: SkippedReply | null = null,
  ): void {
    this.out.anomaly(code, direction, detail, offset, ts, skipped);
  }

  anomalyOnce(
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

  // ---------------------------------------------------------------- queue
  /** Queues a command for its reply; a barrier holds the client bytes after it until the reply. */
  queueCommand(
    command: SmtpCommand,
    barrier: boolean,
    ts: number,
    generation = this.tx.generation,
  ): PendingEntry {
    const entry = new PendingEntry(command, barrier, generation, 'DATA', null);
    this.push(entry, ts);
    if (barrier) {
      this.held.barrier = entry;
      this.splitter(this.cmdDir).pause();
    }
    return entry;
  }

  queueEndOfData(mode: 'DATA' | 'BDAT', transaction: number | null, ts: number): void {
    this.push(new PendingEntry(null, false, this.tx.generation, mode, transaction), ts);
  }

  push(entry: PendingEntry, ts: number): void {
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

  clearPending(): void {
    this.queue.clear();
    this.held.barrier = null;
  }

  pauseReplies(): void {
    this.splitter(this.replyDir).pause();
  }

  // ---------------------------------------------------------------- messages

  // ---------------------------------------------------------------- TLS

  // ---------------------------------------------------------------- AUTH

  /** The initial response of the AUTH command being parsed (kept out of the event unless asked). */
  authInitial: string | null = null;

  // ---------------------------------------------------------------- barriers and held bytes

  // ---------------------------------------------------------------- feeding
  feed(direction: Direction, bytes: Uint8Array, offset: number, ts: number): void {
    let pos = 0;
    let stalls = 0;
    while (pos < bytes.length) {
      this.setTs(direction, ts);
      const n =
        direction === this.cmdDir
          ? this.stepCommand(bytes, pos, offset + pos, ts)
          : this.stepReply(bytes, pos, offset + pos);
      pos += n;
      if (n > 0) stalls = 0;
      else if (++stalls > 4) break; // mode changes that consume nothing; never loop forever
    }
  }

  /**
   * Reads the reply side's bytes from `bytes[start]` (stream offset `offset`) as far as the mode lets it; returns
   * how many it consumed. The steps take a start rather than a view: most chunks are read in one step, and a view
   * costs an object.
   */
  stepReply(bytes: Uint8Array, start: number, offset: number): number {
    const direction = this.replyDir;
    const splitter = this.splitter(direction);
    const skipped = splitter.skipDiscarded(bytes, start);
    if (skipped > 0) return skipped;
    if (this.mode === 'tls-pending') {
      decideTls(this, direction, bytes[start] as number, offset, this.tsOf(direction));
      return 0;
    }
    const proxy = this.proxy;
    if (proxy !== null && !proxy.serverDone)
      return proxyServer(this, proxy, rest(bytes, start), offset, this.tsOf(direction));
    if (this.tls !== null && !this.readingPlaintext) {
      this.tls.wire(direction, rest(bytes, start), this.tsOf(direction));
      return bytes.length - start;
    }
    return splitter.push(bytes, offset, start);
  }

  /** As `stepReply`, for the command side. */
  stepCommand(bytes: Uint8Array, start: number, offset: number, ts: number): number {
    // The rest of a line cut at the length limit is discarded up to its LF before anything else reads these
    // bytes (a TLS decision, held bytes, a DATA body), as it is when the whole line comes in one chunk.
    const splitter = this.splitter(this.cmdDir);
    const skipped = splitter.skipDiscarded(bytes, start);
    if (skipped > 0) return skipped;
    const mode = this.mode;
    if (mode === 'proxy-preamble') return proxyClient(this, rest(bytes, start), ts);
    if (mode === 'tls-pending') {
      decideTls(this, this.cmdDir, bytes[start] as number, offset, ts);
      return 0;
    }
    if (this.tls !== null && !this.readingPlaintext) {
      this.tls.wire(this.cmdDir, rest(bytes, start), ts);
      return bytes.length - start;
    }
    const barrier = this.held.barrier;
    if (barrier !== null) {
      if (!this.seen(this.replyDir)) {
        // No server bytes in this capture: assume success, sniffing TLS from the next byte.
        resolveBarrierSniff(this, barrier, bytes[start], ts);
        return 0;
      }
      const kept = this.held.hold(rest(bytes, start), offset, ts);
      if (barrier.command?.verb === 'AUTH' && heldCommandAfterAuth(this)) {
        // A line that cannot be base64 was sent after an AUTH step: its reply came before and is missing.
        authReplyMissing(this, barrier, ts);
        return kept;
      }
      if (kept === bytes.length - start) return kept;
      resolveHeldOptimistically(this, ts);
      return kept;
    }
    if (mode === 'data') {
      const dot = this.dot;
      const n = dot.push(bytes, offset, start);
      if (dot.ended) endOfData(this, ts);
      return n;
    }
    return splitter.push(bytes, offset, start);
  }

  // ---------------------------------------------------------------- proxy preamble

  // ---------------------------------------------------------------- commands
  onCommandLine(bytes: Uint8Array, start: number, end: number, ending: LineEnding, offset: number): void {
    const cmdDir = this.cmdDir;
    const ts = this.tsOf(cmdDir);
    const text = lineText(this, bytes, start, end, ending, offset, cmdDir);

    if (this.mode === 'gap-recovery') {
      if (recoveringLine(this, text, ending, ts)) return;
    } else if (!this.greetingSeen && offset === 0 && this.commandSeq === 0 && this.auth === null) {
      if (firstClientLine(this, text, offset, ts)) return;
    }
    if (authLine(this, text, offset, ts)) return;

    // The fields are read out at once: the one CommandLine is filled again by a line read further down.
    const parsed = readCommandLine(text, this.commandLine);
    const verb = parsed.verb;
    const verbText = parsed.verbText;
    const sent = parsed.argument;
    const path = parsed.path;
    const params = parsed.params;
    let argument = sent;
    this.authInitial = null;
    if (verb === 'AUTH') {
      const args = words(sent);
      const initial = args[1] ?? null;
      this.authInitial = initial;
      if (initial !== null && !this.opts.revealSecrets && initial !== '=')
        argument = `${args[0] ?? ''} ${REDACTED}`;
    }
    beforeCommand(this, verb, verbText, offset, ts);
    const transaction = this.tx.place(verb, verb !== 'BDAT' || parseBdatArgument(sent).ok);
    const command: SmtpCommand = {
      seq: this.commandSeq++,
      verb,
      verbText,
      argument,
      path,
      params,
      kind: 'command',
      offset,
      tsMicros: ts,
      transaction,
      recipient: this.tx.recipient,
      opens: this.tx.opened,
      encrypted: this.encrypted,
    };
    this.out.command(command);
    TRANSITIONS[verb].onCommand(this, command, ts);
  }

  // ---------------------------------------------------------------- replies
  onReplyLine(bytes: Uint8Array, start: number, end: number, ending: LineEnding, offset: number): void {
    const direction = this.replyDir;
    const ts = this.tsOf(direction);
    // Checked on the bytes: the assembler makes only the text it keeps, no string of the whole line.
    const stop = lineEnd(this, bytes, start, end, ending, offset, direction);
    const assembler = this.assembler;
    if (this.replyRecovering && !assembler.open) {
      if (replyCodeAt(bytes, start, stop) < 0) return;
      this.replyRecovering = false;
    }
    if (!this.replySeen && !assembler.open && offset === 0 && replyCodeAt(bytes, start, stop) < 0) {
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
    if (assembler.pushRange(bytes, start, stop, offset, ts) === 'invalid')
      this.anomaly(
        'invalid-reply',
        direction,
        `not a reply line: ${clip(latin1Range(bytes, start, stop), 61)}`,
        offset,
        ts,
      );
  }

  swapRoles(ts: number): void {
    const oldServer = this.replyDir;
    this.splitter(oldServer).pause();
    this.cmdDir = oldServer;
    this.clearPending();
    this.assembler.reset();
    this.greetingSeen = false;
    this.replySeen = false;
    this.pipelining = null;
    this.heloAccepted = false;
    this.tx.swap();
    this.out.rolesSwapped(ts);
    this.setState('connected', ts);
  }

  // ---------------------------------------------------------------- StreamHandler
  start(ts: number): void {
    if (this.started) return;
    this.started = true;
    if (this.opts.implicitTls) startTls(this, 'implicit', ts);
  }

  onData(chunk: StreamChunk): void {
    if (this.closed || chunk.bytes.length === 0) return;
    // The time is read only when needed: each read of the chunk's time as an argument boxes a new number.
    if (!this.started) this.start(chunk.tsMicros);
    const direction = chunk.direction;
    const held = this.firstByte;
    if (held !== null) {
      // The byte held to tell a ClientHello from a line: judged with the next client bytes, as if they had come
      // in one chunk; anything else first lets it be judged alone.
      this.firstByte = null;
      if (direction === this.cmdDir && chunk.offset === 1) {
        const joined = new Uint8Array(1 + chunk.bytes.length);
        joined[0] = held.bytes[0] as number;
        joined.set(chunk.bytes, 1);
        this.onData({ ...held, bytes: joined });
        return;
      }
      this.judgeFirst(held);
    } else if (
      chunk.offset === 0 &&
      chunk.bytes.length === 1 &&
      chunk.bytes[0] === TLS_HANDSHAKE &&
      direction === this.cmdDir &&
      this.tls === null &&
      !this.replySeen &&
      this.commandSeq === 0
    ) {
      // A copy: the assembler refills the chunk object for its next delivery (StreamChunk).
      this.firstByte = {
        direction,
        offset: 0,
        tsMicros: chunk.tsMicros,
        bytes: Uint8Array.of(TLS_HANDSHAKE),
      };
      return;
    }
    this.judgeFirst(chunk);
  }

  /** Flushes a held first client byte (see onData) before a gap, the close or other bytes. */
  private releaseFirstByte(): void {
    const held = this.firstByte;
    if (held === null) return;
    this.firstByte = null;
    this.judgeFirst(held);
  }

  private judgeFirst(chunk: StreamChunk): void {
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
      startTls(this, 'implicit', chunk.tsMicros);
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
    if (direction === 'c2s') {
      this.seenC2s = true;
      this.bytesC2s += chunk.bytes.length;
    } else {
      this.seenS2c = true;
      this.bytesS2c += chunk.bytes.length;
    }
    this.feed(direction, chunk.bytes, chunk.offset, chunk.tsMicros);
  }

  onGap(direction: Direction, offset: number, length: number, cause: GapCause, tsMicros: number): void {
    if (this.closed) return;
    this.releaseFirstByte();
    this.start(tsMicros);
    this.setTs(direction, tsMicros);
    // Bytes after a 220 to STARTTLS lost: assume TLS started, as the reply said.
    if (this.mode === 'tls-pending') {
      this.mode = 'lines';
      startTls(this, 'starttls', this.tlsPendingSince);
    }
    this.out.gap(direction, length, tsMicros);
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
    if (direction === 'c2s') this.seenC2s = true;
    else this.seenS2c = true;
    lineGap(this, direction, offset, length, tsMicros);
  }

  onClose(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    if (this.closed) return;
    this.releaseFirstByte();
    this.start(tsMicros);
    this.tsC2s = tsMicros;
    this.tsS2c = tsMicros;
    if (this.tls !== null) this.tls.close(tsMicros);
    closeProxy(this, tsMicros);
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
      endMessage(this, false, tsMicros);
    }
    finishAuth(this, 'unknown', tsMicros);
    if (this.bytesC2s > 0 && !this.seenS2c)
      this.anomaly('one-sided', null, 'only client-to-server bytes were captured', null, tsMicros);
    else if (this.bytesS2c > 0 && !this.seenC2s)
      this.anomaly('one-sided', null, 'only server-to-client bytes were captured', null, tsMicros);
    this.closed = true;
    this.out.closed(reason, tsMicros, stats);
  }

  /** The end of the streams the dialogue reads: held bytes decided, partial lines and replies delivered. */
  flushLines(tsMicros: number): void {
    resolveHeldOptimistically(this, tsMicros);
    const readsLines = this.mode !== 'tls';
    if (readsLines) this.splitter(this.cmdDir).flush();
    const replyDir = this.replyDir;
    if (readsLines) {
      this.splitter(replyDir).flush();
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
