/**
 * Builders of realistic {@link SmtpSession} models for tests of everything that reads sessions (reports,
 * dashboard, summary). Every builder takes overrides; defaults describe one ordinary Postfix delivery:
 *
 *   client 192.0.2.10:50123 → server 198.51.100.25:25, SYN seen, greeting 220 mx.example.net ESMTP Postfix,
 *   EHLO client.example.org, STARTTLS offered but not used, one transaction from alice@example.org to
 *   bob@example.net accepted with 250 2.0.0 "Ok: queued as 4XyZ1A2b3C", QUIT answered 221.
 *
 * Times are integer microseconds since the epoch, starting at {@link T0} (2024-03-01T12:00:00Z).
 * When `commands` is not overridden, `makeSession` derives a consistent command list from its transactions
 * (EHLO, then MAIL / RCPT... / DATA / END-OF-DATA per transaction, then QUIT).
 */

import type { Endpoint } from '../../src/decode/types.js';
import type {
  AuthInfo,
  Capabilities,
  CaptureQuality,
  CommandRecord,
  DsnRecipient,
  DsnReport,
  MessageSummary,
  MimePart,
  RecipientRecord,
  ReplyRecord,
  SmtpSession,
  TlsInfo,
  TransactionRecord,
} from '../../src/model/types.js';
import type { DirectionStats, FlowStats } from '../../src/reassembly/types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type Overrides<T> = Partial<Mutable<T>>;

/** 2024-03-01T12:00:00.000000Z in microseconds. */
export const T0 = Date.UTC(2024, 2, 1, 12, 0, 0) * 1000;

export const CLIENT: Endpoint = { ip: '192.0.2.10', port: 50123 };
export const SERVER: Endpoint = { ip: '198.51.100.25', port: 25 };

export function makeReply(
  code: number,
  enhancedStatus: string | null = null,
  text = '',
  tsMicros: number = T0,
): ReplyRecord {
  return { code, enhancedStatus, text, tsMicros };
}

export function makeCapabilities(overrides: Overrides<Capabilities> = {}): Capabilities {
  return {
    keywords: [
      'PIPELINING',
      'SIZE',
      'STARTTLS',
      'ENHANCEDSTATUSCODES',
      '8BITMIME',
      'DSN',
      'SMTPUTF8',
      'CHUNKING',
    ],
    size: 10240000,
    pipelining: true,
    chunking: true,
    eightBitMime: true,
    binaryMime: false,
    smtpUtf8: true,
    dsn: true,
    enhancedStatusCodes: true,
    starttls: true,
    authMechanisms: [],
    other: [],
    ...overrides,
  };
}

export function makeTls(overrides: Overrides<TlsInfo> = {}): TlsInfo {
  return {
    mode: 'none',
    offered: true,
    refused: false,
    clientHello: null,
    serverHello: null,
    bytes: { c2s: 0, s2c: 0 },
    ...overrides,
  };
}

export function makeAuth(overrides: Overrides<AuthInfo> = {}): AuthInfo {
  return {
    mechanism: 'PLAIN',
    username: 'alice',
    secret: null,
    outcome: 'success',
    tsMicros: T0 + 30_000,
    ...overrides,
  };
}

export function makeMimePart(overrides: Overrides<MimePart> = {}): MimePart {
  return { contentType: 'text/plain', filename: null, sizeBytes: 120, disposition: null, ...overrides };
}

export function makeDsnRecipient(overrides: Overrides<DsnRecipient> = {}): DsnRecipient {
  return {
    finalRecipient: 'rfc822; bob@example.net',
    originalRecipient: null,
    action: 'failed',
    status: '5.1.1',
    diagnosticCode: 'smtp; 550 5.1.1 <bob@example.net>: Recipient address rejected: User unknown',
    remoteMta: 'dns; mx.example.net',
    ...overrides,
  };
}

