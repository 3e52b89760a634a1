import { connect, createServer, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importCapModule, loadCapModule } from '../../src/capture/cap-module.js';
import { listDevices } from '../../src/capture/devices.js';
import {
  inferOriginalLength,
  LiveCaptureError,
  LiveCaptureUnavailableError,
  type LivePacketSource,
  type LiveSourceOptions,
  linkTypeFromCapName,
  openLiveSource,
  READY_EVERY_PACKETS,
} from '../../src/capture/live-source.js';
import { LINKTYPE, type PacketView } from '../../src/capture/types.js';

const EXPECTED_MESSAGE =
  "live capture needs the optional 'cap' module built against libpcap: install libpcap-dev " +
  "(apt-get install libpcap-dev, or your system's libpcap development package) and run npm install again; " +
  'reading capture files works without it';

const capLoads = await loadCapModule().then(
  () => true,
  () => false,
);
const isRoot = process.getuid?.() === 0;
const skipReason = !capLoads ? "skipped: the 'cap' module cannot load" : !isRoot ? 'skipped: not root' : null;

interface Captured {
  bytes: Buffer;
  capturedLength: number;
  originalLength: number;
  tsMicros: number;
  linkType: number;
  index: number;
  interfaceId: number;
}

function keep(view: PacketView): Captured {
  return {
    bytes: Buffer.from(view.buffer.subarray(view.offset, view.offset + view.capturedLength)),
    capturedLength: view.capturedLength,
    originalLength: view.originalLength,
    tsMicros: view.tsMicros,
    linkType: view.linkType,
    index: view.index,
    interfaceId: view.interfaceId,
  };
}

/** Ethernet + IPv4 + TCP, as the loopback interface delivers it. */
function tcpOf(frame: Buffer): {
  srcPort: number;
  dstPort: number;
  flags: number;
  payload: Buffer;
  ipLength: number;
} {
  expect(frame.readUInt16BE(12)).toBe(0x0800);
  const ip = 14;
  const ihl = (frame[ip]! & 0x0f) * 4;
  const ipLength = frame.readUInt16BE(ip + 2);
  const tcp = ip + ihl;
  const dataOffset = (frame[tcp + 12]! >> 4) * 4;
  return {
    srcPort: frame.readUInt16BE(tcp),
    dstPort: frame.readUInt16BE(tcp + 2),
    flags: frame[tcp + 13]!,
    payload: frame.subarray(tcp + dataOffset, ip + ipLength),
    ipLength,
  };
}

const SYN = 0x02;
const ACK = 0x10;

let server: Server;
let port = 0;

/** One client connection to the test server: connect, send `payload`, half-close, wait for the close. */
function talk(payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(payload));
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.resume();
  });
}

function options(overrides: Partial<LiveSourceOptions> = {}): LiveSourceOptions {
  return {
    device: 'lo',
    filter: `tcp port ${port}`,
    snaplen: 0,
    bufferMb: 2,
    count: null,
    durationMs: 5000, // safety net: every source stops by itself
    promiscuous: true,
    ...overrides,
  };
}

