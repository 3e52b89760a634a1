import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = join(import.meta.dirname, '..', '..', 'captures');
const readme = readFileSync(join(dir, 'README.md'), 'utf8');

const CAPTURE = /\.(pcap|pcapng)$/;
const SIDE = /\.(swaks\.txt|client\.txt|smtplib\.txt|nodemailer\.txt|maillog|keys)$/;

/** Rows of the markdown table that follows `## <heading>`: first cell (without backticks) → cells. */
function tableRows(heading: string): Map<string, string[]> {
  const start = readme.indexOf(`## ${heading}\n`);
  expect(start, `README has a "## ${heading}" section`).toBeGreaterThanOrEqual(0);
  const end = readme.indexOf('\n## ', start + 1);
  const rows = new Map<string, string[]>();
  for (const line of readme.slice(start, end < 0 ? undefined : end).split('\n')) {
    if (!line.startsWith('| `')) continue;
    const cells = line
      .slice(1, -1)
      .split(' | ')
      .map((cell) => cell.trim());
    rows.set((cells[0] ?? '').replaceAll('`', ''), cells);
  }
  return rows;
}

/** LINKTYPE_* of a classic pcap (either byte order) or of the first interface of a pcapng file. */
function linkTypeOf(bytes: Buffer): number {
  const magic = bytes.readUInt32LE(0);
  if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) return bytes.readUInt32LE(20) & 0xffff;
  if (magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1) return bytes.readUInt32BE(20) & 0xffff;
  if (magic === 0x0a0d0d0a) {
    const littleEndian = bytes.readUInt32LE(8) === 0x1a2b3c4d;
    const u32 = (at: number) => (littleEndian ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at));
    let at = 0;
    while (at + 12 <= bytes.length) {
      const type = u32(at);
      const length = u32(at + 4);
      if (type === 1) return littleEndian ? bytes.readUInt16LE(at + 8) : bytes.readUInt16BE(at + 8);
      if (length < 12) break;
      at += length;
    }
  }
  return -1;
}

describe('captures README', () => {
  const files = readdirSync(dir);
  const captures = tableRows('Captures');
  const sideFiles = tableRows('Side files');

  it('lists every capture file in the Captures table, and every listed capture exists', () => {
    expect(new Set(files.filter((name) => CAPTURE.test(name)))).toEqual(new Set(captures.keys()));
  });

  it('lists every side file in the Side files table, and every listed side file exists', () => {
    expect(new Set(files.filter((name) => SIDE.test(name)))).toEqual(new Set(sideFiles.keys()));
  });

  it('has no file in captures/ that is neither a capture, a side file, a script nor the README', () => {
    const scripts = tableRows('Scripts');
    const unknown = files.filter(
      (name) => !CAPTURE.test(name) && !SIDE.test(name) && !scripts.has(name) && name !== 'README.md',
    );
    expect(unknown).toEqual([]);
  });

  it('gives each capture the link type and format that its file header declares', () => {
    for (const [name, cells] of captures) {
      const bytes = readFileSync(join(dir, name));
      const declared = /\((\d+)\)/.exec(cells[2] ?? '')?.[1];
      expect(linkTypeOf(bytes), name).toBe(Number(declared));
      const format = bytes.readUInt32LE(0) === 0x0a0d0d0a ? 'pcapng' : 'pcap';
      expect(cells[3], name).toBe(format);
    }
  });

  it('keeps each capture under 200 KB and all of them under 2 MB', () => {
    let total = 0;
    for (const name of captures.keys()) {
      const size = statSync(join(dir, name)).size;
      expect(size, name).toBeLessThan(200 * 1024);
      total += size;
    }
    expect(total).toBeLessThan(2 * 1024 * 1024);
  });
});
