/**
 * Builds the {@link SmtpSession} model of one connection from its decoder's calls (it is the decoder's
 * {@link SmtpHandler}: one method per kind of event).
 *
 * The builder is mutable inside and hands out immutable snapshots: `peek()` for the dashboard while the
 * connection is open, `finish()` or `finishNow()` once it has closed. Each message's summary is parsed when
 * the message ends, from its kept prefix. Every list it keeps is bounded (see {@link SessionLimits}).
 */

import type { CloseReason, Direction, FlowKey, FlowStats } from '../reassembly/types.js';
import { emptyDirectionStats } from '../reassembly/types.js';
import { parseEhloCapabilities } from '../smtp/extensions.js';
import type {
  AnomalyCode,
  AuthOutcome,
  SkippedReply,
  SmtpCommand,
  SmtpHandler,
  SmtpReply,
  SmtpState,
  TlsHello,
} from '../smtp/types.js';
import type { TlsDecryptionStatus } from '../tls/types.js';
import { KeptBody } from './kept-body.js';
import { summarizeMessageSync } from './message-summary.js';
import { guessMtaSoftware, serverNameFromGreeting } from './mta-software.js';
import { parseQueueId } from './queue-id.js';
import { classifyFailure } from './reason-class.js';
import { replyMeaning } from './reply-meaning.js';
import type {
  AnomalyRecord,
  AuthInfo,
  Capabilities,
  CommandRecord,
  FailureStage,
  MessageSummary,
  ProxyInfo,
  RecipientDisposition,
  RecipientRecord,
  ReplyRecord,
  SessionEnd,
  SmtpSession,
  SwappedSide,
  TlsInfo,
  TransactionOutcome,
  TransactionRecord,
} from './types.js';

/** Per-session bounds. Defaults in {@link DEFAULT_SESSION_LIMITS}; docs/LIMITS.md lists them. */
export interface SessionLimits {
  /** Command/reply pairs kept per session; later ones are counted in `commandsDropped`. */
  readonly maxCommands: number;
  /** Anomalies kept per session; later ones are counted in `anomaliesDropped`. */
  readonly maxAnomalies: number;
  /** Transactions kept per session; later MAILs are still counted as commands. */
  readonly maxTransactions: number;
  /** Recipients kept per transaction (a `too-many-recipients` anomaly marks the cut). */
  readonly maxRecipients: number;
  /** Bytes of each message kept for the header and MIME summary. */
  readonly messageKeepBytes: number;
  /** Bytes of a message's header parsed; a longer header is cut there and the summary marked truncated. */
  readonly maxHeaderBytes: number;
  /** Characters of one reply's text kept. */
  readonly maxReplyTextChars: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxCommands: 10_000,
  maxAnomalies: 1_000,
  maxTransactions: 1_000,
  maxRecipients: 10_000,
  messageKeepBytes: 256 * 1024,
  maxHeaderBytes: 256 * 1024,
  maxReplyTextChars: 4_096,
};

/** The session model of one connection: the decoder's handler, and the model it builds from the calls. */
export interface SessionBuilder extends SmtpHandler {
  /** The model as it stands (open sessions on the dashboard); the summary of a message not yet ended is null. */
  peek(): SmtpSession;
  /** The final model; call after `closed`. */
  finish(): Promise<SmtpSession>;
  /**
   * The final model at once (message summaries are parsed when each message ends, so nothing is pending):
   * lets the analyzer hand a session to the sinks as it closes instead of after the current read.
   */
  finishNow(): SmtpSession;
  /** `closed` was called. */
  readonly isClosed: boolean;
}

/**
 * A command row, in the shape (and key order) of the {@link CommandRecord} it becomes: a closed session hands its
 * rows out as they are, with `seq` and `latencyMicros` filled in. `encrypted` is added (true) only for rows read
 * inside TLS.
 */
interface MutableCommand {
  /**
   * Until the session is closed, the key a reply finds its command's row by (binary search: the keys never go
   * down): twice the decoder's seq of its command, or for an END-OF-DATA row (no command) the previous row's key
   * made odd. Once closed, the row's 0-based position in the session's command list (unique; CSV and ClickHouse key
   * on it).
   */
  seq: number;
  verb: CommandRecord['verb'];
  verbText: string;
  argument: string;
  tsMicros: number;
  reply: ReplyRecord | null;
  transaction: number | null;
  pipelined: boolean;
  latencyMicros: number | null;
  encrypted?: boolean;
}

interface MutableRecipient {
  /** The RCPT command's seq (decoder numbering). */
  readonly seq: number;
  index: number;
  address: string;
  params: SmtpCommand['params'];
  rcptTsMicros: number;
  rcptReply: ReplyRecord | null;
  lmtpReply: ReplyRecord | null;
}

interface MutableTransaction {
  /** The decoder's transaction id it was started for (a nested MAIL's transaction takes over its id). */
  readonly id: number;
  depth: number;
  mailFrom: string | null;
  mailParams: SmtpCommand['params'];
  mailReply: ReplyRecord | null;
  recipients: MutableRecipient[];
  recipientsDropped: number;
  mode: 'DATA' | 'BDAT' | null;
  dataReply: ReplyRecord | null;
  /** A message body was started (354 seen, or BDAT octets sent). */
  messageStarted: boolean;
  messageComplete: boolean;
  sizeBytes: number | null;
  bdatChunks: number;
  finalReply: ReplyRecord | null;
  lmtpReplies: number;
  /** RSET, QUIT, a greeting command or another transaction came after it (the decoder closed it). */
  left: boolean;
  /** It was left before a message was sent. */
  abandoned: boolean;
  /** A capture gap came while the transaction was open or awaited its final reply. */
  gapped: boolean;
  /** Its start (MAIL) was not captured: picked up midstream or after a gap. */
  midstream: boolean;
  /** A message-start was seen (so the size at message-end counts the whole body). */
  bodySeen: boolean;
  /** The kept prefix of the message (copied; its length is `bodyKept`); null once summarised. */
  body: KeptBody | null;
  bodyKept: number;
  bodyTruncated: boolean;
  summary: MessageSummary | null;
  /** The kept prefix was summarised (at the message's end). */
  summarised: boolean;
  startedAt: number;
  endedAt: number | null;
}

/** A message whose final reply is due: its transaction and the command row that shows the end of data. */
interface AwaitingFinal {
  /** The decoder's transaction id whose message ended (the reply's target names it). */
  readonly id: number;
  readonly transaction: MutableTransaction;
  /** The END-OF-DATA row (DATA) or the BDAT LAST row; null when the command list was full. */
  readonly record: MutableCommand | null;
  /** The latest row of this message's replies (LMTP adds one END-OF-DATA row per further reply after it). */
  last: MutableCommand | null;
  /** Replies still due; null until the first arrives (LMTP: one per recipient accepted at RCPT). */
  remaining: number | null;
  readonly endTsMicros: number;
}

