/**
 * Live capture from a network interface through the optional `cap` addon (libpcap).
 *
 * Delivery design: `cap` emits one synchronous 'packet' event per packet, inside the libuv poll callback
 * that drains libpcap, with the packet copied into one shared Buffer that the next event overwrites. The
 * consumer's onPacket is synchronous too, so while nothing holds delivery back every packet is handed to the
 * consumer inside the 'packet' event, as a view over that shared buffer: the PacketView contract already
 * says a view is valid only during the callback, and nothing can overwrite the buffer before the callback
 * returns (libpcap is drained on this thread). No copy, no allocation per packet. When the analysis is slower
 * than the traffic, the backlog waits in the kernel's capture buffer (`bufferMb`, tcpdump -B), where it belongs.
 *
 * The one queue: packets are copied into a bounded queue (`queueLimit` packets, `queueBytesLimit` bytes) while
 * delivery is held back: between open and forEach (the caller may await other set-up in between), and while the
 * outputs are behind (forEach's `ready`, asked every {@link READY_EVERY_PACKETS} packets, returned a promise:
 * `cap` cannot be paused, so packets keep coming). Queued packets are delivered first, in order, as soon as
 * delivery may go on; what does not fit is dropped and counted (stats().queueDropped, warning
 * `live-queue-overflow`), never lost unseen. So sessions waiting for slow outputs are bounded through `cap` too.
 *
 * Timestamps: `cap` reports none, so each packet is stamped when its event runs, from a monotonic clock
 * anchored once to wall time at open (see docs/LIVE.md for the precision this gives).
 *
 * Drops: `cap` exposes no kernel drop counter, so stats().dropped is null (unknown), never 0. Packets
 * dropped by our own pre-forEach queue are counted separately in stats().queueDropped.
 */

import { performance } from 'node:perf_hooks';
import { type CapHandle, type CapLoader, loadCapModule, retainCapHandle } from './cap-module.js';
import { listDevicesWith, resolveDeviceName } from './devices.js';
import {
  LINKTYPE,
  type PacketSource,
  type PacketView,
  type SourceStats,
  type SourceWarning,
} from './types.js';

export { LiveCaptureUnavailableError } from './cap-module.js';

export interface LiveSourceOptions {
  /** Interface name (`eth0`, `any`), or a 1-based number from the `-D` list. */
  readonly device: string;
  /** libpcap filter expression (pcap-filter(7)); empty string captures everything. */
  readonly filter: string;
  /** Bytes kept per packet; 0 or anything above 65535 means 65535 (the most `cap` can capture). */
  readonly snaplen: number;
  /** Kernel capture buffer in MiB (tcpdump -B). */
  readonly bufferMb: number;
  /** Stop after this many packets have been captured; null: no limit. */
  readonly count: number | null;
  /** Stop this many milliseconds after the capture was opened; null: no limit. */
  readonly durationMs: number | null;
  /** `cap` always opens interfaces in promiscuous mode; false is refused with a LiveCaptureError. */
  readonly promiscuous: boolean;
  /**
   * Packets held while delivery is held back (before forEach, and while the outputs are behind); default
   * 100 000. Beyond it they are dropped and counted.
   */
  readonly queueLimit?: number;
  /** Bytes of packets held while delivery is held back; default 64 MiB. */
  readonly queueBytesLimit?: number;
}

export interface LiveSourceDeps {
  /** How to load `cap`; defaults to a dynamic import. */
  readonly loadCap?: CapLoader;
}

export interface LiveSourceStats extends SourceStats {
  /** Kernel and interface drops; null when the capture cannot tell (always, through `cap`). Show as "n/a". */
  readonly dropped: number | null;
  /** Packets we dropped because our queue was full (delivery held back before forEach or by slow outputs). */
  readonly queueDropped: number;
  /** Times delivery was held back because the outputs were behind (0 through the tcpdump helper, which does not queue). */
  readonly holds?: number;
}

