/**
 * Adversarial captures, at reduced size but the same shape as `node dist-harness/test/harness/adversarial/generate.js` writes:
 * each run completes, stays within its memory limits (the assembler's buffered bytes, sampled during the run,
 * and the heap growth), reports the anomalies it met, and still reports the intact session with its
 * recipients.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSummary, Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { type AnalyzerConfig, createAnalyzer } from '../../src/pipeline/analyzer.js';
import {
  INTACT_CLIENT_IP,
  INTACT_CLIENT_PORT,
  INTACT_RECIPIENTS,
  INTACT_SENDER,
} from '../harness/adversarial/intact-session.js';
import {
  type LengthLie,
  writeBdat4g,
  writeLengthLie,
  writeLongLine,
  writeOutOfOrder,
  writeOverlap,
  writePipelined,
  writeSynFlood,
} from '../harness/adversarial/scenarios.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-adversarial-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapMb(): number {
  gc();
  return process.memoryUsage().heapUsed / (1024 * 1024);
}

interface Outcome {
  readonly summary: RunSummary;
  readonly intact: SmtpSession | undefined;
  readonly sessions: number;
  /** Anomaly codes of every session, with how many sessions had each. */
  readonly anomalies: ReadonlyMap<string, number>;
  readonly closeReasons: ReadonlyMap<string, number>;
  readonly maxBufferedBytes: number;
  /** Heap in use at the sampled peak of the run, over the heap before it (garbage included). */
  readonly heapPeakGrowthMb: number;
  /** Heap retained after the run (after a collection), over the heap before it: a leak shows here. */
  readonly heapRetainedMb: number;
}

/** Runs the analyzer over `path`, keeping only the intact session and counts of everything else. */
async function analyze(path: string, config: Omit<AnalyzerConfig, 'inputs'> = {}): Promise<Outcome> {
  let intact: SmtpSession | undefined;
  let sessions = 0;
  const anomalies = new Map<string, number>();
  const closeReasons = new Map<string, number>();
  const sink: Sink = {
    name: 'adversarial',
    sessionClosed(session) {
      sessions++;
      if (session.client.ip === INTACT_CLIENT_IP && session.client.port === INTACT_CLIENT_PORT)
        intact = session;
      for (const code of new Set(session.anomalies.map((a) => a.code)))
        anomalies.set(code, (anomalies.get(code) ?? 0) + 1);
      closeReasons.set(session.closeReason, (closeReasons.get(session.closeReason) ?? 0) + 1);
    },
    async close() {},
  };
  let packets = 0;
  let maxBufferedBytes = 0;
  const heapBefore = heapMb();
  let heapPeak = heapBefore;
  const analyzer = createAnalyzer(
    {
      ...config,
      inputs: [{ kind: 'file', path }],
      tap() {
        if (++packets % 2000 === 0) {
          maxBufferedBytes = Math.max(maxBufferedBytes, analyzer.snapshot().stats.assembler.bufferedBytes);
          heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed / (1024 * 1024));
        }
      },
    },
    [sink],
  );
  const summary = await analyzer.run();
  return {
    summary,
    intact,
    sessions,
    anomalies,
    closeReasons,
    maxBufferedBytes,
    heapPeakGrowthMb: heapPeak - heapBefore,
    heapRetainedMb: heapMb() - heapBefore,
  };
}

function expectIntact(outcome: Outcome): void {
  const session = outcome.intact;
  expect(session, 'the intact session is reported').toBeDefined();
  const t = session!.transactions;
  expect(t).toHaveLength(1);
  expect(t[0]!.mailFrom).toBe(INTACT_SENDER);
  expect(t[0]!.recipients.map((r) => r.address)).toEqual(INTACT_RECIPIENTS);
  expect(t[0]!.recipients.map((r) => r.disposition)).toEqual(['delivered', 'delivered']);
  expect(t[0]!.messageComplete).toBe(true);
}

