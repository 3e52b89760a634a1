/**
 * Builds the {@link SmtpSession} model of one connection from its decoder events.
 *
 * The builder is mutable inside and hands out immutable snapshots: `peek()` for the dashboard while the
 * connection is open, `finish()` or `finishNow()` once it has closed. Each message's summary is parsed when
 * the message ends, from its kept prefix. Every list it keeps is bounded (see {@link SessionLimits}).
 */

import type { FlowKey, FlowStats } from '../reassembly/types.js';
import { emptyDirectionStats } from '../reassembly/types.js';
import { parseEhloCapabilities } from '../smtp/extensions.js';
import type { ReplyTarget, SmtpCommand, SmtpEvent, SmtpReply } from '../smtp/types.js';
import type { TlsDecryptionStatus } from '../tls/types.js';
import { KeptBody } from './kept-body.js';
import { summarizeMessageSync } from './message-summary.js';
import { guessMtaSoftware, serverNameFromGreeting } from './mta-software.js';
import { parseQueueId } from './queue-id.js';
import { classifyFailure } from './reason-class.js';
import { recipientDecidingReply, replyMeaning } from './reply-meaning.js';
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

export interface SessionBuilder {
  apply(event: SmtpEvent): void;
  /** The model as it stands (open sessions on the dashboard); the summary of a message not yet ended is null. */
  peek(): SmtpSession;
  /** The final model; call after the `closed` event. */
  finish(): Promise<SmtpSession>;
  /**
   * The final model at once (message summaries are parsed when each message ends, so nothing is pending):
   * lets the analyzer hand a session to the sinks as it closes instead of after the current read.
   */
  finishNow(): SmtpSession;
  readonly closed: boolean;
}

