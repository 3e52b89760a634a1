/**
 * Delivery status notifications seen in the traffic (a transaction with the null reverse path carrying a
 * DSN, RFC 3464), one row per DSN recipient, joined to the transaction of the capture that carried the
 * message it reports on (by Message-ID, else by recipient).
 *
 * Streaming: {@link createDsnMatcher} takes sessions as they close and keeps, per transaction, only what the
 * join needs (ids, times, the server and queue id: about 200 bytes, never the session) plus the DSN rows; the
 * join runs at the end, when every transaction that started before a DSN is known. The index holds the
 * {@link MAX_DSN_CANDIDATES} transactions that closed last (docs/LIMITS.md): an older one is forgotten, and a DSN
 * whose original was forgotten is reported without it; `forgotten()` counts them so the report can say so.
 */

import type { Endpoint } from '../decode/types.js';
import type { ReasonClass, SmtpSession } from '../model/types.js';
import { type Severity, severityOf } from './bounce-failures.js';
import { enhancedMeaning, explainReply, reasonOf } from './failure-text.js';

/** One transaction of the capture that carried the message a DSN reports on. */
export interface DsnHop {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly server: Endpoint;
  readonly queueId: string | null;
}

export interface DsnOriginal {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly mailFrom: string | null;
  readonly queueId: string | null;
  readonly matchedBy: 'message-id' | 'recipient';
  /**
   * Every transaction before the DSN that carried the same Message-ID (the original itself included), oldest
   * first: a message relayed through several servers in the capture has one per hop, and often only the
   * hop into the reporting MTA has a queue id. With `matchedBy: 'recipient'`, the original alone.
   */
  readonly hops: readonly DsnHop[];
}

/** One recipient of a delivery status notification carried in the traffic (MAIL FROM:<>). */
export interface DsnRow {
  readonly sessionId: string;
  readonly depth: number;
  readonly tsMicros: number;
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** Who the DSN was sent to (its envelope recipients): the original sender. */
  readonly notified: readonly string[];
  readonly reportingMta: string | null;
  readonly action: string | null;
  readonly status: string | null;
  readonly statusMeaning: string | null;
  readonly diagnosticCode: string | null;
  readonly remoteMta: string | null;
  readonly finalRecipient: string | null;
  readonly originalRecipient: string | null;
  readonly originalMessageId: string | null;
  readonly originalEnvelopeId: string | null;
  readonly severity: Severity;
  readonly reasonClass: ReasonClass | null;
  readonly explanation: string | null;
  /** The transaction the DSN reports on, when it is in the capture. */
  readonly original: DsnOriginal | null;
}

/** `rfc822; bob@example.net` → `bob@example.net` (lower-cased). */
export function dsnAddress(value: string | null): string | null {
  if (value === null) return null;
  const semi = value.indexOf(';');
  const addr = (semi === -1 ? value : value.slice(semi + 1)).trim().replace(/^<|>$/g, '');
  return addr === '' ? null : addr.toLowerCase();
}

const normalizeMessageId = (id: string | null): string | null => {
  if (id === null) return null;
  const v = id.trim().replace(/^<|>$/g, '').trim();
  return v === '' ? null : v;
};

/** `smtp; 550 5.1.1 text` → the code and the text after `smtp;`. */
export function parseDiagnostic(diagnostic: string | null): { code: number | null; text: string } {
  if (diagnostic === null) return { code: null, text: '' };
  const semi = diagnostic.indexOf(';');
  const text = (semi === -1 ? diagnostic : diagnostic.slice(semi + 1)).trim();
  const m = /^([245]\d\d)[\s-]/.exec(text);
  return { code: m === null ? null : Number(m[1]), text };
}

/** What the join keeps of a transaction that may be a DSN's original. */
interface OriginalCandidate {
  readonly sessionId: string;
  readonly depth: number;
  readonly startedAt: number;
  readonly mailFrom: string | null;
  readonly queueId: string | null;
  readonly server: Endpoint;
}

