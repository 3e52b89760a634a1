/**
 * Content detection (src/smtp/content-detector.ts): TCP connections on ports outside the list are kept as SMTP
 * when their first bytes say so (a `220` greeting from the server, EHLO/HELO/LHLO from the client), and dropped
 * and counted otherwise, never a session nor a connection attempt. Each connection is built packet by packet.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { tcpFrame } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-detect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLIENT = '10.1.0.7';
const SERVER = '192.0.2.25';
type Step = { from: 'c' | 's'; flags: string; payload?: string };

/** One connection from CLIENT:40000 to SERVER:`port`; sequence numbers follow the steps. */
function connection(port: number, steps: readonly Step[]): Uint8Array[] {
  let cseq = 1000;
  let sseq = 5000;
  return steps.map((step) => {
    const fromClient = step.from === 'c';
    const frame = tcpFrame({
      src: fromClient ? CLIENT : SERVER,
      dst: fromClient ? SERVER : CLIENT,
      sport: fromClient ? 40_000 : port,
      dport: fromClient ? port : 40_000,
      seq: fromClient ? cseq : sseq,
      ack: fromClient ? sseq : cseq,
      flags: step.flags,
      ...(step.payload === undefined ? {} : { payload: step.payload }),
    });
    const advance = (step.payload?.length ?? 0) + (/[SF]/.test(step.flags) ? 1 : 0);
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
const CLOSE: Step[] = [
  { from: 'c', flags: 'FA' },
  { from: 's', flags: 'FA' },
  { from: 'c', flags: 'A' },
];

function capture(frames: Uint8Array[]): string {
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

const SMTP_SERVER_FIRST: Step[] = [
  ...HANDSHAKE,
  { from: 's', flags: 'PA', payload: '220 filter.test ESMTP\r\n' },
  { from: 'c', flags: 'PA', payload: 'EHLO mx.test\r\n' },
  { from: 's', flags: 'PA', payload: '250-filter.test\r\n250 8BITMIME\r\n' },
  { from: 'c', flags: 'PA', payload: 'QUIT\r\n' },
  { from: 's', flags: 'PA', payload: '221 bye\r\n' },
  ...CLOSE,
];

describe('content detection', () => {
  it('finds SMTP on port 10025 by its greeting, oriented by the SYN', async () => {
    const path = capture(connection(10025, SMTP_SERVER_FIRST));
    const { sessions, summary } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(sessions).toHaveLength(1);
    const s = sessions[0]!;
    expect(s.server.port).toBe(10025);
    expect(s.client.ip).toBe(CLIENT);
    expect(s.greeting?.code).toBe(220);
    expect(s.helo).toBe('mx.test');
    expect(s.commands.map((c) => [c.verb, c.reply?.code ?? null])).toEqual([
      ['EHLO', 250],
      ['QUIT', 221],
    ]);
    expect(summary.stats.assembler.declined).toBe(0);
  });

  it('finds SMTP picked up without its handshake: who greets is the server', async () => {
    const path = capture(connection(10025, SMTP_SERVER_FIRST.slice(3)));
    const { sessions } = await analyzeToArray({ inputs: [{ kind: 'file', path }] });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.server.port).toBe(10025);
    expect(sessions[0]!.greeting?.code).toBe(220);
  });

  it('finds a client that sends EHLO first on an unlisted port (the greeting not captured)', async () => {
    const steps: Step[] = [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', payload: 'ehlo client.test\r\n' },
      { from: 's', flags: 'PA', payload: '250 relay.test\r\n' },
      { from: 'c', flags: 'PA', payload: 'QUIT\r\n' },
      { from: 's', flags: 'PA', payload: '221 bye\r\n' },
      ...CLOSE,
    ];
    const { sessions } = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture(connection(2626, steps)) }],
    });
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.server.port).toBe(2626);
    expect(sessions[0]!.helo).toBe('client.test');
    expect(sessions[0]!.commands.map((c) => c.verb)).toEqual(['EHLO', 'QUIT']);
  });

  it('drops HTTP on port 8080 and counts it: no session, no connection attempt', async () => {
    const steps: Step[] = [
      ...HANDSHAKE,
      { from: 'c', flags: 'PA', payload: 'GET / HTTP/1.1\r\nHost: example.test\r\n\r\n' },
      { from: 's', flags: 'PA', payload: 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' },
      { from: 's', flags: 'PA', payload: 'x'.repeat(1000) },
      ...CLOSE,
    ];
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture(connection(8080, steps)) }],
    });
    expect(sessions).toHaveLength(0);
    expect(summary.stats.attempts.total).toBe(0);
    expect(summary.stats.assembler.declined).toBe(1);
  });

  it('drops a server that speaks first without a 220 (SSH)', async () => {
    const steps: Step[] = [
      ...HANDSHAKE,
      { from: 's', flags: 'PA', payload: 'SSH-2.0-OpenSSH_9.6\r\n' },
      ...CLOSE,
    ];
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture(connection(2222, steps)) }],
    });
    expect(sessions).toHaveLength(0);
    expect(summary.stats.assembler.declined).toBe(1);
  });

  it('drops FTP on port 2121: its 220 greeting is answered by USER, not EHLO', async () => {
    const steps: Step[] = [
      ...HANDSHAKE,
      { from: 's', flags: 'PA', payload: '220 ftp.test FTP server ready\r\n' },
      { from: 'c', flags: 'PA', payload: 'USER anonymous\r\n' },
      { from: 's', flags: 'PA', payload: '331 Password required\r\n' },
      ...CLOSE,
    ];
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture(connection(2121, steps)) }],
    });
    expect(sessions).toHaveLength(0);
    expect(summary.stats.assembler.declined).toBe(1);
  });

  it('a SYN scan of an unlisted port is neither a session nor an attempt', async () => {
    const steps: Step[] = [
      { from: 'c', flags: 'S' },
      { from: 's', flags: 'RA' },
    ];
    const { sessions, summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture(connection(8443, steps)) }],
    });
    expect(sessions).toHaveLength(0);
    expect(summary.stats.attempts.total).toBe(0);
  });

  it('with detection off (the port gate), SMTP on port 10025 is not seen', async () => {
    const path = capture(connection(10025, SMTP_SERVER_FIRST));
    const { sessions } = await analyzeToArray({
      inputs: [{ kind: 'file', path }],
      assembler: { detect: false },
    });
    expect(sessions).toHaveLength(0);
  });
});