interface MutableCommand {
  seq: number;
  verb: CommandRecord['verb'];
  verbText: string;
  argument: string;
  tsMicros: number;
  reply: ReplyRecord | null;
  transaction: number | null;
  pipelined: boolean;
  encrypted: boolean;
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

export function createSessionBuilder(
  flow: FlowKey,
  options: Partial<SessionLimits> & { lmtp?: boolean } = {},
): SessionBuilder {
  const limits: SessionLimits = { ...DEFAULT_SESSION_LIMITS, ...options };
  let protocol: SmtpSession['protocol'] = options.lmtp === true ? 'lmtp' : 'smtp';
  let startedAt = Number.NaN;
  let lastTs = Number.NaN;
  let greeting: ReplyRecord | null = null;
  let helo: string | null = null;
  let heloVerb: SmtpSession['heloVerb'] = null;
  let ehloLines: readonly string[] = [];
  let capabilities: Capabilities | null = null;
  /** What the other side said after an ATRN/TURN swap. */
  const swapped: {
    greeting: ReplyRecord | null;
    helo: string | null;
    heloVerb: SmtpSession['heloVerb'];
    ehloLines: readonly string[];
    capabilities: Capabilities | null;
  } = { greeting: null, helo: null, heloVerb: null, ehloLines: [], capabilities: null };
  const tls: {
    mode: TlsInfo['mode'];
    refused: boolean;
    clientHello: TlsInfo['clientHello'];
    serverHello: TlsInfo['serverHello'];
    c2s: number;
    s2c: number;
    /** TLS started (tls-start): an EHLO answered from now on is the TLS one. */
    started: boolean;
    /** A 220 answered STARTTLS. */
    accepted: boolean;
    capabilities: Capabilities | null;
    decryption: TlsDecryptionStatus | null;
  } = {
    mode: 'none',
    refused: false,
    clientHello: null,
    serverHello: null,
    c2s: 0,
    s2c: 0,
    started: false,
    accepted: false,
    capabilities: null,
    decryption: null,
  };
  /** A HELO/EHLO/LHLO awaiting its reply: what a refusal restores (RFC 5321 4.1.4: only acceptance resets). */
  let helloPending: {
    readonly seq: number;
    readonly helo: string | null;
    readonly heloVerb: SmtpSession['heloVerb'];
    /** The transaction it left behind; the decoder keeps it open when the greeting command is refused. */
    readonly left: MutableTransaction | null;
  } | null = null;
  const auth: AuthInfo[] = [];
  const transactions: MutableTransaction[] = [];
  /**
   * The model's transaction for each of the decoder's transaction ids (`SmtpCommand.transaction`, the message
   * events, the end-of-data reply target): the builder follows the decoder's one transaction tracker instead of
   * keeping its own. An accepted nested MAIL points its id at the transaction it starts.
   */
  const byId = new Map<number, MutableTransaction>();
  /** The transaction whose message bytes are arriving (from the latest message-start or bdat-chunk). */
  let receiving: MutableTransaction | null = null;
  const commands: MutableCommand[] = [];
  /** Command records by decoder command seq (only those kept). */
  const commandBySeq = new Map<number, MutableCommand>();
  /** Recipient awaiting a reply, by the RCPT command's seq. */
  const recipientBySeq = new Map<number, MutableRecipient>();
  /** MAIL commands sent inside an open transaction (the decoder gives them its id), awaiting their reply, by seq. */
  const nestedMailSeqs = new Set<number>();
  /**
   * Messages whose end-of-data mark was sent, awaiting their final reply (LMTP: one per accepted recipient), by the
   * decoder's transaction id, which the reply's target names: the reply goes to the transaction whose message
   * ended, not to the one open when it arrives (a client may pipeline the next MAIL right after the final dot).
   */
  const awaitingFinal = new Map<number, AwaitingFinal>();
  let commandsDropped = 0;
  const anomalies: AnomalyRecord[] = [];
  let anomaliesDropped = 0;
  const unmatchedReplies: ReplyRecord[] = [];
  let pendingReplies = 0;
  let quitSent = false;
  /**
   * The latest client line was read inside TLS: a message body, and so its END-OF-DATA row, travelled as the DATA
   * command before it did (TLS cannot start inside a message).
   */
  let clientEncrypted = false;
  let quitAnswered = false;
  /** A 354 that answered no command: the DATA reply of the message the decoder starts right after it. */
  let unmatched354: ReplyRecord | null = null;
  /** A server-only capture (nothing pairs): the transaction a 354 started, whose next reply is its final one. */
  let replyOnlyMessage: MutableTransaction | null = null;
  let saw421 = false;
  let rolesSwapped = false;
  let proxy: ProxyInfo | null = null;
  let repliesSeen = 0;
  let closeReason: SmtpSession['closeReason'] | null = null;
  let flowStats: FlowStats | null = null;
  let gaps = 0;
  let gapBytes = 0;
  let closed = false;
  /** Command events seen (none: a server-only capture, where replies pair with nothing). */
  let commandsSeen = 0;

  const touch = (ts: number): void => {
    if (Number.isNaN(startedAt)) startedAt = ts;
    lastTs = ts;
  };

  const toReply = (reply: SmtpReply): ReplyRecord => {
    let text = reply.lines.join('\n');
    if (text.length > limits.maxReplyTextChars) text = `${text.slice(0, limits.maxReplyTextChars)}…`;
    return { code: reply.code, enhancedStatus: reply.enhancedStatus, text, tsMicros: reply.tsMicros };
  };

  const addCommand = (record: MutableCommand): boolean => {
    if (commands.length >= limits.maxCommands) {
      commandsDropped++;
      return false;
    }
    // seq is the record's position in the session's command list (unique; CSV and ClickHouse key on it).
    record.seq = commands.length;
    commands.push(record);
    return true;
  };

  const addAnomaly = (record: AnomalyRecord): void => {
    if (anomalies.length >= limits.maxAnomalies) anomaliesDropped++;
    else anomalies.push(record);
  };

  /**
   * RSET, QUIT, a greeting command or the start of another transaction came after the latest transaction: it is
   * over, and abandoned when its message was not sent. Returns it when this abandoned it.
   */
  const leaveLatest = (): MutableTransaction | null => {
    const t = transactions[transactions.length - 1];
    if (t === undefined || t.left) return null;
    t.left = true;
    if (t.messageStarted || t.finalReply !== null) return null;
    t.abandoned = true;
    return t;
  };

  /**
   * Starts the transaction the decoder opened as `id`: at MAIL (`command`), or with an unknown sender when a RCPT,
   * DATA, BDAT or message came first. `midstream`: its MAIL was lost (the capture started, or a gap ended, inside
   * it). Null once `maxTransactions` are kept.
   */
  const newTransaction = (
    id: number,
    command: SmtpCommand | null,
    tsMicros: number,
    midstream: boolean,
  ): MutableTransaction | null => {
    leaveLatest();
    if (transactions.length >= limits.maxTransactions) return null;
    const t: MutableTransaction = {
      depth: transactions.length + 1,
      mailFrom: command === null ? null : command.path,
      mailParams: command === null ? EMPTY_PARAMS : command.params,
      mailReply: null,
      recipients: [],
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
    transactions.push(t);
    byId.set(id, t);
    return t;
  };

  /** The transaction a command belongs to, started here when the decoder says the command opens it. */
  const transactionOf = (command: SmtpCommand): MutableTransaction | null => {
    const id = command.transaction;
    if (id === null) return null;
    if (command.opens !== null)
      return newTransaction(
        id,
        command.opens === 'mail' ? command : null,
        command.tsMicros,
        command.opens === 'lost-mail',
      );
    return byId.get(id) ?? null;
  };

  /** The transaction of a message event; one the decoder opened for a message alone (its start lost) starts here. */
  const messageTransaction = (id: number | null, ts: number, create = true): MutableTransaction | null => {
    if (id === null) return null;
    return byId.get(id) ?? (create ? newTransaction(id, null, ts, true) : null);
  };

  const onCommand = (command: SmtpCommand): void => {
    touch(command.tsMicros);
    commandsSeen++;
    unmatched354 = null;
    clientEncrypted = command.encrypted;
    // Sent while earlier commands, or a final dot, still awaited replies (QUIT or MAIL behind the dot, RFC 2920).
    const pipelined = command.kind === 'command' && (pendingReplies > 0 || awaitingFinal.size > 0);
    if (command.kind === 'command') pendingReplies++;
    const transaction = transactionOf(command);
    switch (command.verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        helloPending = {
          seq: command.seq,
          helo: rolesSwapped ? swapped.helo : helo,
          heloVerb: rolesSwapped ? swapped.heloVerb : heloVerb,
          left: leaveLatest(),
        };
        if (rolesSwapped) {
          swapped.helo = command.argument.trim().split(/\s+/)[0] ?? '';
          swapped.heloVerb = command.verb;
        } else {
          helo = command.argument.trim().split(/\s+/)[0] ?? '';
          heloVerb = command.verb;
        }
        if (command.verb === 'LHLO') protocol = 'lmtp';
        break;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        // Inside an open transaction (RFC 5321 3.3: the server refuses it and the transaction goes on); an
        // accepted one starts a new transaction at its reply.
        if (command.opens === null && transaction !== null && nestedMailSeqs.size < limits.maxTransactions)
          nestedMailSeqs.add(command.seq);
        break;
      case 'RCPT':
        if (transaction === null) break;
        if (transaction.recipients.length >= limits.maxRecipients) transaction.recipientsDropped++;
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
          transaction.recipients.push(r);
          recipientBySeq.set(command.seq, r);
        }
        break;
      case 'DATA':
      case 'BDAT':
        if (transaction !== null && transaction.mode === null) transaction.mode = command.verb;
        break;
      case 'RSET':
        leaveLatest();
        break;
      case 'QUIT':
        quitSent = true;
        leaveLatest();
        break;
      default:
        break;
    }
    const record: MutableCommand = {
      seq: 0,
      verb: command.kind === 'auth-response' ? 'AUTH-RESPONSE' : command.verb,
      verbText: command.verbText,
      argument: command.argument,
      tsMicros: command.tsMicros,
      reply: null,
      transaction: transaction?.depth ?? null,
      pipelined,
      encrypted: command.encrypted,
    };
    if (addCommand(record)) commandBySeq.set(command.seq, record);
  };

  const onReply = (reply: SmtpReply, to: ReplyTarget): void => {
    touch(reply.tsMicros);
    repliesSeen++;
    const record = toReply(reply);
    if (reply.code === 421) saw421 = true;
    switch (to.kind) {
      case 'greeting':
        // After ATRN/TURN the greeting is the other side's; the first server's is kept.
        if (rolesSwapped) swapped.greeting = record;
        else greeting = record;
        return;
      case 'unmatched':
        onUnmatchedReply(record);
        return;
      case 'end-of-data':
        onEndOfData(record, to);
        return;
      case 'command':
        break;
    }
    const command = to.command;
    if (command.kind === 'command' && pendingReplies > 0) pendingReplies--;
    const kept = commandBySeq.get(command.seq);
    if (kept !== undefined && kept.reply === null) kept.reply = record;
    // The transaction the command's row shows (fixed when it was sent), else the one the decoder placed it in.
    const t =
      kept !== undefined
        ? kept.transaction === null
          ? null
          : (transactions[kept.transaction - 1] ?? null)
        : command.transaction === null
          ? null
          : (byId.get(command.transaction) ?? null);
    const positive = reply.code < 400;
    if (command.kind === 'command' && helloPending !== null && helloPending.seq === command.seq) {
      const before = helloPending;
      helloPending = null;
      if (!positive) restoreAfterRefusedHello(before);
    }
    switch (command.verb) {
      case 'EHLO':
      case 'LHLO':
        if (positive && (tls.started || tls.accepted) && !rolesSwapped) {
          // The EHLO sent again after STARTTLS (RFC 3207 4.2: inside TLS, or in clear text when TLS never started):
          // its capabilities are kept apart, so that the clear-text offer (tls.offered) stays.
          tls.capabilities = parseEhloCapabilities(reply.lines);
        } else if (positive) {
          if (rolesSwapped) {
            swapped.ehloLines = reply.lines;
            swapped.capabilities = parseEhloCapabilities(reply.lines);
          } else {
            ehloLines = reply.lines;
            capabilities = parseEhloCapabilities(reply.lines);
          }
        }
        break;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML':
        if (nestedMailSeqs.delete(command.seq)) {
          if (positive) startAfterNestedMail(command, record, kept);
          break;
        }
        if (t !== null) t.mailReply = record;
        break;
      case 'RCPT': {
        const r = recipientBySeq.get(command.seq);
        if (r !== undefined) {
          r.rcptReply = record;
          recipientBySeq.delete(command.seq);
        }
        break;
      }
      case 'DATA':
        if (t !== null) {
          t.dataReply = record;
          if (reply.code === 354) t.messageStarted = true;
        }
        break;
      case 'STARTTLS':
        if (reply.code !== 220) tls.refused = true;
        else tls.accepted = true;
        break;
      case 'BDAT':
        // RFC 3030 3: a refused chunk (or a malformed BDAT) fails the transaction; its reply decides it.
        if (!positive && t !== null && t.dataReply === null) t.dataReply = record;
        break;
      case 'QUIT':
        if (reply.code === 221) quitAnswered = true;
        break;
      default:
        break;
    }
  };

  /** A refused HELO/EHLO/LHLO: the name said before it, and the transaction it would have reset, stay. */
  const restoreAfterRefusedHello = (before: NonNullable<typeof helloPending>): void => {
    if (rolesSwapped) {
      swapped.helo = before.helo;
      swapped.heloVerb = before.heloVerb;
    } else {
      helo = before.helo;
      heloVerb = before.heloVerb;
    }
    const left = before.left;
    if (left !== null && transactions[transactions.length - 1] === left) {
      left.left = false;
      left.abandoned = false;
    }
  };

  /**
   * A MAIL sent inside an open transaction and accepted (the server allowed it): the open transaction is left and
   * a new one starts with this sender; the decoder's id now names it. What was sent after the MAIL (pipelined RCPT
   * and DATA) moves to it.
   */
  const startAfterNestedMail = (
    command: SmtpCommand,
    record: ReplyRecord,
    row: MutableCommand | undefined,
  ): void => {
    const id = command.transaction;
    if (id === null) return;
    const previous = byId.get(id);
    const t = newTransaction(id, command, command.tsMicros, false);
    if (t === null) return;
    t.mailReply = record;
    if (previous === undefined) return;
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
      t.recipients.push(r);
    }
    previous.recipients = kept;
  };

