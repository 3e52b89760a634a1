/**
 * The join of captured sessions with the MTA logs (docs/MAILLOG.md, "Join rules"), run on each session after
 * it closed:
 *
 * 1. a transaction whose accepting reply named a queue id (`queued as 21DA021431B`, Exim `id=...`) takes that
 *    queue id's record;
 * 2. else a transaction whose message had a Message-ID takes a record with that Message-ID, preferring the one
 *    that delivered to this session's server and one that names its recipients (the MTA's own outbound legs,
 *    and the notifications it sent);
 * 3. the session is matched to one receiving connection of the log: the one that holds a joined queue id, else
 *    the nearest in time from the same client address (and port, when the log has it), the server's software
 *    agreeing. That connection's queue-less refusals (`NOQUEUE: reject`) go to the session, and its queue ids
 *    not yet joined go, in order, to the transactions still without one that had a recipient accepted.
 *
 * Each wire recipient then carries the latest fate its queue id logged for its address.
 */

import type { SmtpSession, TransactionRecord } from '../model/types.js';
import type { LogConnection, LogIndex, QueueRecord } from './log-index.js';
import type { JoinBasis, RecipientFate, SessionLog, TransactionLog } from './types.js';

/** How far a log connection's time may be from the captured session's (seconds of the log's stamps). */
const CONNECTION_SLACK_MICROS = 2_000_000;
/** Queue ids (joined) → captured session ids kept for tying notifications; oldest dropped. */
const MAX_SESSIONS_BY_QUEUE_ID = 100_000;

export interface JoinState {
  /** Which captured session carried a queue id's message (for notifications tied both ways). */
  readonly sessionByQueueId: Map<string, string>;
  sessionsJoined: number;
  transactionsJoined: number;
  recipientFates: number;
}

export function createJoinState(): JoinState {
  return { sessionByQueueId: new Map(), sessionsJoined: 0, transactionsJoined: 0, recipientFates: 0 };
}

const YEAR_SHIFTS = [-1, 0, 1] as const;

/** A yearless log time moved by whole years to the one nearest `referenceMicros`. */
export function alignYear(tsMicros: number, yearless: boolean, referenceMicros: number): number {
  if (!yearless) return tsMicros;
  const refYear = new Date(referenceMicros / 1000).getUTCFullYear();
  let best = tsMicros;
  for (const shift of YEAR_SHIFTS) {
    const d = new Date(tsMicros / 1000);
    d.setUTCFullYear(refYear + shift);
    const candidate = d.getTime() * 1000 + (tsMicros % 1000);
    if (Math.abs(candidate - referenceMicros) < Math.abs(best - referenceMicros)) best = candidate;
  }
  return best;
}

const lower = (s: string) => s.toLowerCase();

function recipientsNamed(r: QueueRecord, t: TransactionRecord): number {
  let n = 0;
  for (const rcpt of t.recipients) if (r.recipients.has(lower(rcpt.address))) n++;
  return n;
}

function deliveredTo(r: QueueRecord, session: SmtpSession): boolean {
  const needle = `[${session.server.ip}]`;
  for (const a of r.recipients.values()) {
    const relay = a.last.relay ?? '';
    if (relay.includes(needle) && (!/\]:\d+$/.test(relay) || relay.endsWith(`]:${session.server.port}`)))
      return true;
  }
  return false;
}

/** Exim's own Message-IDs are `E<message id>@<primary host name>`. */
const EXIM_MESSAGE_ID = /^E([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4})@/;

/** Queue ids with this Message-ID: those the logs name with it, and the Exim message whose id it is built from. */
function queueIdsOfMessageId(index: LogIndex, raw: string): readonly string[] {
  const mid = raw.replace(/^\s*<|>\s*$/g, '');
  const ids = index.byMessageId(mid);
  const exim = EXIM_MESSAGE_ID.exec(mid)?.[1];
  return exim !== undefined && index.queue(exim) !== undefined && !ids.includes(exim) ? [...ids, exim] : ids;
}

/** Rule 2: the record with this transaction's Message-ID that fits it best. */
function byMessageId(index: LogIndex, t: TransactionRecord, session: SmtpSession, taken: Set<string>) {
  const mid = t.message?.messageId;
  if (mid === undefined || mid === null) return null;
  const ids = queueIdsOfMessageId(index, mid);
  let best: QueueRecord | null = null;
  let bestScore = -1;
  for (const id of ids) {
    if (taken.has(id)) continue;
    const r = index.queue(id);
    if (r === undefined) continue;
    const score = (deliveredTo(r, session) ? 4 : 0) + Math.min(recipientsNamed(r, t), 3);
    if (score > bestScore) {
      best = r;
      bestScore = score;
    }
  }
  return best;
}

