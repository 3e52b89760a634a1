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
import { createAttemptGate } from '../../src/pipeline/attempt-gate.js';
import { createAttemptCounter } from '../../src/pipeline/connection-attempts.js';
import {
  emptyDirectionStats,
  type FlowKey,
  type FlowStats,
  type UnopenedConnection,
} from '../../src/reassembly/types.js';
import { tcpFrame } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';
import { runMain } from '../helpers/run-main.js';
import { parseAddress } from '../helpers/segments.js';

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

  it('counts an attempt from the SYN table as the same attempt handed over as a flow key', () => {
    // An unopened connection built from address text: the words are the address bytes, big-endian.
    const unopened = (
      client: string,
      server: string,
      firstClose: 'c2s' | 's2c' | null,
    ): UnopenedConnection => {
      const words = (text: string) => {
        const b = parseAddress(text);
        return [0, 1, 2, 3].map((i) =>
          4 * i < b.length
            ? (b[4 * i]! << 24) | (b[4 * i + 1]! << 16) | (b[4 * i + 2]! << 8) | b[4 * i + 3]!
            : 0,
        );
      };
      const flow: FlowKey = {
        id: 'C000001',
        client: { ip: client, port: 40000 },
        server: { ip: server, port: 25 },
        basis: 'syn',
      };
      const none = emptyDirectionStats();
      const stats: FlowStats = {
        firstTsMicros: 1,
        lastTsMicros: 2,
        c2s: { ...none, packets: 1 },
        s2c: none,
        sawSyn: true,
        sawSynAck: false,
        ...(firstClose === null ? {} : { firstClose }),
      };
      return {
        ipVersion: client.includes(':') ? 6 : 4,
        clientWord: (i) => words(client)[i]!,
        serverWord: (i) => words(server)[i]!,
        clientPort: 40000,
        serverPort: 25,
        firstTsMicros: 1,
        lastTsMicros: 2,
        c2sPackets: 1,
        s2cPackets: 0,
        sawSyn: true,
        sawSynAck: false,
        firstClose,
        id: () => flow.id,
        flow: () => flow,
        stats: () => stats,
      };
    };
    const pairs: [string, string][] = [];
    for (let i = 0; i < 40; i++)
      pairs.push([`10.${i % 3}.0.${i % 7}`, i % 2 === 0 ? SERVER : '255.255.255.255']);
    for (let i = 0; i < 12; i++) pairs.push([`2001:db8::${(i % 5) + 1}`, '2001:db8::25']);
    // Not text the assembler makes (a leading zero): kept as text, apart from 10.0.0.1.
    pairs.push(['010.0.0.1', SERVER], ['10.0.0.1', SERVER], ['0.0.0.0', '128.0.0.1']);
    const byFlow = createAttemptCounter(6);
    const mixed = createAttemptCounter(6);
    pairs.forEach(([client, server], i) => {
      const c = unopened(client, server, null);
      byFlow.add(c.flow(), 'unanswered');
      // Half of them through the SYN table's path, interleaved: one table whatever the path.
      if (i % 2 === 0 || client.startsWith('0')) mixed.add(c.flow(), 'unanswered');
      else mixed.addUnopened(c, 'unanswered');
    });
    expect(mixed.stats()).toEqual(byFlow.stats());
    const exact = createAttemptCounter();
    const fromTable = createAttemptCounter();
    for (const [client, server] of pairs) {
      exact.add(unopened(client, server, null).flow(), 'unanswered');
      if (!client.startsWith('0')) fromTable.addUnopened(unopened(client, server, null), 'unanswered');
      else fromTable.add(unopened(client, server, null).flow(), 'unanswered');
    }
    expect(fromTable.stats()).toEqual(exact.stats());
    expect(exact.stats().clients.map((c) => c.address)).toContain('010.0.0.1');
    expect(exact.stats().servers.map((c) => c.address)).toContain('255.255.255.255');
  });

  it('the gate judges a connection closed in the SYN table by its handshake alone', () => {
    const seen: string[] = [];
    const gate = createAttemptGate(
      {
        create(flow, ts) {
          seen.push(`create ${flow.id} ${ts}`);
          return {
            onData() {},
            onGap() {},
            onClose(reason, ts2, stats) {
              seen.push(`close ${reason} ${ts2} ${stats.firstClose}`);
            },
          };
        },
      },
      {
        attempt: () => seen.push('attempt'),
        unopened: (c, fate, reason) => seen.push(`unopened ${c.id()} ${fate} ${reason}`),
      },
    );
    const flow: FlowKey = {
      id: 'C000007',
      client: { ip: '10.0.0.1', port: 40000 },
      server: { ip: SERVER, port: 25 },
      basis: 'syn',
    };
    const onePacket = { ...emptyDirectionStats(), packets: 1 };
    const view = (sawSynAck: boolean, firstClose: 'c2s' | 's2c' | null): UnopenedConnection => ({
      ipVersion: 4,
      clientWord: () => 0x0a000001,
      serverWord: () => 0,
      clientPort: 40000,
      serverPort: 25,
      firstTsMicros: 5,
      lastTsMicros: 9,
      c2sPackets: 1,
      s2cPackets: 1,
      sawSyn: true,
      sawSynAck,
      firstClose,
      id: () => flow.id,
      flow: () => flow,
      stats: () => ({
        firstTsMicros: 5,
        lastTsMicros: 9,
        c2s: onePacket,
        s2c: onePacket,
        sawSyn: true,
        sawSynAck,
        ...(firstClose === null ? {} : { firstClose }),
      }),
    });
    gate.closeUnopened(view(false, 's2c'), 'rst', 9);
    gate.closeUnopened(view(true, null), 'idle-timeout', 9);
    gate.closeUnopened(view(true, 'c2s'), 'rst', 9);
    // The server closed first after its SYN+ACK: a session, as a handler made at the first SYN would see it.
    gate.closeUnopened(view(true, 's2c'), 'rst', 9);
    expect(seen).toEqual([
      'unopened C000007 refused rst',
      'unopened C000007 silent idle-timeout',
      'unopened C000007 client-closed rst',
      'create C000007 5',
      'close rst 9 s2c',
    ]);
    expect(gate.waiting).toBe(0);
  });
});