const EMPTY_PARAMS: SmtpCommand['params'] = Object.freeze({});
/** A transaction's recipients before the first (shared, never pushed to: the first RCPT makes the list). */
/** A session's transactions before the first (shared, never pushed to). */
const NO_TRANSACTIONS: MutableTransaction[] = Object.freeze([]) as unknown as MutableTransaction[];
const NO_RECIPIENTS: MutableRecipient[] = Object.freeze([]) as unknown as MutableRecipient[];
/** The empty list a closed session hands out for a list it never filled (shared: the records are read-only). */
const NONE: readonly never[] = Object.freeze([]);
/** Past this many transactions, the decoder's ids are looked up in a map instead of by a walk from the latest. */
const ID_WALK_MAX = 16;

/** The limits of the latest options object, merged once: the analyzer passes the same object for every session. */
let lastOptions: Partial<SessionLimits> | null = null;
let lastLimits: SessionLimits = DEFAULT_SESSION_LIMITS;

function limitsOf(options: Partial<SessionLimits>): SessionLimits {
  if (options !== lastOptions) {
    lastLimits = { ...DEFAULT_SESSION_LIMITS, ...options };
    lastOptions = options;
  }
  return lastLimits;
}

/**
 * `options` may be shared by every session (its limits are merged once per object); `lmtp` (or `options.lmtp`) says
 * the server port is an LMTP one.
 */
export function createSessionBuilder(
  flow: FlowKey,
  options: Partial<SessionLimits> & { lmtp?: boolean } = {},
  lmtp: boolean = options.lmtp === true,
): SessionBuilder {
  return new Builder(flow, limitsOf(options), lmtp);
}

const SPACE = /\s/;

/** The first word of a HELO/EHLO/LHLO argument (what `trim().split(/\s+/)[0]` gives, without the array). */
function firstWord(argument: string): string {
  const trimmed = argument.trim();
  const space = trimmed.search(SPACE);
  return space < 0 ? trimmed : trimmed.slice(0, space);
}

/** The entry with `seq` in a list ordered by seq (binary search), or undefined. */
function withSeq<T extends { readonly seq: number }>(list: readonly T[], seq: number): T | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const entry = list[mid] as T;
    if (entry.seq === seq) return entry;
    if (entry.seq < seq) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** What the other side said after an ATRN/TURN swap (the builder makes it at the swap). */
class SwappedState {
  greeting: ReplyRecord | null = null;
  helo: string | null = null;
  heloVerb: SmtpSession['heloVerb'] = null;
  ehloLines: readonly string[] = NONE;
  capabilities: Capabilities | null = null;
}

/** A connection's TLS as the events tell it (the builder makes it at the first TLS event). */
class TlsState {
  mode: TlsInfo['mode'] = 'none';
  refused = false;
  clientHello: TlsInfo['clientHello'] = null;
  serverHello: TlsInfo['serverHello'] = null;
  c2s = 0;
  s2c = 0;
  /** TLS started (tls-start): an EHLO answered from now on is the TLS one. */
  started = false;
  /** A 220 answered STARTTLS. */
  accepted = false;
  capabilities: Capabilities | null = null;
  decryptionStatus: TlsDecryptionStatus | null = null;
}

/** The record of a connection without TLS events (shared by every such session: records are read-only). */
function noTlsRecord(offered: boolean): TlsInfo {
  return Object.freeze({
    mode: 'none',
    offered,
    refused: false,
    clientHello: null,
    serverHello: null,
    bytes: Object.freeze({ c2s: 0, s2c: 0 }),
    capabilities: null,
    clearTextAfterStarttls: false,
    decryption: null,
  });
}
const NO_TLS_OFFERED = noTlsRecord(true);
const NO_TLS_NOT_OFFERED = noTlsRecord(false);

/** The session's `tls` record: the shared one when no TLS event came. */
function tlsInfo(tls: TlsState | null, offered: boolean): TlsInfo {
  if (tls === null) return offered ? NO_TLS_OFFERED : NO_TLS_NOT_OFFERED;
  return {
    mode: tls.mode,
    offered,
    refused: tls.refused,
    clientHello: tls.clientHello,
    serverHello: tls.serverHello,
    bytes: { c2s: tls.c2s, s2c: tls.s2c },
    capabilities: tls.capabilities,
    clearTextAfterStarttls: tls.accepted && !tls.started,
    decryption: tls.decryptionStatus,
  };
}

/**
 * One session's model under construction: a fixed-shape object whose fields are all set in the constructor, in one
 * order, and whose lists are made when their first entry comes (most sessions have no auth, anomaly, unmatched reply
 * or second transaction).
 */
class Builder implements SessionBuilder {
  private readonly flow: FlowKey;
  private readonly limits: SessionLimits;
  private protocol: SmtpSession['protocol'];
  private startedAt = Number.NaN;
  private lastTs = Number.NaN;
  private greetingRecord: ReplyRecord | null = null;
  private helo: string | null = null;
  private heloVerb: SmtpSession['heloVerb'] = null;
  private ehloLines: readonly string[] = NONE;
  private capabilities: Capabilities | null = null;
  /** What the other side said after an ATRN/TURN swap; made at the swap (null: the roles never swapped). */
  private swapped: SwappedState | null = null;
  /** TLS seen on this connection; made at its first TLS event (null: none, the shared record `tls` of no TLS). */
  private tls: TlsState | null = null;
  /**
   * A HELO/EHLO/LHLO awaiting its reply (its seq; -1: none), and what a refusal restores (RFC 5321 4.1.4: only
   * acceptance resets): the name said before it, and the transaction it left behind (the decoder keeps it open when
   * the greeting command is refused).
   */
  private helloSeq = -1;
  private helloBefore: string | null = null;
  private helloVerbBefore: SmtpSession['heloVerb'] = null;
  private helloLeft: MutableTransaction | null = null;
  private auths: AuthInfo[] | null = null;
  /**
   * The model's transactions. The decoder's ids (`SmtpCommand.transaction`, the message events, the end-of-data
   * reply target) name them: the builder follows the decoder's one transaction tracker instead of keeping its own.
   * An accepted nested MAIL points its id at the transaction it starts (the latest with an id is the one it names).
   */
  private transactions: MutableTransaction[] = NO_TRANSACTIONS;
  /** The transactions by the decoder's id, made once there are more than ID_WALK_MAX. */
  private byIdIndex: Map<number, MutableTransaction> | null = null;
  /** The transaction whose message bytes are arriving (from the latest message-start or bdat-chunk). */
  private receiving: MutableTransaction | null = null;
  private readonly commands: MutableCommand[] = [];
  /** MAIL commands sent inside an open transaction (the decoder gives them its id), awaiting their reply. */
  private nestedMailSeqs: Set<number> | null = null;
  /**
   * Messages whose end-of-data mark was sent, awaiting their final reply (LMTP: one per accepted recipient), oldest
   * first, by the decoder's transaction id, which the reply's target names: the reply goes to the transaction whose
   * message ended, not to the one open when it arrives (a client may pipeline the next MAIL right after the final dot).
   */
  private awaitingFinal: AwaitingFinal[] | null = null;
  private commandsDropped = 0;
  private anomalies: AnomalyRecord[] | null = null;
  private anomaliesDropped = 0;
  private unmatchedReplies: ReplyRecord[] | null = null;
  private pendingReplies = 0;
  private quitSent = false;
  /**
   * The latest client line was read inside TLS: a message body, and so its END-OF-DATA row, travelled as the DATA
   * command before it did (TLS cannot start inside a message).
   */
  private clientEncrypted = false;
  private quitAnswered = false;
  /** A 354 that answered no command: the DATA reply of the message the decoder starts right after it. */
  private unmatched354: ReplyRecord | null = null;
  /** A server-only capture (nothing pairs): the transaction a 354 started, whose next reply is its final one. */
  private replyOnlyMessage: MutableTransaction | null = null;
  private saw421 = false;
  private proxyInfo: ProxyInfo | null = null;
  private repliesSeen = 0;
  private closeReason: SmtpSession['closeReason'] | null = null;
  private flowStats: FlowStats | null = null;
  private gaps = 0;
  private gapBytes = 0;
  private sawClose = false;
  /** Command events seen (none: a server-only capture, where replies pair with nothing). */
  private commandsSeen = 0;