export interface LivePacketSource extends PacketSource {
  readonly format: 'live';
  /** LINKTYPE_* of the interface (also on every PacketView); what a pcap writer needs for its header. */
  readonly linkType: number;
  /** Bytes kept per packet after clamping (the value for a pcap writer's header). */
  readonly snaplen: number;
  /** The interface actually opened (after resolving a `-D` number). */
  readonly device: string;
  stats(): LiveSourceStats;
}

export type LiveCaptureErrorReason =
  | 'no-such-device'
  | 'permission-denied'
  | 'bad-filter'
  | 'unsupported-option'
  | 'unsupported-link-type'
  | 'open-failed';

/** Opening the interface failed (libpcap's message, with a hint when there is an obvious fix). */
export class LiveCaptureError extends Error {
  override readonly name = 'LiveCaptureError';
  readonly reason: LiveCaptureErrorReason;
  constructor(reason: LiveCaptureErrorReason, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.reason = reason;
  }
}

/** The kernel snapshot length `cap` 0.2.1 hard-codes: no packet arrives longer than this. */
export const CAP_MAX_SNAPLEN = 65535;
/** The shared buffer is larger than any packet `cap` can deliver, so `cap` itself never truncates. */
const CAP_BUFFER_BYTES = 65536;
export const DEFAULT_QUEUE_PACKETS = 100_000;
export const DEFAULT_QUEUE_BYTES = 64 * 1024 * 1024;
/** Packets delivered between two questions to forEach's `ready` (whether the outputs are behind). */
export const READY_EVERY_PACKETS = 64;
/** libpcap takes the buffer size as a C int. */
const MAX_BUFFER_MB = 2047;

/**
 * LINKTYPE_* value for a link type name returned by `cap`'s open(). `cap` names five DLT values and
 * reports any other as `Unknown linktype N` with the DLT number, which equals the LINKTYPE number for every
 * value `cap` does not name itself. Returns null for a string it cannot read.
 */
export function linkTypeFromCapName(name: string): number | null {
  switch (name) {
    case 'ETHERNET':
      return LINKTYPE.ETHERNET;
    case 'LINKTYPE_LINUX_SLL':
      return LINKTYPE.LINUX_SLL;
    case 'NULL':
      return LINKTYPE.NULL;
    case 'RAW':
      return LINKTYPE.RAW;
    case 'IEEE802_11_RADIO':
      return 127;
    default: {
      const match = /^Unknown linktype (\d+)$/.exec(name);
      return match?.[1] === undefined ? null : Number(match[1]);
    }
  }
}

/**
 * Wire length of a packet that `cap` cut at {@link CAP_MAX_SNAPLEN}, read from the IP header (IPv4 total
 * length, IPv6 payload length + 40) behind the link header. Returns `capturedLength` when it cannot tell.
 * Only runs for packets of exactly 65535 captured bytes (GSO/GRO super-packets, loopback with MTU 65536).
 */
export function inferOriginalLength(bytes: Uint8Array, capturedLength: number, linkType: number): number {
  let ip = -1;
  if (linkType === LINKTYPE.ETHERNET) {
    ip = 14;
    let etherType = ((bytes[12] ?? 0) << 8) | (bytes[13] ?? 0);
    while ((etherType === 0x8100 || etherType === 0x88a8) && ip + 4 <= capturedLength) {
      etherType = ((bytes[ip + 2] ?? 0) << 8) | (bytes[ip + 3] ?? 0);
      ip += 4;
    }
    if (etherType !== 0x0800 && etherType !== 0x86dd) return capturedLength;
  } else if (linkType === LINKTYPE.LINUX_SLL) {
    ip = 16;
  } else if (linkType === LINKTYPE.NULL || linkType === LINKTYPE.LOOP) {
    ip = 4;
  } else if (linkType === LINKTYPE.RAW) {
    ip = 0;
  } else {
    return capturedLength;
  }
  if (ip + 6 > capturedLength) return capturedLength;
  const version = (bytes[ip] ?? 0) >> 4;
  let ipLength = -1;
  if (version === 4) ipLength = ((bytes[ip + 2] ?? 0) << 8) | (bytes[ip + 3] ?? 0);
  else if (version === 6) ipLength = 40 + (((bytes[ip + 4] ?? 0) << 8) | (bytes[ip + 5] ?? 0));
  const wire = ip + ipLength;
  return ipLength > 0 && wire > capturedLength ? wire : capturedLength;
}

function isPositiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}

function validate(options: LiveSourceOptions): void {
  if (!Number.isInteger(options.snaplen) || options.snaplen < 0) {
    throw new RangeError(`snaplen must be a non-negative integer, got ${options.snaplen}`);
  }
  if (!(options.bufferMb > 0 && options.bufferMb <= MAX_BUFFER_MB)) {
    throw new RangeError(`bufferMb must be above 0 and at most ${MAX_BUFFER_MB}, got ${options.bufferMb}`);
  }
  if (options.count !== null && !isPositiveInteger(options.count)) {
    throw new RangeError(`count must be a positive integer or null, got ${options.count}`);
  }
  if (options.durationMs !== null && !(options.durationMs > 0 && Number.isFinite(options.durationMs))) {
    throw new RangeError(`durationMs must be a positive number or null, got ${options.durationMs}`);
  }
  if (options.queueLimit !== undefined && !isPositiveInteger(options.queueLimit)) {
    throw new RangeError(`queueLimit must be a positive integer, got ${options.queueLimit}`);
  }
  if (options.queueBytesLimit !== undefined && !isPositiveInteger(options.queueBytesLimit)) {
    throw new RangeError(`queueBytesLimit must be a positive integer, got ${options.queueBytesLimit}`);
  }
}

const PERMISSION_HINT =
  'run as root, or give node the capture capabilities: ' +
  'setcap cap_net_raw,cap_net_admin=eip "$(readlink -f "$(command -v node)")" (see docs/LIVE.md)';

function toLiveCaptureError(err: unknown, device: string, filter: string): LiveCaptureError {
  const text = err instanceof Error ? err.message : String(err);
  if (/permission|not permitted/i.test(text)) {
    return new LiveCaptureError(
      'permission-denied',
      `cannot capture on ${device}: ${text}; ${PERMISSION_HINT}`,
      err,
    );
  }
  if (/no such device/i.test(text)) {
    return new LiveCaptureError(
      'no-such-device',
      `cannot capture on ${device}: ${text} (list interfaces with -D)`,
      err,
    );
  }
  if (/filter|syntax error/i.test(text)) {
    return new LiveCaptureError('bad-filter', `bad capture filter ${JSON.stringify(filter)}: ${text}`, err);
  }
  return new LiveCaptureError('open-failed', `cannot capture on ${device}: ${text}`, err);
}

/**
 * A wall-clock anchor with sub-millisecond alignment: Date.now() only has millisecond resolution, so wait
 * (at most about 1 ms) for it to tick and pair the new value with the monotonic clock at that instant.
 */
function anchorClock(): { wallMicros: number; monotonicMs: number } {
  const start = Date.now();
  let wall = Date.now();
  let monotonic = performance.now();
  const giveUp = monotonic + 5;
  while (wall === start && monotonic < giveUp) {
    wall = Date.now();
    monotonic = performance.now();
  }
  return { wallMicros: wall * 1000, monotonicMs: monotonic };
}

/**
 * `waiting`: before forEach; `delivering`: packets go to the consumer as they come; `held`: forEach has begun but
 * delivery waits (for the outputs, or while the queue is being delivered), so packets that come are queued.
 */
type ConsumerState = 'waiting' | 'delivering' | 'held' | 'done';

class LiveSource implements LivePacketSource {
  readonly format = 'live';
  readonly compressed = false;
  readonly description: string;
  readonly device: string;
  readonly linkType: number;
  readonly snaplen: number;

