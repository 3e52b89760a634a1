import { spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPcapWriter, PcapWriteError, rotatedPath } from '../../src/capture/pcap-writer.js';
import { LINKTYPE, type PacketView } from '../../src/capture/types.js';

// pcap-parser is an independent reader (plain JavaScript, no type declarations).
interface ParsedFile {
  header: {
    magicNumber: number;
    majorVersion: number;
    minorVersion: number;
    snapshotLength: number;
    linkLayerType: number;
  };
  packets: {
    header: {
      timestampSeconds: number;
      timestampMicroseconds: number;
      capturedLength: number;
      originalLength: number;
    };
    data: Buffer;
  }[];
}
const pcapParser = createRequire(import.meta.url)('pcap-parser') as {
  parse(path: string): { on(event: string, listener: (value: any) => void): void };
};

function readPcap(path: string): Promise<ParsedFile> {
  return new Promise((resolve, reject) => {
    const parser = pcapParser.parse(path);
    const file: ParsedFile = { header: undefined as never, packets: [] };
    parser.on('globalHeader', (header) => {
      file.header = header;
    });
    parser.on('packet', (packet) => file.packets.push(packet));
    parser.on('error', reject);
    parser.on('end', () => resolve(file));
  });
}

/** A packet whose bytes are `fill`, `fill + 1`, ... (mod 256), placed at an offset inside a larger buffer. */
function packet(length: number, fill: number, tsMicros: number, extra: Partial<PacketView> = {}): PacketView {
  const offset = 7;
  const buffer = new Uint8Array(offset + length + 5).fill(0xee);
  for (let i = 0; i < length; i++) buffer[offset + i] = (fill + i) & 0xff;
  return {
    buffer,
    offset,
    capturedLength: length,
    originalLength: length,
    tsMicros,
    linkType: LINKTYPE.ETHERNET,
    interfaceId: 0,
    index: 0,
    ...extra,
  };
}

