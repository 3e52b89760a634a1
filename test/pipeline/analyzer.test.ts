import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource } from '../../src/capture/open-file.js';
import type { PacketSource } from '../../src/capture/types.js';
import type { Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray, CLOCK_TICK_MS, createAnalyzer } from '../../src/pipeline/analyzer.js';
import { tcpFrame } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-analyzer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** SYN-only connections (a flood's shape) and one connection that says something. */
function floodCapture(syns: number): string {
  const frames: { data: Uint8Array; fraction: number }[] = [];
  let ts = 0;
  for (let i = 0; i < syns; i++)
    frames.push({
      data: tcpFrame({
        src: `10.9.${i >> 8}.${i & 255}`,
        dst: '192.0.2.25',
        sport: 40_000,
        dport: 25,
        seq: 1,
        flags: 'S',
      }),
      fraction: ts++,
    });
  frames.push({
    data: tcpFrame({
      src: '10.8.0.1',
      dst: '192.0.2.25',
      sport: 25,
      dport: 41_000,
      seq: 1,
      ack: 1,
      flags: 'PA',
      payload: new TextEncoder().encode('220 mx ESMTP\r\n'),
    }),
    fraction: ts++,
  });
  const path = join(dir, `flood-${syns}.pcap`);
  writeFileSync(
    path,
    buildPcap({ endian: 'le', records: frames.map((f) => ({ seconds: 1_700_000_000, ...f })) }),
  );
  return path;
}

/**
 * A capture file made to look like a live input: it stays open after its packets until closed (`allFed`
 * resolves once every packet was handed on), with the source clock `nowMicros` when given.
 */
async function heldLive(
  path: string,
  nowMicros?: () => number,
): Promise<{ source: PacketSource; allFed: Promise<void> }> {
  const file = await openFileSource(path);
  let fed: () => void = () => {};
  const allFed = new Promise<void>((resolve) => {
    fed = resolve;
  });
  let release: () => void = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const source: PacketSource = {
    description: 'live:test',
    format: 'live',
    compressed: false,
    forEach: async (onPacket) => {
      await file.forEach(onPacket);
      fed();
      await held;
    },
    close: async () => {
      release();
      await file.close();
    },
    stats: () => file.stats(),
    warnings: () => file.warnings(),
    ...(nowMicros === undefined ? {} : { nowMicros }),
  };
  return { source, allFed };
}

describe('analyzer', () => {
  it('counts each connection that never carried a byte as an unanswered attempt, not a session', async () => {
    const path = floodCapture(300);
    const { sessions, summary } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]?.greeting?.text).toBe('mx ESMTP');
    expect(summary.stats.sessionsClosed).toBe(1);
    expect(summary.stats.attempts.total).toBe(300);
    expect(summary.stats.attempts.byFate.unanswered).toBe(300);
    expect(summary.stats.attempts.servers).toEqual([{ address: '192.0.2.25', count: 300 }]);
    expect(summary.stats.attempts.clients).toHaveLength(300);
    expect(summary.stats.connectionsWaiting).toBe(0);
  });

  it('counts the SYN-only connections still open as waiting while a live input runs', async () => {
    const path = floodCapture(300);
    const { source: live, allFed } = await heldLive(path);
    const analyzer = createAnalyzer({ inputs: [{ kind: 'source', open: async () => live }] }, []);
    const running = analyzer.run();
    await allFed;
    // The 300 bare SYNs have neither carried a byte nor closed; the server that spoke is an open session.
    const during = analyzer.snapshot().stats;
    expect(during.connectionsWaiting).toBe(300);
    expect(during.sessionsOpen).toBe(1);
    expect(during.assembler.openFlows).toBe(301);
    analyzer.stop();
    const summary = await running;
    expect(summary.stats.connectionsWaiting).toBe(0);
    expect(summary.stats.attempts.total).toBe(300);
  });

  it('closes an idle connection on a quiet live link from the source clock, with no packet to move time', async () => {
    const seconds = 1_700_000_000;
    const greeting = new TextEncoder().encode('220 mx ESMTP\r\n');
    const frames = [
      tcpFrame({ src: '10.0.0.1', dst: '192.0.2.25', sport: 40_000, dport: 25, seq: 1, flags: 'S' }),
      tcpFrame({ src: '192.0.2.25', dst: '10.0.0.1', sport: 25, dport: 40_000, seq: 9, ack: 2, flags: 'SA' }),
      tcpFrame({
        src: '192.0.2.25',
        dst: '10.0.0.1',
        sport: 25,
        dport: 40_000,
        seq: 10,
        ack: 2,
        flags: 'PA',
        payload: greeting,
      }),
    ];
    const path = join(dir, 'quiet-live.pcap');
    writeFileSync(
      path,
      buildPcap({ endian: 'le', records: frames.map((data, i) => ({ seconds, fraction: i, data })) }),
    );
    // A file source made to look live: it stays open after its packets, and its clock says 5 s later.
    const { source: live } = await heldLive(path, () => seconds * 1_000_000 + 5_000_000);
    const closedWhileOpen: SmtpSession[] = [];
    let stopped = false;
    const sink: Sink = {
      name: 'collect',
      sessionClosed(session) {
        if (!stopped) closedWhileOpen.push(session);
      },
      async close() {},
    };
    const analyzer = createAnalyzer(
      { inputs: [{ kind: 'source', open: async () => live }], assembler: { idleTimeoutMs: 1000 } },
      [sink],
    );
    const running = analyzer.run();
    await new Promise((resolve) => setTimeout(resolve, CLOCK_TICK_MS * 2.5));
    stopped = true;
    analyzer.stop();
    await running;
    expect(closedWhileOpen).toHaveLength(1);
    expect(closedWhileOpen[0]?.end).toBe('idle-timeout');
    expect(closedWhileOpen[0]?.greeting?.text).toBe('mx ESMTP');
  }, 15_000);

  it('stops reading at a sink failure instead of going on to the end of the input, and reports it', async () => {
    const path = join(import.meta.dirname, '../../captures/postfix-rejects.pcap');
    const all = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(all.sessions.length).toBeGreaterThan(2);
    let calls = 0;
    const failing: Sink = {
      name: 'failing',
      sessionClosed() {
        calls++;
        throw new Error('disk full');
      },
      async close() {},
    };
    let closedWith: number | null = null;
    const witness: Sink = {
      name: 'witness',
      sessionClosed() {},
      async close(summary) {
        closedWith = summary.stats.source.packets;
      },
    };
    await expect(
      createAnalyzer({ inputs: [{ kind: 'file', path }] }, [failing, witness]).run(),
    ).rejects.toThrow('disk full');
    expect(calls).toBe(1);
    expect(closedWith).not.toBeNull();
    expect(closedWith!).toBeLessThan(all.summary.stats.source.packets);
  });
});