  /**
   * A reply that answers no command the capture holds. A 354 still says a message is starting: the decoder starts
   * one (message-start follows), whose DATA reply it is. In a server-only capture, where nothing pairs, the reply
   * after a 354 is that message's final reply.
   */
  const onUnmatchedReply = (record: ReplyRecord): void => {
    if (record.code === 354) {
      unmatched354 = record;
      return;
    }
    const t = replyOnlyMessage;
    if (commandsSeen === 0 && t !== null && t.finalReply === null) {
      t.finalReply = record;
      t.endedAt = record.tsMicros;
      replyOnlyMessage = null;
      return;
    }
    if (commands.length + unmatchedReplies.length < limits.maxCommands) unmatchedReplies.push(record);
    else commandsDropped++;
  };

  /** Inserts a row after `after` (LMTP's further per-recipient replies), renumbering the rows after it. */
  const insertCommandAfter = (after: MutableCommand, record: MutableCommand): boolean => {
    if (commands.length >= limits.maxCommands) {
      commandsDropped++;
      return false;
    }
    const at = commands.lastIndexOf(after) + 1;
    if (at === 0 || at === commands.length) return addCommand(record);
    commands.splice(at, 0, record);
    for (let i = at; i < commands.length; i++) (commands[i] as MutableCommand).seq = i;
    return true;
  };