export function makeDsn(overrides: Overrides<DsnReport> = {}): DsnReport {
  return {
    reportingMta: 'dns; relay.example.org',
    arrivalDate: 'Fri, 1 Mar 2024 12:00:00 +0000',
    originalEnvelopeId: null,
    originalMessageId: '<20240301120000.1@example.org>',
    recipients: [makeDsnRecipient()],
    ...overrides,
  };
}

export function makeMessage(overrides: Overrides<MessageSummary> = {}): MessageSummary {
  return {
    from: 'Alice <alice@example.org>',
    fromAll: ['Alice <alice@example.org>'],
    to: ['Bob <bob@example.net>'],
    cc: [],
    replyTo: null,
    subject: 'Quarterly report',
    date: 'Fri, 1 Mar 2024 12:00:00 +0000',
    messageId: '<20240301120000.1@example.org>',
    inReplyTo: null,
    received: [],
    userAgent: 'Thunderbird 115.8',
    contentType: 'text/plain; charset=utf-8',
    parts: [makeMimePart()],
    dsn: null,
    truncated: false,
    ...overrides,
  };
}

export function makeRecipient(overrides: Overrides<RecipientRecord> = {}): RecipientRecord {
  const rcptTsMicros = overrides.rcptTsMicros ?? T0 + 60_000;
  return {
    index: 1,
    address: 'bob@example.net',
    params: {},
    rcptTsMicros,
    rcptReply: makeReply(250, '2.1.5', '2.1.5 Ok', rcptTsMicros + 1_500),
    finalReply: makeReply(250, '2.0.0', '2.0.0 Ok: queued as 4XyZ1A2b3C', T0 + 100_000),
    disposition: 'delivered',
    reasonClass: null,
    ...overrides,
  };
}

export function makeTransaction(overrides: Overrides<TransactionRecord> = {}): TransactionRecord {
  const startedAt = overrides.startedAt ?? T0 + 50_000;
  return {
    depth: 1,
    mailFrom: 'alice@example.org',
    mailParams: { SIZE: '1234', BODY: '8BITMIME' },
    mailReply: makeReply(250, '2.1.0', '2.1.0 Ok', startedAt + 1_000),
    recipients: [makeRecipient()],
    mode: 'DATA',
    dataReply: makeReply(354, null, 'End data with <CR><LF>.<CR><LF>', startedAt + 12_000),
    sizeBytes: 1234,
    bdatChunks: 0,
    messageComplete: true,
    finalReply: makeReply(250, '2.0.0', '2.0.0 Ok: queued as 4XyZ1A2b3C', T0 + 100_000),
    queueId: '4XyZ1A2b3C',
    outcome: 'accepted',
    failureStage: null,
    reasonClass: null,
    message: makeMessage(),
    startedAt,
    endedAt: T0 + 100_000,
    ...overrides,
  };
}

export function makeCommand(overrides: Overrides<CommandRecord> = {}): CommandRecord {
  const tsMicros = overrides.tsMicros ?? T0 + 10_000;
  const reply =
    overrides.reply === undefined ? makeReply(250, '2.0.0', '2.0.0 Ok', tsMicros + 1_000) : overrides.reply;
  return {
    seq: 0,
    verb: 'NOOP',
    verbText: 'NOOP',
    argument: '',
    tsMicros,
    reply,
    latencyMicros: reply === null ? null : reply.tsMicros - tsMicros,
    transaction: null,
    pipelined: false,
    ...overrides,
  };
}

export function makeDirectionStats(overrides: Partial<DirectionStats> = {}): DirectionStats {
  return {
    packets: 12,
    bytes: 1800,
    gapBytes: 0,
    gaps: 0,
    retransmissions: 0,
    overlapsDiffering: 0,
    outOfOrder: 0,
    ...overrides,
  };
}

export function makeFlowStats(overrides: Overrides<FlowStats> = {}): FlowStats {
  return {
    firstTsMicros: T0,
    lastTsMicros: T0 + 200_000,
    c2s: makeDirectionStats({ bytes: 1500 }),
    s2c: makeDirectionStats({ bytes: 600 }),
    sawSyn: true,
    sawSynAck: true,
    ...overrides,
  };
}

