/**
 * The ClickHouse flags end to end through the command line, against a real server on 127.0.0.1:
 * `--clickhouse URL --sensor NAME` loads the same rows as `--csv`, and a spill file written while the
 * server was unreachable loads with `clickhouse-replay`.
 */

import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTableStatement } from '../../src/fleet/clickhouse-schema.js';
import {
  findClickHouseServer,
  startTestClickHouse,
  type TestClickHouse,
} from '../fleet/clickhouse-server.js';
import { builtCli } from '../helpers/built-cli.js';
import { runMain } from '../helpers/run-main.js';

const SERVER = findClickHouseServer();
const CAPTURE = join(import.meta.dirname, '../../captures/postfix-rejects.pcap');

const run = runMain;

describe.skipIf(SERVER === null)('cli --clickhouse (needs clickhouse-server)', () => {
  let ch: TestClickHouse;
  const work = mkdtempSync(join(tmpdir(), 'smtpscope-cli-ch-'));
  beforeAll(async () => {
    ch = await startTestClickHouse(SERVER ?? []);
  }, 60_000);
  afterAll(async () => {
    await ch?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('loads the same recipients as the CSV export, tagged with the sensor name', async () => {
    const r = await run([
      CAPTURE,
      '--summary',
      '--clickhouse',
      ch.url,
      '--clickhouse-database',
      'clitest',
      '--sensor',
      'mx1',
      '--csv',
      join(work, 'csv'),
    ]);
    expect(r.code).toBe(0);
    const csvRows =
      readFileSync(join(work, 'csv', 'recipients.csv'), 'utf8')
        .trim()
        .split('\n').length - 1;
    const count = await ch.query(
      "SELECT count() FROM clitest.recipients FINAL WHERE sensor = 'mx1' FORMAT TSV",
    );
    expect(Number(count.trim())).toBe(csvRows);
    const rejected = await ch.query(
      "SELECT address FROM clitest.recipients FINAL WHERE disposition = 'rejected-rcpt' ORDER BY address FORMAT TSV",
    );
    expect(rejected.trim()).toBe('nosuchuser@localhost');
  });

  it('does not count a capture twice when it is sent alone and then again as part of a folder', async () => {
    const folder = join(work, 'folder');
    mkdirSync(folder);
    copyFileSync(join(import.meta.dirname, '../../captures/postfix-basic.pcap'), join(folder, 'a.pcap'));
    copyFileSync(CAPTURE, join(folder, 'b.pcap'));
    const common = [
      '--summary',
      '--clickhouse',
      ch.url,
      '--clickhouse-database',
      'resend',
      '--sensor',
      'mx1',
    ];
    const first = await run([CAPTURE, ...common]);
    expect(first.code, first.err).toBe(0);
    // Several files run in worker threads: the built CLI, as a process.
    const folderCsv = join(work, 'folder-csv');
    const second = spawnSync(process.execPath, [builtCli(), folder, ...common, '--csv', folderCsv], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(second.status, second.stderr).toBe(0);
    // The folder run names the sessions of b.pcap 2-C000001 ...; their rows must replace the first run's.
    expect(readFileSync(join(folderCsv, 'sessions.csv'), 'utf8')).toContain('2-C000001');
    for (const level of ['sessions', 'transactions', 'recipients', 'commands']) {
      const csvRows =
        readFileSync(join(folderCsv, `${level}.csv`), 'utf8')
          .trim()
          .split('\n').length - 1;
      const count = await ch.query(`SELECT count() FROM resend.${level} FINAL FORMAT TSV`);
      expect(Number(count.trim()), level).toBe(csvRows);
    }
  }, 120_000);

  it('replays a spill file with clickhouse-replay, and a second replay adds nothing', async () => {
    // Rows spilled by a run whose server was down: make one by pointing a run at a closed port.
    const spill = join(work, 'spill.ndjson');
    const down = await run([
      CAPTURE,
      '--summary',
      '--clickhouse',
      'http://127.0.0.1:9',
      '--clickhouse-database',
      'spilltest',
      '--clickhouse-spill',
      spill,
    ]);
    expect(down.code).toBe(0);
    expect(down.err).toContain('clickhouse');
    expect(readFileSync(spill, 'utf8').trim().split('\n').length).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) {
      const r = await run([
        'clickhouse-replay',
        spill,
        '--clickhouse',
        ch.url,
        '--clickhouse-database',
        'spilltest',
      ]);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/loaded sessions 4, /);
    }
    const sessions = await ch.query('SELECT count() FROM spilltest.sessions FINAL FORMAT TSV');
    expect(Number(sessions.trim())).toBe(4);
  }, 120_000);

  it('takes the database from the URL path, and the user flag wins over the URL', async () => {
    // The URL names a user and password the server refuses: the flags win and let the inserts through.
    const url = ch.url.replace('http://', 'http://nobody:wrong@');
    const r = await run([
      CAPTURE,
      '--summary',
      '--clickhouse',
      `${url}/urldb`,
      '--clickhouse-user',
      'default',
      '--clickhouse-password',
      '',
      '--clickhouse-spill',
      join(work, 'urldb.ndjson'),
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    const count = await ch.query('SELECT count() FROM urldb.sessions FINAL FORMAT TSV');
    expect(Number(count.trim())).toBe(4);
    const flag = await run([
      CAPTURE,
      '--summary',
      '--clickhouse',
      `${ch.url}/urldb`,
      '--clickhouse-database',
      'flagdb',
      '--clickhouse-spill',
      join(work, 'flagdb.ndjson'),
    ]);
    expect(flag.code).toBe(0);
    expect(Number((await ch.query('SELECT count() FROM flagdb.sessions FINAL FORMAT TSV')).trim())).toBe(4);
    expect(Number((await ch.query('SELECT count() FROM urldb.sessions FINAL FORMAT TSV')).trim())).toBe(4);
  }, 120_000);

  it('creates no database or table with --clickhouse-no-create (rows spill while the tables are missing)', async () => {
    const spill = join(work, 'nocreate.ndjson');
    const r = await run([
      CAPTURE,
      '--summary',
      '--clickhouse',
      ch.url,
      '--clickhouse-database',
      'nocreate',
      '--clickhouse-no-create',
      '--clickhouse-spill',
      spill,
    ]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('clickhouse');
    expect(readFileSync(spill, 'utf8').trim().split('\n').length).toBeGreaterThan(0);
    const dbs = await ch.query("SELECT count() FROM system.databases WHERE name = 'nocreate' FORMAT TSV");
    expect(dbs.trim()).toBe('0');
    // Once the tables exist, the same flag loads the spill file without DDL.
    for (const level of ['sessions', 'transactions', 'recipients', 'commands'] as const) {
      if (level === 'sessions') await ch.query('CREATE DATABASE nocreate');
      await ch.query(createTableStatement(level, 'nocreate'));
    }
    const replay = await run([
      'clickhouse-replay',
      spill,
      '--clickhouse',
      ch.url,
      '--clickhouse-database',
      'nocreate',
      '--clickhouse-no-create',
    ]);
    expect(replay.code).toBe(0);
    expect(replay.out).toMatch(/loaded sessions 4, /);
  }, 120_000);

  it('refuses a ClickHouse URL with more than one path segment as a usage error', async () => {
    const r = await run([CAPTURE, '--summary', '--clickhouse', 'http://127.0.0.1:9/a/b']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('one database');
  });

  it('refuses clickhouse-replay without a server URL', async () => {
    const file = join(work, 'empty.ndjson');
    writeFileSync(file, '');
    const r = await run(['clickhouse-replay', file]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--clickhouse URL');
  });
});