  const endOfDataRow = (t: MutableTransaction | undefined, tsMicros: number): MutableCommand => ({
    seq: 0,
    verb: 'END-OF-DATA',
    verbText: '.',
    argument: '',
    tsMicros,
    reply: null,
    transaction: t?.depth ?? null,
    pipelined: false,
    encrypted: clientEncrypted,
  });

  /** The BDAT command row that carries this transaction's LAST chunk (the latest BDAT row of the transaction). */
  const lastBdatRow = (t: MutableTransaction): MutableCommand | null => {
    for (let i = commands.length - 1; i >= 0; i--) {
      const c = commands[i] as MutableCommand;
      if (c.transaction !== null && c.transaction < t.depth) break;
      if (c.verb === 'BDAT' && c.transaction === t.depth) return c;
    }
    return null;
  };

  /** Recipients accepted at RCPT (2xx): the number of final replies an LMTP server sends. */
  const acceptedRecipients = (t: MutableTransaction): number => {
    let n = 0;
    for (const r of t.recipients)
      if (r.rcptReply !== null && r.rcptReply.code >= 200 && r.rcptReply.code < 300) n++;
    return n;
  };

  const onEndOfData = (record: ReplyRecord, to: Extract<ReplyTarget, { kind: 'end-of-data' }>): void => {
    if (to.lmtpRecipient !== null) protocol = 'lmtp';
    const id = to.transaction;
    const waiting = id === null ? undefined : awaitingFinal.get(id);
    const argument = to.lmtpRecipient === null ? '' : `recipient ${to.lmtpRecipient + 1}`;
    let t: MutableTransaction | undefined;
    if (waiting !== undefined) {
      t = waiting.transaction;
      if (waiting.remaining === null)
        waiting.remaining = protocol === 'lmtp' ? Math.max(1, acceptedRecipients(t)) : 1;
      const row = waiting.record;
      if (row !== null && row.reply === null) {
        row.reply = record;
        if (row.verb === 'BDAT' && pendingReplies > 0) pendingReplies--;
        if (row.verb === 'END-OF-DATA') row.argument = argument;
      } else if (waiting.last !== null) {
        // A further LMTP reply: its own row, at the time of the final dot, next to the first one.
        const extra = endOfDataRow(t, waiting.endTsMicros);
        extra.argument = argument;
        extra.reply = record;
        if (insertCommandAfter(waiting.last, extra)) waiting.last = extra;
      }
      waiting.remaining--;
      if (waiting.remaining <= 0 && id !== null) awaitingFinal.delete(id);
    } else if (to.mode === 'BDAT' && id === null) {
      // BDAT LAST of a message in no transaction (sent with no MAIL): the reply is its chunk's, nothing else.
      for (let i = commands.length - 1; i >= 0; i--) {
        const c = commands[i] as MutableCommand;
        if (c.verb !== 'BDAT') continue;
        if (c.transaction === null && c.reply === null) {
          c.reply = record;
          if (pendingReplies > 0) pendingReplies--;
        }
        break;
      }
      return;
    } else {
      // No message end awaits this reply: a BDAT LAST answered before its octets ended, or the end of a body
      // whose final dot a gap took. The reply goes to the transaction the decoder names.
      t = id === null ? undefined : byId.get(id);
      if (to.mode === 'BDAT') {
        const bdat = t === undefined ? null : lastBdatRow(t);
        if (bdat !== null && bdat.reply === null) {
          bdat.reply = record;
          if (pendingReplies > 0) pendingReplies--;
        }
      } else {
        const row = endOfDataRow(t, t?.endedAt ?? record.tsMicros);
        row.argument = argument;
        row.reply = record;
        addCommand(row);
      }
    }
    if (t === undefined) return;
    if (to.lmtpRecipient !== null) {
      // lmtpRecipient is the 0-based position among the transaction's RCPT commands.
      const r = t.recipients[to.lmtpRecipient];
      if (r !== undefined) r.lmtpReply = record;
      if (t.finalReply === null) t.finalReply = record;
      t.lmtpReplies++;
    } else if (t.finalReply === null) {
      t.finalReply = record;
    }
    t.endedAt = record.tsMicros;
  };