  constructor(flow: FlowKey, limits: SessionLimits, lmtp: boolean) {
    this.flow = flow;
    this.limits = limits;
    this.protocol = lmtp ? 'lmtp' : 'smtp';
  }

  get isClosed(): boolean {
    return this.sawClose;
  }

  peek(): SmtpSession {
    return this.build();
  }

  finish(): Promise<SmtpSession> {
    return Promise.resolve(this.build());
  }

  finishNow(): SmtpSession {
    return this.build();
  }

  private touch(ts: number): void {
    if (Number.isNaN(this.startedAt)) this.startedAt = ts;
    this.lastTs = ts;
  }

  private toReply(reply: SmtpReply): ReplyRecord {
    const lines = reply.lines;
    let text = lines.length === 1 ? (lines[0] as string) : lines.join('\n');
    const max = this.limits.maxReplyTextChars;
    if (text.length > max) text = `${text.slice(0, max)}…`;
    return { code: reply.code, enhancedStatus: reply.enhancedStatus, text, tsMicros: reply.tsMicros };
  }

  /** Appends a row; `seq` is the decoder's seq of its command (-1: an END-OF-DATA row). */
  private addCommand(record: MutableCommand, seq: number): boolean {
    const commands = this.commands;
    if (commands.length >= this.limits.maxCommands) {
      this.commandsDropped++;
      return false;
    }
    record.seq = seq < 0 ? this.oddKeyAfter(commands.length) : 2 * seq;
    commands.push(record);
    return true;
  }

  /** The key of an END-OF-DATA row put at `at`: the previous row's key made odd (never a command's key). */
  private oddKeyAfter(at: number): number {
    if (at === 0) return -1;
    const before = (this.commands[at - 1] as MutableCommand).seq;
    return before % 2 === 0 ? before + 1 : before;
  }

  /** The row of the command with the decoder's `seq` (kept ones only). */
  private rowOf(seq: number): MutableCommand | undefined {
    const commands = this.commands;
    const key = 2 * seq;
    // A reply mostly answers the latest command.
    const latest = commands[commands.length - 1];
    if (latest?.seq === key) return latest;
    const found = withSeq(commands, key);
    if (found !== undefined) return found;
    // Rows are kept in the order their commands came, and the decoder numbers commands in that order, so a miss is
    // a command that was not kept (the list was full: every later one is dropped, and its key is past the last).
    // A key inside the range missing would mean commands came out of their order: walk the rows rather than lose it.
    const last = commands[commands.length - 1];
    if (last === undefined || key > last.seq) return undefined;
    for (let i = commands.length - 1; i >= 0; i--)
      if ((commands[i] as MutableCommand).seq === key) return commands[i];
    return undefined;
  }

  private newRow(
    verb: CommandRecord['verb'],
    verbText: string,
    argument: string,
    tsMicros: number,
    transaction: number | null,
    pipelined: boolean,
    encrypted: boolean,
  ): MutableCommand {
    const row: MutableCommand = {
      seq: 0,
      verb,
      verbText,
      argument,
      tsMicros,
      reply: null,
      transaction,
      pipelined,
      latencyMicros: null,
    };
    if (encrypted) row.encrypted = true;
    return row;
  }

  private addAnomaly(record: AnomalyRecord): void {
    if (this.anomalies === null) this.anomalies = [];
    if (this.anomalies.length >= this.limits.maxAnomalies) this.anomaliesDropped++;
    else this.anomalies.push(record);
  }

  /** The transaction the decoder's id names now (the latest started for it). */
  private byId(id: number): MutableTransaction | undefined {
    if (this.byIdIndex !== null) return this.byIdIndex.get(id);
    const ts = this.transactions;
    for (let i = ts.length - 1; i >= 0; i--) {
      const t = ts[i] as MutableTransaction;
      if (t.id === id) return t;
    }
    return undefined;
  }

  /**
   * RSET, QUIT, a greeting command or the start of another transaction came after the latest transaction: it is
   * over, and abandoned when its message was not sent. Returns it when this abandoned it.
   */
  private leaveLatest(): MutableTransaction | null {
    const t = this.transactions[this.transactions.length - 1];
    if (t === undefined || t.left) return null;
    t.left = true;
    if (t.messageStarted || t.finalReply !== null) return null;
    t.abandoned = true;
    return t;
  }

  /**
   * Starts the transaction the decoder opened as `id`: at MAIL (`command`), or with an unknown sender when a RCPT,
   * DATA, BDAT or message came first. `midstream`: its MAIL was lost (the capture started, or a gap ended, inside
   * it). Null once `maxTransactions` are kept.
   */
  private newTransaction(
    id: number,
    command: SmtpCommand | null,
    tsMicros: number,
    midstream: boolean,
  ): MutableTransaction | null {
    this.leaveLatest();
    const transactions = this.transactions;
    if (transactions.length >= this.limits.maxTransactions) return null;
    const t: MutableTransaction = {
      id,
      depth: transactions.length + 1,
      mailFrom: command === null ? null : command.path,
      mailParams: command === null ? EMPTY_PARAMS : command.params,
      mailReply: null,
      recipients: NO_RECIPIENTS,
      recipientsDropped: 0,
      mode: null,
      dataReply: null,
      messageStarted: false,
      messageComplete: false,
      sizeBytes: null,
      bdatChunks: 0,
      finalReply: null,
      lmtpReplies: 0,
      left: false,
      abandoned: false,
      gapped: false,
      midstream,
      bodySeen: false,
      body: null,
      bodyKept: 0,
      bodyTruncated: false,
      summary: null,
      summarised: false,
      startedAt: tsMicros,
      endedAt: null,
    };
    // The first in a list of its own size (most sessions have one transaction; a push would make room for 17).
    if (transactions.length === 0) this.transactions = [t];
    else transactions.push(t);
    if (this.byIdIndex !== null) this.byIdIndex.set(id, t);
    else if (transactions.length > ID_WALK_MAX) {
      const index = new Map<number, MutableTransaction>();
      for (const each of this.transactions) index.set(each.id, each);
      this.byIdIndex = index;
    }
    return t;
  }

