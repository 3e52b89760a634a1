/**
 * Minimal smtpscope sessions for the comparison tests: only the fields the conformance views read are filled;
 * the rest of the model is left out (the comparisons never read it).
 */

import type { CommandRecord, ReplyRecord, SmtpSession, TransactionRecord } from '../../src/model/types.js';

export const reply = (code: number, text = '', tsMicros = 0): ReplyRecord => ({
  code,
  enhancedStatus: null,
  text,
  tsMicros,
});

export function command(
  verb: CommandRecord['verb'],
  code: number | null,
  extra: Partial<CommandRecord> = {},
): CommandRecord {
  return {
    seq: 0,
    verb,
    verbText: verb,
    argument: '',
    tsMicros: 0,
    reply: code === null ? null : reply(code),
    latencyMicros: null,
    transaction: null,
    pipelined: false,
    ...extra,
  };
}

export function transaction(depth: number, extra: Record<string, unknown> = {}): TransactionRecord {
  return {
    depth,
    mailFrom: null,
    mailParams: {},
    mailReply: null,
    recipients: [],
    mode: null,
    dataReply: null,
    sizeBytes: null,
    bdatChunks: 0,
    messageComplete: false,
    finalReply: null,
    queueId: null,
    message: null,
    startedAt: 0,
    endedAt: null,
    ...extra,
  } as unknown as TransactionRecord;
}

export function session(extra: Record<string, unknown> = {}): SmtpSession {
  return {
    id: 'S1',
    client: { ip: '10.0.0.1', port: 40000 },
    server: { ip: '10.0.0.2', port: 25 },
    greeting: reply(220, 'ready'),
    helo: null,
    tls: { mode: 'none' },
    auth: [],
    transactions: [],
    commands: [],
    unmatchedReplies: [],
    anomalies: [],
    startedAt: 0,
    ...extra,
  } as unknown as SmtpSession;
}
