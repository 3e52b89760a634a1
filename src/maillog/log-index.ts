/**
 * What the mail logs said, indexed for the join: one record per queue id (its client, Message-ID, sender,
 * per-recipient delivery attempts, refusals, notifications), the receiving connections of smtpd / Exim with
 * their queue ids and queue-less refusals, and Message-ID → queue ids. Fed one line at a time (any number of
 * files, in any order of arrival), read by session-join.ts.
 *
 * Bounded (docs/MAILLOG.md): at most `maxQueueIds` queue records and `maxConnections` connections, the oldest
 * dropped first and counted; per recipient the first and the latest attempt are kept with the attempt count;
 * per queue id and per connection at most {@link MAX_REJECTS} refusals.
 */

import { parseLogLine } from './log-line.js';
import type { PrefixOptions } from './log-prefix.js';
import {
  emptyLogCounters,
  type LogClient,
  type LogCounters,
  type LogDelivery,
  type LogEvent,
  type LogReject,
  type MtaKind,
} from './types.js';

export const DEFAULT_MAX_QUEUE_IDS = 200_000;
export const DEFAULT_MAX_LOG_CONNECTIONS = 200_000;
export const MAX_REJECTS = 64;
const MAX_NOTIFICATIONS = 8;

export interface RecipientAttempts {
  readonly first: LogDelivery;
  last: LogDelivery;
  count: number;
}

export interface QueueRecord {
  readonly queueId: string;
  readonly mta: MtaKind;
  readonly firstTsMicros: number;
  readonly yearless: boolean;
  messageId: string | null;
  from: string | null;
  client: LogClient | null;
  connection: LogConnection | null;
  /** Keyed by the lower-cased address, and by the lower-cased original address when it was rewritten. */
  readonly recipients: Map<string, RecipientAttempts>;
  readonly rejects: LogReject[];
  /** Notifications the MTA generated about this message (their queue ids). */
  readonly notifications: { readonly queueId: string; readonly notification: string }[];
  /** This message is a notification about that queue id. */
  notificationOf: string | null;
  expired: boolean;
  removed: boolean;
  /** Log lines that carry this queue id. */
  lines: number;
  /** A captured session was joined to it. */
  joined: boolean;
}

/** One receiving connection in the log (smtpd connect … disconnect, or Exim's SMTP connection lines). */
export interface LogConnection {
  readonly mta: MtaKind;
  readonly client: LogClient;
  readonly connectTsMicros: number;
  readonly yearless: boolean;
  endTsMicros: number | null;
  readonly queueIds: string[];
  /** Refusals logged without a queue id during the connection. */
  readonly rejects: LogReject[];
  matched: boolean;
}

export interface LogIndexOptions extends PrefixOptions {
  readonly maxQueueIds?: number;
  readonly maxConnections?: number;
}

export interface LogIndex {
  /** One line of a log (without its line end). `cut`: the line was longer than the line limit. */
  addLine(line: string, cut?: boolean): void;
  queue(queueId: string): QueueRecord | undefined;
  /** Queue ids whose cleanup / arrival line named this Message-ID (angle brackets removed), oldest first. */
  byMessageId(messageId: string): readonly string[];
  /** Connections from this client address (oldest first). */
  connectionsFrom(address: string): readonly LogConnection[];
  /** Connections kept. */
  connectionCount(): number;
  queues(): IterableIterator<QueueRecord>;
  readonly counters: LogCounters;
}

const sameClient = (a: LogClient, b: LogClient): boolean =>
  a.address === b.address && (a.port === null || b.port === null || a.port === b.port);

