/**
 * ClickHouse tables for the four report levels (docs/FLEET.md): the columns of columns.ts, mapped to
 * ClickHouse types, plus `sensor`, `session_key`, `id` and `inserted_at`.
 *
 * One schema serves ClickHouse 18.16 and current releases alike (no DateTime64, no LowCardinality, no
 * SETTINGS clause), so every sensor of a mixed fleet writes the same columns and every query works on both.
 *
 * Transactions get one column the CSV does not have: `dsn_original_message_id`, the Message-ID found in the
 * returned headers of a delivery status notification (the message the bounce reports on).
 *
 * Type mapping: string → String, int → Int64, float → Float64, bool → UInt8, time → DateTime (whole
 * seconds, UTC) next to an Int64 `<name>_us` column with the microseconds (columns.ts already pairs each
 * time column with one; a time column without its pair gets one here). A column is `Nullable` unless it is
 * listed in NOT_NULL below, because its getter never returns null; sorting-key columns must not be
 * Nullable on 18.16.
 */

import { type ColumnType, LEVEL_NAMES, LEVELS, type LevelName } from '../report/columns.js';

/** A column of a fleet table. */
export interface FleetColumn {
  readonly name: string;
  /** ClickHouse type, e.g. `Nullable(String)`. */
  readonly type: string;
  /**
   * Where the value comes from: a cell of the level's record (`cell` index and its columns.ts type, `asMicros`
   * when this is the added `_us` twin of a time column), or one of the columns every table adds.
   */
  readonly source:
    | { readonly kind: 'cell'; readonly index: number; readonly type: ColumnType; readonly asMicros: boolean }
    | { readonly kind: 'sensor' | 'session-key' | 'id' | 'inserted-at' | 'dsn-original-message-id' };
  readonly nullable: boolean;
}

/** A column computed by the server at insert time (not inserted, not part of `SELECT *`). */
export interface MaterializedColumn {
  readonly name: string;
  readonly type: string;
  readonly expression: string;
}

export interface FleetTable {
  readonly level: LevelName;
  readonly columns: readonly FleetColumn[];
  readonly materialized: readonly MaterializedColumn[];
  /** Sorting key: stable values from the capture, ending with `id` (ReplacingMergeTree dedupes on it). */
  readonly orderBy: readonly string[];
  /** Partition key expression: month of the level's own time column. */
  readonly partitionBy: string;
  /** Names of the columns that identify a row inside a session (the level key). */
  readonly levelKey: readonly string[];
  /**
   * The row's position among the session's rows of this level is part of the key. Commands use it: a
   * command has no other key column, and its position is also its `seq` (session-builder.ts numbers the
   * session's command records in order, END-OF-DATA and LMTP's per-recipient replies included).
   */
  readonly ordinalKey: boolean;
  /** Name of the level's time column (DateTime), used for partitions and time filters. */
  readonly timeColumn: string;
}

/** Columns whose getter in columns.ts never returns null; every other column is Nullable. */
const NOT_NULL: Readonly<Record<LevelName, readonly string[]>> = {
  sessions: [
    'session_id',
    'started_at',
    'started_at_us',
    'ended_at',
    'ended_at_us',
    'duration_us',
    'client_ip',
    'client_port',
    'server_ip',
    'server_port',
    'protocol',
    'orientation',
    'software',
    'starttls_offered',
    'starttls_refused',
    'tls_mode',
    'auth_attempts',
    'transactions',
    'recipients',
    'recipients_delivered',
    'recipients_failed',
    'end',
    'close_reason',
    'bytes_c2s',
    'bytes_s2c',
    'packets_c2s',
    'packets_s2c',
    'gaps',
    'gap_bytes',
    'retransmissions',
    'overlaps_differing',
    'midstream',
    'anomalies_dropped',
    'commands_count',
    'commands_dropped',
    'roles_swapped',
  ],
  transactions: [
    'session_id',
    'depth',
    'started_at',
    'started_at_us',
    'client_ip',
    'server_ip',
    'mail_smtputf8',
    'recipients',
    'recipients_accepted',
    'recipients_refused',
    'recipients_delivered',
    'bdat_chunks',
    'message_complete',
    'outcome',
    'outcome_unknown',
    'is_dsn',
  ],
  recipients: ['session_id', 'depth', 'index', 'address', 'rcpt_at', 'rcpt_at_us', 'disposition'],
  commands: [
    'session_id',
    'seq',
    'verb',
    'verb_text',
    'argument',
    'sent_at',
    'sent_at_us',
    'pipelined',
    'encrypted',
  ],
};

