import { describe, expect, it } from 'vitest';
import { importCapModule, LiveCaptureUnavailableError, loadCapModule } from '../../src/capture/cap-module.js';
import {
  type CaptureDevice,
  formatDeviceList,
  listDevices,
  prefixLength,
  resolveDeviceName,
} from '../../src/capture/devices.js';

const EXPECTED_MESSAGE =
  "live capture needs the optional 'cap' module built against libpcap: install libpcap-dev " +
  "(apt-get install libpcap-dev, or your system's libpcap development package) and run npm install again; " +
  'reading capture files works without it';

const capLoads = await loadCapModule().then(
  () => true,
  () => false,
);

function address(addr: string, netmask: string | null): CaptureDevice['addresses'][number] {
  return { addr, netmask, broadaddr: null, dstaddr: null };
}

const DEVICES: CaptureDevice[] = [
  {
    name: 'eth0',
    description: null,
    addresses: [address('192.0.2.2', '255.255.255.0'), address('fd00::2', 'ffff:ffff:ffff:ffff::')],
    loopback: false,
  },
  {
    name: 'any',
    description: 'Pseudo-device that captures on all interfaces',
    addresses: [],
    loopback: false,
  },
  {
    name: 'lo',
    description: null,
    addresses: [address('127.0.0.1', '255.0.0.0'), address('::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')],
    loopback: true,
  },
  {
    name: 'tun0',
    description: null,
    addresses: [address('10.0.0.1', '255.0.255.0'), address('10.9.9.9', null)],
    loopback: false,
  },
];

describe('devices', () => {
  it('numbers devices from 1 like tcpdump -D, with description, loopback flag and address/prefix', () => {
    expect(formatDeviceList(DEVICES)).toBe(
      [
        '1.eth0 192.0.2.2/24 fd00::2/64',
        '2.any (Pseudo-device that captures on all interfaces)',
        '3.lo [Loopback] 127.0.0.1/8 ::1/128',
        '4.tun0 10.0.0.1/255.0.255.0 10.9.9.9',
        '',
      ].join('\n'),
    );
  });

  it('says so when there is no device', () => {
    expect(formatDeviceList([])).toMatch(/^no capture devices found/);
  });

  it.each([
    ['255.255.255.255', 32],
    ['255.255.255.0', 24],
    ['255.255.240.0', 20],
    ['0.0.0.0', 0],
    ['255.0.255.0', null],
    ['255.255.255', null],
    ['ffff:ffff:ffff:ffff::', 64],
    ['ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 128],
    ['ffff:fe00::', 23],
    ['::', 0],
    ['ffff::ffff', null],
    ['ffff:ffff', null],
  ])('reads netmask %s as prefix length %s', (mask, expected) => {
    expect(prefixLength(mask)).toBe(expected);
  });

  it('resolves -i N to the N-th device and leaves names alone', () => {
    expect(resolveDeviceName('3', DEVICES)).toBe('lo');
    expect(resolveDeviceName('1', DEVICES)).toBe('eth0');
    expect(resolveDeviceName('eth0', DEVICES)).toBe('eth0');
    expect(resolveDeviceName('0', DEVICES)).toBe('0');
    expect(() => resolveDeviceName('5', DEVICES)).toThrow(/no capture device number 5: -D lists 4/);
  });

  it('reports a missing cap module with the instructions to install it', async () => {
    const missing = importCapModule('smtpscope-test-no-such-module');
    await expect(missing).rejects.toBeInstanceOf(LiveCaptureUnavailableError);
    await expect(missing).rejects.toThrow(EXPECTED_MESSAGE);
    const err: unknown = await missing.catch((e: unknown) => e);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it('reports a module without the Cap constructor the same way', async () => {
    await expect(importCapModule('node:path')).rejects.toThrow(EXPECTED_MESSAGE);
  });

  it('lists devices only when cap loads, failing with the same error otherwise', async () => {
    const listing = listDevices({ loadCap: () => importCapModule('smtpscope-test-no-such-module') });
    await expect(listing).rejects.toBeInstanceOf(LiveCaptureUnavailableError);
  });

  it.skipIf(!capLoads)('lists the loopback interface with its IPv4 address (real libpcap)', async () => {
    const devices = await listDevices();
    const lo = devices.find((d) => d.name === 'lo');
    expect(lo).toBeDefined();
    expect(lo?.loopback).toBe(true);
    expect(lo?.addresses).toContainEqual(address('127.0.0.1', '255.0.0.0'));
    expect(formatDeviceList(devices)).toMatch(/^\d+\.lo \[Loopback\] 127\.0\.0\.1\/8/m);
  });
});
