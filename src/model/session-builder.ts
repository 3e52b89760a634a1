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
  /** RSET, QUIT or a new MAIL came before a message was sent. */
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
    readonly open: MutableTransaction | null;
  } | null = null;
  const auth: AuthInfo[] = [];
  const transactions: MutableTransaction[] = [];
  let current: MutableTransaction | null = null;
  const commands: MutableCommand[] = [];
  /** Command records by decoder command seq (only those kept). */
  const commandBySeq = new Map<number, MutableCommand>();
  /** Recipient awaiting a reply, by the RCPT command's seq. */
  const recipientBySeq = new Map<number, MutableRecipient>();
  /** A MAIL sent while a transaction was open, awaiting its reply, by command seq: what a refusal restores. */
  const nestedMailBySeq = new Map<
    number,
    { previous: MutableTransaction; created: MutableTransaction | null }
  >();
  /**
   * Messages whose end-of-data mark was sent, awaiting their final reply (LMTP: one per accepted recipient), oldest
   * first. The reply goes to the transaction whose message ended, not to the one open when it arrives: a client may
   * pipeline the next MAIL right after the final dot (RFC 2920).
   */
  const awaitingFinal: AwaitingFinal[] = [];
  let awaitingHead = 0;
  let commandsDropped = 0;
  const anomalies: AnomalyRecord[] = [];
  let anomaliesDropped = 0;
  let pendingReplies = 0;
  let quitSent = false;
  /**
   * The latest client line was read inside TLS: a message body, and so its END-OF-DATA row, travelled as the DATA
   * command before it did (TLS cannot start inside a message).
   */
  let clientEncrypted = false;
  let quitAnswered = false;
  /**
   * The message being sent belongs to no transaction: its BDAT came with none open and the decoder placed it in
   * none (no MAIL before it, the envelope known: the server refuses it). Its message events and end-of-data reply
   * change no transaction.
   */
  let messageOutside = false;
  let saw421 = false;
  let rolesSwapped = false;
  let proxy: ProxyInfo | null = null;
  let repliesSeen = 0;
  let closeReason: SmtpSession['closeReason'] | null = null;
  let flowStats: FlowStats | null = null;
  let gaps = 0;
  let gapBytes = 0;
  let closed = false;
  /**
   * The start of the dialogue, or of the transaction at hand, may be missing: no handshake was seen, the capture
   * started mid-session or a gap came. Until MAIL, RSET or HELO, a RCPT or a message with no transaction open
   * opens one with an unknown sender instead of being dropped.
   */
  let lostStart = flow.basis !== 'syn';
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

  /** Marks the open transaction as left behind before its message was sent. */
  const abandonCurrent = (): void => {
    if (current !== null && !current.messageStarted && current.finalReply === null) current.abandoned = true;
    current = null;
  };

  /**
   * Starts a transaction at MAIL; `command` null: a RCPT, DATA, BDAT, end of data or 354 came with no MAIL before
   * it. `midstream`: its MAIL was lost (the capture started, or a gap ended, inside it), so the sender is unknown.
   */
  const newTransaction = (
    command: SmtpCommand | null,
    tsMicros: number,
    midstream = false,
  ): MutableTransaction | null => {
    abandonCurrent();
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
    current = t;
    return t;
  };

  const onCommand = (command: SmtpCommand): void => {
    touch(command.tsMicros);
    commandsSeen++;
    clientEncrypted = command.encrypted;
    // Sent while earlier commands, or a final dot, still awaited replies (QUIT or MAIL behind the dot, RFC 2920).
    const pipelined =
      command.kind === 'command' && (pendingReplies > 0 || awaitingHead < awaitingFinal.length);
    if (command.kind === 'command') {
      pendingReplies++;
      messageOutside = command.verb === 'BDAT' && command.transaction === null;
    }
    let transaction: MutableTransaction | null = current;
    switch (command.verb) {
      case 'HELO':
      case 'EHLO':
      case 'LHLO':
        helloPending = {
          seq: command.seq,
          helo: rolesSwapped ? swapped.helo : helo,
          heloVerb: rolesSwapped ? swapped.heloVerb : heloVerb,
          open: current !== null && !current.messageStarted && current.finalReply === null ? current : null,
        };
        if (rolesSwapped) {
          swapped.helo = command.argument.trim().split(/\s+/)[0] ?? '';
          swapped.heloVerb = command.verb;
        } else {
          helo = command.argument.trim().split(/\s+/)[0] ?? '';
          heloVerb = command.verb;
        }
        if (command.verb === 'LHLO') protocol = 'lmtp';
        abandonCurrent();
        lostStart = false;
        transaction = null;
        break;
      case 'MAIL':
      case 'SEND':
      case 'SOML':
      case 'SAML': {
        const previous = current;
        const open =
          previous !== null &&
          !previous.messageStarted &&
          previous.finalReply === null &&
          (previous.mailReply === null || previous.mailReply.code < 400);
        lostStart = false;
        transaction = newTransaction(command, command.tsMicros);
        if (open && previous !== null && nestedMailBySeq.size < limits.maxTransactions)
          nestedMailBySeq.set(command.seq, { previous, created: transaction });
        break;
      }
      case 'RCPT':
        // A RCPT whose MAIL the capture missed: a transaction with an unknown sender keeps its recipients.
        if (current === null && lostStart) transaction = newTransaction(null, command.tsMicros, true);
        // The decoder places it in no transaction (no MAIL since the last message ended, RSET or HELO): it joins
        // none, rather than the finished one at hand.
        if (current === null || command.transaction === null) transaction = null;
        else if (current.recipients.length >= limits.maxRecipients) current.recipientsDropped++;
        else {
          const r: MutableRecipient = {
            index: current.recipients.length + 1,
            address: command.path ?? command.argument,
            params: command.params,
            rcptTsMicros: command.tsMicros,
            rcptReply: null,
            lmtpReply: null,
          };
          current.recipients.push(r);
          recipientBySeq.set(command.seq, r);
        }
        break;
      case 'DATA':
      case 'BDAT':
        // A BDAT that no transaction can take (a malformed one with no MAIL before it) opens none.
        if (command.transaction === null) {
          transaction = null;
          break;
        }
        // A message with no MAIL before it (a broken or hostile client) still gets a transaction, so that its
        // content and the server's answer are not lost; its sender is unknown (null).
        if (current === null || (current.mode !== null && current.messageComplete))
          transaction = newTransaction(null, command.tsMicros, lostStart);
        if (transaction !== null && transaction.mode === null) transaction.mode = command.verb;
        break;
      case 'RSET':
        abandonCurrent();
        lostStart = false;
        transaction = null;
        break;
      case 'QUIT':
        quitSent = true;
        abandonCurrent();
        transaction = null;
        break;
      default:
        if (command.kind === 'command' && command.verb !== 'UNKNOWN' && command.verb !== 'NOOP')
          transaction = null;
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
    const t = kept !== undefined && kept.transaction !== null ? transactions[kept.transaction - 1] : current;
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
      case 'SAML': {
        const nested = nestedMailBySeq.get(command.seq);
        nestedMailBySeq.delete(command.seq);
        if (nested !== undefined && reply.code >= 400) {
          // RFC 5321 3.3: MAIL inside a transaction is refused (503) and the open transaction goes on.
          restoreAfterNestedMail(nested.previous, nested.created, kept);
          break;
        }
        if (t !== undefined && t !== null) t.mailReply = record;
        break;
      }
      case 'RCPT': {
        const r = recipientBySeq.get(command.seq);
        if (r !== undefined) {
          r.rcptReply = record;
          recipientBySeq.delete(command.seq);
        }
        break;
      }
      case 'DATA':
        if (t !== undefined && t !== null) {
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
        if (
          reply.code >= 400 &&
          command.transaction !== null &&
          t !== undefined &&
          t !== null &&
          t.dataReply === null
        )
          t.dataReply = record;
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
    const open = before.open;
    if (open !== null && current === null && transactions[transactions.length - 1] === open) {
      open.abandoned = false;
      current = open;
      lostStart = false;
    }
  };

  /**
   * A refused MAIL sent inside an open transaction: the transaction it started is dropped and the one before it
   * goes on, taking what was sent since (pipelined RCPT and DATA).
   */
  const restoreAfterNestedMail = (
    previous: MutableTransaction,
    created: MutableTransaction | null,
    mail: MutableCommand | undefined,
  ): void => {
    if (mail !== undefined && created === null) mail.transaction = previous.depth;
    if (current === created) {
      previous.abandoned = false; // it was open when the MAIL came, so only that MAIL abandoned it
      current = previous;
    }
    if (created === null) return;
    if (transactions[transactions.length - 1] === created) {
      transactions.pop();
      for (const r of created.recipients) {
        if (previous.recipients.length >= limits.maxRecipients) {
          previous.recipientsDropped++;
          continue;
        }
        r.index = previous.recipients.length + 1;
        previous.recipients.push(r);
      }
      previous.recipientsDropped += created.recipientsDropped;
      if (previous.mode === null) previous.mode = created.mode;
      // The commands sent since the MAIL (kept after it, or not at all) move to the transaction that goes on.
      if (mail !== undefined) {
        for (let i = commands.length - 1; i >= 0; i--) {
          const c = commands[i] as MutableCommand;
          if (c.transaction === created.depth) c.transaction = previous.depth;
          if (c === mail) break;
        }
      }
    } else {
      created.abandoned = true; // a later transaction exists already: leave the depths as they are
    }
  };

  /**
   * A reply that answers no command the capture holds. A 354 still says a message is starting: the transaction at
   * hand (or a new one with an unknown sender) gets it as its DATA reply. In a server-only capture, where nothing
   * pairs, the reply after a 354 is that message's final reply.
   */
  const onUnmatchedReply = (record: ReplyRecord): void => {
    if (record.code === 354) {
      let t = current;
      if (
        t === null ||
        t.finalReply !== null ||
        t.dataReply !== null ||
        (t.messageStarted && t.mode !== null)
      )
        t = newTransaction(null, record.tsMicros, true);
      if (t === null) return;
      t.mode = 'DATA';
      t.dataReply = record;
      t.messageStarted = true;
      return;
    }
    const t = current;
    if (
      commandsSeen === 0 &&
      t !== null &&
      t.dataReply !== null &&
      t.dataReply.code === 354 &&
      t.finalReply === null
    ) {
      t.finalReply = record;
      t.endedAt = record.tsMicros;
      current = null;
    }
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
    const waiting =
      awaitingHead < awaitingFinal.length ? (awaitingFinal[awaitingHead] as AwaitingFinal) : null;
    const argument = to.lmtpRecipient === null ? '' : `recipient ${to.lmtpRecipient + 1}`;
    let t: MutableTransaction | undefined;
    if (waiting !== null) {
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
      if (waiting.remaining <= 0) {
        awaitingHead++;
        if (awaitingHead >= awaitingFinal.length) {
          awaitingFinal.length = 0;
          awaitingHead = 0;
        }
      }
    } else if (to.mode === 'BDAT' && to.transaction === null) {
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
      // No message end awaits a reply: a BDAT LAST answered before its octets ended, or the end of a body whose
      // start the capture lost. The reply goes to the transaction at hand.
      t = current ?? transactions[transactions.length - 1];
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

  /** Forgets the messages awaiting final replies (a gap or a role swap cleared the decoder's queue). */
  const clearAwaitingFinal = (): void => {
    awaitingFinal.length = 0;
    awaitingHead = 0;
  };

  /**
   * Copies the start of the message body (the bytes are views valid during the event only) into pooled blocks.
   * Once messageKeepBytes are kept, or the message was summarised, later pieces cost a comparison or two.
   */
  const keepBody = (bytes: Uint8Array): void => {
    const t = current;
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

  const endMessage = (sizeBytes: number, complete: boolean, awaitsReply: boolean, ts: number): void => {
    // The end of a body whose start the capture lost, with no transaction open: one with an unknown sender, so
    // that the final reply (and its queue id) is kept.
    if (current === null && awaitsReply) newTransaction(null, ts, true);
    const t = current;
    if (t === null) return;
    t.messageStarted = true;
    t.messageComplete = complete;
    // Without a message-start the body's start was lost: its size is unknown.
    t.sizeBytes = t.bodySeen ? sizeBytes : null;
    if (t.mode === null) t.mode = 'DATA';
    if (t.endedAt === null) t.endedAt = ts;
    if (awaitsReply && t.finalReply === null) {
      // The row is added now, where the dot was sent, so that commands pipelined after it come after it.
      let row: MutableCommand | null;
      if (t.mode === 'BDAT') row = lastBdatRow(t);
      else {
        row = endOfDataRow(t, ts);
        if (!addCommand(row)) row = null;
      }
      awaitingFinal.push({ transaction: t, record: row, last: row, remaining: null, endTsMicros: ts });
    }
    const body = t.body;
    if (body !== null && !t.summarised) {
      const truncated = t.bodyTruncated || !complete;
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
      case 'message-start':
        touch(event.tsMicros);
        if (current !== null && !messageOutside) {
          current.mode = event.mode;
          current.messageStarted = true;
          current.bodySeen = true;
        }
        return;
      case 'message-bytes':
        if (!messageOutside) keepBody(event.bytes);
        return;
      case 'message-end':
        touch(event.tsMicros);
        if (messageOutside) {
          messageOutside = false;
          return;
        }
        endMessage(event.sizeBytes, event.complete, event.awaitsReply, event.tsMicros);
        return;
      case 'bdat-chunk':
        touch(event.tsMicros);
        if (current !== null && !messageOutside) {
          current.bdatChunks++;
          current.mode = 'BDAT';
          current.messageStarted = true;
          current.bodySeen = true;
        }
        return;
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
        clearAwaitingFinal();
        return;
      case 'gap':
        touch(event.tsMicros);
        lostStart = true;
        if (current !== null) current.gapped = true;
        for (let i = awaitingHead; i < awaitingFinal.length; i++)
          (awaitingFinal[i] as AwaitingFinal).transaction.gapped = true;
        clearAwaitingFinal();
        gaps++;
        gapBytes += event.length;
        return;
      case 'anomaly':
        touch(event.tsMicros);
        if (event.code === 'midstream') lostStart = true;
        // A command the decoder knows will get no reply (a later reply could only answer a later command) no
        // longer waits for one; the offset is set for commands only (not AUTH responses or ends of data).
        if (event.skipped?.kind === 'command' && pendingReplies > 0) pendingReplies--;
        // An end of data the decoder skipped (a later reply could only answer a later command): its message will
        // get no final reply, and the next one must not take it.
        if (event.skipped?.kind === 'end-of-data' && awaitingHead < awaitingFinal.length) awaitingHead++;
        addAnomaly({
          code: event.code,
          direction: event.direction,
          detail: event.detail,
          offset: event.offset,
          tsMicros: event.tsMicros,
        });
        return;
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
