import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  attemptValues,
  type FleetRow,
  hash64,
  type RowConversionStats,
  sessionKey,
  toAttemptRow,
  toFleetRows,
  visitFleetRows,
} from '../../src/fleet/clickhouse-rows.js';
import {
  addMissingColumnStatements,
  FLEET_TABLES,
  type FleetTableName,
  insertColumns,
  staleNotNullNames,
} from '../../src/fleet/clickhouse-schema.js';
import { retryDelayMs } from '../../src/fleet/retry-delay.js';
import { rowJson } from '../../src/fleet/row-json.js';
import { createSpillWriter, parseSpillLine, readSpillFile, type SpillWriter } from '../../src/fleet/spill.js';
import type { ConnectionAttempt } from '../../src/model/connection-attempt.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { LEVEL_NAMES, LEVELS } from '../../src/report/columns.js';
import { distinctCaptureInputs } from '../helpers/distinct-captures.js';
import { makeSession } from '../helpers/sessions.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

async function analyse(): Promise<SmtpSession[]> {
  const inputs = distinctCaptureInputs(CAPTURES);
  return (await analyzeToArray({ inputs, ports: PORTS })).sessions;
}

function ids(
  sessions: readonly SmtpSession[],
  sensor: string,
  stats?: RowConversionStats,
): Map<string, string[]> {
  const out = new Map<string, string[]>(LEVEL_NAMES.map((l) => [l, []]));
  for (const s of sessions) {
    for (const { level, rows } of toFleetRows(s, sensor, 1_700_000_000, stats)) {
      for (const r of rows) out.get(level)!.push(String(r['id']));
    }
  }
  return out;
}