  private readonly cap: CapHandle;
  private readonly shared: Buffer;
  /**
   * The same memory as `shared`, typed as a plain Uint8Array: this is what consumers get. On a Buffer,
   * `slice()` returns a view rather than a copy, so a consumer that keeps `view.buffer.subarray(...).slice()`
   * (the usual way to copy a Uint8Array) would keep a view that the next packet overwrites.
   */
  private readonly sharedBytes: Uint8Array;
  private readonly view: PacketView;
  private readonly count: number | null;
  private readonly queueLimit: number;
  private readonly queueBytesLimit: number;
  private readonly wallAnchorMicros: number;
  private readonly monotonicAnchorMs: number;
  private readonly deadlineMicros: number;
  private timer: ReturnType<typeof setTimeout> | null = null;

  private capturing = true;
  private closed = false;
  private consumer: ConsumerState = 'waiting';
  private forEachCalled = false;
  private onPacket: ((packet: PacketView) => void) | null = null;
  private ready: (() => Promise<void> | null) | null = null;
  private untilReady = READY_EVERY_PACKETS;
  /** A promise from `ready` is pending: delivery waits for it. */
  private waitingForReady = false;
  /** Times delivery was held back for the outputs. */
  private holds = 0;
  private resolveForEach: (() => void) | null = null;
  private rejectForEach: ((err: unknown) => void) | null = null;

  /** Packets accepted (delivered or queued); the next packet's index. */
  private accepted = 0;
  private delivered = 0;
  private capturedBytes = 0;
  private truncated = 0;
  private queueDropped = 0;
  private readonly queue: { bytes: Uint8Array; originalLength: number; tsMicros: number; index: number }[] =
    [];
  private queuedBytes = 0;
  private readonly warningList: SourceWarning[] = [];
  private overflowWarningAt = -1;

  constructor(
    cap: CapHandle,
    shared: Buffer,
    device: string,
    linkType: number,
    options: LiveSourceOptions,
    snaplen: number,
  ) {
    this.cap = cap;
    this.shared = shared;
    this.sharedBytes = new Uint8Array(shared.buffer, shared.byteOffset, shared.byteLength);
    this.device = device;
    this.description = `live:${device}`;
    this.linkType = linkType;
    this.snaplen = snaplen;
    this.count = options.count;
    this.queueLimit = options.queueLimit ?? DEFAULT_QUEUE_PACKETS;
    this.queueBytesLimit = options.queueBytesLimit ?? DEFAULT_QUEUE_BYTES;
    this.view = {
      buffer: this.sharedBytes,
      offset: 0,
      capturedLength: 0,
      originalLength: 0,
      tsMicros: 0,
      linkType,
      interfaceId: 0,
      index: 0,
    };
    const anchor = anchorClock();
    this.wallAnchorMicros = anchor.wallMicros;
    this.monotonicAnchorMs = anchor.monotonicMs;
    this.deadlineMicros =
      options.durationMs === null ? Number.POSITIVE_INFINITY : anchor.wallMicros + options.durationMs * 1000;
    if (options.durationMs !== null) {
      this.timer = setTimeout(() => this.stopCapture(), options.durationMs);
    }
    cap.on('packet', (nbytes, truncated) => this.handlePacket(nbytes, truncated));
  }

  readonly nowMicros = (): number => this.clockMicros();

  private clockMicros(): number {
    return this.wallAnchorMicros + Math.floor((performance.now() - this.monotonicAnchorMs) * 1000);
  }

  /** Runs inside cap's 'packet' event; the packet is `shared[0, nbytes)`. */
  private handlePacket(nbytes: number, capTruncated: boolean): void {
    if (!this.capturing) return;
    const tsMicros = this.clockMicros();
    if (tsMicros >= this.deadlineMicros) {
      // Under sustained load cap drains libpcap in one long callback and the timer cannot run.
      this.stopCapture();
      return;
    }
    let originalLength = nbytes;
    if (nbytes >= CAP_MAX_SNAPLEN || capTruncated) {
      originalLength = inferOriginalLength(this.shared, nbytes, this.linkType);
    }
    const capturedLength = Math.min(nbytes, this.snaplen);
    this.capturedBytes += nbytes;

    if (this.consumer === 'delivering') {
      this.accepted++;
      this.deliver(this.sharedBytes, capturedLength, originalLength, tsMicros, this.accepted - 1);
      if (--this.untilReady <= 0) this.askReady();
    } else if (
      this.queue.length < this.queueLimit &&
      this.queuedBytes + capturedLength <= this.queueBytesLimit
    ) {
      this.accepted++;
      // A real copy: Buffer#slice would return a view of the shared buffer, which the next packet overwrites.
      const bytes = new Uint8Array(capturedLength);
      bytes.set(this.shared.subarray(0, capturedLength));
      this.queue.push({
        bytes,
        originalLength,
        tsMicros,
        index: this.accepted - 1,
      });
      this.queuedBytes += capturedLength;
    } else {
      this.queueDropped++;
      this.noteOverflow();
      return;
    }
    if (this.count !== null && this.accepted >= this.count) this.stopCapture();
  }