  /**
   * Copies the start of the message body (the bytes are views valid during the event only) into pooled blocks.
   * Once messageKeepBytes are kept, or the message was summarised, later pieces cost a comparison or two.
   */
  const keepBody = (bytes: Uint8Array): void => {
    const t = receiving;
    if (t === null || t.summarised) return; // summarised already: nothing reads more bytes
    const room = limits.messageKeepBytes - t.bodyKept;
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
  };

  const endMessage = (event: Extract<SmtpEvent, { type: 'message-end' }>): void => {
    const ts = event.tsMicros;
    receiving = null;
    // The end of a body whose start the capture lost: the decoder opened a transaction for it (unknown sender),
    // so that the final reply (and its queue id) is kept.
    const t = messageTransaction(event.transaction, ts, event.awaitsReply);
    if (t === null || event.transaction === null) return;
    t.messageStarted = true;
    t.messageComplete = event.complete;
    // Without a message-start the body's start was lost: its size is unknown.
    t.sizeBytes = t.bodySeen ? event.sizeBytes : null;
    if (t.mode === null) t.mode = 'DATA';
    if (t.endedAt === null) t.endedAt = ts;
    if (event.awaitsReply && t.finalReply === null) {
      // The row is added now, where the dot was sent, so that commands pipelined after it come after it.
      let row: MutableCommand | null;
      if (t.mode === 'BDAT') row = lastBdatRow(t);
      else {
        row = endOfDataRow(t, ts);
        if (!addCommand(row)) row = null;
      }
      // Bounded: a reply-less capture never answers; the oldest wait is dropped.
      if (awaitingFinal.size >= limits.maxTransactions) {
        const oldest = awaitingFinal.keys().next();
        if (oldest.done !== true) awaitingFinal.delete(oldest.value);
      }
      awaitingFinal.set(event.transaction, {
        transaction: t,
        record: row,
        last: row,
        remaining: null,
        endTsMicros: ts,
      });
    }
    const body = t.body;
    if (body !== null && !t.summarised) {
      const truncated = t.bodyTruncated || !event.complete;
      // Synchronous: contiguous() may be a shared scratch buffer, and the blocks go back to the pool after.
      let summary: MessageSummary | null;
      try {
        summary = summarizeMessageSync(body.contiguous(), truncated, limits.maxHeaderBytes);
      } catch {
        summary = null;
      }
      body.release();
      t.body = null;
      t.summarised = true;
      t.summary = summary;
    }
  };

