/**
 * Exit codes for damaged input (README, "Exit codes"; src/capture/damage.ts): a record or block that cannot be
 * parsed, a length that cannot be right, a file cut inside a record and damaged gzip data exit 1, after every
 * session decoded before the damage was written, and the message says where (record number, byte offset).
 *
 * The oracle for "everything before the damage": the same capture cut exactly at the damaged record's first
 * byte is an intact capture (exit 0); its sessions must be the damaged run's sessions, row for row.
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli } from '../helpers/built-cli.js';
import { runMain } from '../helpers/run-main.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const work = mkdtempSync(join(tmpdir(), 'smtpscope-exit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const PCAP = readFileSync(join(CAPTURES, 'postfix-rejects.pcap'));
const PCAPNG = readFileSync(join(CAPTURES, 'nodemailer-pipelining.pcapng'));

/** Byte offsets of every record of a little-endian classic pcap (its own walk, independent of the reader). */
function pcapRecordOffsets(bytes: Uint8Array): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(0, true)).toBe(0xa1b2c3d4);
  const offsets: number[] = [];
  for (let p = 24; p + 16 <= bytes.length; p += 16 + view.getUint32(p + 8, true)) offsets.push(p);
  return offsets;
}

/** Byte offsets and types of every block of a little-endian pcapng. */
function pcapngBlocks(bytes: Uint8Array): { offset: number; type: number }[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(view.getUint32(8, true)).toBe(0x1a2b3c4d);
  const blocks: { offset: number; type: number }[] = [];
  for (let p = 0; p + 12 <= bytes.length; p += view.getUint32(p + 4, true))
    blocks.push({ offset: p, type: view.getUint32(p, true) });
  return blocks;
}

function write(name: string, bytes: Uint8Array): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

function withU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes);
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

/** The sessions level of a run on `path` (exit code, stderr and the file's rows). */
async function sessionsOf(path: string, extra: string[] = []) {
  const out = join(work, `${Math.random().toString(36).slice(2)}.csv`);
  const r = await runMain([path, '--csv-sessions', out, ...extra]);
  // Without the last column, `file` (which names the input, so differs between an intact and a damaged copy).
  const rows = readFileSync(out, 'utf8')
    .trim()
    .split('\n')
    .map((row) => row.replace(/,[^,]*$/, ''));
  return { code: r.code, err: r.err, rows };
}