describe('live-source', () => {
  it.each([
    ['ETHERNET', LINKTYPE.ETHERNET],
    ['LINKTYPE_LINUX_SLL', LINKTYPE.LINUX_SLL],
    ['NULL', LINKTYPE.NULL],
    ['RAW', LINKTYPE.RAW],
    ['IEEE802_11_RADIO', 127],
    ['Unknown linktype 276', LINKTYPE.LINUX_SLL2],
    ['Unknown linktype 113', 113],
    ['something else', null],
  ])('maps the cap link type name %s to LINKTYPE %s', (name, expected) => {
    expect(linkTypeFromCapName(name)).toBe(expected);
  });

  it('reads the wire length of a cut packet from its IPv4 or IPv6 header', () => {
    // Ethernet + IPv4 with total length 65536 (loopback MTU): 65550 bytes on the wire, 65535 captured.
    const v4 = new Uint8Array(65535);
    v4.set([0x08, 0x00], 12);
    v4.set([0x45, 0x00, 0xff, 0xff], 14); // total length 65535
    expect(inferOriginalLength(v4, 65535, LINKTYPE.ETHERNET)).toBe(14 + 65535);
    // The same behind one 802.1Q tag.
    const vlan = new Uint8Array(65535);
    vlan.set([0x81, 0x00, 0x00, 0x05, 0x86, 0xdd], 12);
    vlan.set([0x60, 0, 0, 0, 0xff, 0xd0], 18); // IPv6, payload length 65488
    expect(inferOriginalLength(vlan, 65535, LINKTYPE.ETHERNET)).toBe(18 + 40 + 65488);
    // Linux cooked capture (16-byte header) and raw IP.
    const sll = new Uint8Array(65535);
    sll.set([0x45, 0x00, 0xff, 0xf0], 16);
    expect(inferOriginalLength(sll, 65535, LINKTYPE.LINUX_SLL)).toBe(16 + 0xfff0);
    const raw = new Uint8Array(65535);
    raw.set([0x45, 0x00, 0xff, 0xff], 0);
    expect(inferOriginalLength(raw, 65535, LINKTYPE.RAW)).toBe(65535);
    // Not IP, or a header that does not claim more than was captured: the captured length stands.
    const arp = new Uint8Array(65535);
    arp.set([0x08, 0x06], 12);
    expect(inferOriginalLength(arp, 65535, LINKTYPE.ETHERNET)).toBe(65535);
    expect(inferOriginalLength(new Uint8Array(20), 20, LINKTYPE.ETHERNET)).toBe(20);
  });

  it('rejects with the install instructions when cap cannot be loaded', async () => {
    const opening = openLiveSource(options(), {
      loadCap: () => importCapModule('smtpscope-test-no-such-module'),
    });
    await expect(opening).rejects.toBeInstanceOf(LiveCaptureUnavailableError);
    await expect(opening).rejects.toThrow(EXPECTED_MESSAGE);
  });

  it('rejects bad options before loading cap', async () => {
    const loadCap = () => Promise.reject(new Error('must not be called'));
    await expect(openLiveSource(options({ bufferMb: 0 }), { loadCap })).rejects.toThrow(RangeError);
    await expect(openLiveSource(options({ count: 0 }), { loadCap })).rejects.toThrow(RangeError);
    await expect(openLiveSource(options({ snaplen: -1 }), { loadCap })).rejects.toThrow(RangeError);
    await expect(openLiveSource(options({ queueLimit: 0 }), { loadCap })).rejects.toThrow(RangeError);
  });
});