  /** The transaction a command belongs to, started here when the decoder says the command opens it. */
  private transactionOf(command: SmtpCommand): MutableTransaction | null {
    const id = command.transaction;
    if (id === null) return null;
    if (command.opens !== null)
      return this.newTransaction(
        id,
        command.opens === 'mail' ? command : null,
        command.tsMicros,
        command.opens === 'lost-mail',
      );
    return this.byId(id) ?? null;
  }

  /** The transaction of a message event; one the decoder opened for a message alone (its start lost) starts here. */
  private messageTransaction(id: number | null, ts: number, create: boolean): MutableTransaction | null {
    if (id === null) return null;
    return this.byId(id) ?? (create ? this.newTransaction(id, null, ts, true) : null);
  }

  /** The index in `awaitingFinal` of the message of the decoder's transaction `id`, or -1. */
  private awaitingIndex(id: number): number {
    const list = this.awaitingFinal;
    if (list === null) return -1;
    for (let i = 0; i < list.length; i++) if ((list[i] as AwaitingFinal).id === id) return i;
    return -1;
  }

  command(command: SmtpCommand): void {
    this.touch(command.tsMicros);
    this.commandsSeen++;
    this.unmatched354 = null;
    this.clientEncrypted = command.encrypted;
    const isCommand = command.kind === 'command';
    // Sent while earlier commands, or a final dot, still awaited replies (QUIT or MAIL behind the dot, RFC 2920).
    const pipelined =
      isCommand &&
      (this.pendingReplies > 0 || (this.awaitingFinal !== null && this.awaitingFinal.length > 0));
    if (isCommand) this.pendingReplies++;
    const transaction = this.transactionOf(command);
    const swapped = this.swapped;
    switch (command.verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        this.helloSeq = command.seq;
        this.helloLeft = this.leaveLatest();
        if (swapped !== null) {
          this.helloBefore = swapped.helo;
          this.helloVerbBefore = swapped.heloVerb;
          swapped.helo = firstWord(command.argument);
          swapped.heloVerb = command.verb;
        } else {
          this.helloBefore = this.helo;
          this.helloVerbBefore = this.heloVerb;
          this.helo = firstWord(command.argument);
          this.heloVerb = command.verb;
        }
        if (command.verb === 'LHLO') this.protocol = 'lmtp';
        break;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        // Inside an open transaction (RFC 5321 3.3: the server refuses it and the transaction goes on); an
        // accepted one starts a new transaction at its reply.
        if (command.opens === null && transaction !== null) {
          if (this.nestedMailSeqs === null) this.nestedMailSeqs = new Set();
          if (this.nestedMailSeqs.size < this.limits.maxTransactions) this.nestedMailSeqs.add(command.seq);
        }
        break;
      case 'RCPT':
        if (transaction === null) break;
        if (transaction.recipients.length >= this.limits.maxRecipients) transaction.recipientsDropped++;
        else {
          const r: MutableRecipient = {
            seq: command.seq,
            index: transaction.recipients.length + 1,
            address: command.path ?? command.argument,
            params: command.params,
            rcptTsMicros: command.tsMicros,
            rcptReply: null,
            lmtpReply: null,
          };
          // The first in a list of its own size (most transactions have one recipient; a push would make room for 17).
          if (transaction.recipients.length === 0) transaction.recipients = [r];
          else transaction.recipients.push(r);
        }
        break;
      case 'DATA':
      case 'BDAT':
        if (transaction !== null && transaction.mode === null) transaction.mode = command.verb;
        break;
      case 'RSET':
        this.leaveLatest();
        break;
      case 'QUIT':
        this.quitSent = true;
        this.leaveLatest();
        break;
      default:
        break;
    }
    const record = this.newRow(
      isCommand ? command.verb : 'AUTH-RESPONSE',
      command.verbText,
      command.argument,
      command.tsMicros,
      transaction === null ? null : transaction.depth,
      pipelined,
      command.encrypted,
    );
    this.addCommand(record, command.seq);
  }

  /**
   * The recipient of the RCPT command `seq` still awaiting its reply: in `t` (the transaction its row shows), else
   * in any transaction (recipients are in seq order in each).
   */
  private awaitingRecipient(seq: number, t: MutableTransaction | null): MutableRecipient | undefined {
    let r = t === null ? undefined : withSeq(t.recipients, seq);
    for (let i = this.transactions.length - 1; r === undefined && i >= 0; i--) {
      const other = this.transactions[i] as MutableTransaction;
      if (other !== t) r = withSeq(other.recipients, seq);
    }
    return r !== undefined && r.rcptReply === null ? r : undefined;
  }

  /** Every reply: counted, its time taken, and its record made. */
  private replyRecord(reply: SmtpReply): ReplyRecord {
    this.touch(reply.tsMicros);
    this.repliesSeen++;
    if (reply.code === 421) this.saw421 = true;
    return this.toReply(reply);
  }

  greeting(reply: SmtpReply): void {
    const record = this.replyRecord(reply);
    // After ATRN/TURN the greeting is the other side's; the first server's is kept.
    if (this.swapped !== null) this.swapped.greeting = record;
    else this.greetingRecord = record;
  }

  unmatchedReply(reply: SmtpReply): void {
    this.onUnmatchedReply(this.replyRecord(reply));
  }

  endOfDataReply(
    reply: SmtpReply,
    mode: 'DATA' | 'BDAT',
    lmtpRecipient: number | null,
    transaction: number | null,
  ): void {
    this.onEndOfData(this.replyRecord(reply), mode, lmtpRecipient, transaction);
  }

  reply(reply: SmtpReply, command: SmtpCommand): void {
    const record = this.replyRecord(reply);
    if (command.kind === 'command' && this.pendingReplies > 0) this.pendingReplies--;
    const kept = this.rowOf(command.seq);
    if (kept !== undefined && kept.reply === null) kept.reply = record;
    // The transaction the command's row shows (fixed when it was sent), else the one the decoder placed it in.
    const t =
      kept !== undefined
        ? kept.transaction === null
          ? null
          : (this.transactions[kept.transaction - 1] ?? null)
        : command.transaction === null
          ? null
          : (this.byId(command.transaction) ?? null);
    const positive = reply.code < 400;
    if (command.kind === 'command' && this.helloSeq >= 0 && this.helloSeq === command.seq) {
      this.helloSeq = -1;
      if (!positive) this.restoreAfterRefusedHello();
      this.helloLeft = null;
    }
    const tls = this.tls;
    const swapped = this.swapped;
    switch (command.verb) {
      case 'EHLO':
      case 'LHLO':
        if (!positive) break;
        if (tls !== null && (tls.started || tls.accepted) && swapped === null) {
          // The EHLO sent again after STARTTLS (RFC 3207 4.2: inside TLS, or in clear text when TLS never started):
          // its capabilities are kept apart, so that the clear-text offer (tls.offered) stays.
          tls.capabilities = parseEhloCapabilities(reply.lines);
        } else if (swapped !== null) {
          // Copied: the reply's lines are valid during the call only.
          swapped.ehloLines = reply.lines.slice();
          swapped.capabilities = parseEhloCapabilities(reply.lines);
        } else {
          this.ehloLines = reply.lines.slice();
          this.capabilities = parseEhloCapabilities(reply.lines);
        }
        break;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        if (this.nestedMailSeqs?.delete(command.seq) === true) {
          if (positive) this.startAfterNestedMail(command, record, kept);
          break;
        }
        if (t !== null) t.mailReply = record;
        break;
      case 'RCPT': {
        // A RCPT in no transaction made no recipient.
        if (command.transaction === null) break;
        const r = this.awaitingRecipient(command.seq, t);
        if (r !== undefined) r.rcptReply = record;
        break;
      }
      case 'DATA':
        if (t !== null) {
          t.dataReply = record;
          if (reply.code === 354) t.messageStarted = true;
        }
        break;
      case 'STARTTLS':
        if (reply.code !== 220) this.tlsState().refused = true;
        else this.tlsState().accepted = true;
        break;
      case 'BDAT':
        // RFC 3030 3: a refused chunk (or a malformed BDAT) fails the transaction; its reply decides it.
        if (!positive && t !== null && t.dataReply === null) t.dataReply = record;
        break;
      case 'QUIT':
        if (reply.code === 221) this.quitAnswered = true;
        break;
      default:
        break;
    }
  }