describe('exit codes for damaged captures', () => {
  const records = pcapRecordOffsets(PCAP);
  const middle = Math.floor(records.length / 2);
  const at = records[middle]!;

  it('pcap: a record whose length cannot be right exits 1, says which record and where, keeps what came before', async () => {
    const damaged = write('lying.pcap', withU32(PCAP, at + 8, 0x7fffffff));
    const intact = write('before.pcap', PCAP.subarray(0, at));
    const d = await sessionsOf(damaged);
    const i = await sessionsOf(intact);
    expect(i.code).toBe(0);
    expect(d.code).toBe(1);
    expect(d.err).toContain(`record ${middle + 1}: record at byte ${at} claims 2147483647 captured bytes`);
    expect(d.err).toMatch(/damaged input \(.*lying\.pcap\).*exit 1/);
    expect(d.rows.length).toBeGreaterThan(1);
    expect(d.rows).toEqual(i.rows);
  });

  it('pcap: a file cut inside its last record exits 1; --allow-truncated accepts that cut (exit 0, still warned)', async () => {
    const last = records[records.length - 1]!;
    const cutPath = write('cut.pcap', PCAP.subarray(0, PCAP.length - 10));
    const cut = await sessionsOf(cutPath);
    expect(cut.code).toBe(1);
    expect(cut.err).toContain(`record ${records.length}: input ends inside the`);
    expect(cut.err).toContain(`record at byte ${last}`);
    const allowed = await sessionsOf(cutPath, ['--allow-truncated']);
    expect(allowed.code).toBe(0);
    expect(allowed.err).toContain('input ends inside the');
    expect(allowed.rows).toEqual(cut.rows);
    expect((await sessionsOf(write('last-out.pcap', PCAP.subarray(0, last)))).rows).toEqual(cut.rows);
  });

  it('pcap: --allow-truncated does not excuse other damage', async () => {
    const r = await sessionsOf(write('lying2.pcap', withU32(PCAP, at + 8, 0x7fffffff)), [
      '--allow-truncated',
    ]);
    expect(r.code).toBe(1);
  });

  const blocks = pcapngBlocks(PCAPNG);
  const packets = blocks.filter((b) => b.type === 6);
  const victim = packets[Math.floor(packets.length / 2)]!;
  const packetsBefore = packets.indexOf(victim);

  it('pcapng: a block of length 0 exits 1 with its offset, and what came before it is written', async () => {
    const d = await sessionsOf(write('zero.pcapng', withU32(PCAPNG, victim.offset + 4, 0)));
    const i = await sessionsOf(write('zero-before.pcapng', PCAPNG.subarray(0, victim.offset)));
    expect(i.code).toBe(0);
    expect(d.code).toBe(1);
    expect(d.err).toContain(
      `after packet ${packetsBefore}: block of type 0x6 at byte ${victim.offset} has invalid length 0`,
    );
    expect(d.rows).toEqual(i.rows);
  });

  it('pcapng: a block length past the end of the file exits 1 (a cut at the end: --allow-truncated accepts it)', async () => {
    const last = packets[packets.length - 1]!;
    const tail = PCAPNG.subarray(0, blocks[blocks.indexOf(last) + 1]?.offset ?? PCAPNG.length);
    const past = write('past.pcapng', withU32(tail, last.offset + 4, tail.length - last.offset + 4096));
    const d = await sessionsOf(past);
    expect(d.code).toBe(1);
    expect(d.err).toContain(`after packet ${packets.length - 1}: input ends inside the`);
    expect(d.err).toContain(`at byte ${last.offset}`);
    expect((await sessionsOf(past, ['--allow-truncated'])).code).toBe(0);
  });

  it('gzip: compressed data cut before its end exits 1; --allow-truncated accepts it', async () => {
    const gz = gzipSync(PCAP);
    const path = write('cut.pcap.gz', gz.subarray(0, gz.length - 6));
    const d = await sessionsOf(path);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(/gzip data cut before its end \(unexpected end of file/);
    expect(d.rows.length).toBeGreaterThan(1);
    expect((await sessionsOf(path, ['--allow-truncated'])).code).toBe(0);
  });

  it('gzip: damaged compressed data (a wrong CRC) exits 1 even with --allow-truncated', async () => {
    // Large enough that the decompressor hands out capture data before it reaches the trailer.
    const body = PCAP.subarray(24);
    const big = Buffer.concat([PCAP, ...Array.from({ length: 200 }, () => body)]);
    const gz = Uint8Array.from(gzipSync(big));
    gz[gz.length - 8]! ^= 0xff;
    const path = write('crc.pcap.gz', gz);
    const d = await sessionsOf(path, ['--allow-truncated']);
    expect(d.code).toBe(1);
    expect(d.err).toMatch(
      /after packet \d+ \(decompressed byte \d+\): gzip data damaged \(incorrect data check/,
    );
  });

  it('an intact capture exits 0 with no damage message', async () => {
    const r = await sessionsOf(join(CAPTURES, 'postfix-rejects.pcap'));
    expect(r.code).toBe(0);
    expect(r.err).not.toContain('damaged input');
  });

  it('standard input: the same policy (a cut pcap on a pipe exits 1 and names the record)', () => {
    const cut = PCAP.subarray(0, PCAP.length - 10);
    const run = (args: string[]) =>
      spawnSync(process.execPath, [builtCli(), '-', '--summary', ...args], {
        input: cut,
        encoding: 'utf8',
        timeout: 60_000,
      });
    const r = run([]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`stdin: record ${records.length}: input ends inside the`);
    expect(r.stdout).toMatch(/Sessions: 4/);
    expect(run(['--allow-truncated']).status).toBe(0);
  });
});