describe.skipIf(skipReason !== null)(
  `live-source on the loopback interface (${skipReason ?? 'root, cap loaded'})`,
  () => {
    beforeAll(async () => {
      server = createServer((socket) => {
        socket.resume();
        socket.on('end', () => socket.end());
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      port = address.port;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('delivers the packets of a TCP connection with link type, bytes and monotonic timestamps', async () => {
      const before = Date.now() * 1000;
      const source = await openLiveSource(options());
      expect(source.format).toBe('live');
      expect(source.description).toBe('live:lo');
      expect(source.linkType).toBe(LINKTYPE.ETHERNET);
      expect(source.snaplen).toBe(65535);
      const packets: Captured[] = [];
      const done = source.forEach((view) => {
        packets.push(keep(view));
      });
      const marker = `live-capture-marker-${port}`;
      const sentAt = Date.now() * 1000;
      await talk(marker);
      await sleep(100);
      await source.close();
      await done;
      const after = Date.now() * 1000;

      // Handshake (3), data, FIN from each side and their ACKs: at least 6 packets.
      expect(packets.length).toBeGreaterThanOrEqual(6);
      const first = tcpOf(packets[0]!.bytes);
      expect(first.dstPort).toBe(port);
      expect(first.flags & (SYN | ACK)).toBe(SYN);
      expect(tcpOf(packets[1]!.bytes).flags & (SYN | ACK)).toBe(SYN | ACK);

      const withMarker = packets.filter((p) => tcpOf(p.bytes).payload.toString('latin1') === marker);
      expect(withMarker).toHaveLength(1);
      // Stamped after the write was issued (the anchor is aligned to the millisecond tick).
      expect(withMarker[0]!.tsMicros).toBeGreaterThanOrEqual(sentAt - 1000);

      packets.forEach((p, i) => {
        expect(p.index).toBe(i);
        expect(p.linkType).toBe(LINKTYPE.ETHERNET);
        expect(p.interfaceId).toBe(0);
        expect(Number.isInteger(p.tsMicros)).toBe(true);
        expect(p.tsMicros).toBeGreaterThanOrEqual(before - 1000);
        expect(p.tsMicros).toBeLessThanOrEqual(after + 1000);
        if (i > 0) expect(p.tsMicros).toBeGreaterThanOrEqual(packets[i - 1]!.tsMicros);
        // Nothing cut: the frame is the Ethernet header plus the whole IP packet.
        expect(p.capturedLength).toBe(14 + tcpOf(p.bytes).ipLength);
        expect(p.originalLength).toBe(p.capturedLength);
      });

      const stats = source.stats();
      expect(stats.packets).toBe(packets.length);
      expect(stats.bytes).toBe(packets.reduce((sum, p) => sum + p.capturedLength, 0));
      expect(stats.dropped).toBeNull();
      expect(stats.queueDropped).toBe(0);
      expect(stats.truncated).toBe(0);
      expect(source.warnings()).toEqual([]);
      await source.close(); // second close: no-op
    });

    it('ends by itself after count packets', async () => {
      const source = await openLiveSource(options({ count: 3 }));
      const packets: Captured[] = [];
      const done = source.forEach((view) => {
        packets.push(keep(view));
      });
      await talk('count');
      await done;
      expect(packets.map((p) => tcpOf(p.bytes).flags & (SYN | ACK))).toEqual([SYN, SYN | ACK, ACK]);
      expect(source.stats().packets).toBe(3);
      await talk('after the limit');
      await sleep(50);
      expect(packets).toHaveLength(3);
      await source.close();
    });

    it('ends by itself when the duration has passed', async () => {
      const started = Date.now();
      const source = await openLiveSource(options({ durationMs: 300, filter: 'tcp port 1' }));
      await source.forEach(() => {});
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(3000);
      await source.close();
    });

    it('queues packets captured before forEach and delivers them first, in order', async () => {
      const source = await openLiveSource(options());
      await talk('queued');
      await sleep(100);
      const forEachAt = Date.now() * 1000;
      const packets: Captured[] = [];
      const done = source.forEach((view) => {
        packets.push(keep(view));
      });
      expect(packets.length).toBeGreaterThanOrEqual(6); // delivered synchronously from the queue
      await source.close();
      await done;
      expect(packets.map((p) => p.index)).toEqual(packets.map((_, i) => i));
      expect(tcpOf(packets[0]!.bytes).flags & (SYN | ACK)).toBe(SYN);
      expect(packets.some((p) => tcpOf(p.bytes).payload.toString('latin1') === 'queued')).toBe(true);
      for (const p of packets) expect(p.tsMicros).toBeLessThanOrEqual(forEachAt + 1000);
    });

    it('drops and counts packets beyond the queue limit, with a warning', async () => {
      const source = await openLiveSource(options({ queueLimit: 2 }));
      await talk('overflow');
      await sleep(100);
      const packets: Captured[] = [];
      const done = source.forEach((view) => {
        packets.push(keep(view));
      });
      await source.close();
      await done;
      expect(packets.map((p) => tcpOf(p.bytes).flags & (SYN | ACK))).toEqual([SYN, SYN | ACK]);
      const stats = source.stats();
      expect(stats.packets).toBe(2);
      expect(stats.queueDropped).toBeGreaterThanOrEqual(4);
      expect(stats.dropped).toBeNull();
      const warnings = source.warnings();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.code).toBe('live-queue-overflow');
      expect(warnings[0]!.message).toContain(`${stats.queueDropped} packet(s) dropped`);
    });

    /** forEach with a `ready` that holds delivery back the first time it is asked, until `release()`. */
    function holdOnce(source: LivePacketSource, packets: Captured[]) {
      let release: () => void = () => {};
      const state = { heldAt: -1, asked: 0 };
      const done = source.forEach(
        (view) => {
          packets.push(keep(view));
        },
        () => {
          state.asked++;
          if (state.heldAt >= 0) return null;
          state.heldAt = packets.length;
          return new Promise<void>((resolve) => {
            release = resolve;
          });
        },
      );
      return { done, state, release: () => release() };
    }

    it('holds delivery while the outputs are behind, and delivers what came meanwhile in order', async () => {
      const source = await openLiveSource(options());
      const packets: Captured[] = [];
      const run = holdOnce(source, packets);
      // READY_EVERY_PACKETS packets reach the consumer, then `ready` holds delivery back.
      for (let k = 0; k < 40 && run.state.heldAt < 0; k++) await talk(`before-${k}`);
      expect(run.state.heldAt).toBe(READY_EVERY_PACKETS);
      await sleep(50);
      const before = packets.length;
      for (let k = 0; k < 5; k++) await talk(`held-${k}`);
      await sleep(100);
      // Nothing reached the consumer while held.
      expect(packets.length).toBe(before);
      run.release();
      await sleep(50);
      const after = packets.length;
      expect(after).toBeGreaterThanOrEqual(before + 5 * 6);
      await source.close();
      await run.done;
      expect(packets.map((p) => p.index)).toEqual(packets.map((_, i) => i));
      const held = packets
        .map((p) => tcpOf(p.bytes).payload.toString('latin1'))
        .filter((text) => text.startsWith('held-'));
      expect(held).toEqual(['held-0', 'held-1', 'held-2', 'held-3', 'held-4']);
      const stats = source.stats();
      expect(stats.queueDropped).toBe(0);
      expect(stats.holds).toBe(1);
      expect(stats.packets).toBe(packets.length);
      expect(source.warnings()).toEqual([]);
    });

    it('drops and counts what does not fit in the queue while delivery is held back', async () => {
      const source = await openLiveSource(options({ queueLimit: 10 }));
      const packets: Captured[] = [];
      const run = holdOnce(source, packets);
      for (let k = 0; k < 40 && run.state.heldAt < 0; k++) await talk(`before-${k}`);
      expect(run.state.heldAt).toBe(READY_EVERY_PACKETS);
      await sleep(50);
      const before = packets.length;
      // Five connections: at least 30 packets, for a queue of 10.
      for (let k = 0; k < 5; k++) await talk(`held-${k}`);
      await sleep(100);
      const dropped = source.stats().queueDropped;
      run.release();
      await sleep(50);
      expect(dropped).toBeGreaterThanOrEqual(5 * 6 - 10);
      // The queue's 10 packets were delivered, in order, after the held ones; nothing else was lost unseen.
      expect(packets.length).toBeGreaterThanOrEqual(before + 10);
      await source.close();
      await run.done;
      expect(packets.map((p) => p.index)).toEqual(packets.map((_, i) => i));
      const stats = source.stats();
      expect(stats.queueDropped).toBe(dropped);
      expect(stats.dropped).toBeNull();
      const warnings = source.warnings();
      expect(warnings.map((w) => w.code)).toEqual(['live-queue-overflow']);
      expect(warnings[0]!.message).toContain(`${dropped} packet(s) dropped`);
      expect(warnings[0]!.message).toContain('slow outputs');
    });

    it('cuts packets to the snaplen and keeps their wire length', async () => {
      const source = await openLiveSource(options({ snaplen: 60 }));
      expect(source.snaplen).toBe(60);
      const packets: Captured[] = [];
      const done = source.forEach((view) => {
        packets.push(keep(view));
      });
      const payload = 'x'.repeat(500);
      await talk(payload);
      await sleep(100);
      await source.close();
      await done;
      // 14 (Ethernet) + 20 (IPv4) + 32 (TCP with timestamps) + 500: the data packet is the longest.
      const longest = packets.reduce((a, b) => (b.originalLength > a.originalLength ? b : a));
      expect(longest.capturedLength).toBe(60);
      expect(longest.bytes).toHaveLength(60);
      expect(longest.originalLength).toBe(14 + longest.bytes.readUInt16BE(16));
      expect(longest.originalLength).toBeGreaterThanOrEqual(14 + 20 + 20 + 500);
      expect(source.stats().truncated).toBe(packets.filter((p) => p.originalLength > 60).length);
    });

    it('stops capturing and rejects forEach when the consumer throws', async () => {
      const source = await openLiveSource(options());
      const failure = new Error('consumer failed');
      let calls = 0;
      const outcome = source
        .forEach(() => {
          calls++;
          throw failure;
        })
        .then(
          () => 'resolved',
          (err: unknown) => err,
        );
      await talk('boom');
      expect(await outcome).toBe(failure);
      await talk('after the failure');
      await sleep(50);
      expect(calls).toBe(1);
      await source.close();
    });

    it('refuses a second forEach', async () => {
      const source = await openLiveSource(options());
      const done = source.forEach(() => {});
      await expect(source.forEach(() => {})).rejects.toThrow(/only once/);
      await source.close();
      await done;
    });

    it('opens a device given by its -D number', async () => {
      const devices = await listDevices();
      const number = devices.findIndex((d) => d.name === 'lo') + 1;
      const source = await openLiveSource(options({ device: String(number) }));
      expect(source.device).toBe('lo');
      expect(source.description).toBe('live:lo');
      await source.close();
    });

    it('explains a bad filter, an unknown device and an unsupported option', async () => {
      const errorOf = (o: Partial<LiveSourceOptions>) =>
        openLiveSource(options(o)).then(
          (s: LivePacketSource) => {
            void s.close();
            throw new Error('opened');
          },
          (e: unknown) => e,
        );
      const badFilter = await errorOf({ filter: 'tcp port' });
      expect(badFilter).toBeInstanceOf(LiveCaptureError);
      expect((badFilter as LiveCaptureError).reason).toBe('bad-filter');
      const noDevice = await errorOf({ device: 'smtpscope-no-such0' });
      expect((noDevice as LiveCaptureError).reason).toBe('no-such-device');
      const badNumber = await errorOf({ device: '999' });
      expect((badNumber as LiveCaptureError).reason).toBe('no-such-device');
      const promiscuous = await errorOf({ promiscuous: false });
      expect((promiscuous as LiveCaptureError).reason).toBe('unsupported-option');
      expect((promiscuous as Error).message).toContain('tcpdump -p -U -w -');
    });
  },
);