  /** A refused HELO/EHLO/LHLO: the name said before it, and the transaction it would have reset, stay. */
  private restoreAfterRefusedHello(): void {
    const swapped = this.swapped;
    if (swapped !== null) {
      swapped.helo = this.helloBefore;
      swapped.heloVerb = this.helloVerbBefore;
    } else {
      this.helo = this.helloBefore;
      this.heloVerb = this.helloVerbBefore;
    }
    const left = this.helloLeft;
    if (left !== null && this.transactions[this.transactions.length - 1] === left) {
      left.left = false;
      left.abandoned = false;
    }
  }

  /**
   * A MAIL sent inside an open transaction and accepted (the server allowed it): the open transaction is left and
   * a new one starts with this sender; the decoder's id now names it. What was sent after the MAIL (pipelined RCPT
   * and DATA) moves to it.
   */
  private startAfterNestedMail(
    command: SmtpCommand,
    record: ReplyRecord,
    row: MutableCommand | undefined,
  ): void {
    const id = command.transaction;
    if (id === null) return;
    const previous = this.byId(id);
    const t = this.newTransaction(id, command, command.tsMicros, false);
    if (t === null) return;
    t.mailReply = record;
    if (previous === undefined) return;
    const commands = this.commands;
    if (row !== undefined) {
      const from = commands.indexOf(row);
      for (let i = from; i >= 0 && i < commands.length; i++) {
        const c = commands[i] as MutableCommand;
        if (c.transaction !== previous.depth) continue;
        c.transaction = t.depth;
        if (c.verb === 'DATA' || c.verb === 'BDAT') {
          t.mode = c.verb;
          previous.mode = null;
        }
      }
    }
    const kept = previous.recipients.filter((r) => r.seq < command.seq);
    for (const r of previous.recipients) {
      if (r.seq < command.seq) continue;
      r.index = t.recipients.length + 1;
      if (t.recipients.length === 0) t.recipients = [r];
      else t.recipients.push(r);
    }
    previous.recipients = kept;
  }

  /**
   * A reply that answers no command the capture holds. A 354 still says a message is starting: the decoder starts
   * one (message-start follows), whose DATA reply it is. In a server-only capture, where nothing pairs, the reply
   * after a 354 is that message's final reply.
   */
  private onUnmatchedReply(record: ReplyRecord): void {
    if (record.code === 354) {
      this.unmatched354 = record;
      return;
    }
    const t = this.replyOnlyMessage;
    if (this.commandsSeen === 0 && t !== null && t.finalReply === null) {
      t.finalReply = record;
      t.endedAt = record.tsMicros;
      this.replyOnlyMessage = null;
      return;
    }
    if (this.unmatchedReplies === null) this.unmatchedReplies = [];
    if (this.commands.length + this.unmatchedReplies.length < this.limits.maxCommands)
      this.unmatchedReplies.push(record);
    else this.commandsDropped++;
  }

  /** Inserts a row after `after` (LMTP's further per-recipient replies), renumbering the rows after it. */
  private insertCommandAfter(after: MutableCommand, record: MutableCommand): boolean {
    const commands = this.commands;
    if (commands.length >= this.limits.maxCommands) {
      this.commandsDropped++;
      return false;
    }
    const at = commands.lastIndexOf(after) + 1;
    if (at === 0 || at === commands.length) return this.addCommand(record, -1);
    record.seq = this.oddKeyAfter(at);
    commands.splice(at, 0, record);
    return true;
  }

  private endOfDataRow(t: MutableTransaction | undefined, tsMicros: number): MutableCommand {
    return this.newRow(
      'END-OF-DATA',
      '.',
      '',
      tsMicros,
      t === undefined ? null : t.depth,
      false,
      this.clientEncrypted,
    );
  }

  /** The BDAT command row that carries this transaction's LAST chunk (the latest BDAT row of the transaction). */
  private lastBdatRow(t: MutableTransaction): MutableCommand | null {
    const commands = this.commands;
    for (let i = commands.length - 1; i >= 0; i--) {
      const c = commands[i] as MutableCommand;
      if (c.transaction !== null && c.transaction < t.depth) break;
      if (c.verb === 'BDAT' && c.transaction === t.depth) return c;
    }
    return null;
  }

  private onEndOfData(
    record: ReplyRecord,
    mode: 'DATA' | 'BDAT',
    lmtpRecipient: number | null,
    id: number | null,
  ): void {
    if (lmtpRecipient !== null) this.protocol = 'lmtp';
    const at = id === null ? -1 : this.awaitingIndex(id);
    const waiting = at < 0 ? undefined : (this.awaitingFinal as AwaitingFinal[])[at];
    const argument = lmtpRecipient === null ? '' : `recipient ${lmtpRecipient + 1}`;
    let t: MutableTransaction | undefined;
    if (waiting !== undefined) {
      t = waiting.transaction;
      if (waiting.remaining === null)
        waiting.remaining = this.protocol === 'lmtp' ? Math.max(1, acceptedRecipients(t)) : 1;
      const row = waiting.record;
      if (row !== null && row.reply === null) {
        row.reply = record;
        if (row.verb === 'BDAT' && this.pendingReplies > 0) this.pendingReplies--;
        if (row.verb === 'END-OF-DATA') row.argument = argument;
      } else if (waiting.last !== null) {
        // A further LMTP reply: its own row, at the time of the final dot, next to the first one.
        const extra = this.endOfDataRow(t, waiting.endTsMicros);
        extra.argument = argument;
        extra.reply = record;
        if (this.insertCommandAfter(waiting.last, extra)) waiting.last = extra;
      }
      waiting.remaining--;
      if (waiting.remaining <= 0) (this.awaitingFinal as AwaitingFinal[]).splice(at, 1);
    } else if (mode === 'BDAT' && id === null) {
      // BDAT LAST of a message in no transaction (sent with no MAIL): the reply is its chunk's, nothing else.
      const commands = this.commands;
      for (let i = commands.length - 1; i >= 0; i--) {
        const c = commands[i] as MutableCommand;
        if (c.verb !== 'BDAT') continue;
        if (c.transaction === null && c.reply === null) {
          c.reply = record;
          if (this.pendingReplies > 0) this.pendingReplies--;
        }
        break;
      }
      return;
    } else {
      // No message end awaits this reply: a BDAT LAST answered before its octets ended, or the end of a body
      // whose final dot a gap took. The reply goes to the transaction the decoder names.
      t = id === null ? undefined : this.byId(id);
      if (mode === 'BDAT') {
        const bdat = t === undefined ? null : this.lastBdatRow(t);
        if (bdat !== null && bdat.reply === null) {
          bdat.reply = record;
          if (this.pendingReplies > 0) this.pendingReplies--;
        }
      } else {
        const row = this.endOfDataRow(t, t?.endedAt ?? record.tsMicros);
        row.argument = argument;
        row.reply = record;
        this.addCommand(row, -1);
      }
    }
    if (t === undefined) return;
    if (lmtpRecipient !== null) {
      // lmtpRecipient is the 0-based position among the transaction's RCPT commands.
      const r = t.recipients[lmtpRecipient];
      if (r !== undefined) r.lmtpReply = record;
      if (t.finalReply === null) t.finalReply = record;
      t.lmtpReplies++;
    } else if (t.finalReply === null) {
      t.finalReply = record;
    }
    t.endedAt = record.tsMicros;
  }