export function makeQuality(overrides: Overrides<CaptureQuality> = {}): CaptureQuality {
  return {
    midstream: false,
    oneSided: null,
    gaps: 0,
    gapBytes: 0,
    retransmissions: 0,
    overlapsDiffering: 0,
    ...overrides,
  };
}

/**
 * A command list consistent with `transactions`: EHLO at T0+10ms, per transaction MAIL, each RCPT, then
 * DATA and END-OF-DATA when the transaction has a mode, and QUIT at the end. Replies come from the records.
 */
export function commandsFor(
  helo: string | null,
  transactions: readonly TransactionRecord[],
  endedAt: number,
): CommandRecord[] {
  const out: CommandRecord[] = [];
  const push = (c: Overrides<CommandRecord>): void => {
    out.push(makeCommand({ ...c, seq: out.length }));
  };
  if (helo !== null) {
    push({
      verb: 'EHLO',
      verbText: 'EHLO',
      argument: helo,
      tsMicros: T0 + 10_000,
      reply: makeReply(250, null, 'mx.example.net\nPIPELINING\nSIZE 10240000\nSTARTTLS', T0 + 11_000),
    });
  }
  for (const t of transactions) {
    push({
      verb: 'MAIL',
      verbText: 'MAIL',
      argument: `FROM:<${t.mailFrom ?? ''}>`,
      tsMicros: t.startedAt,
      reply: t.mailReply,
      transaction: t.depth,
    });
    for (const r of t.recipients) {
      push({
        verb: 'RCPT',
        verbText: 'RCPT',
        argument: `TO:<${r.address}>`,
        tsMicros: r.rcptTsMicros,
        reply: r.rcptReply,
        transaction: t.depth,
      });
    }
    if (t.mode === 'DATA') {
      push({
        verb: 'DATA',
        verbText: 'DATA',
        argument: '',
        tsMicros: (t.dataReply?.tsMicros ?? t.startedAt + 12_000) - 1_000,
        reply: t.dataReply,
        transaction: t.depth,
      });
    }
    if (t.mode !== null) {
      push({
        verb: 'END-OF-DATA',
        verbText: '.',
        argument: '',
        tsMicros: (t.finalReply?.tsMicros ?? t.endedAt ?? t.startedAt + 40_000) - 5_000,
        reply: t.finalReply,
        transaction: t.depth,
      });
    }
  }
  push({
    verb: 'QUIT',
    verbText: 'QUIT',
    argument: '',
    tsMicros: endedAt - 2_000,
    reply: makeReply(221, '2.0.0', '2.0.0 Bye', endedAt - 1_000),
  });
  return out;
}

export function makeSession(overrides: Overrides<SmtpSession> = {}): SmtpSession {
  const client = overrides.client ?? CLIENT;
  const server = overrides.server ?? SERVER;
  const startedAt = overrides.startedAt ?? T0;
  const endedAt = overrides.endedAt ?? T0 + 200_000;
  const helo = overrides.helo === undefined ? 'client.example.org' : overrides.helo;
  const transactions = overrides.transactions ?? [makeTransaction()];
  return {
    id: `${startedAt}-${client.ip}:${client.port}-${server.ip}:${server.port}`,
    client,
    server,
    orientation: 'syn',
    protocol: 'smtp',
    startedAt,
    endedAt,
    end: 'quit',
    closeReason: 'fin',
    greeting: makeReply(220, null, 'mx.example.net ESMTP Postfix', startedAt + 5_000),
    serverName: 'mx.example.net',
    software: 'postfix',
    helo,
    heloVerb: helo === null ? null : 'EHLO',
    capabilities: makeCapabilities(),
    tls: makeTls(),
    auth: [],
    transactions,
    commands: overrides.commands ?? commandsFor(helo, transactions, endedAt),
    commandsDropped: 0,
    anomalies: [],
    unmatchedReplies: [],
    anomaliesDropped: 0,
    quality: makeQuality(),
    flow: makeFlowStats({ firstTsMicros: startedAt, lastTsMicros: endedAt }),
    rolesSwapped: false,
    ...overrides,
  };
}