function softwareFits(session: SmtpSession, c: LogConnection): boolean {
  return session.software === 'unknown' || session.software === c.mta;
}

/** Whether a refusal the log holds agrees with a refusal seen in this session (same sender or recipient and code). */
function agrees(c: LogConnection, session: SmtpSession): boolean {
  for (const j of c.rejects) {
    for (const t of session.transactions) {
      if (j.stage === 'MAIL' && j.from !== null && lower(j.from) === lower(t.mailFrom ?? '')) return true;
      if (
        j.to !== null &&
        t.recipients.some((r) => lower(r.address) === lower(j.to ?? '') && r.rcptReply?.code === j.code)
      )
        return true;
    }
  }
  return false;
}

/**
 * How far a log connection is from a captured session, in microseconds, lower is better: the distance from the
 * session's start to the second the stamp stands for (whole-second stamps cover that second), plus a penalty
 * when the connection queued a message but the session had no recipient accepted, minus a bonus when a logged
 * refusal agrees with one on the wire.
 */
function connectionDistance(c: LogConnection, session: SmtpSession, at: number): number {
  const width = at % 1_000_000 === 0 ? 1_000_000 : 0;
  const start = session.startedAt;
  let d = start < at ? at - start : start >= at + width ? start - (at + width) + 1 : 0;
  const accepted = session.transactions.some((t) =>
    t.recipients.some((r) => r.rcptReply !== null && r.rcptReply.code < 300),
  );
  if (c.queueIds.length > 0 && !accepted) d += 1_500_000;
  if (agrees(c, session)) d -= 500_000;
  return d;
}

/** Rule 3: the log connection of this session. */
function matchConnection(
  index: LogIndex,
  session: SmtpSession,
  joined: readonly QueueRecord[],
): LogConnection | null {
  for (const r of joined)
    if (r.connection !== null && sameEndpoint(r.connection, session)) return r.connection;
  let best: LogConnection | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of index.connectionsFrom(session.client.ip)) {
    if (c.matched || !softwareFits(session, c)) continue;
    if (c.client.port !== null && c.client.port !== session.client.port) continue;
    // A connection whose message another session carried is that session's.
    if (c.queueIds.some((id) => index.queue(id)?.joined === true)) continue;
    const at = alignYear(c.connectTsMicros, c.yearless, session.startedAt);
    if (at < session.startedAt - CONNECTION_SLACK_MICROS || at > session.endedAt + CONNECTION_SLACK_MICROS)
      continue;
    const distance = connectionDistance(c, session, at);
    if (distance < bestDistance) {
      best = c;
      bestDistance = distance;
    }
  }
  return best;
}

function sameEndpoint(c: LogConnection, session: SmtpSession): boolean {
  return (
    c.client.address === session.client.ip &&
    (c.client.port === null || c.client.port === session.client.port)
  );
}

const NOT_DONE = new Set(['bounced', 'expired', 'deferred', 'undeliverable', 'softbounce']);

/** The sending MTA's record of a relay leg: same Message-ID, delivered to this session's server. */
function senderRecord(index: LogIndex, t: TransactionRecord, session: SmtpSession, taken: Set<string>) {
  const mid = t.message?.messageId;
  if (mid === undefined || mid === null) return null;
  for (const id of queueIdsOfMessageId(index, mid)) {
    const r = index.queue(id);
    if (r !== undefined && !taken.has(id) && deliveredTo(r, session)) return r;
  }
  return null;
}

function notificationFor(queueId: string | null, state: JoinState) {
  return queueId === null ? null : { queueId, sessionId: state.sessionByQueueId.get(queueId) ?? null };
}