export function createLogIndex(options: LogIndexOptions): LogIndex {
  const maxQueueIds = options.maxQueueIds ?? DEFAULT_MAX_QUEUE_IDS;
  const maxConnections = options.maxConnections ?? DEFAULT_MAX_LOG_CONNECTIONS;
  const counters = emptyLogCounters();
  const queues = new Map<string, QueueRecord>();
  const messageIds = new Map<string, string[]>();
  /** Every connection kept, oldest first (for eviction), and the same by client address. */
  const connections: LogConnection[] = [];
  let connectionsHead = 0;
  const byAddress = new Map<string, LogConnection[]>();
  /** The connection each smtpd process (host, instance, pid) is serving now. */
  const current = new Map<string, LogConnection>();

  const processKey = (e: LogEvent): string =>
    `${e.origin.host ?? ''}\u0000${e.origin.instance}\u0000${e.origin.pid ?? ''}`;

  function record(queueId: string, e: LogEvent): QueueRecord {
    let r = queues.get(queueId);
    if (r === undefined) {
      r = {
        queueId,
        mta: e.origin.mta,
        firstTsMicros: e.origin.tsMicros,
        yearless: e.origin.yearless,
        messageId: null,
        from: null,
        client: null,
        connection: null,
        recipients: new Map(),
        rejects: [],
        notifications: [],
        notificationOf: null,
        expired: false,
        removed: false,
        lines: 0,
        joined: false,
      };
      queues.set(queueId, r);
      if (queues.size > maxQueueIds) {
        const oldest = queues.keys().next().value;
        if (oldest !== undefined) {
          queues.delete(oldest);
          counters.queueIdsEvicted++;
        }
      }
    }
    r.lines++;
    return r;
  }

  function addConnection(c: LogConnection): void {
    connections.push(c);
    const list = byAddress.get(c.client.address);
    if (list === undefined) byAddress.set(c.client.address, [c]);
    else list.push(c);
    if (connections.length - connectionsHead > maxConnections) {
      const oldest = connections[connectionsHead];
      connections[connectionsHead] = c; // drop the reference; the slot is past the head from now on
      connectionsHead++;
      if (oldest !== undefined) {
        const same = byAddress.get(oldest.client.address);
        if (same !== undefined) {
          same.shift();
          if (same.length === 0) byAddress.delete(oldest.client.address);
        }
      }
      // Compact now and then so the array does not grow without bound.
      if (connectionsHead > 1024 && connectionsHead * 2 > connections.length) {
        connections.splice(0, connectionsHead);
        connectionsHead = 0;
      }
    }
  }

  /** The connection a queue-less line of this process or client belongs to (made up when the connect line is missing). */
  function connectionFor(e: LogEvent, client: LogClient | null): LogConnection | null {
    if (e.origin.mta === 'postfix') {
      const c = current.get(processKey(e));
      if (c !== undefined && (client === null || sameClient(c.client, client))) return c;
    } else if (client !== null) {
      const list = byAddress.get(client.address) ?? [];
      for (let i = list.length - 1; i >= 0 && i >= list.length - 64; i--) {
        const c = list[i];
        if (c !== undefined && c.endTsMicros === null && c.mta === 'exim' && sameClient(c.client, client))
          return c;
      }
    }
    if (client === null) return null;
    const made: LogConnection = {
      mta: e.origin.mta,
      client,
      connectTsMicros: e.origin.tsMicros,
      yearless: e.origin.yearless,
      endTsMicros: null,
      queueIds: [],
      rejects: [],
      matched: false,
    };
    addConnection(made);
    if (e.origin.mta === 'postfix') current.set(processKey(e), made);
    return made;
  }

  function addDelivery(d: LogDelivery, r: QueueRecord): void {
    const key = d.to.toLowerCase();
    const known = r.recipients.get(key);
    if (known === undefined) {
      const attempts: RecipientAttempts = { first: d, last: d, count: 1 };
      r.recipients.set(key, attempts);
      if (d.origTo !== null && d.origTo.toLowerCase() !== key)
        r.recipients.set(d.origTo.toLowerCase(), attempts);
      return;
    }
    if (known.count >= 2) counters.attemptsDropped++;
    known.last = d;
    known.count++;
  }

  function apply(e: LogEvent): void {
    switch (e.kind) {
      case 'connect': {
        const c: LogConnection = {
          mta: e.origin.mta,
          client: e.client,
          connectTsMicros: e.origin.tsMicros,
          yearless: e.origin.yearless,
          endTsMicros: null,
          queueIds: [],
          rejects: [],
          matched: false,
        };
        addConnection(c);
        if (e.origin.mta === 'postfix') current.set(processKey(e), c);
        return;
      }
      case 'disconnect': {
        const c = connectionFor(e, e.client);
        if (c !== null) c.endTsMicros = e.origin.tsMicros;
        if (e.origin.mta === 'postfix') current.delete(processKey(e));
        return;
      }
      case 'client': {
        const r = record(e.queueId, e);
        r.client = e.client;
        const c = connectionFor(e, e.client);
        if (c !== null && !c.queueIds.includes(e.queueId)) {
          c.queueIds.push(e.queueId);
          r.connection = c;
        }
        return;
      }
      case 'reject': {
        const j = e.reject;
        if (j.queueId !== null) {
          const r = record(j.queueId, e);
          if (r.rejects.length < MAX_REJECTS) r.rejects.push(j);
          if (r.connection === null && j.client !== null) {
            const c = connectionFor(e, j.client);
            if (c !== null) {
              r.connection = c;
              if (!c.queueIds.includes(j.queueId)) c.queueIds.push(j.queueId);
            }
          }
          return;
        }
        const c = connectionFor(e, j.client);
        if (c !== null && c.rejects.length < MAX_REJECTS) c.rejects.push(j);
        return;
      }
      case 'message-id': {
        const r = record(e.queueId, e);
        setMessageId(r, e.messageId);
        return;
      }
      case 'queued': {
        const r = record(e.queueId, e);
        r.from = e.from;
        if (e.messageId !== null) setMessageId(r, e.messageId);
        if (e.client !== null) {
          r.client = e.client;
          const c = connectionFor(e, e.client);
          if (c !== null && !c.queueIds.includes(e.queueId)) {
            c.queueIds.push(e.queueId);
            r.connection = c;
          }
        }
        if (e.bounceOf !== null) {
          r.notificationOf = e.bounceOf;
          const original = queues.get(e.bounceOf);
          if (original !== undefined && original.notifications.length < MAX_NOTIFICATIONS)
            original.notifications.push({ queueId: e.queueId, notification: 'non-delivery' });
        }
        return;
      }
      case 'delivery':
        addDelivery(e.delivery, record(e.delivery.queueId, e));
        return;
      case 'notification': {
        const r = record(e.queueId, e);
        if (r.notifications.length < MAX_NOTIFICATIONS)
          r.notifications.push({ queueId: e.notificationQueueId, notification: e.notification });
        const n = queues.get(e.notificationQueueId) ?? record(e.notificationQueueId, e);
        n.notificationOf = e.queueId;
        return;
      }
      case 'expired':
        record(e.queueId, e).expired = true;
        return;
      case 'removed':
        record(e.queueId, e).removed = true;
        return;
      case 'ignored':
        if (e.queueId !== null && queues.has(e.queueId)) record(e.queueId, e);
        return;
    }
  }

  function setMessageId(r: QueueRecord, raw: string): void {
    const id = raw.trim();
    if (id === '' || r.messageId === id) return;
    r.messageId = id;
    const list = messageIds.get(id);
    if (list === undefined) messageIds.set(id, [r.queueId]);
    else if (!list.includes(r.queueId) && list.length < 16) list.push(r.queueId);
    if (messageIds.size > maxQueueIds) {
      const oldest = messageIds.keys().next().value;
      if (oldest !== undefined) messageIds.delete(oldest);
    }
  }

  return {
    counters,
    addLine(line, cut = false) {
      counters.lines++;
      if (cut) {
        counters.longLines++;
        counters.badLines++;
        return;
      }
      if (line.trim() === '') return;
      const result = parseLogLine(line, options);
      if (result.kind === 'bad') {
        counters.badLines++;
        return;
      }
      if (result.kind === 'other-program') {
        counters.otherProgramLines++;
        return;
      }
      if (result.event.origin.mta === 'postfix') counters.postfixLines++;
      else counters.eximLines++;
      apply(result.event);
    },
    queue: (queueId) => queues.get(queueId),
    byMessageId: (messageId) => (messageIds.get(messageId.trim()) ?? []).filter((q) => queues.has(q)),
    connectionsFrom: (address) => byAddress.get(address) ?? [],
    connectionCount: () => connections.length - connectionsHead,
    queues: () => queues.values(),
  };
}