  /**
   * Copies the start of the message body (the bytes are views valid during the event only) into pooled blocks.
   * Once messageKeepBytes are kept, or the message was summarised, later pieces cost a comparison or two.
   */
  private keepBody(bytes: Uint8Array): void {
    const t = this.receiving;
    if (t === null || t.summarised) return; // summarised already: nothing reads more bytes
    const room = this.limits.messageKeepBytes - t.bodyKept;
    if (room <= 0) {
      if (bytes.length > 0) t.bodyTruncated = true;
      return;
    }
    let n = bytes.length;
    if (n > room) {
      n = room;
      t.bodyTruncated = true;
    }
    if (n === 0) return;
    if (t.body === null) t.body = new KeptBody();
    t.body.append(bytes, n);
    t.bodyKept += n;
  }

  messageEnd(
    transaction: number | null,
    sizeBytes: number,
    complete: boolean,
    awaitsReply: boolean,
    ts: number,
  ): void {
    this.touch(ts);
    this.receiving = null;
    // The end of a body whose start the capture lost: the decoder opened a transaction for it (unknown sender),
    // so that the final reply (and its queue id) is kept.
    const t = this.messageTransaction(transaction, ts, awaitsReply);
    if (t === null || transaction === null) return;
    t.messageStarted = true;
    t.messageComplete = complete;
    // Without a message-start the body's start was lost: its size is unknown.
    t.sizeBytes = t.bodySeen ? sizeBytes : null;
    if (t.mode === null) t.mode = 'DATA';
    if (t.endedAt === null) t.endedAt = ts;
    if (awaitsReply && t.finalReply === null) {
      // The row is added now, where the dot was sent, so that commands pipelined after it come after it.
      let row: MutableCommand | null;
      if (t.mode === 'BDAT') row = this.lastBdatRow(t);
      else {
        row = this.endOfDataRow(t, ts);
        if (!this.addCommand(row, -1)) row = null;
      }
      const waiting: AwaitingFinal = {
        id: transaction,
        transaction: t,
        record: row,
        last: row,
        remaining: null,
        endTsMicros: ts,
      };
      const list = this.awaitingFinal;
      // The first in a list of its own size (a push on an empty list would make room for 17).
      if (list === null) this.awaitingFinal = [waiting];
      else {
        // Bounded: a reply-less capture never answers; the oldest wait is dropped.
        if (list.length >= this.limits.maxTransactions) list.shift();
        // A second end for the same id takes the first one's place (as a map's set would).
        const at = this.awaitingIndex(transaction);
        if (at < 0) list.push(waiting);
        else list[at] = waiting;
      }
    }
    const body = t.body;
    if (body !== null && !t.summarised) {
      const truncated = t.bodyTruncated || !complete;
      // Synchronous: contiguous() may be a shared scratch buffer, and the blocks go back to the pool after.
      let summary: MessageSummary | null;
      try {
        summary = summarizeMessageSync(body.contiguous(), truncated, this.limits.maxHeaderBytes);
      } catch {
        summary = null;
      }
      body.release();
      t.body = null;
      t.summarised = true;
      t.summary = summary;
    }
  }

  /** A message starts or a BDAT chunk was sent: its transaction receives the bytes that follow. */
  private messageStarted(t: MutableTransaction, mode: 'DATA' | 'BDAT'): void {
    t.mode = mode;
    t.messageStarted = true;
    t.bodySeen = true;
  }

  state(_from: SmtpState, _to: SmtpState, tsMicros: number): void {
    this.touch(tsMicros);
  }

  messageStart(mode: 'DATA' | 'BDAT', transaction: number | null, tsMicros: number): void {
    this.touch(tsMicros);
    const t = this.messageTransaction(transaction, tsMicros, true);
    this.receiving = t;
    if (t !== null) {
      this.messageStarted(t, mode);
      if (this.unmatched354 !== null && mode === 'DATA') {
        if (t.dataReply === null) t.dataReply = this.unmatched354;
        if (this.commandsSeen === 0) this.replyOnlyMessage = t;
      }
    }
    this.unmatched354 = null;
  }

  messageBytes(bytes: Uint8Array): void {
    this.keepBody(bytes);
  }

  bdatChunk(transaction: number | null, _sizeBytes: number, _last: boolean, tsMicros: number): void {
    this.touch(tsMicros);
    const t = this.messageTransaction(transaction, tsMicros, true);
    if (t !== null) {
      t.bdatChunks++;
      this.messageStarted(t, 'BDAT');
    }
  }

  tlsStart(mode: 'starttls' | 'implicit', tsMicros: number): void {
    this.touch(tsMicros);
    const tls = this.tlsState();
    tls.mode = mode;
    tls.started = true;
  }

  tlsDecryption(status: TlsDecryptionStatus, tsMicros: number): void {
    this.touch(tsMicros);
    this.tlsState().decryptionStatus = status;
  }

  tlsHello(hello: TlsHello, _tsMicros: number): void {
    if (hello.side === 'client') this.tlsState().clientHello = hello;
    else this.tlsState().serverHello = hello;
  }

  tlsBytes(direction: Direction, length: number): void {
    if (direction === 'c2s') this.tlsState().c2s += length;
    else this.tlsState().s2c += length;
  }

  auth(
    mechanism: string,
    username: string | null,
    secret: string | null,
    outcome: AuthOutcome,
    tsMicros: number,
  ): void {
    this.touch(tsMicros);
    const info: AuthInfo = { mechanism, username, secret, outcome, tsMicros };
    if (this.auths === null) this.auths = [info];
    else this.auths.push(info);
  }

  proxy(
    protocol: ProxyInfo['protocol'],
    target: string | null,
    accepted: boolean | null,
    tsMicros: number,
  ): void {
    this.touch(tsMicros);
    this.proxyInfo = { protocol, target, accepted };
  }