function transactionLog(
  t: TransactionRecord,
  r: QueueRecord,
  basis: JoinBasis,
  session: SmtpSession,
  state: JoinState,
  sender: QueueRecord | null,
): TransactionLog {
  const notification = r.notifications[0] ?? null;
  const recipients = t.recipients.map((rcpt) => {
    const attempts = r.recipients.get(lower(rcpt.address));
    if (attempts === undefined) return { index: rcpt.index, fate: null };
    const d = attempts.last;
    const status = r.expired && d.status === 'deferred' ? 'expired' : d.status;
    const fate: RecipientFate = {
      mta: r.mta,
      queueId: r.queueId,
      status,
      dsn: d.dsn,
      relay: d.relay,
      delaySeconds: d.delaySeconds,
      reply: d.reply,
      tsMicros: alignYear(d.origin.tsMicros, d.origin.yearless, session.startedAt),
      attempts: attempts.count,
      notificationQueueId: notification !== null && NOT_DONE.has(status) ? notification.queueId : null,
      notificationSessionId:
        notification !== null && NOT_DONE.has(status)
          ? (state.sessionByQueueId.get(notification.queueId) ?? null)
          : null,
    };
    state.recipientFates++;
    return { index: rcpt.index, fate };
  });
  return {
    depth: t.depth,
    queueId: r.queueId,
    joinedBy: basis,
    mta: r.mta,
    recipients,
    rejects: r.rejects,
    senderQueueId: sender?.queueId ?? null,
    notificationFor: notificationFor(r.notificationOf ?? sender?.notificationOf ?? null, state),
  };
}

/** What the logs say about `session`, or null when they say nothing. Marks what it joined (for the counts). */
export function joinSession(session: SmtpSession, index: LogIndex, state: JoinState): SessionLog | null {
  const chosen = new Map<number, { record: QueueRecord; basis: JoinBasis }>();
  const taken = new Set<string>();
  for (const t of session.transactions) {
    const r = t.queueId === null ? undefined : index.queue(t.queueId);
    if (r !== undefined) {
      chosen.set(t.depth, { record: r, basis: 'queue-id' });
      taken.add(r.queueId);
    }
  }
  for (const t of session.transactions) {
    if (chosen.has(t.depth)) continue;
    const r = byMessageId(index, t, session, taken);
    if (r !== null) {
      chosen.set(t.depth, { record: r, basis: 'message-id' });
      taken.add(r.queueId);
    }
  }
  const connection = matchConnection(
    index,
    session,
    [...chosen.values()].filter((c) => c.basis === 'queue-id').map((c) => c.record),
  );
  if (connection !== null) {
    connection.matched = true;
    const spare = connection.queueIds.filter((id) => !taken.has(id) && index.queue(id)?.joined !== true);
    for (const t of session.transactions) {
      if (chosen.has(t.depth) || spare.length === 0) continue;
      if (!t.recipients.some((x) => x.rcptReply !== null && x.rcptReply.code < 300)) continue;
      const r = index.queue(spare.shift() ?? '');
      if (r === undefined) continue;
      chosen.set(t.depth, { record: r, basis: 'client' });
      taken.add(r.queueId);
    }
  }
  const rejects = connection?.rejects ?? [];
  if (chosen.size === 0 && rejects.length === 0) return null;
  const transactions: TransactionLog[] = [];
  for (const t of session.transactions) {
    const c = chosen.get(t.depth);
    if (c === undefined) continue;
    c.record.joined = true;
    // The session that brought the message to this MTA (queue id on the wire) names it; else the first seen.
    if (c.basis === 'queue-id' || !state.sessionByQueueId.has(c.record.queueId))
      state.sessionByQueueId.set(c.record.queueId, session.id);
    if (state.sessionByQueueId.size > MAX_SESSIONS_BY_QUEUE_ID) {
      const oldest = state.sessionByQueueId.keys().next().value;
      if (oldest !== undefined) state.sessionByQueueId.delete(oldest);
    }
    const sender = c.basis === 'queue-id' ? senderRecord(index, t, session, taken) : null;
    if (sender !== null) {
      sender.joined = true;
      taken.add(sender.queueId);
      if (!state.sessionByQueueId.has(sender.queueId)) state.sessionByQueueId.set(sender.queueId, session.id);
    }
    transactions.push(transactionLog(t, c.record, c.basis, session, state, sender));
    state.transactionsJoined++;
  }
  state.sessionsJoined++;
  return { transactions, rejects };
}

/** Log lines and queue ids of records no captured session was joined to. */
export function outsideCapture(index: LogIndex): { queueIds: number; lines: number } {
  let queueIds = 0;
  let lines = 0;
  for (const r of index.queues()) {
    if (r.joined) continue;
    queueIds++;
    lines += r.lines;
  }
  return { queueIds, lines };
}
