/**
 * Back-pressure from the sinks to the source (docs/LIMITS.md, "Back-pressure"): while the sinks are behind,
 * reading waits, so the sessions waiting for a slow disk stay bounded whatever the length of the capture; and a
 * run that ends early (a stop, a sink error, damaged input) leaves every output file complete up to the last
 * session delivered.
 */

import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { createAnalyzer, MAX_QUEUED_DELIVERIES } from '../../src/pipeline/analyzer.js';
import { createCsvSink } from '../../src/report/csv-sink.js';
import { createJsonSink } from '../../src/report/json-sink.js';
import { writeShortSessions } from '../harness/adversarial/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-backpressure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SESSIONS = 3000;
const capture = join(dir, 'short.pcap');
beforeAll(() => writeShortSessions(capture, { sessions: SESSIONS, concurrent: 50 }));

/** A sink whose every write takes a timer tick (a slow or busy disk), recording the backlog it saw. */
function slowSink(closedSoFar: () => number, delayMs = 1) {
  let delivered = 0;
  let maxBacklog = 0;
  let stopAt: (() => void) | null = null;
  let stopAfter = Number.POSITIVE_INFINITY;
  const sink: Sink = {
    name: 'slow',
    async sessionClosed(_session: SmtpSession) {
      maxBacklog = Math.max(maxBacklog, closedSoFar() - delivered);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delivered++;
      if (delivered === stopAfter) stopAt?.();
    },
    async close() {},
  };
  return {
    sink,
    delivered: () => delivered,
    maxBacklog: () => maxBacklog,
    stopAfter(n: number, stop: () => void) {
      stopAfter = n;
      stopAt = stop;
    },
  };
}

/** Rows of a CSV file, each checked to have the header's number of cells (no cut row). */
function csvRows(path: string): number {
  const lines = readFileSync(path, 'utf8').split('\n');
  expect(lines.at(-1)).toBe('');
  const cells = (line: string) => line.match(/("([^"]|"")*"|[^,]*)(,|$)/g)?.length ?? 0;
  const width = cells(lines[0]!);
  for (const line of lines.slice(1, -1)) expect(cells(line)).toBe(width);
  return lines.length - 2;
}

function ndjsonDocs(path: string): number {
  const text = readFileSync(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as unknown).length;
}

describe('back-pressure', () => {
  it('a slow sink holds reading back: the backlog stays bounded, far below the number of sessions', async () => {
    let analyzer: ReturnType<typeof createAnalyzer> | null = null;
    const slow = slowSink(() => analyzer?.snapshot().stats.sessionsClosed ?? 0);
    analyzer = createAnalyzer({ inputs: [{ kind: 'file', path: capture }] }, [slow.sink]);
    const summary = await analyzer.run();
    expect(summary.stats.sessionsClosed).toBe(SESSIONS + 1);
    expect(slow.delivered()).toBe(SESSIONS + 1);
    expect(summary.stats.sinkWaits).toBeGreaterThan(0);
    // Bound: the queue limit plus what one 1 MiB read can close (sessions of this capture per MiB).
    const perRead = Math.ceil((SESSIONS / statSync(capture).size) * 1024 * 1024);
    expect(slow.maxBacklog()).toBeLessThanOrEqual(MAX_QUEUED_DELIVERIES + perRead + 1);
    expect(slow.maxBacklog()).toBeLessThan(SESSIONS / 2);
  }, 120_000);

  it('a stop while the sinks are behind leaves the CSV and NDJSON files complete up to the last delivered session', async () => {
    const out = join(dir, 'stopped');
    let analyzer: ReturnType<typeof createAnalyzer> | null = null;
    const slow = slowSink(() => analyzer?.snapshot().stats.sessionsClosed ?? 0);
    const csv = createCsvSink({ dir: out });
    const json = createJsonSink({ path: join(out, 'sessions.ndjson') });
    analyzer = createAnalyzer({ inputs: [{ kind: 'file', path: capture }] }, [slow.sink, csv, json]);
    const a = analyzer;
    slow.stopAfter(400, () => a.stop());
    const summary = await a.run();
    expect(summary.stats.sessionsClosed).toBeLessThan(SESSIONS);
    const rows = csvRows(join(out, 'sessions.csv'));
    expect(rows).toBe(slow.delivered());
    expect(ndjsonDocs(join(out, 'sessions.ndjson'))).toBe(rows);
    expect(rows).toBeGreaterThanOrEqual(400);
  }, 120_000);

  it('a sink error ends the run; the other outputs are complete up to the last session they got', async () => {
    const out = join(dir, 'failed');
    let seen = 0;
    const failing: Sink = {
      name: 'failing',
      async sessionClosed() {
        await new Promise((resolve) => setImmediate(resolve));
        if (++seen === 500) throw new Error('disk full');
      },
      async close() {},
    };
    const csv = createCsvSink({ dir: out });
    const json = createJsonSink({ path: join(out, 'sessions.ndjson') });
    const analyzer = createAnalyzer({ inputs: [{ kind: 'file', path: capture }] }, [csv, json, failing]);
    await expect(analyzer.run()).rejects.toThrow('disk full');
    const rows = csvRows(join(out, 'sessions.csv'));
    expect(rows).toBe(500);
    expect(ndjsonDocs(join(out, 'sessions.ndjson'))).toBe(500);
  }, 120_000);

  it('damaged input: every session decoded before the damage is written, each file complete', async () => {
    const bytes = readFileSync(capture);
    const cut = join(dir, 'cut.pcap');
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2) + 7));
    const out = join(dir, 'cut');
    const csv = createCsvSink({ dir: out });
    const json = createJsonSink({ path: join(out, 'sessions.ndjson') });
    const analyzer = createAnalyzer({ inputs: [{ kind: 'file', path: cut }] }, [csv, json]);
    const summary = await analyzer.run();
    expect(summary.warnings.map((w) => w.code)).toContain('truncated-record');
    const rows = csvRows(join(out, 'sessions.csv'));
    expect(rows).toBe(summary.stats.sessionsClosed);
    expect(ndjsonDocs(join(out, 'sessions.ndjson'))).toBe(rows);
    expect(rows).toBeGreaterThan(SESSIONS / 3);
  }, 120_000);
});
