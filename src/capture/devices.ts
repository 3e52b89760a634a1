/**
 * Capture interfaces for `-D` (list) and `-i N` (pick by number), from libpcap through `cap`.
 */

import { type CapLoader, type CapModule, loadCapModule } from './cap-module.js';

export interface DeviceAddress {
  /** Textual IPv4 or IPv6 address. */
  readonly addr: string;
  readonly netmask: string | null;
  readonly broadaddr: string | null;
  /** Peer address of a point-to-point link. */
  readonly dstaddr: string | null;
}

export interface CaptureDevice {
  readonly name: string;
  readonly description: string | null;
  /** IPv4 and IPv6 addresses only (libpcap also lists link-layer ones; `cap` leaves them out). */
  readonly addresses: readonly DeviceAddress[];
  readonly loopback: boolean;
}

/** Devices as libpcap lists them, in its order (the numbering `-i N` uses). */
export function listDevicesWith(capModule: CapModule): CaptureDevice[] {
  return capModule.Cap.deviceList().map((entry) => ({
    name: entry.name,
    description: entry.description ?? null,
    addresses: entry.addresses.flatMap((a) =>
      a.addr === undefined
        ? []
        : [
            {
              addr: a.addr,
              netmask: a.netmask ?? null,
              broadaddr: a.broadaddr ?? null,
              dstaddr: a.dstaddr ?? null,
            },
          ],
    ),
    loopback: entry.flags === 'PCAP_IF_LOOPBACK',
  }));
}

/**
 * Lists the capture devices (`-D`).
 * @throws LiveCaptureUnavailableError when `cap` cannot be loaded.
 */
export async function listDevices(deps: { readonly loadCap?: CapLoader } = {}): Promise<CaptureDevice[]> {
  return listDevicesWith(await (deps.loadCap ?? loadCapModule)());
}

/** Number of leading one bits of a contiguous netmask, or null when the mask is not contiguous or unreadable. */
export function prefixLength(netmask: string): number | null {
  let bits: number[];
  if (netmask.includes(':')) {
    const groups = expandIpv6(netmask);
    if (groups === null) return null;
    bits = groups.flatMap((g) => Array.from({ length: 16 }, (_, i) => (g >> (15 - i)) & 1));
  } else {
    const parts = netmask.split('.');
    if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) return null;
    bits = parts.flatMap((p) => Array.from({ length: 8 }, (_, i) => (Number(p) >> (7 - i)) & 1));
  }
  const ones = bits.indexOf(0) < 0 ? bits.length : bits.indexOf(0);
  return bits.slice(ones).includes(1) ? null : ones;
}

function expandIpv6(text: string): number[] | null {
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string | undefined): number[] | null => {
    if (part === undefined || part === '') return [];
    const groups = part.split(':');
    if (groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
    return groups.map((g) => Number.parseInt(g, 16));
  };
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  if (head === null || tail === null) return null;
  if (halves.length === 1) return head.length === 8 ? head : null;
  const missing = 8 - head.length - tail.length;
  return missing < 1 ? null : [...head, ...new Array<number>(missing).fill(0), ...tail];
}

function formatAddress(address: DeviceAddress): string {
  if (address.netmask === null) return address.addr;
  const prefix = prefixLength(address.netmask);
  return prefix === null ? `${address.addr}/${address.netmask}` : `${address.addr}/${prefix}`;
}

/**
 * One line per device, numbered from 1 like `tcpdump -D`: `N.name (description) [Loopback] addr/prefix ...`.
 * The number can be given to `-i`. Ends with a newline.
 */
export function formatDeviceList(devices: readonly CaptureDevice[]): string {
  if (devices.length === 0) {
    return 'no capture devices found (without capture privileges libpcap may list none; see docs/LIVE.md)\n';
  }
  let out = '';
  devices.forEach((device, i) => {
    let line = `${i + 1}.${device.name}`;
    if (device.description !== null) line += ` (${device.description})`;
    if (device.loopback) line += ' [Loopback]';
    for (const address of device.addresses) line += ` ${formatAddress(address)}`;
    out += `${line}\n`;
  });
  return out;
}

/**
 * The device name for `-i N` (1-based position in {@link listDevices}); any other string is returned as is.
 * @throws RangeError when the number is outside the list.
 */
export function resolveDeviceName(nameOrNumber: string, devices: readonly CaptureDevice[]): string {
  if (!/^[1-9]\d*$/.test(nameOrNumber)) return nameOrNumber;
  const device = devices[Number(nameOrNumber) - 1];
  if (device === undefined) {
    throw new RangeError(
      `there is no capture device number ${nameOrNumber}: -D lists ${devices.length} device(s)`,
    );
  }
  return device.name;
}