const LEVEL_KEY: Readonly<Record<LevelName, readonly string[]>> = {
  sessions: [],
  transactions: ['depth'],
  recipients: ['depth', 'index'],
  commands: [],
};

const TIME_COLUMN: Readonly<Record<LevelName, string>> = {
  sessions: 'started_at',
  transactions: 'started_at',
  recipients: 'rcpt_at',
  commands: 'sent_at',
};

/** Domain of an address (after the last `@`, lower-cased), or '' without one. */
const DOMAIN_OF_ADDRESS =
  "if(position(address, '@') = 0, '', lower(substring(address, length(address) - position(reverse(address), '@') + 2)))";

const MATERIALIZED: Readonly<Record<LevelName, readonly MaterializedColumn[]>> = {
  sessions: [],
  transactions: [],
  recipients: [{ name: 'rcpt_domain', type: 'String', expression: DOMAIN_OF_ADDRESS }],
  commands: [
    // First digit of the reply code (2, 3, 4, 5), 0 without a reply.
    { name: 'reply_class', type: 'UInt8', expression: 'toUInt8(intDiv(ifNull(reply_code, 0), 100))' },
  ],
};

/**
 * Sorting keys. Every column in them is a pure function of the captured bytes (addresses, verbs, reply
 * codes, packet times), never of classification rules (reason_class, disposition) or wall time, so the
 * same row sent again always lands on the same key and ReplacingMergeTree can collapse it.
 */
const ORDER_BY: Readonly<Record<LevelName, readonly string[]>> = {
  sessions: ['server_ip', 'started_at', 'id'],
  transactions: ['server_ip', 'started_at', 'id'],
  recipients: ['rcpt_domain', 'rcpt_at', 'id'],
  commands: ['verb', 'reply_class', 'sent_at', 'id'],
};

const CH_TYPE: Readonly<Record<ColumnType, string>> = {
  string: 'String',
  int: 'Int64',
  float: 'Float64',
  bool: 'UInt8',
  time: 'DateTime',
};

function buildTable(level: LevelName): FleetTable {
  const notNull = new Set(NOT_NULL[level]);
  const source = LEVELS[level].columns;
  const names = new Set(source.map((c) => c.name));
  const columns: FleetColumn[] = [
    { name: 'sensor', type: 'String', source: { kind: 'sensor' }, nullable: false },
    { name: 'session_key', type: 'UInt64', source: { kind: 'session-key' }, nullable: false },
    { name: 'id', type: 'UInt64', source: { kind: 'id' }, nullable: false },
  ];
  source.forEach((c, index) => {
    const nullable = !notNull.has(c.name);
    const wrap = (t: string) => (nullable ? `Nullable(${t})` : t);
    columns.push({
      name: c.name,
      type: wrap(CH_TYPE[c.type]),
      source: { kind: 'cell', index, type: c.type, asMicros: false },
      nullable,
    });
    if (c.type === 'time' && !names.has(`${c.name}_us`)) {
      columns.push({
        name: `${c.name}_us`,
        type: wrap('Int64'),
        source: { kind: 'cell', index, type: c.type, asMicros: true },
        nullable,
      });
    }
  });
  if (level === 'transactions') {
    // Fleet-only column: lets a bounce be joined to the message it reports on (docs/FLEET.md, query 5).
    columns.push({
      name: 'dsn_original_message_id',
      type: 'Nullable(String)',
      source: { kind: 'dsn-original-message-id' },
      nullable: true,
    });
  }
  columns.push({ name: 'inserted_at', type: 'DateTime', source: { kind: 'inserted-at' }, nullable: false });
  return {
    level,
    columns,
    materialized: MATERIALIZED[level],
    orderBy: ORDER_BY[level],
    partitionBy: `toYYYYMM(${TIME_COLUMN[level]})`,
    levelKey: LEVEL_KEY[level],
    ordinalKey: level === 'commands',
    timeColumn: TIME_COLUMN[level],
  };
}