function bytesOf(view: PacketView, length = view.capturedLength): Buffer {
  return Buffer.from(view.buffer.subarray(view.offset, view.offset + length));
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pcap-writer-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pcap-writer', () => {
  it('writes a classic microsecond pcap that an independent reader reads back byte for byte', async () => {
    const path = join(dir, 'out.pcap');
    const packets = [
      packet(60, 1, 1_700_000_000_000_000),
      packet(1514, 77, 1_700_000_000_999_999),
      packet(42, 200, 1_700_000_001_000_001, { originalLength: 1000 }),
    ];
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 });
    for (const p of packets) writer.write(p);
    writer.close();

    const file = await readPcap(path);
    expect(file.header).toMatchObject({
      magicNumber: 0xa1b2c3d4,
      majorVersion: 2,
      minorVersion: 4,
      snapshotLength: 65535,
      linkLayerType: 1,
    });
    expect(file.packets.map((p) => p.header)).toEqual([
      { timestampSeconds: 1_700_000_000, timestampMicroseconds: 0, capturedLength: 60, originalLength: 60 },
      {
        timestampSeconds: 1_700_000_000,
        timestampMicroseconds: 999_999,
        capturedLength: 1514,
        originalLength: 1514,
      },
      { timestampSeconds: 1_700_000_001, timestampMicroseconds: 1, capturedLength: 42, originalLength: 1000 },
    ]);
    file.packets.forEach((p, i) => {
      expect(p.data.equals(bytesOf(packets[i]!))).toBe(true);
    });
    // 24-byte file header + 3 * 16-byte record headers + packet bytes.
    expect(statSync(path).size).toBe(24 + 3 * 16 + 60 + 1514 + 42);
    expect(writer.stats()).toEqual({
      packets: 3,
      bytesWritten: 24 + 48 + 1616,
      files: 1,
      skippedLinkType: 0,
    });
  });

  it('cuts packets to the snaplen and keeps their original length', async () => {
    const path = join(dir, 'cut.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 64 });
    const big = packet(300, 5, 2_000_000);
    writer.write(big);
    writer.close();
    const file = await readPcap(path);
    expect(file.header.snapshotLength).toBe(64);
    expect(file.packets[0]!.header).toMatchObject({ capturedLength: 64, originalLength: 300 });
    expect(file.packets[0]!.data.equals(bytesOf(big, 64))).toBe(true);
  });

  it('rotates to FILE.1, FILE.2 before a record would pass rotateBytes', async () => {
    const path = join(dir, 'rot.pcap');
    // Each record is 16 + 100 bytes: two fit in 24 + 232 = 256 bytes, a third would not.
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535, rotateBytes: 256 });
    const packets = [0, 1, 2, 3, 4].map((i) => packet(100, i * 10, 1_000_000 + i));
    for (const p of packets) writer.write(p);
    expect(writer.currentPath).toBe(`${path}.2`);
    writer.close();

    expect([path, `${path}.1`, `${path}.2`].map((p) => statSync(p).size)).toEqual([256, 256, 24 + 116]);
    expect(existsSync(`${path}.3`)).toBe(false);
    const files = await Promise.all([path, `${path}.1`, `${path}.2`].map(readPcap));
    const seen = files.flatMap((f) => f.packets.map((p) => p.data));
    expect(seen).toHaveLength(5);
    seen.forEach((data, i) => {
      expect(data.equals(bytesOf(packets[i]!))).toBe(true);
    });
    expect(files.every((f) => f.header.linkLayerType === 1)).toBe(true);
    expect(writer.stats().files).toBe(3);
  });

  it('cycles through maxFiles names, overwriting the oldest file', async () => {
    const path = join(dir, 'ring.pcap');
    const writer = createPcapWriter({
      path,
      linkType: LINKTYPE.ETHERNET,
      snaplen: 65535,
      rotateBytes: 256,
      maxFiles: 2,
    });
    // Files in order: ring.pcap (p0,p1), ring.pcap.1 (p2,p3), ring.pcap again (p4).
    for (let i = 0; i < 5; i++) writer.write(packet(100, i, 1_000_000 + i));
    writer.close();
    expect(existsSync(`${path}.2`)).toBe(false);
    const first = await readPcap(path);
    const second = await readPcap(`${path}.1`);
    expect(first.packets.map((p) => p.data[0])).toEqual([4]);
    expect(second.packets.map((p) => p.data[0])).toEqual([2, 3]);
    expect(writer.stats().files).toBe(3);
  });

  it('gives a record larger than rotateBytes a file of its own', async () => {
    const path = join(dir, 'big.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535, rotateBytes: 100 });
    writer.write(packet(200, 1, 1));
    writer.write(packet(200, 2, 2));
    writer.close();
    expect(statSync(path).size).toBe(24 + 16 + 200);
    expect(statSync(`${path}.1`).size).toBe(24 + 16 + 200);
  });

  it('writes correctly through a write buffer smaller than the packets', async () => {
    const path = join(dir, 'small-buffer.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535, bufferBytes: 64 });
    const packets = [packet(10, 1, 10), packet(500, 2, 20), packet(30, 3, 30), packet(64, 4, 40)];
    for (const p of packets) writer.write(p);
    writer.close();
    const file = await readPcap(path);
    expect(file.packets.map((p) => p.header.capturedLength)).toEqual([10, 500, 30, 64]);
    file.packets.forEach((p, i) => {
      expect(p.data.equals(bytesOf(packets[i]!))).toBe(true);
    });
  });

  it('keeps records in memory until flush and writes them on flush', () => {
    const path = join(dir, 'flush.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 });
    writer.write(packet(100, 1, 1));
    expect(statSync(path).size).toBe(0);
    writer.flush();
    expect(statSync(path).size).toBe(24 + 16 + 100);
    writer.close();
  });

  it('flushes buffered records once a second while capturing, and stops its timer on close', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const path = join(dir, 'timed.pcap');
      const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 });
      writer.write(packet(100, 1, 1));
      vi.advanceTimersByTime(999);
      expect(statSync(path).size).toBe(0);
      vi.advanceTimersByTime(1);
      expect(statSync(path).size).toBe(24 + 16 + 100);
      writer.write(packet(50, 2, 2));
      vi.advanceTimersByTime(1000);
      expect(statSync(path).size).toBe(24 + 16 + 100 + 16 + 50);
      expect(vi.getTimerCount()).toBe(1);
      writer.close();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('flushes only when full with flushIntervalMs null, and refuses a bad interval', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const path = join(dir, 'untimed.pcap');
      const writer = createPcapWriter({ path, linkType: 1, snaplen: 65535, flushIntervalMs: null });
      writer.write(packet(100, 1, 1));
      vi.advanceTimersByTime(10_000);
      expect(statSync(path).size).toBe(0);
      expect(vi.getTimerCount()).toBe(0);
      writer.close();
      expect(statSync(path).size).toBe(24 + 16 + 100);
      expect(() => createPcapWriter({ path, linkType: 1, snaplen: 100, flushIntervalMs: 0 })).toThrow(
        RangeError,
      );
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses to follow a symbolic link at the output path', () => {
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'keep me');
    const path = join(dir, 'link.pcap');
    symlinkSync(target, path);
    expect(() => createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 })).toThrow(
      PcapWriteError,
    );
    expect(() => createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 })).toThrow(
      /symbolic link/,
    );
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('refuses a symbolic link at a rotated file name', () => {
    const path = join(dir, 'rot.pcap');
    const target = join(dir, 'target.txt');
    writeFileSync(target, 'keep me');
    symlinkSync(target, `${path}.1`);
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535, rotateBytes: 200 });
    writer.write(packet(100, 1, 1));
    expect(() => writer.write(packet(100, 2, 2))).toThrow(/symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
  });

  it('refuses, without truncating it, a file that has another hard link (a link planted to a victim file)', () => {
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'keep me');
    const path = join(dir, 'hardlink.pcap');
    linkSync(victim, path);
    expect(() => createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 })).toThrow(
      /other hard links/,
    );
    expect(readFileSync(victim, 'utf8')).toBe('keep me');
  });

  it.skipIf(spawnSync('mkfifo', ['--version']).status !== 0)(
    'refuses a FIFO planted at the output path without blocking on it',
    () => {
      const path = join(dir, 'fifo.pcap');
      expect(spawnSync('mkfifo', [path]).status).toBe(0);
      // No reader: the non-blocking open fails (ENXIO) instead of hanging; with one it would be refused as not a file.
      expect(() => createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 })).toThrow(
        PcapWriteError,
      );
    },
  );

  it('creates files readable by their owner only, and resets an existing file to that mode', () => {
    const fresh = join(dir, 'fresh.pcap');
    createPcapWriter({ path: fresh, linkType: LINKTYPE.ETHERNET, snaplen: 65535 }).close();
    expect(statSync(fresh).mode & 0o777).toBe(0o600);

    const existing = join(dir, 'existing.pcap');
    writeFileSync(existing, 'old contents that must go', { mode: 0o644 });
    createPcapWriter({ path: existing, linkType: LINKTYPE.ETHERNET, snaplen: 65535 }).close();
    expect(statSync(existing).mode & 0o777).toBe(0o600);
    expect(statSync(existing).size).toBe(24);
  });

  it('skips and counts packets of another link type', async () => {
    const path = join(dir, 'mixed.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 });
    writer.write(packet(20, 1, 1));
    writer.write(packet(20, 2, 2, { linkType: LINKTYPE.LINUX_SLL }));
    writer.close();
    expect((await readPcap(path)).packets).toHaveLength(1);
    expect(writer.stats().skippedLinkType).toBe(1);
  });

  it('ignores a second close and writes after close', () => {
    const path = join(dir, 'closed.pcap');
    const writer = createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 });
    writer.write(packet(10, 1, 1));
    writer.close();
    writer.close();
    writer.write(packet(10, 2, 2));
    expect(statSync(path).size).toBe(24 + 16 + 10);
  });

  it('reports a missing directory as a PcapWriteError', () => {
    const path = join(dir, 'no', 'such', 'dir.pcap');
    expect(() => createPcapWriter({ path, linkType: LINKTYPE.ETHERNET, snaplen: 65535 })).toThrow(
      /cannot create capture file/,
    );
  });

  it('names rotated files FILE, FILE.1, FILE.2', () => {
    expect([0, 1, 2].map((n) => rotatedPath('cap.pcap', n))).toEqual([
      'cap.pcap',
      'cap.pcap.1',
      'cap.pcap.2',
    ]);
  });

  it('rejects inconsistent options', () => {
    const path = join(dir, 'x.pcap');
    expect(() => createPcapWriter({ path, linkType: 1, snaplen: 0 })).toThrow(RangeError);
    expect(() => createPcapWriter({ path, linkType: 1, snaplen: 100, maxFiles: 3 })).toThrow(/rotateBytes/);
    expect(() => createPcapWriter({ path, linkType: 1, snaplen: 100, rotateBytes: 10 })).toThrow(RangeError);
    expect(existsSync(path)).toBe(false);
  });
});