function findOriginal(
  byMessageId: ReadonlyMap<string, OriginalCandidate[]>,
  byRecipient: ReadonlyMap<string, OriginalCandidate[]>,
  messageId: string | null,
  recipient: string | null,
  notified: readonly string[],
  beforeMicros: number,
): DsnOriginal | null {
  const pick = (
    list: readonly OriginalCandidate[] | undefined,
    matchedBy: DsnOriginal['matchedBy'],
  ): DsnOriginal | null => {
    if (list === undefined) return null;
    let best: OriginalCandidate | null = null;
    let bestScore = -1;
    for (const c of list) {
      if (c.startedAt > beforeMicros) continue;
      const senderMatches = c.mailFrom !== null && notified.includes(c.mailFrom.toLowerCase());
      const score = senderMatches ? 1 : 0;
      if (score > bestScore || (score === bestScore && best !== null && c.startedAt > best.startedAt)) {
        best = c;
        bestScore = score;
      }
    }
    if (best === null) return null;
    const hopOf = (c: OriginalCandidate): DsnHop => ({
      sessionId: c.sessionId,
      depth: c.depth,
      tsMicros: c.startedAt,
      server: c.server,
      queueId: c.queueId,
    });
    const hops =
      matchedBy === 'recipient'
        ? [hopOf(best)]
        : list
            .filter((c) => c.startedAt <= beforeMicros)
            .sort((a, b) => a.startedAt - b.startedAt)
            .map(hopOf);
    return {
      sessionId: best.sessionId,
      depth: best.depth,
      tsMicros: best.startedAt,
      mailFrom: best.mailFrom,
      queueId: best.queueId,
      matchedBy,
      hops,
    };
  };
  const id = normalizeMessageId(messageId);
  const byId = id === null ? null : pick(byMessageId.get(id), 'message-id');
  if (byId !== null) return byId;
  return recipient === null ? null : pick(byRecipient.get(recipient), 'recipient');
}

/**
 * Transactions kept in the DSN join's index, the most recently closed. Each costs about 500 bytes with its index
 * entries and strings (a heap snapshot of `bounces` over 300,000 short sessions held about 25 MiB for 50,000), so
 * 20,000 is about 10 MiB. A DSN usually follows its original within minutes; on a busy relay this is many minutes
 * of traffic.
 */
export const MAX_DSN_CANDIDATES = 20_000;

/** A DSN recipient before the join: the row without its original, and what the join looks up. */
interface PendingDsn {
  readonly row: Omit<DsnRow, 'original'>;
  readonly originalRecipient: string | null;
}

export interface DsnMatcher {
  /** Indexes the session's transactions as possible originals and takes its DSN recipients. */
  add(session: SmtpSession): void;
  /** The DSN rows, each joined to its original when the capture has it, in the order their sessions closed. */
  finish(): DsnRow[];
  /** Transactions dropped from the index to keep it within its limit (their DSNs, if any, are reported alone). */
  forgotten(): number;
}

