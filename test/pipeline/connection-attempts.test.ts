/**
 * Connection attempts (src/pipeline/connection-attempts.ts): a connection that carried no byte either way is
 * counted by fate and address, not reported as a session, except a server that closed first after the handshake
 * (no greeting), which stays a session. Each case is one connection built packet by packet, so its fate follows
 * from TCP alone: the expected fates are read off the packets, not off the code.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { AttemptFate } from '../../src/model/connection-attempt.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { createAttemptCounter } from '../../src/pipeline/connection-attempts.js';
import { tcpFrame } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';
import { runMain } from '../helpers/run-main.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-attempts-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SERVER = '192.0.2.25';
type Step = { from: 'c' | 's'; flags: string; payload?: string };

/** One connection from client 10.1.0.`n`:40000 to the server's port 25; sequence numbers follow the steps. */
function connection(n: number, steps: readonly Step[]): Uint8Array[] {
  const client = `10.1.0.${n}`;
  let cseq = 1000;
  let sseq = 5000;
  return steps.map((step) => {
    const payload = step.payload === undefined ? undefined : new TextEncoder().encode(step.payload);
    const fromClient = step.from === 'c';
    const frame = tcpFrame({
      src: fromClient ? client : SERVER,
      dst: fromClient ? SERVER : client,
      sport: fromClient ? 40_000 : 25,
      dport: fromClient ? 25 : 40_000,
      seq: fromClient ? cseq : sseq,
      ack: fromClient ? sseq : cseq,
      flags: step.flags,
      ...(payload === undefined ? {} : { payload }),
    });
    const advance = (payload?.length ?? 0) + (/[SF]/.test(step.flags) ? 1 : 0);
    if (fromClient) cseq += advance;
    else sseq += advance;
    return frame;
  });
}

const HANDSHAKE: Step[] = [
  { from: 'c', flags: 'S' },
  { from: 's', flags: 'SA' },
  { from: 'c', flags: 'A' },
];

const CASES: { name: string; fate: AttemptFate | 'session'; steps: Step[] }[] = [
  { name: 'unanswered SYN', fate: 'unanswered', steps: [{ from: 'c', flags: 'S' }] },
  {
    name: 'SYN answered by RST',
    fate: 'refused',
    steps: [
      { from: 'c', flags: 'S' },
      { from: 's', flags: 'RA' },
    ],
  },
  {
    name: 'handshake, client FIN',
    fate: 'client-closed',
    steps: [...HANDSHAKE, { from: 'c', flags: 'FA' }, { from: 's', flags: 'FA' }, { from: 'c', flags: 'A' }],
  },
  { name: 'handshake, client RST', fate: 'client-closed', steps: [...HANDSHAKE, { from: 'c', flags: 'RA' }] },
  { name: 'handshake, then nothing', fate: 'silent', steps: [...HANDSHAKE] },
  {
    name: 'handshake, server FIN without a greeting',
    fate: 'session',
    steps: [...HANDSHAKE, { from: 's', flags: 'FA' }, { from: 'c', flags: 'FA' }, { from: 's', flags: 'A' }],
  },
  {
    name: 'handshake, server RST without a greeting',
    fate: 'session',
    steps: [...HANDSHAKE, { from: 's', flags: 'RA' }],
  },
  {
    name: 'a greeting and FINs',
    fate: 'session',
    steps: [
      ...HANDSHAKE,
      { from: 's', flags: 'PA', payload: '220 mx ESMTP\r\n' },
      { from: 'c', flags: 'FA' },
      { from: 's', flags: 'FA' },
    ],
  },
];

function captureOf(connections: Uint8Array[][]): string {
  // One connection after the other, 1 ms apart: no idle timeout is reached.
  const frames = connections.flat();
  const path = join(dir, `c${Math.random().toString(36).slice(2)}.pcap`);
  writeFileSync(
    path,
    buildPcap({
      endian: 'le',
      records: frames.map((data, i) => ({ seconds: 1_700_000_000, fraction: i * 1000, data })),
    }),
  );
  return path;
}