describe('clickhouse-rows', () => {
  let sessions: SmtpSession[];
  beforeAll(async () => {
    sessions = await analyse();
  });

  it('gives every row of every capture a distinct id, and the same ids when the captures are analysed again', async () => {
    const stats = { nullsReplaced: 0 };
    const first = ids(sessions, 'sensor-a', stats);
    const second = ids(await analyse(), 'sensor-a');
    for (const level of LEVEL_NAMES) {
      const list = first.get(level)!;
      expect(list.length, level).toBeGreaterThan(0);
      expect(new Set(list).size, level).toBe(list.length);
      expect(second.get(level), level).toEqual(list);
    }
    // Columns declared non-Nullable never receive a null from the real captures.
    expect(stats.nullsReplaced).toBe(0);
  });

  it('gives a capture the same ids alone and as one of several inputs (session ids differ, keys do not)', async () => {
    const capture = join(CAPTURES, 'postfix-rejects.pcap');
    const alone = (await analyzeToArray({ inputs: [{ kind: 'file', path: capture }], ports: PORTS }))
      .sessions;
    const listed = (
      await analyzeToArray({
        inputs: [
          { kind: 'file', path: join(CAPTURES, 'bounce-dsn.pcap') },
          { kind: 'file', path: capture },
        ],
        ports: PORTS,
      })
    ).sessions.filter((s) => s.id.startsWith('2-'));
    expect(alone.length).toBeGreaterThan(0);
    expect(listed.map((s) => s.id)).toEqual(alone.map((s) => `2-${s.id}`));
    const a = ids(alone, 'sensor-a');
    const b = ids(listed, 'sensor-a');
    for (const level of LEVEL_NAMES) {
      expect(a.get(level)!.length, level).toBeGreaterThan(0);
      expect(b.get(level), level).toEqual(a.get(level));
    }
  });

  it('gives another sensor other ids for the same traffic', () => {
    const a = new Set(ids(sessions, 'sensor-a').get('sessions'));
    for (const id of ids(sessions, 'sensor-b').get('sessions')!) expect(a.has(id)).toBe(false);
  });

  it('maps cells to ClickHouse values: bools as 1/0, times as whole seconds next to their microseconds', () => {
    const s = sessions.find((x) => x.commands.length > 0)!;
    const sessionRow = toFleetRows(s, 'x', 5).find((r) => r.level === 'sessions')!.rows[0]!;
    expect(sessionRow['started_at']).toBe(Math.floor(s.startedAt / 1e6));
    expect(sessionRow['started_at_us']).toBe(s.startedAt);
    expect(sessionRow['midstream']).toBe(s.quality.midstream ? 1 : 0);
    expect(sessionRow['inserted_at']).toBe(5);
    expect(sessionRow['sensor']).toBe('x');
    expect(String(sessionRow['session_key'])).toMatch(/^\d{1,20}$/);
    const cmdRows = toFleetRows(s, 'x', 5).find((r) => r.level === 'commands')!.rows;
    expect(cmdRows.length).toBe(s.commands.length);
    expect(cmdRows.map((r) => r['verb'])).toEqual(s.commands.map((c) => c.verb));
  });

  it('writes each row as the JSON text JSON.stringify makes of the row object, with the id of the row', () => {
    let rows = 0;
    for (const s of sessions) {
      const objects = new Map(toFleetRows(s, 'sensor-j', 7).map((r) => [r.level, [...r.rows]]));
      visitFleetRows(s, 'sensor-j', 7, undefined, (level, id, values) => {
        const expected = objects.get(level as (typeof LEVEL_NAMES)[number])!.shift()!;
        expect(rowJson(level, values)).toBe(JSON.stringify(expected));
        expect(id).toBe(expected['id']);
        rows++;
      });
      for (const [level, left] of objects) expect(left, level).toEqual([]);
    }
    expect(rows).toBeGreaterThan(sessions.length);
  });

  it('has a column for every CSV column of each level, and no stale non-Nullable names', () => {
    expect(staleNotNullNames()).toEqual([]);
    for (const level of LEVEL_NAMES) {
      const names = FLEET_TABLES[level].columns.map((c) => c.name);
      for (const c of LEVELS[level].columns) expect(names, `${level}.${c.name}`).toContain(c.name);
      for (const key of FLEET_TABLES[level].orderBy) {
        const col = FLEET_TABLES[level].columns.find((c) => c.name === key);
        // Sorting-key columns are never Nullable (materialized ones are not in `columns`).
        if (col !== undefined) expect(col.nullable, `${level}.${key}`).toBe(false);
      }
      expect(FLEET_TABLES[level].orderBy.at(-1)).toBe('id');
    }
  });
});

describe('connection attempt rows', () => {
  const attempt: ConnectionAttempt = {
    id: 'C000007',
    client: { ip: '198.51.100.7', port: 40001 },
    server: { ip: '192.0.2.25', port: 25 },
    fate: 'refused',
    closeReason: 'rst',
    firstTsMicros: 1_700_000_000_123_456,
    lastTsMicros: 1_700_000_001_000_001,
    packetsC2s: 1,
    packetsS2c: 1,
  };

  it('has every column of the table, the times as DateTime seconds and microseconds', () => {
    const row = toAttemptRow(attempt, 'mx1', 1_800_000_000);
    expect(Object.keys(row)).toEqual(insertColumns('connection_attempts'));
    expect(row).toMatchObject({
      sensor: 'mx1',
      connection_id: 'C000007',
      started_at: 1_700_000_000,
      started_at_us: 1_700_000_000_123_456,
      ended_at: 1_700_000_001,
      ended_at_us: 1_700_000_001_000_001,
      client_ip: '198.51.100.7',
      client_port: 40001,
      server_ip: '192.0.2.25',
      server_port: 25,
      fate: 'refused',
      close_reason: 'rst',
      packets_c2s: 1,
      packets_s2c: 1,
      inserted_at: 1_800_000_000,
    });
  });

  it('keys an attempt as a session of the same connection, and gives the same row the same id', () => {
    const same = makeSession({
      startedAt: attempt.firstTsMicros,
      client: attempt.client,
      server: attempt.server,
    });
    const row = toAttemptRow(attempt, 'mx1', 1);
    expect(row['session_key']).toBe(sessionKey('mx1', same));
    expect(toAttemptRow(attempt, 'mx1', 2)['id']).toBe(row['id']);
    expect(toAttemptRow(attempt, 'mx2', 1)['id']).not.toBe(row['id']);
    expect(toAttemptRow({ ...attempt, firstTsMicros: attempt.firstTsMicros + 1 }, 'mx1', 1)['id']).not.toBe(
      row['id'],
    );
  });
});