  rolesSwapped(_tsMicros: number): void {
    if (this.swapped === null) this.swapped = new SwappedState();
    if (this.awaitingFinal !== null) this.awaitingFinal.length = 0;
  }

  gap(_direction: Direction, length: number, tsMicros: number): void {
    this.touch(tsMicros);
    // The decoder clears its queue: the messages awaiting a final reply will not get it from this capture.
    const latest = this.transactions[this.transactions.length - 1];
    if (latest !== undefined && !latest.left) latest.gapped = true;
    const waiting = this.awaitingFinal;
    if (waiting !== null) {
      for (const w of waiting) w.transaction.gapped = true;
      waiting.length = 0;
    }
    this.gaps++;
    this.gapBytes += length;
  }

  anomaly(
    code: AnomalyCode,
    direction: Direction | null,
    detail: string,
    offset: number | null,
    tsMicros: number,
    skipped: SkippedReply | null,
  ): void {
    this.touch(tsMicros);
    // A command the decoder knows will get no reply (a later reply could only answer a later command) no
    // longer waits for one; an end of data it skipped will get no final reply, and the next one must not take it.
    if (skipped?.kind === 'command' && this.pendingReplies > 0) this.pendingReplies--;
    if (skipped?.kind === 'end-of-data') {
      const waiting = this.awaitingFinal;
      if (waiting !== null && waiting.length > 0) {
        const at = skipped.transaction === null ? 0 : this.awaitingIndex(skipped.transaction);
        if (at >= 0) waiting.splice(at, 1);
      }
    }
    this.addAnomaly({ code, direction, detail, offset, tsMicros });
  }

  closed(reason: CloseReason, tsMicros: number, stats: FlowStats): void {
    this.touch(tsMicros);
    this.closeReason = reason;
    this.flowStats = stats;
    this.sawClose = true;
  }

  private sessionEnd(): SessionEnd {
    if (this.quitAnswered) return 'quit';
    if (this.saw421) return 'server-421';
    if (this.quitSent) return 'quit-unanswered';
    switch (this.closeReason) {
      case 'rst':
        return 'rst';
      case 'fin':
        return 'fin-without-quit';
      case 'idle-timeout':
        return 'idle-timeout';
      case 'evicted':
      case 'limit':
        return 'evicted';
      default:
        return 'end-of-capture';
    }
  }

  /**
   * The session's record. A closed session hands out its own rows and lists (nothing changes them any more); an
   * open one (the dashboard's view) copies them, so that the snapshot stays as it was.
   */
  private build(): SmtpSession {
    const stats: FlowStats = this.flowStats ?? emptyFlowStats(this.startedAt, this.lastTs);
    const noReplies = this.repliesSeen === 0 && stats.s2c.packets === 0;
    const end = this.sessionEnd();
    const connectionLost = end !== 'quit' && end !== 'quit-unanswered';
    const transactions = this.transactions;
    // Made at their final length (a push would make room for 17).
    const built = new Array<TransactionRecord>(transactions.length);
    for (let i = 0; i < transactions.length; i++)
      built[i] = buildTransaction(transactions[i] as MutableTransaction, noReplies, connectionLost);
    const oneSided: SmtpSession['quality']['oneSided'] =
      stats.s2c.packets === 0 && stats.c2s.packets > 0
        ? 'c2s-only'
        : stats.c2s.packets === 0 && stats.s2c.packets > 0
          ? 's2c-only'
          : null;
    const greeting = this.greetingRecord;
    const greetingText = greeting === null ? null : greeting.text;
    const capabilities = this.capabilities;
    const flow = this.flow;
    const closed = this.sawClose;
    const session: SmtpSession = {
      id: flow.id,
      client: flow.client,
      server: flow.server,
      orientation: flow.basis,
      protocol: this.protocol,
      startedAt: Number.isNaN(this.startedAt)
        ? stats.firstTsMicros
        : Math.min(this.startedAt, stats.firstTsMicros),
      endedAt: Number.isNaN(this.lastTs) ? stats.lastTsMicros : Math.max(this.lastTs, stats.lastTsMicros),
      end,
      closeReason: this.closeReason ?? 'end-of-capture',
      greeting,
      serverName: greetingText === null ? null : serverNameFromGreeting(greetingText),
      software: guessMtaSoftware(greetingText, this.ehloLines),
      helo: this.helo,
      heloVerb: this.heloVerb,
      capabilities,
      tls: tlsInfo(this.tls, capabilities?.starttls ?? false),
      auth: listOut(this.auths, closed),
      transactions: built,
      commands: closed ? this.finalRows() : this.copiedRows(),
      commandsDropped: this.commandsDropped,
      unmatchedReplies: listOut(this.unmatchedReplies, closed),
      anomalies: listOut(this.anomalies, closed),
      anomaliesDropped: this.anomaliesDropped,
      quality: {
        midstream: !stats.sawSyn && !stats.sawSynAck,
        oneSided,
        gaps: stats.c2s.gaps + stats.s2c.gaps || this.gaps,
        gapBytes: stats.c2s.gapBytes + stats.s2c.gapBytes || this.gapBytes,
        retransmissions: stats.c2s.retransmissions + stats.s2c.retransmissions,
        overlapsDiffering: stats.c2s.overlapsDiffering + stats.s2c.overlapsDiffering,
      },
      flow: stats,
      rolesSwapped: this.swapped !== null,
      swapped: this.swapped === null ? null : this.buildSwapped(this.swapped),
    };
    return this.proxyInfo === null ? session : { ...session, proxy: this.proxyInfo };
  }

  /** The rows themselves, their position and latency filled in (a closed session: nothing changes them any more). */
  private finalRows(): readonly CommandRecord[] {
    const commands = this.commands;
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i] as MutableCommand;
      c.seq = i;
      c.latencyMicros = c.reply === null ? null : c.reply.tsMicros - c.tsMicros;
    }
    return commands;
  }

  /** A copy of every row as it stands (an open session: later replies must not change a snapshot). */
  private copiedRows(): CommandRecord[] {
    const commands = this.commands;
    const out: CommandRecord[] = [];
    for (let i = 0; i < commands.length; i++) {
      const c = commands[i] as MutableCommand;
      const row = this.newRow(
        c.verb,
        c.verbText,
        c.argument,
        c.tsMicros,
        c.transaction,
        c.pipelined,
        c.encrypted === true,
      );
      row.seq = i;
      row.reply = c.reply;
      row.latencyMicros = c.reply === null ? null : c.reply.tsMicros - c.tsMicros;
      out.push(row);
    }
    return out;
  }

  private buildSwapped(swapped: SwappedState): SwappedSide {
    const greeting = swapped.greeting;
    const text = greeting === null ? null : greeting.text;
    return {
      greeting,
      serverName: text === null ? null : serverNameFromGreeting(text),
      software: guessMtaSoftware(text, swapped.ehloLines),
      helo: swapped.helo,
      heloVerb: swapped.heloVerb,
      capabilities: swapped.capabilities,
    };
  }

  /** The connection's TLS state, made at its first TLS event. */
  private tlsState(): TlsState {
    if (this.tls === null) this.tls = new TlsState();
    return this.tls;
  }
}

