/**
 * The HTTP connection to ClickHouse shared by the sink and the spill replay: version detection, table
 * creation (and the columns a table made by an older version lacks) and batch inserts (JSONEachRow, explicit
 * column list, rows given as the JSON text row-json.ts made).
 *
 * Only settings that 18.16 knows are sent. On a server of version 22.2 or later each insert also carries
 * `insert_deduplication_token` (the level and a hash of the batch's row ids), so a retried batch is
 * dropped at insert time by replicated tables (and by plain MergeTree tables with
 * `non_replicated_deduplication_window`); older servers rely on block-hash deduplication of replicated
 * tables (a retried batch is byte-identical) and on ReplacingMergeTree at merge time.
 */

import {
  type ClickHouseClient,
  ClickHouseLogLevel,
  type ClickHouseSettings,
  createClient,
} from '@clickhouse/client';
import { hash64 } from './clickhouse-rows.js';
import {
  addMissingColumnStatements,
  createTableStatement,
  existingColumnsQuery,
  FLEET_TABLE_NAMES,
  type FleetTableName,
  insertColumns,
  qualifiedTable,
  quoteIdentifier,
} from './clickhouse-schema.js';
import { DEFAULT_DATABASE, resolveClickHouseTarget } from './clickhouse-target.js';
import type { RowTexts } from './row-json.js';

export { DEFAULT_DATABASE };

export interface ClickHouseConnectionOptions {
  /**
   * HTTP interface URL, e.g. `http://127.0.0.1:8123`. It may name the database as its path
   * (`http://host:8123/mail`) and carry `user:password@`; `database`, `username` and `password` given
   * here win over the URL (resolveClickHouseTarget).
   */
  readonly url: string;
  /** Database of the four tables; created when missing (default: the URL's path, else `smtpscope`). */
  readonly database?: string;
  /** User name (default: the URL's, else `default`). */
  readonly username?: string;
  /** Password (default: the URL's, else empty). */
  readonly password?: string;
  /** Time limit of one HTTP request, in milliseconds (default 10 000). */
  readonly requestTimeoutMs?: number;
}

export interface ServerVersion {
  readonly text: string;
  readonly major: number;
  readonly minor: number;
}

export interface ClickHouseConnection {
  readonly database: string;
  /** `SELECT version()`, parsed. */
  version(): Promise<ServerVersion>;
  /**
   * CREATE DATABASE / TABLE IF NOT EXISTS for every fleet table, then ADD COLUMN for the columns an existing table
   * lacks (a table made by an older version), so that inserts naming every column work.
   */
  ensureTables(): Promise<void>;
  /** One INSERT of rows, given as their JSON text (row-json.ts), into a table. */
  insert(level: FleetTableName, rows: RowTexts, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** Parses `18.16.1` / `23.8.2.7` (null when it does not start with two numbers). */
export function parseServerVersion(text: string): ServerVersion | null {
  const m = /^(\d+)\.(\d+)/.exec(text.trim());
  if (m === null) return null;
  return { text: text.trim(), major: Number(m[1]), minor: Number(m[2]) };
}

/** Whether the server accepts the `insert_deduplication_token` setting (22.2 and later). */
export function supportsDeduplicationToken(v: ServerVersion): boolean {
  return v.major > 22 || (v.major === 22 && v.minor >= 2);
}

/** The token of a batch: its level and a hash of its ids, in order. */
export function deduplicationToken(level: FleetTableName, ids: readonly string[]): string {
  return `${level}-${hash64(ids.join(','))}`;
}

/**
 * The client's JSON encoder for inserts: rows arrive as their JSON text already (row-json.ts) and go out as
 * they are; anything else is stringified as the client would.
 */
const stringifyRow = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

export function createClickHouseConnection(options: ClickHouseConnectionOptions): ClickHouseConnection {
  const target = resolveClickHouseTarget(options);
  const database = target.database;
  const client: ClickHouseClient = createClient({
    url: target.url,
    username: target.username,
    password: target.password,
    request_timeout: options.requestTimeoutMs ?? 10_000,
    // 18.16 answers settings it does not know with an error: send none by default.
    clickhouse_settings: {},
    // Failures are counted and reported by the caller; the client would log each one to stderr.
    log: { level: ClickHouseLogLevel.OFF },
    json: { stringify: stringifyRow },
  });
  // The client joins column names as given: quote them (`index` and `end` are keywords).
  const columns = new Map(FLEET_TABLE_NAMES.map((l) => [l, insertColumns(l).map(quoteIdentifier)] as const));
  let versionPromise: Promise<ServerVersion> | null = null;

  const version = (): Promise<ServerVersion> => {
    versionPromise ??= (async () => {
      const rs = await client.query({ query: 'SELECT version() AS v', format: 'JSONEachRow' });
      const rows = await rs.json<{ v: string }>();
      const text = rows[0]?.v ?? '';
      return parseServerVersion(text) ?? { text, major: 0, minor: 0 };
    })();
    // A failed lookup (server down) is retried on the next call.
    versionPromise.catch(() => {
      versionPromise = null;
    });
    return versionPromise;
  };

  return {
    database,
    version,
    async ensureTables() {
      await client.command({ query: `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(database)}` });
      for (const level of FLEET_TABLE_NAMES) {
        await client.command({ query: createTableStatement(level, database) });
        const rs = await client.query({
          query: existingColumnsQuery(database, level),
          format: 'JSONEachRow',
        });
        const existing = new Set((await rs.json<{ name: string }>()).map((r) => r.name));
        for (const alter of addMissingColumnStatements(level, database, existing)) {
          await client.command({ query: alter });
        }
      }
    },
    async insert(level, rows, signal) {
      if (rows.lines.length === 0) return;
      const v = await version();
      const settings: ClickHouseSettings = supportsDeduplicationToken(v)
        ? { insert_deduplication_token: deduplicationToken(level, rows.ids) }
        : {};
      await client.insert({
        // Each line is one row's JSON text; stringifyRow passes it through.
        table: qualifiedTable(database, level),
        values: rows.lines as string[],
        format: 'JSONEachRow',
        columns: columns.get(level) as [string, ...string[]],
        clickhouse_settings: settings,
        ...(signal === undefined ? {} : { abort_signal: signal }),
      });
    },
    async close() {
      await client.close();
    },
  };
}