  private deliver(
    buffer: Uint8Array,
    capturedLength: number,
    originalLength: number,
    tsMicros: number,
    index: number,
  ): void {
    const view = this.view;
    view.buffer = buffer;
    view.capturedLength = capturedLength;
    view.originalLength = originalLength;
    view.tsMicros = tsMicros;
    view.index = index;
    this.delivered++;
    if (capturedLength < originalLength) this.truncated++;
    const onPacket = this.onPacket;
    if (onPacket === null) return;
    try {
      onPacket(view);
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Asks forEach's `ready` whether the outputs are behind; a promise holds delivery back (packets are queued)
   * until it settles. Returns whether delivery may go on now.
   */
  private askReady(): boolean {
    this.untilReady = READY_EVERY_PACKETS;
    const wait = this.ready?.() ?? null;
    if (wait === null) return true;
    this.holds++;
    this.waitingForReady = true;
    this.consumer = 'held';
    wait.then(
      () => {
        this.waitingForReady = false;
        this.drain();
      },
      (err: unknown) => {
        this.waitingForReady = false;
        this.fail(err);
      },
    );
    return false;
  }

  /**
   * Delivers the queue in order, asking `ready` every READY_EVERY_PACKETS packets (it may hold delivery back
   * again), then packets as they come. Runs synchronously: `cap` cannot add to the queue meanwhile.
   */
  private drain(): void {
    if (this.consumer !== 'held' || this.waitingForReady) return;
    const queue = this.queue;
    let i = 0;
    while (i < queue.length && this.consumer === 'held') {
      const item = queue[i++];
      if (item === undefined) break;
      this.queuedBytes -= item.bytes.length;
      this.deliver(item.bytes, item.bytes.length, item.originalLength, item.tsMicros, item.index);
      if (i % READY_EVERY_PACKETS === 0 && this.consumer === 'held' && !this.askReady()) break;
    }
    queue.splice(0, i);
    if (this.consumer !== 'held' || this.waitingForReady || queue.length > 0) return;
    this.consumer = 'delivering';
    this.untilReady = READY_EVERY_PACKETS;
    if (!this.capturing) this.settle(null);
  }

  private overflowMessage(): string {
    return (
      `live capture queue full (${this.queueLimit} packets / ${this.queueBytesLimit} bytes) while delivery ` +
      `was held back (before the analysis started, or for slow outputs): ${this.queueDropped} packet(s) dropped`
    );
  }

  private noteOverflow(): void {
    const message = this.overflowMessage();
    const warning: SourceWarning = {
      code: 'live-queue-overflow',
      byteOffset: null,
      packetsBefore: null,
      message,
    };
    if (this.overflowWarningAt < 0) {
      this.overflowWarningAt = this.warningList.length;
      this.warningList.push(warning);
    } else if (this.queueDropped % 1000 === 0) {
      this.warningList[this.overflowWarningAt] = warning;
    }
  }

  /** Stops libpcap; delivery of what was already accepted continues. */
  private stopCapture(): void {
    if (!this.capturing) return;
    this.capturing = false;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.cap.close();
    this.cap.removeAllListeners('packet');
    if (this.overflowWarningAt >= 0) {
      // Final count (the in-flight message is refreshed only every 1000 drops).
      this.warningList[this.overflowWarningAt] = {
        code: 'live-queue-overflow',
        byteOffset: null,
        packetsBefore: null,
        message: this.overflowMessage(),
      };
    }
    // Delivery held back or taking the queued packets: drain() settles once they are delivered.
    if (this.consumer === 'delivering') this.settle(null);
  }

  private settle(err: unknown): void {
    if (this.consumer === 'done') return;
    this.consumer = 'done';
    this.onPacket = null;
    const resolve = this.resolveForEach;
    const reject = this.rejectForEach;
    this.resolveForEach = null;
    this.rejectForEach = null;
    if (err === null) resolve?.();
    else reject?.(err);
  }

  private fail(err: unknown): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.settle(err);
    this.stopCapture();
  }

  /**
   * `ready` is asked every READY_EVERY_PACKETS packets delivered; while a promise it returned is pending, packets
   * are queued (bounded, overflow counted) and delivered in order once it settles. A rejected promise ends
   * forEach with that error.
   */
  forEach(onPacket: (packet: PacketView) => void, ready?: () => Promise<void> | null): Promise<void> {
    if (this.forEachCalled) {
      return Promise.reject(new Error('forEach may be called only once on a packet source'));
    }
    this.forEachCalled = true;
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.resolveForEach = resolve;
      this.rejectForEach = reject;
      this.onPacket = onPacket;
      this.ready = ready ?? null;
      // Packets captured before forEach first, in order (cap cannot emit while this runs: same thread).
      this.consumer = 'held';
      this.drain();
    });
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.stopCapture();
    this.settle(null);
    return Promise.resolve();
  }

  stats(): LiveSourceStats {
    return {
      packets: this.delivered,
      bytes: this.capturedBytes,
      storedBytes: this.capturedBytes,
      dropped: null,
      truncated: this.truncated,
      queueDropped: this.queueDropped,
      holds: this.holds,
    };
  }

  warnings(): readonly SourceWarning[] {
    return this.warningList;
  }
}