/** A list for the record: the builder's own once closed (or the shared empty one), else a copy. */
function listOut<T>(list: T[] | null, closed: boolean): readonly T[] {
  if (list === null) return closed ? NONE : [];
  return closed ? list : list.slice();
}

/** Recipients accepted at RCPT (2xx): the number of final replies an LMTP server sends. */
function acceptedRecipients(t: MutableTransaction): number {
  let n = 0;
  for (const r of t.recipients)
    if (r.rcptReply !== null && r.rcptReply.code >= 200 && r.rcptReply.code < 300) n++;
  return n;
}

function isFailure(reply: ReplyRecord | null): reply is ReplyRecord {
  return reply !== null && reply.code >= 400;
}

function outcomeOf(reply: ReplyRecord): TransactionOutcome {
  return reply.code >= 500 ? 'rejected' : reply.code >= 400 ? 'deferred' : 'accepted';
}

/**
 * `noReplies`: no server reply was captured in the whole session (client-only capture). `connectionLost`: the session
 * ended without QUIT (reset, lost, timed out, cut by the end of the capture).
 */
function buildTransaction(
  t: MutableTransaction,
  noReplies: boolean,
  connectionLost: boolean,
): TransactionRecord {
  let outcome: TransactionOutcome;
  let failureStage: FailureStage | null = null;
  let deciding: ReplyRecord | null = null;
  const list = t.recipients;
  let allRcptFailed = list.length > 0;
  for (let i = 0; allRcptFailed && i < list.length; i++)
    allRcptFailed = isFailure((list[i] as MutableRecipient).rcptReply);

  if (t.lmtpReplies > 0) {
    // Accepted when any recipient's own reply accepted it; else decided by the first failing one.
    let ok = false;
    let failed: ReplyRecord | null = null;
    for (let i = 0; i < list.length; i++) {
      const reply = (list[i] as MutableRecipient).lmtpReply;
      if (reply === null) continue;
      if (reply.code < 400) ok = true;
      else if (failed === null) failed = reply;
    }
    outcome = ok ? 'accepted' : failed !== null ? outcomeOf(failed) : 'unknown';
    if (!ok && failed !== null) {
      failureStage = 'end-of-data';
      deciding = failed;
    }
  } else if (t.finalReply !== null) {
    outcome = outcomeOf(t.finalReply);
    if (outcome !== 'accepted') {
      failureStage = 'end-of-data';
      deciding = t.finalReply;
    }
  } else if (isFailure(t.mailReply)) {
    outcome = outcomeOf(t.mailReply);
    failureStage = 'mail';
    deciding = t.mailReply;
  } else if (allRcptFailed) {
    // The first permanent refusal, else the first recipient's (every recipient was refused).
    let worst: ReplyRecord | null = null;
    for (let i = 0; worst === null && i < list.length; i++) {
      const reply = (list[i] as MutableRecipient).rcptReply;
      if (reply !== null && reply.code >= 500) worst = reply;
    }
    if (worst === null) worst = (list[0] as MutableRecipient).rcptReply;
    deciding = worst;
    outcome = worst !== null ? outcomeOf(worst) : 'rejected';
    failureStage = 'rcpt';
  } else if (isFailure(t.dataReply)) {
    outcome = outcomeOf(t.dataReply);
    failureStage = 'data';
    deciding = t.dataReply;
  } else if (noReplies) {
    outcome = 'unknown';
  } else if (t.messageStarted || t.mode !== null) {
    outcome = 'incomplete';
    failureStage = t.gapped ? 'capture-gap' : 'connection-lost';
  } else if (t.abandoned || !connectionLost) {
    outcome = 'aborted';
  } else {
    outcome = 'incomplete';
    failureStage = t.gapped ? 'capture-gap' : 'connection-lost';
  }

  const reasonClass =
    deciding === null
      ? null
      : classifyFailure(deciding.code, deciding.enhancedStatus, deciding.text, failureStage ?? undefined);

  const recipients = new Array<RecipientRecord>(list.length);
  for (let i = 0; i < list.length; i++)
    recipients[i] = buildRecipient(list[i] as MutableRecipient, t, connectionLost);
  return {
    depth: t.depth,
    mailFrom: t.mailFrom,
    mailParams: t.mailParams ?? EMPTY_PARAMS,
    mailReply: t.mailReply,
    recipients,
    mode: t.mode,
    dataReply: t.dataReply,
    sizeBytes: t.sizeBytes,
    bdatChunks: t.bdatChunks,
    messageComplete: t.messageComplete,
    finalReply: t.finalReply,
    finalMeaning: replyMeaning(t.finalReply),
    queueId: t.finalReply !== null && t.finalReply.code < 400 ? parseQueueId(t.finalReply.text) : null,
    outcome,
    failureStage,
    reasonClass,
    message: t.summary,
    startedAt: t.startedAt,
    endedAt: t.endedAt,
    midstream: t.midstream,
  };
}

function buildRecipient(
  r: MutableRecipient,
  t: MutableTransaction,
  connectionLost: boolean,
): RecipientRecord {
  let disposition: RecipientDisposition;
  let deciding: ReplyRecord | null = null;
  let stage: FailureStage | undefined;
  const finalReply = r.lmtpReply ?? (r.rcptReply !== null && r.rcptReply.code < 400 ? t.finalReply : null);
  if (r.rcptReply === null) {
    disposition = 'unknown';
  } else if (r.rcptReply.code >= 400) {
    disposition = r.rcptReply.code >= 500 ? 'rejected-rcpt' : 'deferred-rcpt';
    deciding = r.rcptReply;
    stage = 'rcpt';
  } else if (finalReply !== null) {
    if (finalReply.code < 400) disposition = 'delivered';
    else {
      disposition = finalReply.code >= 500 ? 'rejected-data' : 'deferred-data';
      deciding = finalReply;
      stage = 'end-of-data';
    }
  } else if (isFailure(t.dataReply)) {
    disposition = t.dataReply.code >= 500 ? 'rejected-data' : 'deferred-data';
    deciding = t.dataReply;
    stage = 'data';
  } else if (t.messageStarted || t.mode !== null) {
    disposition = 'unknown';
  } else if (t.abandoned || !connectionLost) {
    disposition = 'not-sent';
  } else {
    disposition = 'unknown';
  }
  return {
    index: r.index,
    address: r.address,
    params: r.params,
    rcptTsMicros: r.rcptTsMicros,
    rcptReply: r.rcptReply,
    finalReply,
    disposition,
    reasonClass:
      deciding === null
        ? null
        : classifyFailure(deciding.code, deciding.enhancedStatus, deciding.text, stage),
    // The deciding reply (session-queries.ts decidingReply): the RCPT refusal, else the final reply.
    meaning: replyMeaning(r.rcptReply !== null && r.rcptReply.code >= 400 ? r.rcptReply : finalReply),
  };
}

function emptyFlowStats(first: number, last: number): FlowStats {
  return {
    firstTsMicros: Number.isNaN(first) ? 0 : first,
    lastTsMicros: Number.isNaN(last) ? 0 : last,
    c2s: emptyDirectionStats(),
    s2c: emptyDirectionStats(),
    sawSyn: false,
    sawSynAck: false,
  };
}
