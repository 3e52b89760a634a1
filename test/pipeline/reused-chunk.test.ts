/**
 * The assembler hands its handlers one chunk object, refilled for each delivery (StreamChunk: read it during
 * the call, copy what you keep). A handler that kept the object would read the next delivery's fields in
 * place of its own. The SMTP dialogue holds a connection's lone first client byte 0x16 (a TLS record's type)
 * until the next client bytes decide between TLS and a line: through the whole pipeline, a ClientHello whose
 * first byte came alone must be read as the same ClientHello in one segment is.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { connectionFrames } from '../helpers/frames.js';
import { buildPcap } from '../helpers/pcap-builder.js';

const work = mkdtempSync(join(tmpdir(), 'smtpscope-reused-chunk-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const CLIENT = { ip: '192.0.2.10', port: 40000 };
const SERVER = { ip: '198.51.100.25', port: 25 };

/** A ClientHello record's start: type 0x16, version 3.1, length, handshake type 1 and its length. */
const HELLO = Uint8Array.of(0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00);

/** A capture of one connection whose client sends `pieces` (one segment each) and the server nothing. */
function capture(name: string, pieces: readonly Uint8Array[]): string {
  const frames = connectionFrames(
    CLIENT,
    SERVER,
    pieces.map((piece) => ['c2s', piece] as const),
  );
  const path = join(work, name);
  const records = frames.map((data, i) => ({ seconds: 1_700_000_000, fraction: i * 1000, data }));
  writeFileSync(path, buildPcap({ endian: 'le', records }));
  return path;
}

describe('the chunk object the assembler refills', () => {
  it('reads a ClientHello whose first byte came alone as the same bytes in one segment', async () => {
    const whole = await analyzeToArray({ inputs: [{ kind: 'file', path: capture('whole.pcap', [HELLO]) }] });
    const split = await analyzeToArray({
      inputs: [{ kind: 'file', path: capture('split.pcap', [HELLO.subarray(0, 1), HELLO.subarray(1)]) }],
    });
    expect(whole.sessions).toHaveLength(1);
    expect(whole.sessions[0]?.tls.mode).toBe('implicit');
    expect(split.sessions.map((s) => s.tls)).toEqual(whole.sessions.map((s) => s.tls));
    expect(split.sessions.map((s) => s.commands)).toEqual(whole.sessions.map((s) => s.commands));
  });
});