/** Joins DSNs to their originals over sessions given one by one (see the module doc on memory). */
export function createDsnMatcher(maxCandidates: number = MAX_DSN_CANDIDATES): DsnMatcher {
  const byMessageId = new Map<string, OriginalCandidate[]>();
  const byRecipient = new Map<string, OriginalCandidate[]>();
  const pending: PendingDsn[] = [];
  /** The indexed transactions in the order they were added, with their keys, oldest at `head`. */
  let order: (
    | { readonly c: OriginalCandidate; readonly id: string | null; readonly rcpts: string[] }
    | undefined
  )[] = [];
  let head = 0;
  let forgotten = 0;
  const add = (map: Map<string, OriginalCandidate[]>, key: string, c: OriginalCandidate): void => {
    const list = map.get(key);
    if (list === undefined) map.set(key, [c]);
    else list.push(c);
  };
  /** Removes `c` from the list of `key`; it is the list's first (every list is in the order of `order`). */
  const drop = (map: Map<string, OriginalCandidate[]>, key: string, c: OriginalCandidate): void => {
    const list = map.get(key);
    if (list === undefined) return;
    if (list[0] === c) list.shift();
    if (list.length === 0) map.delete(key);
  };
  const forgetOldest = (): void => {
    const oldest = order[head];
    if (oldest === undefined) return;
    order[head] = undefined;
    head++;
    forgotten++;
    if (oldest.id !== null) drop(byMessageId, oldest.id, oldest.c);
    for (const r of oldest.rcpts) drop(byRecipient, r, oldest.c);
    // Compact now and then: the array would otherwise keep a hole per forgotten transaction.
    if (head >= 4096 && head * 2 >= order.length) {
      order = order.slice(head);
      head = 0;
    }
  };
  return {
    add(session) {
      for (const t of session.transactions) {
        const dsn = t.message?.dsn ?? null;
        if (t.mailFrom !== '' && !dsn) {
          const c: OriginalCandidate = {
            sessionId: session.id,
            depth: t.depth,
            startedAt: t.startedAt,
            mailFrom: t.mailFrom,
            queueId: t.queueId,
            server: session.server,
          };
          const id = normalizeMessageId(t.message?.messageId ?? null);
          if (id !== null) add(byMessageId, id, c);
          const rcpts = [...new Set(t.recipients.map((r) => r.address.toLowerCase()))];
          for (const r of rcpts) add(byRecipient, r, c);
          order.push({ c, id, rcpts });
          if (order.length - head > maxCandidates) forgetOldest();
        }
        if (t.mailFrom !== '' || dsn === null) continue;
        const notified = t.recipients.map((r) => r.address.toLowerCase());
        for (const r of dsn.recipients) {
          const finalRecipient = dsnAddress(r.finalRecipient);
          const originalRecipient = dsnAddress(r.originalRecipient);
          const diag = parseDiagnostic(r.diagnosticCode);
          const statusClass = r.status === null ? null : Number(r.status.charAt(0));
          const code = diag.code ?? (statusClass === 5 ? 550 : statusClass === 4 ? 450 : null);
          const isFail = code !== null && code >= 400;
          const reply = { code: code ?? 0, enhancedStatus: r.status, text: diag.text };
          pending.push({
            originalRecipient,
            row: {
              sessionId: session.id,
              depth: t.depth,
              tsMicros: t.startedAt,
              client: session.client,
              server: session.server,
              notified,
              reportingMta: dsn.reportingMta,
              action: r.action,
              status: r.status,
              statusMeaning: enhancedMeaning(r.status),
              diagnosticCode: r.diagnosticCode,
              remoteMta: r.remoteMta,
              finalRecipient,
              originalRecipient,
              originalMessageId: dsn.originalMessageId,
              originalEnvelopeId: dsn.originalEnvelopeId,
              severity: severityOf(code),
              reasonClass: isFail ? reasonOf(reply, null) : null,
              explanation: isFail ? explainReply(reply, { stage: null, recipient: finalRecipient }) : null,
            },
          });
        }
      }
    },
    finish() {
      return pending.map(({ row, originalRecipient }) => ({
        ...row,
        original: findOriginal(
          byMessageId,
          byRecipient,
          row.originalMessageId,
          originalRecipient ?? row.finalRecipient,
          row.notified,
          row.tsMicros,
        ),
      }));
    },
    forgotten: () => forgotten,
  };
}

/** Every DSN recipient carried by a transaction with the null reverse path, joined to its original. */
export function collectDsns(sessions: readonly SmtpSession[]): DsnRow[] {
  // The sessions are in memory already: index every transaction.
  const matcher = createDsnMatcher(Number.POSITIVE_INFINITY);
  for (const s of sessions) matcher.add(s);
  return matcher.finish();
}

/** The joined original's queue id, else the latest earlier hop's that has one. */
export function dsnQueueId(original: DsnOriginal | null): string | null {
  if (original === null) return null;
  if (original.queueId !== null) return original.queueId;
  for (let i = original.hops.length - 1; i >= 0; i--) {
    const q = original.hops[i]?.queueId ?? null;
    if (q !== null) return q;
  }
  return null;
}

/** The hops as `C000001#1 queue ABC, ...`. */
export function formatHops(hops: readonly DsnHop[]): string {
  return hops
    .map((h) => `${h.sessionId}#${h.depth}${h.queueId === null ? '' : ` queue ${h.queueId}`}`)
    .join(', ');
}