describe('hash64', () => {
  it('is the first 8 bytes of SHA-256, big-endian, in decimal (FIPS 180-2 vector "abc")', () => {
    // SHA-256("abc") starts ba7816bf8f01cfea; SHA-256 of one NUL byte starts 6e340b9cffb37a98.
    expect(hash64('abc')).toBe('13436514500253700074');
    expect(hash64('\u0000')).toBe('7940984811893783192');
  });
});

describe('row text', () => {
  it('escapes strings and writes numbers as JSON.stringify does, NaN and infinities as null', () => {
    const columns = FLEET_TABLES.connection_attempts.columns;
    const awkward = [
      'a"b\\c',
      'line\nbreak\ttab\u0000nul\u001f',
      'caf\u00e9 \u{1f4e7}',
      'lone \ud800 half',
      '',
    ];
    const numbers = [0, -0, 1.5, -42, 1e21, 2 ** 53 + 2, Number.NaN, Number.POSITIVE_INFINITY, -Infinity];
    const pool = [null, ...awkward, ...numbers];
    expect(columns.length).toBeGreaterThanOrEqual(pool.length);
    const values = columns.map((_, i) => pool[i % pool.length] ?? null);
    const object = Object.fromEntries(columns.map((c, i) => [c.name, values[i]]));
    const text = rowJson('connection_attempts', values);
    expect(text).toBe(JSON.stringify(object));
    expect(Object.keys(JSON.parse(text))).toEqual(insertColumns('connection_attempts'));
  });

  it('writes a connection attempt as its row object', () => {
    const attempt: ConnectionAttempt = {
      id: 'C000001',
      client: { ip: '2001:db8::1', port: 1 },
      server: { ip: '2001:db8::25', port: 25 },
      fate: 'unanswered',
      closeReason: 'idle-timeout',
      firstTsMicros: 1,
      lastTsMicros: 2,
      packetsC2s: 3,
      packetsS2c: 0,
    };
    expect(rowJson('connection_attempts', attemptValues(attempt, 's"1', 9))).toBe(
      JSON.stringify(toAttemptRow(attempt, 's"1', 9)),
    );
  });
});

describe('migration of older tables', () => {
  it('adds only the missing columns, each after the one before it, materialized ones with their expression', () => {
    const all = new Set([...insertColumns('recipients'), 'rcpt_domain']);
    expect(addMissingColumnStatements('recipients', 'db', all)).toEqual([]);
    const older = new Set([...all].filter((n) => n !== 'log_status' && n !== 'rcpt_domain'));
    const names = insertColumns('recipients');
    const before = names[names.indexOf('log_status') - 1]!;
    expect(addMissingColumnStatements('recipients', 'db', older)).toEqual([
      `ALTER TABLE \`db\`.\`recipients\` ADD COLUMN \`log_status\` Nullable(String) AFTER \`${before}\``,
      `ALTER TABLE \`db\`.\`recipients\` ADD COLUMN \`rcpt_domain\` String MATERIALIZED ${FLEET_TABLES.recipients.materialized[0]?.expression} AFTER \`inserted_at\``,
    ]);
  });
});

/** Buffers rows given as objects and writes them; the rows written. */
function append(w: SpillWriter, table: FleetTableName, rows: readonly FleetRow[]): number {
  for (const row of rows) w.add(table, JSON.stringify(row));
  return w.flush();
}

