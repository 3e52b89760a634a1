/**
 * The ClickHouse sink with no server (a port of 127.0.0.1 where nothing listens): once degraded it holds no
 * batch, writes every row to the spill file as it is made, sends a probe at most once per flush interval,
 * and the spill file holds every row of every session exactly once, each line the row object of
 * clickhouse-rows.ts.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toFleetRows } from '../../src/fleet/clickhouse-rows.js';
import { createClickHouseSink } from '../../src/fleet/clickhouse-sink.js';
import { parseSpillLine } from '../../src/fleet/spill.js';
import type { RunSummary } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { writeShortSessions } from '../harness/adversarial/scenarios.js';
import { freePort } from '../harness/free-port.js';
import { distinctCaptureInputs } from '../helpers/distinct-captures.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

describe('ClickHouse sink with no server', () => {
  let sessions: SmtpSession[];
  let work: string;
  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'smtpscope-chspill-'));
    // The test captures (every kind of row), then 1,500 short sessions: enough rows for many batches.
    const short = join(work, 'short.pcap');
    writeShortSessions(short, { sessions: 1_500, concurrent: 20 });
    sessions = (
      await analyzeToArray({
        inputs: [...distinctCaptureInputs(CAPTURES), { kind: 'file', path: short }],
        ports: PORTS,
      })
    ).sessions;
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('spills every row once as it is made, holds no batch once degraded, and probes once per flush interval', async () => {
    const spillFile = join(work, 'spill.ndjson');
    const batchRows = 100;
    const flushIntervalMs = 300;
    const sink = createClickHouseSink({
      url: `http://127.0.0.1:${await freePort()}`,
      sensor: 'sensor-n',
      spillFile,
      batchRows,
      flushIntervalMs,
      maxAttempts: 1,
      requestTimeoutMs: 2_000,
    });
    const held = (): number => {
      const st = sink.stats();
      return st.rowsAccepted - st.rowsInserted - st.rowsSpilled - st.rowsLost;
    };
    // Rows of one session at most (the spill buffer is written at batchRows rows or 64 KiB). Collecting instead
    // would hold up to batchRows - 1 rows of each of the four levels.
    const mostRows = Math.max(
      ...sessions.map((s) => toFleetRows(s, 'x', 0).reduce((n, l) => n + l.rows.length, 0)),
    );
    const fed: SmtpSession[] = [];
    const feed = (s: SmtpSession): void => {
      fed.push(s);
      expect(sink.sessionClosed(s)).toBeUndefined();
    };
    let i = 0;
    // Until the first batch has failed its one attempt, rows collect into batches.
    while (sink.stats().insertFailures === 0) {
      expect(i).toBeLessThan(sessions.length / 4);
      feed(sessions[i++]!);
      await new Promise((r) => setTimeout(r, 2));
    }
    const attemptsAtDegraded = sink.stats().insertAttempts;
    const startedAt = Date.now();
    let mostHeld = 0;
    // The rest in three parts, the probe interval passing between them.
    const rest = sessions.slice(i);
    const part = Math.ceil(rest.length / 3);
    for (let p = 0; p < 3; p++) {
      for (const [k, s] of rest.slice(p * part, (p + 1) * part).entries()) {
        feed(s);
        mostHeld = Math.max(mostHeld, held());
        // Now and then the event loop turns, so a probe can fail and the next could go out.
        if (k % 25 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await new Promise((r) => setTimeout(r, flushIntervalMs + 50));
    }
    const elapsed = Date.now() - startedAt;
    await sink.close({} as RunSummary);
    const stats = sink.stats();

    expect(fed.length).toBe(sessions.length);
    expect(mostHeld).toBeLessThan(batchRows + mostRows);
    // A probe (one attempt) per flush interval at most after the sink turned degraded.
    const probes = stats.insertAttempts - attemptsAtDegraded;
    expect(probes).toBeGreaterThan(0);
    expect(probes).toBeLessThanOrEqual(Math.floor(elapsed / flushIntervalMs) + 1);
    expect(stats.rowsInserted).toBe(0);
    expect(stats.rowsLost).toBe(0);
    expect(stats.rowsSpilled).toBe(stats.rowsAccepted);

    // The file holds every row of every session once, each the row object (inserted_at aside).
    const lines = readFileSync(spillFile, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    const got = lines
      .map((l) => {
        const parsed = parseSpillLine(l);
        expect(parsed, l).not.toBeNull();
        return JSON.stringify({ table: parsed!.table, row: { ...parsed!.row, inserted_at: 0 } });
      })
      .sort();
    const want: string[] = [];
    for (const s of fed)
      for (const { level, rows } of toFleetRows(s, 'sensor-n', 0))
        for (const row of rows) want.push(JSON.stringify({ table: level, row }));
    expect(want.length).toBe(stats.rowsAccepted);
    expect(new Set(want).size).toBe(want.length);
    expect(got).toEqual(want.sort());
  });
});