/**
 * Opens `options.device` and starts capturing at once, so that a wrong interface, a missing permission or
 * a bad filter is reported here, before any analysis is set up. Packets captured before forEach is called
 * are queued (bounded) and delivered first.
 *
 * @throws LiveCaptureUnavailableError when `cap` cannot be loaded.
 * @throws LiveCaptureError when libpcap refuses the device, the filter or an option.
 */
export async function openLiveSource(
  options: LiveSourceOptions,
  deps: LiveSourceDeps = {},
): Promise<LivePacketSource> {
  validate(options);
  const capModule = await (deps.loadCap ?? loadCapModule)();
  if (!options.promiscuous) {
    throw new LiveCaptureError(
      'unsupported-option',
      "the 'cap' module always opens the interface in promiscuous mode; to capture without it, use " +
        'tcpdump -p -U -w - -i <interface> port 25 | smtpscope - (see docs/LIVE.md)',
    );
  }
  let device = options.device;
  if (/^[1-9]\d*$/.test(device)) {
    try {
      device = resolveDeviceName(device, listDevicesWith(capModule));
    } catch (err) {
      throw new LiveCaptureError('no-such-device', err instanceof Error ? err.message : String(err), err);
    }
  }
  const snaplen =
    options.snaplen === 0 || options.snaplen > CAP_MAX_SNAPLEN ? CAP_MAX_SNAPLEN : options.snaplen;
  const cap = new capModule.Cap();
  retainCapHandle(cap);
  const shared = Buffer.alloc(CAP_BUFFER_BYTES);
  let linkName: string;
  try {
    linkName = cap.open(device, options.filter, Math.round(options.bufferMb * 1024 * 1024), shared);
  } catch (err) {
    throw toLiveCaptureError(err, device, options.filter);
  }
  const linkType = linkTypeFromCapName(linkName);
  if (linkType === null) {
    cap.close();
    throw new LiveCaptureError('unsupported-link-type', `cannot capture on ${device}: ${linkName}`);
  }
  return new LiveSource(cap, shared, device, linkType, options, snaplen);
}
