/**
 * The recipients CSV (and fleet table) columns of `--maillog` (docs/CSV.md, docs/MAILLOG.md): the MTA's later
 * fate of each recipient. Spliced into RECIPIENT_COLUMNS of report/columns.ts as one block.
 */

import type { ColumnSpec, RecipientRow } from '../report/columns.js';
import { recipientFateOf, transactionLogOf } from './session-log.js';

const fate = (r: RecipientRow) => recipientFateOf(r.session, r.transaction.depth, r.recipient.index);

export const MAILLOG_RECIPIENT_COLUMNS: readonly ColumnSpec<RecipientRow>[] = [
  {
    name: 'log_queue_id',
    type: 'string',
    description: 'Queue id the MTA log joined this transaction to (`--maillog`).',
    get: (r) => transactionLogOf(r.session, r.transaction.depth)?.queueId ?? null,
  },
  {
    name: 'log_joined_by',
    type: 'string',
    description: 'How the join found it: `queue-id` (from the reply on the wire), `message-id` or `client`.',
    get: (r) => transactionLogOf(r.session, r.transaction.depth)?.joinedBy ?? null,
  },
  {
    name: 'log_status',
    type: 'string',
    description:
      "The MTA's latest logged fate of the recipient: `sent`, `bounced`, `deferred`, `expired`, `discarded`...",
    get: (r) => fate(r)?.status ?? null,
  },
  {
    name: 'log_dsn',
    type: 'string',
    description: 'Its DSN status code (`5.1.1`).',
    get: (r) => fate(r)?.dsn ?? null,
  },
  {
    name: 'log_relay',
    type: 'string',
    description: 'Where the MTA delivered or tried to (`host[address]:port`, `none`, `local`).',
    get: (r) => fate(r)?.relay ?? null,
  },
  {
    name: 'log_delay_s',
    type: 'float',
    description: 'Seconds from arrival to that fate, as logged.',
    get: (r) => fate(r)?.delaySeconds ?? null,
  },
  {
    name: 'log_reply',
    type: 'string',
    description: 'What the MTA logged with it: the remote reply (`host X said: 550 ...`) or its own words.',
    get: (r) => fate(r)?.reply ?? null,
  },
  {
    name: 'log_at',
    type: 'time',
    description: 'Time of that log line.',
    get: (r) => fate(r)?.tsMicros ?? null,
  },
  {
    name: 'log_attempts',
    type: 'int',
    description: 'Delivery attempts logged for the recipient (deferrals included).',
    get: (r) => fate(r)?.attempts ?? null,
  },
  {
    name: 'log_notification_queue_id',
    type: 'string',
    description: 'Queue id of the non-delivery (or delay) notification the MTA generated.',
    get: (r) => fate(r)?.notificationQueueId ?? null,
  },
  {
    name: 'log_notification_session_id',
    type: 'string',
    description: 'The captured session that carried that notification, when it closed before this one.',
    get: (r) => fate(r)?.notificationSessionId ?? null,
  },
];