describe('spill', () => {
  it('writes rows as NDJSON lines and reads them back, skipping lines that are not rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-spill-'));
    try {
      const path = join(dir, 'spill.ndjson');
      const w = createSpillWriter(path);
      const rows: FleetRow[] = [
        { id: '1', sensor: 's', note: 'a\nb "q"' },
        { id: '2', sensor: 's', note: null },
      ];
      for (const row of rows) w.add('recipients', JSON.stringify(row));
      expect(w.pendingRows).toBe(2);
      expect(w.rows).toBe(0);
      expect(w.flush()).toBe(2);
      expect(w.pendingRows).toBe(0);
      expect(w.pendingChars).toBe(0);
      expect(append(w, 'sessions', [{ id: '3', sensor: 's', n: 4 }])).toBe(1);
      expect(w.rows).toBe(3);
      w.close();
      writeFileSync(path, '{"table":"nope","row":{}}\n[1]\n{"table":"commands","row":{"id":"9"', {
        flag: 'a',
      });
      const bad: number[] = [];
      const got = [];
      for await (const line of readSpillFile(path, (n) => bad.push(n))) got.push(line);
      expect(got).toEqual([
        { table: 'recipients', row: rows[0] },
        { table: 'recipients', row: rows[1] },
        { table: 'sessions', row: { id: '3', sensor: 's', n: 4 } },
      ]);
      expect(bad).toEqual([4, 5, 6]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the file readable by its owner only, and appends to a file left by an earlier run', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-spill-'));
    try {
      const path = join(dir, 'spill.ndjson');
      const first = createSpillWriter(path);
      append(first, 'sessions', [{ id: '1' }]);
      first.close();
      expect(statSync(path).mode & 0o777).toBe(0o600);
      const second = createSpillWriter(path);
      append(second, 'sessions', [{ id: '2' }]);
      second.close();
      expect(
        readFileSync(path, 'utf8')
          .split('\n')
          .filter((l) => l !== ''),
      ).toHaveLength(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to write through a symbolic link planted at its name, dangling or not', () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-spill-'));
    try {
      const victim = join(dir, 'victim');
      writeFileSync(victim, 'keep\n');
      symlinkSync(victim, join(dir, 'spill.ndjson'));
      const w = createSpillWriter(join(dir, 'spill.ndjson'));
      expect(() => append(w, 'sessions', [{ id: '1' }])).toThrow(/ELOOP|symbolic/);
      expect(readFileSync(victim, 'utf8')).toBe('keep\n');
      // The rows of a failed write are dropped (the sink counts them lost), not written by the next flush.
      expect(w.pendingRows).toBe(0);
      expect(w.flush()).toBe(0);
      w.close();

      const missing = join(dir, 'not-yet');
      symlinkSync(missing, join(dir, 'dangling.ndjson'));
      const d = createSpillWriter(join(dir, 'dangling.ndjson'));
      expect(() => append(d, 'sessions', [{ id: '1' }])).toThrow(/ELOOP|symbolic/);
      expect(existsSync(missing)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects lines without a known table or an object row', () => {
    expect(parseSpillLine('')).toBeNull();
    expect(parseSpillLine('{"table":"connection_attempts","row":{"id":"5"}}')).toEqual({
      table: 'connection_attempts',
      row: { id: '5' },
    });
    expect(parseSpillLine('{"table":"sessions","row":[1]}')).toBeNull();
    expect(parseSpillLine('{"table":"sessions"}')).toBeNull();
    expect(parseSpillLine('{"table":"sessions","row":{"id":"1"}}')).toEqual({
      table: 'sessions',
      row: { id: '1' },
    });
  });
});

describe('retry-delay', () => {
  it('doubles the ceiling per retry up to the maximum and stays between half and all of it', () => {
    const o = { baseMs: 100, maxMs: 1000 };
    expect(retryDelayMs(1, o, () => 0)).toBe(50);
    expect(retryDelayMs(1, o, () => 1)).toBe(100);
    expect(retryDelayMs(3, o, () => 1)).toBe(400);
    expect(retryDelayMs(10, o, () => 1)).toBe(1000);
    expect(retryDelayMs(10, o, () => 0)).toBe(500);
  });
});
