import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openFileSource } from '../../src/capture/open-file.js';
import { createPcapngParser } from '../../src/capture/pcapng-reader.js';
import type { SourceWarning } from '../../src/capture/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { createTlsKeys, PCAPNG_TLS_KEYLOG_SECRETS } from '../../src/pipeline/tls-keys.js';
import { buildPcapngSection, type Endian, sampleFrame } from '../helpers/pcap-builder.js';
import { forEachSplit } from '../helpers/splits.js';

const R1 = 'a1'.repeat(32);
const R2 = 'b2'.repeat(32);
const KEYLOG = `CLIENT_RANDOM ${R1} ${'c3'.repeat(48)}\nSERVER_TRAFFIC_SECRET_0 ${R2} ${'d4'.repeat(32)}\n`;

/** Decryption Secrets Block body: secrets type, secrets length, secrets (padded by the block writer). */
function dsbBody(
  endian: Endian,
  type: number,
  secrets: Uint8Array,
  lengthField = secrets.length,
): Uint8Array {
  const body = new Uint8Array(8 + secrets.length);
  const view = new DataView(body.buffer);
  view.setUint32(0, type, endian === 'le');
  view.setUint32(4, lengthField, endian === 'le');
  body.set(secrets, 8);
  return body;
}

function capture(endian: Endian, lengthField?: number, keylog = KEYLOG): Uint8Array {
  const secrets = new TextEncoder().encode(keylog);
  return buildPcapngSection(endian, [
    { kind: 'raw', type: 10, body: dsbBody(endian, PCAPNG_TLS_KEYLOG_SECRETS, secrets, lengthField) },
    { kind: 'idb', linkType: 1 },
    { kind: 'epb', interfaceId: 0, timestamp: 1000n, data: sampleFrame(1) },
    { kind: 'raw', type: 10, body: dsbBody(endian, 0x57474b4c, new Uint8Array([1, 2, 3])) }, // WireGuard keys
    { kind: 'epb', interfaceId: 0, timestamp: 2000n, data: sampleFrame(2) },
  ]);
}

function parse(chunks: readonly Uint8Array[], withSecrets = true) {
  const events: string[] = [];
  const warnings: SourceWarning[] = [];
  const parser = createPcapngParser({
    onPacket: (p) => events.push(`packet ${p.tsMicros} ${p.capturedLength}`),
    onWarning: (w) => warnings.push(w),
    ...(withSecrets
      ? {
          onSecrets: (type: number, data: Uint8Array) =>
            events.push(`secrets 0x${type.toString(16)} ${Buffer.from(data).toString('latin1')}`),
        }
      : {}),
  });
  for (const c of chunks) parser.push(c);
  parser.end();
  return { events, warnings: warnings.map((w) => w.code) };
}

describe('pcapng Decryption Secrets Blocks', () => {
  for (const endian of ['le', 'be'] as const) {
    it(`hands the key log text to onSecrets in file order (${endian}), for any chunking`, () => {
      const bytes = capture(endian);
      const expected = parse([bytes]);
      expect(expected.events).toEqual([
        `secrets 0x544c534b ${KEYLOG}`,
        `packet 1000 ${sampleFrame(1).length}`,
        'secrets 0x57474b4c \u0001\u0002\u0003',
        `packet 2000 ${sampleFrame(2).length}`,
      ]);
      expect(expected.warnings).toEqual([]);
      forEachSplit(bytes, (chunks, label) => expect(parse(chunks), label).toEqual(expected), {
        randomRuns: 10,
      });
    });
  }

  it('without onSecrets the blocks are skipped as before', () => {
    const r = parse([capture('le')], false);
    expect(r.events.filter((e) => e.startsWith('packet')).length).toBe(2);
    expect(r.events.some((e) => e.startsWith('secrets'))).toBe(false);
    expect(r.warnings).toEqual([]);
  });

  it('a secrets length that does not fit its block: warning, block skipped, packets go on', () => {
    const r = parse([capture('le', 100_000)]);
    expect(r.warnings).toEqual(['bad-block-length']);
    expect(r.events.filter((e) => e.startsWith('packet')).length).toBe(2);
    expect(r.events.filter((e) => e.startsWith('secrets 0x544c534b')).length).toBe(0);
  });
});

describe('the pipeline key source (pipeline/tls-keys.ts)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const random = (hex: string) => Uint8Array.from(Buffer.from(hex, 'hex'));

  it('a capture file carrying its own keys fills the store through openFileSource', async () => {
    const path = join(dir, 'with-keys.pcapng');
    writeFileSync(path, capture('le'));
    const keys = createTlsKeys(undefined).forInput(path);
    const source = await openFileSource(path, { onSecrets: keys.onSecrets });
    let packets = 0;
    await source.forEach(() => {
      packets++;
    });
    await source.close();
    expect(packets).toBe(2);
    expect(keys.store.lookup(random(R1))?.masterSecret?.length).toBe(48);
    expect(keys.store.lookup(random(R2))?.serverTrafficSecret0?.length).toBe(32);
    expect(keys.store.counts()).toMatchObject({ entries: 2, malformed: 0 });
  });

  it('the analysis reports malformed lines of a carried key log as source warnings, without the secret', async () => {
    const path = join(dir, 'bad-keys.pcapng');
    writeFileSync(path, capture('le', undefined, `${KEYLOG}CLIENT_RANDOM ${R1} ${'f'.repeat(95)}\n`));
    const seen: string[] = [];
    const { summary } = await analyzeToArray({
      inputs: [{ kind: 'file', path }],
      onWarning: (w, source) => seen.push(`${source}: ${w.message}`),
    });
    expect(summary.warnings.map((w) => w.code)).toEqual(['tls-keylog']);
    expect(seen).toEqual([
      `${path} (decryption secrets block 1): TLS key log line 3 ignored: CLIENT_RANDOM: secret is not 48 hex bytes`,
    ]);
  });

  it('reads key log files at start; a missing file rejects naming the file only', async () => {
    const path = join(dir, 'a.keys');
    writeFileSync(path, KEYLOG);
    const keys = createTlsKeys({ keyLogFiles: [path], follow: false });
    await keys.start();
    expect(keys.store.size).toBe(2);
    await keys.stop();
    const missing = createTlsKeys({ keyLogFiles: [join(dir, 'nope.keys')], follow: false });
    await expect(missing.start()).rejects.toThrow(/nope\.keys/);
  });

  it('follows lines appended while the analysis runs (live), including a line cut between two writes', async () => {
    const path = join(dir, 'live.keys');
    writeFileSync(path, `CLIENT_RANDOM ${R1} ${'c3'.repeat(48)}\n`);
    const keys = createTlsKeys({ keyLogFiles: [path], follow: true });
    await keys.start();
    const g = keys.store.generation;
    const line = `CLIENT_RANDOM ${R2} ${'e5'.repeat(48)}\n`;
    appendFileSync(path, line.slice(0, 40));
    await new Promise((r) => setTimeout(r, 700));
    appendFileSync(path, line.slice(40));
    await new Promise((r) => setTimeout(r, 700));
    expect(keys.store.lookup(random(R2))?.masterSecret).toEqual(random('e5'.repeat(48)));
    expect(keys.store.generation).toBeGreaterThan(g);
    expect(keys.store.counts().malformed).toBe(0);
    await keys.stop();
  });
});