  /** A message starts or a BDAT chunk was sent: its transaction receives the bytes that follow. */
  const messageStarted = (t: MutableTransaction, mode: 'DATA' | 'BDAT'): void => {
    t.mode = mode;
    t.messageStarted = true;
    t.bodySeen = true;
  };

  const apply = (event: SmtpEvent): void => {
    switch (event.type) {
      case 'command':
        onCommand(event.command);
        return;
      case 'reply':
        onReply(event.reply, event.to);
        return;
      case 'state':
        touch(event.tsMicros);
        return;
      case 'message-start': {
        touch(event.tsMicros);
        const t = messageTransaction(event.transaction, event.tsMicros);
        receiving = t;
        if (t !== null) {
          messageStarted(t, event.mode);
          if (unmatched354 !== null && event.mode === 'DATA') {
            if (t.dataReply === null) t.dataReply = unmatched354;
            if (commandsSeen === 0) replyOnlyMessage = t;
          }
        }
        unmatched354 = null;
        return;
      }
      case 'message-bytes':
        keepBody(event.bytes);
        return;
      case 'message-end':
        touch(event.tsMicros);
        endMessage(event);
        return;
      case 'bdat-chunk': {
        touch(event.tsMicros);
        const t = messageTransaction(event.transaction, event.tsMicros);
        if (t !== null) {
          t.bdatChunks++;
          messageStarted(t, 'BDAT');
        }
        return;
      }
      case 'tls-start':
        touch(event.tsMicros);
        tls.mode = event.mode;
        tls.started = true;
        return;
      case 'tls-decryption':
        touch(event.tsMicros);
        tls.decryption = event.status;
        return;
      case 'tls-hello':
        if (event.hello.side === 'client') tls.clientHello = event.hello;
        else tls.serverHello = event.hello;
        return;
      case 'tls-bytes':
        if (event.direction === 'c2s') tls.c2s += event.length;
        else tls.s2c += event.length;
        return;
      case 'auth':
        touch(event.tsMicros);
        auth.push({
          mechanism: event.mechanism,
          username: event.username,
          secret: event.secret,
          outcome: event.outcome,
          tsMicros: event.tsMicros,
        });
        return;
      case 'proxy':
        touch(event.tsMicros);
        proxy = { protocol: event.protocol, target: event.target, accepted: event.accepted };
        return;
      case 'roles-swapped':
        rolesSwapped = true;
        awaitingFinal.clear();
        return;
      case 'gap': {
        touch(event.tsMicros);
        // The decoder clears its queue: the messages awaiting a final reply will not get it from this capture.
        const latest = transactions[transactions.length - 1];
        if (latest !== undefined && !latest.left) latest.gapped = true;
        for (const waiting of awaitingFinal.values()) waiting.transaction.gapped = true;
        awaitingFinal.clear();
        gaps++;
        gapBytes += event.length;
        return;
      }
      case 'anomaly': {
        touch(event.tsMicros);
        const skipped = event.skipped;
        // A command the decoder knows will get no reply (a later reply could only answer a later command) no
        // longer waits for one; an end of data it skipped will get no final reply, and the next one must not take it.
        if (skipped?.kind === 'command' && pendingReplies > 0) pendingReplies--;
        if (skipped?.kind === 'end-of-data') {
          const id = skipped.transaction ?? awaitingFinal.keys().next().value;
          if (id !== undefined) awaitingFinal.delete(id);
        }
        addAnomaly({
          code: event.code,
          direction: event.direction,
          detail: event.detail,
          offset: event.offset,
          tsMicros: event.tsMicros,
        });
        return;
      }
      case 'closed':
        touch(event.tsMicros);
        closeReason = event.reason;
        flowStats = event.stats;
        closed = true;
        return;
    }
  };