/** The four tables, derived once from columns.ts. */
export const FLEET_TABLES: Readonly<Record<LevelName, FleetTable>> = {
  sessions: buildTable('sessions'),
  transactions: buildTable('transactions'),
  recipients: buildTable('recipients'),
  commands: buildTable('commands'),
};

/** Names that NOT_NULL lists but the level no longer has (a test keeps this empty). */
export function staleNotNullNames(): string[] {
  const out: string[] = [];
  for (const level of LEVEL_NAMES) {
    const names = new Set(LEVELS[level].columns.map((c) => c.name));
    for (const n of NOT_NULL[level]) if (!names.has(n)) out.push(`${level}.${n}`);
  }
  return out;
}

/** A ClickHouse identifier in back quotes. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

/** `db`.`table`. */
export function qualifiedTable(database: string, level: LevelName): string {
  return `${quoteIdentifier(database)}.${quoteIdentifier(level)}`;
}

export type TableEngine =
  /** One server: ReplacingMergeTree. */
  | { readonly kind: 'single' }
  /**
   * A cluster: ReplicatedReplacingMergeTree local tables (created ON CLUSTER), to be read and written
   * through the Distributed tables of {@link createDistributedTableStatement}.
   */
  | {
      readonly kind: 'replicated';
      readonly cluster: string;
      /** ZooKeeper path, `{shard}` macro included; `{table}` is replaced with the level. */
      readonly zooPath: string;
      readonly replica: string;
    };

/** CREATE TABLE IF NOT EXISTS for one level. */
export function createTableStatement(
  level: LevelName,
  database: string,
  engine: TableEngine = { kind: 'single' },
  tableName: string = level,
): string {
  const t = FLEET_TABLES[level];
  const lines = t.columns.map((c) => `    ${quoteIdentifier(c.name)} ${c.type}`);
  for (const m of t.materialized) {
    lines.push(`    ${quoteIdentifier(m.name)} ${m.type} MATERIALIZED ${m.expression}`);
  }
  const target = `${quoteIdentifier(database)}.${quoteIdentifier(tableName)}`;
  const onCluster = engine.kind === 'replicated' ? ` ON CLUSTER ${quoteIdentifier(engine.cluster)}` : '';
  const engineText =
    engine.kind === 'replicated'
      ? `ReplicatedReplacingMergeTree('${engine.zooPath.replace(/\{table\}/g, level)}', '${engine.replica}', inserted_at)`
      : 'ReplacingMergeTree(inserted_at)';
  return [
    `CREATE TABLE IF NOT EXISTS ${target}${onCluster}`,
    '(',
    lines.join(',\n'),
    ')',
    `ENGINE = ${engineText}`,
    `PARTITION BY ${t.partitionBy}`,
    `ORDER BY (${t.orderBy.map(quoteIdentifier).join(', ')})`,
  ].join('\n');
}

/**
 * CREATE TABLE for the Distributed table of a level over the local tables `<level>_local` of a cluster,
 * sharded by `session_key` so every row of one session lands on one shard (joins stay local).
 */
export function createDistributedTableStatement(level: LevelName, database: string, cluster: string): string {
  return [
    `CREATE TABLE IF NOT EXISTS ${qualifiedTable(database, level)} ON CLUSTER ${quoteIdentifier(cluster)}`,
    `AS ${quoteIdentifier(database)}.${quoteIdentifier(`${level}_local`)}`,
    `ENGINE = Distributed(${quoteIdentifier(cluster)}, ${quoteIdentifier(database)}, ${quoteIdentifier(`${level}_local`)}, session_key)`,
  ].join('\n');
}

/** Names of the inserted columns of a level, in order (materialized ones excluded). */
export function insertColumns(level: LevelName): string[] {
  return FLEET_TABLES[level].columns.map((c) => c.name);
}
