/**
 * The ClickHouse sink against a real server (Debian's clickhouse-server 18.16 in CI): rows equal the CSV
 * export of the same run, a second send does not double counts under FINAL, a server killed mid-run makes
 * rows spill and the replay brings every row exactly once, a server frozen mid-run (SIGSTOP) neither holds
 * the analysis nor makes the sink hold more rows than its bound, and every example query of docs/FLEET.md
 * runs.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFleetRows } from '../../src/fleet/clickhouse-rows.js';
import { createTableStatement, FLEET_TABLE_NAMES, insertColumns } from '../../src/fleet/clickhouse-schema.js';
import { createClickHouseSink } from '../../src/fleet/clickhouse-sink.js';
import { replayClickHouseSpill } from '../../src/fleet/replay.js';
import { NO_ATTEMPTS } from '../../src/model/connection-attempt.js';
import type { RunSummary, Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray, createAnalyzer } from '../../src/pipeline/analyzer.js';
import { NO_BUDGET } from '../../src/pipeline/memory-budget.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { LEVEL_NAMES, type LevelName } from '../../src/report/columns.js';
import { createCsvSink } from '../../src/report/csv-sink.js';
import { safeText } from '../../src/util/display-text.js';
import { writeSynFlood } from '../harness/adversarial/scenarios.js';
import { distinctCaptureInputs } from '../helpers/distinct-captures.js';
import { findClickHouseServer, startTestClickHouse, type TestClickHouse } from './clickhouse-server.js';
import { parseCsvText } from './csv-text.js';

const SERVER = findClickHouseServer();
const CAPTURES = join(import.meta.dirname, '../../captures');
const FLEET_DOC = join(import.meta.dirname, '../../docs/FLEET.md');
const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

/** Key fields compared with the CSV export, per level. */
const KEY_FIELDS: Readonly<Record<LevelName, readonly string[]>> = {
  sessions: [
    'session_id',
    'started_at_us',
    'ended_at_us',
    'client_ip',
    'client_port',
    'server_ip',
    'end',
    'recipients',
    'last_reply_code',
  ],
  transactions: [
    'session_id',
    'depth',
    'started_at_us',
    'mail_from',
    'outcome',
    'final_code',
    'reason_class',
    'queue_id',
  ],
  recipients: [
    'session_id',
    'depth',
    'index',
    'address',
    'rcpt_at_us',
    'disposition',
    'reason_class',
    'rcpt_code',
  ],
  commands: ['session_id', 'seq', 'verb', 'sent_at_us', 'reply_code', 'latency_us', 'pipelined'],
};

const SUMMARY: RunSummary = {
  sources: [],
  stats: {
    source: { packets: 0, bytes: 0, storedBytes: 0, dropped: 0, truncated: 0 },
    decode: {} as RunSummary['stats']['decode'],
    assembler: {} as RunSummary['stats']['assembler'],
    sessionsClosed: 0,
    sessionsOpen: 0,
    attempts: NO_ATTEMPTS,
    connectionsWaiting: 0,
    sinkWaits: 0,
    budget: NO_BUDGET,
    firstTsMicros: null,
    lastTsMicros: null,
  },
  warnings: [],
  wallMs: 0,
};

/** A value as the CSV shows it (quoted strings escaped by safeText, bools as true/false). */
function csvForm(value: unknown, field: string): string | null {
  if (value === null || value === undefined) return null;
  if (field === 'pipelined') return value === 1 || value === '1' ? 'true' : 'false';
  if (typeof value === 'string') return safeText(value);
  return String(value);
}

/** CSV cells of a string column may carry the formula guard `'`; numbers never do. */
function unguard(cell: string | null): string | null {
  return cell !== null && /^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell;
}