describe('connection attempts', () => {
  for (const [i, c] of CASES.entries()) {
    it(`${c.name}: ${c.fate === 'session' ? 'a session' : `an attempt, ${c.fate}`}`, async () => {
      const path = captureOf([connection(i + 1, c.steps)]);
      const { sessions, summary } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
      const attempts = summary.stats.attempts;
      if (c.fate === 'session') {
        expect(sessions).toHaveLength(1);
        expect(attempts.total).toBe(0);
      } else {
        expect(sessions).toHaveLength(0);
        expect(attempts.total).toBe(1);
        expect(attempts.byFate[c.fate]).toBe(1);
        expect(attempts.clients).toEqual([{ address: `10.1.0.${i + 1}`, count: 1 }]);
      }
    });
  }

  it('a server that closed without a greeting is a session with no greeting', async () => {
    const path = captureOf([connection(1, CASES[5]!.steps)]);
    const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(sessions[0]?.greeting).toBeNull();
    expect(sessions[0]?.quality.midstream).toBe(false);
  });

  it('--connection-attempts writes one NDJSON record per attempt and a run record; the summary counts them', async () => {
    const path = captureOf(CASES.map((c, i) => connection(i + 1, c.steps)));
    const json = join(dir, 'attempts.ndjson');
    const r = await runMain([path, '--json', json, '--connection-attempts', '--summary']);
    expect(r.code).toBe(0);
    const docs = readFileSync(json, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const datasets = docs.map((d) => d.event.dataset);
    expect(datasets.filter((d) => d === 'smtpscope.session')).toHaveLength(3);
    const attempts = docs.filter((d) => d.event.dataset === 'smtpscope.connection_attempt');
    // In close order: the unanswered SYN and the silent handshake close at the end of the capture.
    expect(attempts.map((d) => [d.source.ip, d.smtp.attempt_fate])).toEqual([
      ['10.1.0.2', 'refused'],
      ['10.1.0.3', 'client-closed'],
      ['10.1.0.4', 'client-closed'],
      ['10.1.0.1', 'unanswered'],
      ['10.1.0.5', 'silent'],
    ]);
    expect(datasets.at(-1)).toBe('smtpscope.run');
    const run = docs.at(-1).smtp.run;
    expect(run.sessions).toBe(3);
    expect(run.attempts.total).toBe(5);
    expect(run.attempts.by_fate).toEqual({
      unanswered: 1,
      refused: 1,
      'client-closed': 2,
      silent: 1,
      midstream: 0,
    });
    expect(run.attempts.servers).toEqual([{ address: SERVER, count: 5 }]);
    expect(run.dropped).toBe(0);
    expect(r.out).toContain('Connection attempts (no byte either way, not sessions): 5');
    expect(r.out).toMatch(/client-closed +2/);
    expect(r.out).toMatch(/Sessions: 3 /);
    // Without the flag: sessions only, as before.
    const plain = join(dir, 'plain.ndjson');
    await runMain([path, '--json', plain]);
    expect(readFileSync(plain, 'utf8').trim().split('\n')).toHaveLength(3);
  });

  it('per-address tables stay bounded: exact below the slot count, the heavy hitters kept above it', () => {
    const counter = createAttemptCounter(8);
    const flow = (client: string) => ({
      id: 'C1',
      client: { ip: client, port: 1 },
      server: { ip: SERVER, port: 25 },
      basis: 'syn' as const,
    });
    for (let i = 0; i < 1000; i++) counter.add(flow('10.0.0.1'), 'unanswered');
    for (let i = 0; i < 5000; i++) counter.add(flow(`10.2.${i >> 8}.${i & 255}`), 'unanswered');
    const stats = counter.stats();
    expect(stats.total).toBe(6000);
    expect(stats.approximate).toBe(true);
    expect(stats.clients.length).toBeLessThanOrEqual(8);
    // Misra-Gries: a count is under by at most total / (slots + 1).
    expect(stats.clients[0]?.address).toBe('10.0.0.1');
    expect(stats.clients[0]!.count).toBeGreaterThanOrEqual(1000 - 6000 / 9);
    expect(stats.servers).toEqual([{ address: SERVER, count: 6000 }]);
  });
});