  const sessionEnd = (): SessionEnd => {
    if (quitAnswered) return 'quit';
    if (saw421) return 'server-421';
    if (quitSent) return 'quit-unanswered';
    switch (closeReason) {
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
  };

  const build = (): SmtpSession => {
    const stats: FlowStats = flowStats ?? emptyFlowStats(startedAt, lastTs);
    const noReplies = repliesSeen === 0 && stats.s2c.packets === 0;
    const end = sessionEnd();
    const connectionLost = end !== 'quit' && end !== 'quit-unanswered';
    const built = transactions.map((t) => buildTransaction(t, { noReplies, connectionLost }));
    const oneSided: SmtpSession['quality']['oneSided'] =
      stats.s2c.packets === 0 && stats.c2s.packets > 0
        ? 'c2s-only'
        : stats.c2s.packets === 0 && stats.s2c.packets > 0
          ? 's2c-only'
          : null;
    const greetingText = greeting?.text ?? null;
    const session: SmtpSession = {
      id: flow.id,
      client: flow.client,
      server: flow.server,
      orientation: flow.basis,
      protocol,
      startedAt: Number.isNaN(startedAt) ? stats.firstTsMicros : Math.min(startedAt, stats.firstTsMicros),
      endedAt: Number.isNaN(lastTs) ? stats.lastTsMicros : Math.max(lastTs, stats.lastTsMicros),
      end,
      closeReason: closeReason ?? 'end-of-capture',
      greeting,
      serverName: greetingText === null ? null : serverNameFromGreeting(greetingText),
      software: guessMtaSoftware(greetingText, ehloLines),
      helo,
      heloVerb,
      capabilities,
      tls: {
        mode: tls.mode,
        offered: capabilities?.starttls ?? false,
        refused: tls.refused,
        clientHello: tls.clientHello,
        serverHello: tls.serverHello,
        bytes: { c2s: tls.c2s, s2c: tls.s2c },
        capabilities: tls.capabilities,
        clearTextAfterStarttls: tls.accepted && !tls.started,
        decryption: tls.decryption,
      },
      auth: auth.slice(),
      transactions: built,
      // Written out rather than spread (measured: the spread was most of build()); same key order.
      commands: commands.map((c) =>
        c.encrypted
          ? {
              seq: c.seq,
              verb: c.verb,
              verbText: c.verbText,
              argument: c.argument,
              tsMicros: c.tsMicros,
              reply: c.reply,
              transaction: c.transaction,
              pipelined: c.pipelined,
              latencyMicros: c.reply === null ? null : c.reply.tsMicros - c.tsMicros,
              encrypted: true,
            }
          : {
              seq: c.seq,
              verb: c.verb,
              verbText: c.verbText,
              argument: c.argument,
              tsMicros: c.tsMicros,
              reply: c.reply,
              transaction: c.transaction,
              pipelined: c.pipelined,
              latencyMicros: c.reply === null ? null : c.reply.tsMicros - c.tsMicros,
            },
      ),
      commandsDropped,
      unmatchedReplies: unmatchedReplies.slice(),
      anomalies: anomalies.slice(),
      anomaliesDropped,
      quality: {
        midstream: !stats.sawSyn && !stats.sawSynAck,
        oneSided,
        gaps: stats.c2s.gaps + stats.s2c.gaps || gaps,
        gapBytes: stats.c2s.gapBytes + stats.s2c.gapBytes || gapBytes,
        retransmissions: stats.c2s.retransmissions + stats.s2c.retransmissions,
        overlapsDiffering: stats.c2s.overlapsDiffering + stats.s2c.overlapsDiffering,
      },
      flow: stats,
      rolesSwapped,
      swapped: rolesSwapped ? buildSwapped() : null,
    };
    return proxy === null ? session : { ...session, proxy };
  };

  const buildSwapped = (): SwappedSide => {
    const text = swapped.greeting?.text ?? null;
    return {
      greeting: swapped.greeting,
      serverName: text === null ? null : serverNameFromGreeting(text),
      software: guessMtaSoftware(text, swapped.ehloLines),
      helo: swapped.helo,
      heloVerb: swapped.heloVerb,
      capabilities: swapped.capabilities,
    };
  };

  return {
    apply,
    peek: build,
    finish(): Promise<SmtpSession> {
      return Promise.resolve(build());
    },
    finishNow: build,
    get closed() {
      return closed;
    },
  };
}

interface TransactionContext {
  /** No server reply was captured in the whole session (client-only capture). */
  readonly noReplies: boolean;
  /** The session ended without QUIT (reset, lost, timed out, cut by the end of the capture). */
  readonly connectionLost: boolean;
}

function isFailure(reply: ReplyRecord | null): reply is ReplyRecord {
  return reply !== null && reply.code >= 400;
}

function outcomeOf(reply: ReplyRecord): TransactionOutcome {
  return reply.code >= 500 ? 'rejected' : reply.code >= 400 ? 'deferred' : 'accepted';
}

function buildTransaction(t: MutableTransaction, ctx: TransactionContext): TransactionRecord {
  let outcome: TransactionOutcome;
  let failureStage: FailureStage | null = null;
  let deciding: ReplyRecord | null = null;
  const rcptReplies = t.recipients.map((r) => r.rcptReply);
  const allRcptFailed = rcptReplies.length > 0 && rcptReplies.every(isFailure);

  if (t.lmtpReplies > 0) {
    const finals = t.recipients.map((r) => r.lmtpReply).filter((r): r is ReplyRecord => r !== null);
    const ok = finals.some((r) => r.code < 400);
    const failed = finals.find(isFailure) ?? null;
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
    const worst = rcptReplies.find((r) => r !== null && r.code >= 500) ?? rcptReplies[0] ?? null;
    deciding = worst;
    outcome = worst !== null ? outcomeOf(worst) : 'rejected';
    failureStage = 'rcpt';
  } else if (isFailure(t.dataReply)) {
    outcome = outcomeOf(t.dataReply);
    failureStage = 'data';
    deciding = t.dataReply;
  } else if (ctx.noReplies) {
    outcome = 'unknown';
  } else if (t.messageStarted || t.mode !== null) {
    outcome = 'incomplete';
    failureStage = t.gapped ? 'capture-gap' : 'connection-lost';
  } else if (t.abandoned || !ctx.connectionLost) {
    outcome = 'aborted';
  } else {
    outcome = 'incomplete';
    failureStage = t.gapped ? 'capture-gap' : 'connection-lost';
  }

  const reasonClass =
    deciding === null
      ? null
      : classifyFailure(deciding.code, deciding.enhancedStatus, deciding.text, failureStage ?? undefined);

  const recipients: RecipientRecord[] = t.recipients.map((r) => buildRecipient(r, t, ctx));
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
  ctx: TransactionContext,
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
  } else if (t.abandoned || !ctx.connectionLost) {
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
    meaning: replyMeaning(recipientDecidingReply({ rcptReply: r.rcptReply, finalReply })),
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