describe('adversarial captures', () => {
  it('survives a 50,000-connection SYN flood with bounded connections', async () => {
    const path = join(dir, 'syn-flood.pcap');
    writeSynFlood(path, { connections: 50_000 });
    const outcome = await analyze(path, { assembler: { maxConnections: 2_000 } });
    expect(outcome.summary.stats.assembler.totalFlows).toBe(50_001);
    expect(outcome.summary.stats.assembler.limitHits.connections).toBeGreaterThan(40_000);
    // Every SYN is a connection attempt, not a session: counted, and nothing is handed to the sinks.
    expect(outcome.summary.stats.attempts.byFate.unanswered).toBeGreaterThanOrEqual(50_000);
    expect(outcome.summary.stats.attempts.total).toBeLessThanOrEqual(50_003);
    expect(outcome.summary.stats.sessionsClosed).toBe(1);
    expect(outcome.heapPeakGrowthMb).toBeLessThan(400);
    expect(outcome.heapRetainedMb).toBeLessThan(16);
    expectIntact(outcome);
  }, 120_000);

  it('cuts a 20 MB line with no line ending and keeps memory flat', async () => {
    const path = join(dir, 'long-line.pcap');
    writeLongLine(path, { bytes: 20 * 1024 * 1024 });
    const outcome = await analyze(path);
    expect(outcome.anomalies.get('line-too-long')).toBe(1);
    expect(outcome.maxBufferedBytes).toBe(0);
    expect(outcome.heapPeakGrowthMb).toBeLessThan(64);
    expect(outcome.heapRetainedMb).toBeLessThan(16);
    expectIntact(outcome);
  }, 120_000);

  it('turns out-of-order data that never fills into gaps at the buffer limits', async () => {
    const path = join(dir, 'out-of-order.pcap');
    writeOutOfOrder(path, { connections: 8, bytesPerConnection: 512 * 1024 });
    const perDirection = 128 * 1024;
    const total = 512 * 1024;
    const outcome = await analyze(path, {
      assembler: { maxBufferedBytesPerDirection: perDirection, maxBufferedBytesTotal: total },
    });
    const { limitHits, gaps } = outcome.summary.stats.assembler;
    expect(limitHits.perDirection + limitHits.total).toBeGreaterThan(0);
    expect(limitHits.total).toBeGreaterThan(0);
    // The hole at the start of each client stream becomes one gap; the data after it then flows in order.
    expect(gaps).toBeGreaterThanOrEqual(8);
    // One segment may sit over a limit until the next push applies it.
    expect(outcome.maxBufferedBytes).toBeLessThanOrEqual(total + 1460);
    expect(outcome.summary.stats.assembler.bufferedBytes).toBe(0);
    expect(outcome.anomalies.get('content-gap') ?? outcome.anomalies.get('midstream') ?? 0).toBeGreaterThan(
      0,
    );
    expectIntact(outcome);
  }, 120_000);

  it('counts retransmissions whose bytes conflict with what was first sent', async () => {
    const path = join(dir, 'overlap.pcap');
    writeOverlap(path, { repeats: 200 });
    const outcome = await analyze(path);
    expect(outcome.summary.stats.assembler.overlapsDiffering).toBe(200);
    expectIntact(outcome);
  }, 60_000);

  it('bounds ten thousand pipelined commands that get no reply', async () => {
    const path = join(dir, 'pipelined.pcap');
    writePipelined(path, { commands: 10_000 });
    const outcome = await analyze(path);
    expect(outcome.anomalies.get('excessive-pending-commands')).toBe(1);
    expect(outcome.heapPeakGrowthMb).toBeLessThan(64);
    expect(outcome.heapRetainedMb).toBeLessThan(16);
    expectIntact(outcome);
  }, 60_000);

  it('skips the octets of a BDAT announcing 4 GB without buffering them', async () => {
    const path = join(dir, 'bdat-4g.pcap');
    writeBdat4g(path, { bytesSent: 4 * 1024 * 1024 });
    const outcome = await analyze(path);
    expect(outcome.anomalies.get('bdat-chunk-too-large')).toBe(1);
    expect(outcome.heapPeakGrowthMb).toBeLessThan(64);
    expect(outcome.heapRetainedMb).toBeLessThan(16);
    expectIntact(outcome);
  }, 60_000);

  const expectedWarning: Record<'pcap' | 'pcapng', Record<LengthLie, string>> = {
    pcap: { zero: 'oversized-record', huge: 'oversized-record', 'past-end': 'truncated-record' },
    pcapng: { zero: 'bad-block-length', huge: 'oversized-record', 'past-end': 'truncated-record' },
  };
  for (const format of ['pcap', 'pcapng'] as const) {
    for (const lie of ['zero', 'huge', 'past-end'] as const) {
      it(`reads a ${format} whose ${lie === 'past-end' ? 'length runs past the end' : `length is ${lie}`} up to the lie`, async () => {
        const path = join(dir, `${format}-length-${lie}.${format}`);
        writeLengthLie(path, format, lie);
        const outcome = await analyze(path);
        expect(outcome.summary.warnings.map((w) => w.code)).toContain(expectedWarning[format][lie]);
        expectIntact(outcome);
      });
    }
  }
});
