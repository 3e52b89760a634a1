import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openFileSource, openStreamSource } from '../../src/capture/open-file.js';
import { createPcapParser } from '../../src/capture/pcap-reader.js';
import { createPcapngParser } from '../../src/capture/pcapng-reader.js';
import { CaptureFormatError, type PacketSource } from '../../src/capture/types.js';
import {
  buildPcap,
  buildPcapHeader,
  buildPcapngSection,
  buildPcapRecord,
  concatBytes,
  sampleFrame,
} from '../helpers/pcap-builder.js';
import { createLog, type LoggedPacket, logPacket } from './record-log.js';

const dir = mkdtempSync(join(tmpdir(), 'smtpscope-open-file-'));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function writeTemp(name: string, bytes: Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

async function collect(source: PacketSource): Promise<LoggedPacket[]> {
  const packets: LoggedPacket[] = [];
  await source.forEach((packet) => {
    packets.push(logPacket(packet));
  });
  return packets;
}

function reference(bytes: Uint8Array, format: 'pcap' | 'pcapng'): LoggedPacket[] {
  const log = createLog();
  const parser = format === 'pcap' ? createPcapParser(log) : createPcapngParser(log);
  parser.push(bytes);
  parser.end();
  return log.packets;
}

const records = Array.from({ length: 300 }, (_, i) => ({
  seconds: 1_700_000_000 + i,
  fraction: (i * 3331) % 1_000_000,
  data: sampleFrame(i, (i * 37) % 1400),
}));
const pcapLe = buildPcap({ endian: 'le', records });
const pcapNsBe = buildPcap({ endian: 'be', nanoseconds: true, records });
const pcapng = buildPcapngSection('be', [
  { kind: 'idb', linkType: 1, tsresol: 9 },
  ...records.map((r, i) => ({
    kind: 'epb' as const,
    interfaceId: 0,
    timestamp: BigInt(r.seconds) * 1_000_000_000n + BigInt(i),
    data: r.data,
  })),
]);

describe('open-file', () => {
  it.each([
    { name: 'le.pcap', bytes: pcapLe, format: 'pcap', kind: 'pcap' },
    { name: 'ns-be.pcap', bytes: pcapNsBe, format: 'pcap-ns', kind: 'pcap' },
    { name: 'be.pcapng', bytes: pcapng, format: 'pcapng', kind: 'pcapng' },
  ] as const)(
    'recognises $name from its content and reads every packet',
    async ({ name, bytes, format, kind }) => {
      // A misleading extension: the content decides.
      const path = writeTemp(`${name}.txt`, bytes);
      const source = await openFileSource(path);
      expect(source.format).toBe(format);
      expect(source.compressed).toBe(false);
      expect(source.description).toBe(path);
      const packets = await collect(source);
      expect(packets).toHaveLength(300);
      expect(packets).toEqual(reference(bytes, kind));
      expect(source.stats()).toEqual({
        packets: 300,
        bytes: bytes.length,
        storedBytes: bytes.length,
        dropped: 0,
        truncated: 0,
      });
      expect(source.warnings()).toEqual([]);
    },
  );

  it('gives the same packets whatever the read buffer size', async () => {
    const path = writeTemp('small-buffer.pcap', pcapLe);
    for (const readBufferBytes of [1, 7, 64, 4096]) {
      const source = await openFileSource(path, { readBufferBytes });
      expect(await collect(source)).toEqual(reference(pcapLe, 'pcap'));
    }
  });

  it.each([
    { name: 'pcap', bytes: pcapLe, format: 'pcap', kind: 'pcap' },
    { name: 'pcap-ns', bytes: pcapNsBe, format: 'pcap-ns', kind: 'pcap' },
    { name: 'pcapng', bytes: pcapng, format: 'pcapng', kind: 'pcapng' },
  ] as const)('decompresses a gzip $name file', async ({ name, bytes, format, kind }) => {
    const compressed = gzipSync(bytes);
    const path = writeTemp(`${name}.bin`, compressed);
    const source = await openFileSource(path);
    expect(source.format).toBe(format);
    expect(source.compressed).toBe(true);
    expect(await collect(source)).toEqual(reference(bytes, kind));
    expect(source.stats().bytes).toBe(bytes.length);
    // Progress against the file's size counts the compressed bytes consumed: all of them at the end.
    expect(source.stats().storedBytes).toBe(compressed.length);
    expect(compressed.length).not.toBe(bytes.length);
    expect(source.stats().dropped).toBe(0);
    expect(source.warnings()).toEqual([]);
  });

  it('rejects a file that is not a capture, naming the file and its first bytes', async () => {
    const path = writeTemp('page.pcap', new TextEncoder().encode('<html><body>hello</body></html>'));
    const error = await openFileSource(path).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CaptureFormatError);
    expect((error as Error).message).toBe(
      `${path}: not a pcap, pcapng or gzip file: starts with 3c 68 74 6d`,
    );
  });

  it('rejects an empty file, a 3-byte file and a gzip file that holds no capture', async () => {
    const empty = await openFileSource(writeTemp('empty.pcap', new Uint8Array(0))).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(CaptureFormatError);
    expect((empty as Error).message).toMatch(/empty file$/);
    const short = await openFileSource(writeTemp('short.pcap', Uint8Array.of(0xd4, 0xc3, 0xb2))).catch(
      (e: unknown) => e,
    );
    expect((short as Error).message).toMatch(/starts with d4 c3 b2$/);
    const text = await openFileSource(writeTemp('text.gz', gzipSync(Buffer.from('hello world')))).catch(
      (e: unknown) => e,
    );
    expect(text).toBeInstanceOf(CaptureFormatError);
    expect((text as Error).message).toMatch(
      /gzip file whose content is not a pcap or pcapng file: starts with 68 65 6c 6c$/,
    );
  });

  it('rejects a missing file with CaptureFormatError', async () => {
    await expect(openFileSource(join(dir, 'does-not-exist.pcap'))).rejects.toThrow(CaptureFormatError);
  });

  it('delivers every complete packet of a truncated file, warns with the offset and resolves', async () => {
    const header = buildPcapHeader({ endian: 'le' });
    const one = buildPcapRecord('le', { seconds: 1, fraction: 2, data: sampleFrame(1, 100) });
    const two = buildPcapRecord('le', {
      seconds: 3,
      fraction: 4,
      data: sampleFrame(2, 30),
      originalLength: 2000,
    });
    const three = buildPcapRecord('le', { seconds: 5, fraction: 6, data: sampleFrame(3, 100) });
    const bytes = concatBytes(header, one, two, three.subarray(0, 50));
    const source = await openFileSource(writeTemp('truncated.pcap', bytes), { readBufferBytes: 64 });
    const packets = await collect(source);
    expect(packets.map((p) => p.tsMicros)).toEqual([1_000_002, 3_000_004]);
    expect(source.warnings().map((w) => [w.code, w.byteOffset])).toEqual([
      ['truncated-record', header.length + one.length + two.length],
    ]);
    expect(source.stats()).toEqual({
      packets: 2,
      bytes: bytes.length,
      storedBytes: bytes.length,
      dropped: 0,
      truncated: 1,
    });
  });

  it('stops early when closed from a packet callback', async () => {
    const source = await openFileSource(writeTemp('close.pcap', pcapLe), { readBufferBytes: 1000 });
    const seen: number[] = [];
    let closing: Promise<void> | null = null;
    await source.forEach((packet) => {
      seen.push(packet.index);
      if (packet.index === 4) closing = source.close();
    });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    await closing;
    expect(source.stats().packets).toBe(5);
    await source.close();
  });

  it('can be closed before reading, and forEach may run only once', async () => {
    const unread = await openFileSource(writeTemp('unread.pcap', pcapLe));
    await unread.close();
    const source = await openFileSource(writeTemp('once.pcap', pcapLe));
    await collect(source);
    await expect(source.forEach(() => {})).rejects.toThrow(/only once/);
  });

  it('reads a stream delivered in small pieces over time', async () => {
    const stream = new PassThrough();
    const opening = openStreamSource(stream, 'stdin');
    let offset = 0;
    const writeSome = (): void => {
      if (offset >= pcapng.length) {
        stream.end();
        return;
      }
      const size = 1 + ((offset * 7919) % 3000);
      stream.write(pcapng.subarray(offset, offset + size));
      offset += size;
      setImmediate(writeSome);
    };
    stream.write(pcapng.subarray(0, 2));
    offset = 2;
    setImmediate(writeSome);
    const source = await opening;
    expect(source.format).toBe('pcapng');
    expect(source.description).toBe('stdin');
    expect(await collect(source)).toEqual(reference(pcapng, 'pcapng'));
    expect(source.stats().bytes).toBe(pcapng.length);
    // Whatever wrote the stream may have dropped packets: unknown, not 0.
    expect(source.stats().dropped).toBeNull();
  });

  it('stops promptly on close while waiting on a stream that never ends, keeping the packets read', async () => {
    const stream = new PassThrough();
    // Half the packets, then silence: the stream stays open, as a quiet `tcpdump -U -w -` pipe does.
    const half = pcapLe.subarray(0, pcapLe.length / 2);
    const expected = reference(half, 'pcap');
    stream.write(half);
    const source = await openStreamSource(stream, 'stdin');
    const packets: LoggedPacket[] = [];
    let allRead: () => void = () => undefined;
    const readAll = new Promise<void>((resolve) => {
      allRead = resolve;
    });
    const reading = source.forEach((packet) => {
      packets.push(logPacket(packet));
      if (packets.length === expected.length) allRead();
    });
    await readAll;
    const timedOut = Symbol('timed out');
    const within = <T>(promise: Promise<T>): Promise<T | typeof timedOut> =>
      Promise.race([promise, new Promise<typeof timedOut>((resolve) => setTimeout(resolve, 2000, timedOut))]);
    expect(await within(source.close())).toBeUndefined();
    expect(await within(reading)).toBeUndefined();
    expect(packets).toEqual(expected);
    expect(source.stats().packets).toBe(expected.length);
    expect(stream.destroyed).toBe(true);
  });

  it('hands out packets of Buffer streams (plain, gzip) in plain Uint8Arrays, whose slice() copies', async () => {
    const plain = Readable.from([Buffer.from(pcapLe.subarray(0, 1000)), Buffer.from(pcapLe.subarray(1000))]);
    const zipped = Readable.from([gzipSync(pcapLe)]);
    for (const stream of [plain, zipped]) {
      const source = await openStreamSource(stream, 'pipe');
      let plainArrays = true;
      let copied = true;
      await source.forEach((packet) => {
        if (Object.getPrototypeOf(packet.buffer) !== Uint8Array.prototype) plainArrays = false;
        const piece = packet.buffer.slice(packet.offset, packet.offset + 1);
        piece[0] = piece[0]! ^ 0xff;
        if (packet.buffer[packet.offset] === piece[0]) copied = false;
      });
      expect(plainArrays).toBe(true);
      expect(copied).toBe(true);
      expect(source.stats().packets).toBe(records.length);
    }
  });

  it("reads standard input when the path is '-'", async () => {
    const stdin = Readable.from([pcapLe.subarray(0, 1000), pcapLe.subarray(1000)]);
    const spy = vi.spyOn(process, 'stdin', 'get').mockReturnValue(stdin as unknown as typeof process.stdin);
    try {
      const source = await openFileSource('-');
      expect(source.description).toBe('stdin');
      expect(await collect(source)).toEqual(reference(pcapLe, 'pcap'));
      expect(source.stats().dropped).toBeNull();
    } finally {
      spy.mockRestore();
    }
  });

  it('reads every real capture under captures/ without warnings, whatever the read buffer size', async () => {
    const capturesDir = join(import.meta.dirname, '..', '..', 'captures');
    const paths = readdirSync(capturesDir)
      .filter((name) => /\.pcap(ng)?(\.gz)?$/.test(name))
      .map((name) => join(capturesDir, name));
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) {
      const big = await openFileSource(path);
      const bigPackets = await collect(big);
      expect(big.warnings(), path).toEqual([]);
      expect(bigPackets.length, path).toBeGreaterThan(0);
      const small = await openFileSource(path, { readBufferBytes: 333 });
      expect(await collect(small), path).toEqual(bigPackets);
    }
  });

  it('reads gzip data from a stream and rejects a non-capture stream', async () => {
    const compressed = gzipSync(pcapNsBe);
    const source = await openStreamSource(
      Readable.from([compressed.subarray(0, 1), compressed.subarray(1)]),
      'pipe',
    );
    expect(source.format).toBe('pcap-ns');
    expect(source.compressed).toBe(true);
    expect(await collect(source)).toEqual(reference(pcapNsBe, 'pcap'));
    expect(source.stats().dropped).toBeNull();
    await expect(
      openStreamSource(Readable.from([Buffer.from('GET / HTTP/1.1\r\n')]), 'pipe'),
    ).rejects.toThrow('pipe: not a pcap, pcapng or gzip file: starts with 47 45 54 20');
    await expect(openStreamSource(Readable.from([]), 'pipe')).rejects.toThrow('pipe: empty file');
  });

  it('reports truncated gzip data as a warning after the packets it held', async () => {
    const compressed = gzipSync(pcapLe);
    const cut = compressed.subarray(0, Math.floor(compressed.length * 0.8));
    const source = await openFileSource(writeTemp('cut.pcap.gz', cut));
    const packets = await collect(source);
    expect(packets.length).toBeGreaterThan(0);
    expect(packets.length).toBeLessThan(300);
    expect(packets).toEqual(reference(pcapLe, 'pcap').slice(0, packets.length));
    expect(source.warnings()[0]?.code).toBe('gzip-truncated');
  });

  it('reports non-gzip bytes after the gzip data as trailing garbage', async () => {
    // Incompressible payloads make the gzip data span several 64 KiB reads, so only the last read's output
    // can be lost (Node's gunzip drops the output of the write that meets the garbage).
    let seed = 7;
    const noisy = Array.from({ length: 200 }, (_, i) => {
      const data = new Uint8Array(1400);
      for (let j = 0; j < data.length; j++) {
        seed = (seed * 1_103_515_245 + 12_345) >>> 0;
        data[j] = seed >>> 24;
      }
      return { seconds: i, fraction: 0, data };
    });
    const capture = buildPcap({ endian: 'le', records: noisy });
    const bytes = concatBytes(gzipSync(capture), new TextEncoder().encode('trailing junk'));
    const source = await openFileSource(writeTemp('junk.pcap.gz', bytes));
    const packets = await collect(source);
    expect(packets.length).toBeGreaterThan(100);
    expect(packets).toEqual(reference(capture, 'pcap').slice(0, packets.length));
    expect(source.warnings()[0]?.code).toBe('gzip-trailing-garbage');
  });
});