async function selectJson(ch: TestClickHouse, sql: string): Promise<Record<string, unknown>[]> {
  const text = await ch.query(`${sql} FORMAT JSONEachRow`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every row id the sessions make for a sensor, per level, sorted. */
function expectedIds(sessions: readonly SmtpSession[], sensor: string): Map<LevelName, string[]> {
  const expected = new Map<LevelName, string[]>(LEVEL_NAMES.map((l) => [l, []]));
  for (const s of sessions) {
    for (const { level, rows } of toFleetRows(s, sensor, 0))
      for (const r of rows) expected.get(level)!.push(String(r['id']));
  }
  for (const ids of expected.values()) ids.sort();
  return expected;
}

async function count(ch: TestClickHouse, table: string, final: boolean): Promise<number> {
  return Number((await ch.query(`SELECT count() FROM ${table}${final ? ' FINAL' : ''}`)).trim());
}

function sqlBlocks(markdown: string, heading: string): string[] {
  const start = markdown.indexOf(`\n## ${heading}`);
  if (start < 0) return [];
  const end = markdown.indexOf('\n## ', start + 4);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sql\n([\s\S]*?)```/g)].map((m) => m[1]!.trim());
}

describe.skipIf(SERVER === null)('clickhouse sink', () => {
  let ch: TestClickHouse;
  let sessions: SmtpSession[];
  let work: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'smtpscope-fleet-'));
    const inputs = distinctCaptureInputs(CAPTURES);
    const [server, analysed] = await Promise.all([
      startTestClickHouse(SERVER!),
      analyzeToArray({ inputs, ports: PORTS }),
    ]);
    ch = server;
    sessions = analysed.sessions;
  });

  afterAll(async () => {
    await ch?.dispose();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('writes the same rows as the CSV export of the same run, and sending them again does not double counts', async () => {
    expect(sessions.length).toBeGreaterThan(20);
    const csvDir = join(work, 'csv');
    const csv = createCsvSink({ dir: csvDir });
    const sink = createClickHouseSink({
      url: ch.url,
      sensor: 'sensor-a',
      spillFile: join(work, 'a.spill'),
      batchRows: 50,
    });
    for (const s of sessions) {
      await csv.sessionClosed(s);
      await sink.sessionClosed(s);
    }
    await csv.close(SUMMARY);
    await sink.close(SUMMARY);
    const stats = sink.stats();
    expect(stats.rowsSpilled).toBe(0);
    expect(stats.nullsReplaced).toBe(0);
    expect(stats.rowsInserted).toBe(stats.rowsAccepted);
    expect(stats.serverVersion).toMatch(/^\d+\.\d+/);

    for (const level of LEVEL_NAMES) {
      const table = parseCsvText(readFileSync(join(csvDir, `${level}.csv`), 'utf8'));
      const fields = KEY_FIELDS[level];
      const fromCsv = table.rows.map((r) => JSON.stringify(fields.map((f) => unguard(r[f] ?? null)))).sort();
      const rows = await selectJson(
        ch,
        `SELECT ${fields.map((f) => `\`${f}\``).join(', ')} FROM smtpscope.${level} FINAL`,
      );
      const fromCh = rows.map((r) => JSON.stringify(fields.map((f) => csvForm(r[f], f)))).sort();
      expect(fromCh.length, level).toBe(fromCsv.length);
      expect(fromCh, level).toEqual(fromCsv);
      expect(fromCsv.length, `${level} rows`).toBeGreaterThan(0);
    }

    // Time columns: DateTime holds the whole seconds of the microsecond twin.
    const times = await selectJson(
      ch,
      'SELECT count() AS bad FROM smtpscope.commands WHERE toInt64(toUInt32(sent_at)) != intDiv(sent_at_us, 1000000)',
    );
    expect(Number(times[0]?.['bad'])).toBe(0);

    // The same sessions again (a re-sent capture): raw rows double, FINAL and argMax do not.
    const before: Record<string, number> = {};
    for (const level of LEVEL_NAMES) before[level] = await count(ch, `smtpscope.${level}`, true);
    const again = createClickHouseSink({
      url: ch.url,
      sensor: 'sensor-a',
      spillFile: join(work, 'a2.spill'),
      batchRows: 77,
    });
    for (const s of sessions) await again.sessionClosed(s);
    await again.close(SUMMARY);
    expect(again.stats().rowsInserted).toBe(again.stats().rowsAccepted);
    for (const level of LEVEL_NAMES) {
      // Background merges may already have collapsed some copies, so raw counts lie between 1 and 2 times.
      const raw = await count(ch, `smtpscope.${level}`, false);
      expect(raw, level).toBeGreaterThan(before[level]!);
      expect(raw, level).toBeLessThanOrEqual(2 * before[level]!);
      expect(await count(ch, `smtpscope.${level}`, true), level).toBe(before[level]);
      const grouped = await ch.query(
        `SELECT count() FROM (SELECT id, argMax(session_id, inserted_at) FROM smtpscope.${level} GROUP BY id)`,
      );
      expect(Number(grouped.trim()), level).toBe(before[level]);
      // A forced merge leaves one copy of each row.
      await ch.query(`OPTIMIZE TABLE smtpscope.${level} FINAL`);
      expect(await count(ch, `smtpscope.${level}`, false), level).toBe(before[level]);
    }
  });

  it('creates the tables exactly as docs/FLEET.md shows them', async () => {
    const doc = readFileSync(FLEET_DOC, 'utf8');
    const ddl = sqlBlocks(doc, 'Tables');
    for (const level of FLEET_TABLE_NAMES) expect(ddl).toContain(createTableStatement(level, 'smtpscope'));
    const created = await ch.query(
      "SELECT name, engine, sorting_key, partition_key FROM system.tables WHERE database = 'smtpscope' ORDER BY name FORMAT TSV",
    );
    expect(created).toContain('ReplacingMergeTree');
  });

  it('runs every example query of docs/FLEET.md without error', async () => {
    const doc = readFileSync(FLEET_DOC, 'utf8');
    const queries = sqlBlocks(doc, 'Example queries');
    expect(queries.length).toBeGreaterThanOrEqual(10);
    // The page says how many there are, in words.
    const words = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen'];
    expect(doc).toContain(`All ${words[queries.length - 10]} run in the tests`);
    for (const q of queries) {
      await expect(ch.query(q).then(() => 'ok')).resolves.toBe('ok');
    }
  });

  it('spills while the server is down and the replay brings every row exactly once', async () => {
    const db = 'killtest';
    const spillFile = join(work, 'kill.spill');
    const sink = createClickHouseSink({
      url: ch.url,
      database: db,
      sensor: 'sensor-k',
      spillFile,
      batchRows: 25,
      maxBufferedRows: 60,
      flushIntervalMs: 50,
      maxAttempts: 2,
      retryBaseMs: 20,
      retryMaxMs: 50,
      requestTimeoutMs: 2_000,
      closeTimeoutMs: 5_000,
    });
    let killed = false;
    let blocked = 0;
    for (const s of sessions) {
      const p = sink.sessionClosed(s);
      if (p !== undefined) {
        blocked++;
        await p;
      }
      // sessionClosed does not wait for the server: let the sender insert what it holds, then kill it.
      if (!killed && sink.stats().rowsAccepted >= 100) {
        await waitUntil(() => {
          const st = sink.stats();
          return st.batchesInserted >= 1 && st.rowsInserted + st.rowsSpilled === st.rowsAccepted;
        }, 10_000);
        await ch.kill();
        killed = true;
      }
    }
    await sink.close(SUMMARY);
    const stats = sink.stats();
    expect(killed).toBe(true);
    // Past the bound the sink spills instead of holding the analysis.
    expect(blocked).toBe(0);
    expect(stats.rowsSpilled).toBeGreaterThan(0);
    expect(stats.rowsLost).toBe(0);
    expect(stats.rowsInserted).toBeGreaterThan(0);
    expect(stats.rowsInserted + stats.rowsSpilled).toBeGreaterThanOrEqual(stats.rowsAccepted);

    // A torn last line (a crash mid-write) is skipped, not fatal.
    writeFileSync(spillFile, '{"table":"sessions","row":{"sen', { flag: 'a' });

    await ch.start();
    const result = await replayClickHouseSpill(spillFile, { url: ch.url, database: db, batchRows: 40 });
    expect(result.badLines.length).toBe(1);
    // Replaying twice changes nothing either.
    await replayClickHouseSpill(spillFile, { url: ch.url, database: db });

    const expected = new Map<LevelName, string[]>(LEVEL_NAMES.map((l) => [l, []]));
    for (const s of sessions) {
      for (const { level, rows } of toFleetRows(s, 'sensor-k', 0))
        for (const r of rows) expected.get(level)!.push(String(r['id']));
    }
    for (const level of LEVEL_NAMES) {
      const want = expected.get(level)!.sort();
      const got = (await selectJson(ch, `SELECT toString(id) AS id FROM ${db}.${level} FINAL`))
        .map((r) => String(r['id']))
        .sort();
      expect(got.length, level).toBe(want.length);
      expect(got, level).toEqual(want);
    }
  });

  it('does not hold the analysis while the server hangs (SIGSTOP), keeps rows held under the bound, and the replay brings every row exactly once', async () => {
    const db = 'stoptest';
    const sensor = 'sensor-s';
    const spillFile = join(work, 'stop.spill');
    const maxBufferedRows = 30;
    const closeTimeoutMs = 1_000;
    const sink = createClickHouseSink({
      url: ch.url,
      database: db,
      sensor,
      spillFile,
      batchRows: 10,
      maxBufferedRows,
      flushIntervalMs: 20,
      maxAttempts: 3,
      retryBaseMs: 20,
      retryMaxMs: 50,
      requestTimeoutMs: 5_000,
      closeTimeoutMs,
    });
    const total = [...expectedIds(sessions, sensor).values()].reduce((n, ids) => n + ids.length, 0);
    expect(total).toBeGreaterThan(10 * maxBufferedRows);

    let frozenAt: number | null = null;
    let promises = 0;
    let mostHeld = 0;
    let lastDeliveredAt = 0;
    const delivered: SmtpSession[] = [];
    // After the sink: lets it insert a few batches, then freezes the server for the rest of the run.
    const freezer: Sink = {
      name: 'freezer',
      sessionClosed() {
        if (frozenAt !== null) return undefined;
        return waitUntil(() => sink.stats().batchesInserted >= 2, 10_000).then(() => {
          if (frozenAt !== null) return;
          ch.pause();
          frozenAt = Date.now();
        });
      },
      close: async () => undefined,
    };
    const watched: Sink = {
      name: 'clickhouse-watched',
      sessionClosed(session) {
        const result = sink.sessionClosed(session);
        if (result !== undefined) promises++;
        const st = sink.stats();
        mostHeld = Math.max(mostHeld, st.rowsAccepted - st.rowsInserted - st.rowsSpilled - st.rowsLost);
        return result;
      },
      close: (summary) => sink.close(summary),
    };
    const recorder: Sink = {
      name: 'recorder',
      sessionClosed(session) {
        delivered.push(session);
        lastDeliveredAt = Date.now();
      },
      close: async () => undefined,
    };
    const inputs = distinctCaptureInputs(CAPTURES);
    try {
      await createAnalyzer({ inputs, ports: PORTS }, [watched, freezer, recorder]).run();
      const ended = Date.now();
      expect(frozenAt).not.toBeNull();
      // Every session after the freeze went through the sink without waiting for the server.
      expect(promises).toBe(0);
      expect(lastDeliveredAt - frozenAt!).toBeLessThan(1_500);
      // close waits for the hanging request at most closeTimeoutMs, then spills it.
      expect(ended - frozenAt!).toBeLessThan(closeTimeoutMs + 3_000);
      const stats = sink.stats();
      expect(mostHeld).toBeLessThanOrEqual(maxBufferedRows);
      expect(stats.peakHeldRows).toBe(mostHeld);
      expect(stats.overflows).toBeGreaterThan(0);
      expect(stats.rowsSpilledOnOverflow).toBeGreaterThan(0);
      expect(stats.rowsLost).toBe(0);
      expect(stats.rowsInserted + stats.rowsSpilled).toBeGreaterThanOrEqual(stats.rowsAccepted);
    } finally {
      ch.resume();
    }

    await replayClickHouseSpill(spillFile, { url: ch.url, database: db, batchRows: 100 });
    const expected = expectedIds(delivered, sensor);
    for (const level of LEVEL_NAMES) {
      const got = (await selectJson(ch, `SELECT toString(id) AS id FROM ${db}.${level} FINAL`))
        .map((r) => String(r['id']))
        .sort();
      expect(got, level).toEqual(expected.get(level));
    }
  });

  it('writes one connection_attempts row per attempt with --connection-attempts, once however often it is sent, and replays spilled ones', async () => {
    // 40 SYNs to port 25 from 10.0.0.1, ports 1024 to 1063, never answered, and one intact session.
    const capture = join(work, 'syns.pcap');
    writeSynFlood(capture, { connections: 40 });
    const run = async (database: string, url: string, attempts: boolean) => {
      const sink = createClickHouseSink({
        url,
        database,
        sensor: 'sensor-t',
        spillFile: join(work, `${database}.spill`),
        attempts,
        maxAttempts: 1,
        requestTimeoutMs: 2_000,
      });
      const r = await createAnalyzer({ inputs: [{ kind: 'file', path: capture }], ports: PORTS }, [
        sink,
      ]).run();
      return { stats: sink.stats(), attempts: r.stats.attempts.total };
    };
    const first = await run('attempts', ch.url, true);
    expect(first.attempts).toBe(40);
    expect(first.stats.rowsSpilled).toBe(0);
    const rows = await selectJson(
      ch,
      'SELECT client_ip, client_port, server_port, fate, packets_c2s, packets_s2c, started_at_us, ended_at_us FROM attempts.connection_attempts FINAL ORDER BY client_port',
    );
    expect(rows).toHaveLength(40);
    expect(rows.map((r) => Number(r['client_port']))).toEqual(Array.from({ length: 40 }, (_, i) => 1024 + i));
    for (const r of rows) {
      expect(r).toMatchObject({ client_ip: '10.0.0.1', server_port: 25, fate: 'unanswered', packets_s2c: 0 });
      expect(Number(r['packets_c2s'])).toBe(1);
      expect(r['ended_at_us']).toBe(r['started_at_us']);
    }
    expect(await count(ch, 'attempts.sessions', true)).toBe(1);
    // Sent again: the ids collapse.
    await run('attempts', ch.url, true);
    expect(await count(ch, 'attempts.connection_attempts', true)).toBe(40);
    // Without the flag, no attempt rows.
    await run('noattempts', ch.url, false);
    expect(await count(ch, 'noattempts.connection_attempts', false)).toBe(0);
    expect(await count(ch, 'noattempts.sessions', false)).toBe(1);
    // A server that is not there: the attempt rows spill, and the replay loads them.
    const down = await run('spilled', 'http://127.0.0.1:9', true);
    expect(down.stats.rowsSpilled).toBe(down.stats.rowsAccepted);
    const replayed = await replayClickHouseSpill(join(work, 'spilled.spill'), {
      url: ch.url,
      database: 'spilled',
    });
    expect(replayed.rows.connection_attempts).toBe(40);
    expect(await count(ch, 'spilled.connection_attempts', true)).toBe(40);
  });

  it('adds the columns a table made by an older version lacks, so that inserts into it work', async () => {
    const db = 'migrate';
    await ch.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
    // The sessions table as versions before tls_decryption made it, recipients before the maillog columns (log_*).
    const without = (ddl: string, dropped: (name: string) => boolean) =>
      ddl
        .split('\n')
        .filter((line) => {
          const m = /^ {4}`([^`]+)`/.exec(line);
          return m === null || !dropped(m[1]!);
        })
        .join('\n')
        .replace(/,\n\)/, '\n)');
    const oldRecipient = (name: string) => name.startsWith('log_');
    expect(insertColumns('recipients').filter(oldRecipient).length).toBeGreaterThan(5);
    await ch.query(without(createTableStatement('sessions', db), (name) => name === 'tls_decryption'));
    await ch.query(without(createTableStatement('recipients', db), oldRecipient));
    const columnsOf = async (table: string) =>
      (
        await selectJson(
          ch,
          `SELECT name FROM system.columns WHERE database = '${db}' AND table = '${table}'`,
        )
      ).map((r) => String(r['name']));
    expect(await columnsOf('sessions')).not.toContain('tls_decryption');
    expect(await columnsOf('recipients')).not.toContain('log_status');
    const sink = createClickHouseSink({
      url: ch.url,
      database: db,
      sensor: 'sensor-m',
      spillFile: join(work, 'm.spill'),
    });
    for (const s of sessions) sink.sessionClosed(s);
    await sink.close(SUMMARY);
    const stats = sink.stats();
    expect(stats.rowsSpilled).toBe(0);
    expect(stats.rowsInserted).toBe(stats.rowsAccepted);
    expect(await columnsOf('sessions')).toEqual(expect.arrayContaining(insertColumns('sessions')));
    expect(await columnsOf('recipients')).toEqual(expect.arrayContaining(insertColumns('recipients')));
    expect(await count(ch, `${db}.sessions`, true)).toBe(sessions.length);
  });
});
