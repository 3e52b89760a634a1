import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
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

describe('analyzer', () => {
  it('reports each connection that never carried a byte as a session of its own', async () => {
    const path = floodCapture(300);
    const { sessions, summary } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(sessions).toHaveLength(301);
    const silent = sessions.filter((s) => s.greeting === null);
    expect(silent).toHaveLength(300);
    expect(silent.every((s) => s.end === 'end-of-capture' && s.transactions.length === 0)).toBe(true);
    expect(sessions.find((s) => s.greeting !== null)?.greeting?.text).toBe('mx ESMTP');
    expect(summary.stats.sessionsClosed).toBe(301);
  });
});
