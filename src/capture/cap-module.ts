/**
 * Loading the optional `cap` addon (libpcap bindings) for live capture and device listing.
 *
 * `cap` is an optionalDependency: it needs a C++ toolchain and the libpcap headers at install time and
 * libpcap at run time. Everything that reads capture files must work without it, so it is loaded lazily,
 * by dynamic import, only when live capture or `-D` is requested.
 */

/** The part of a `cap` capture handle that smtpscope uses. */
export interface CapHandle {
  /**
   * Opens `device`, compiles and installs `filter`, starts capturing into `buffer`, and returns the link
   * type as a name (`'ETHERNET'`, `'LINKTYPE_LINUX_SLL'`, `'NULL'`, `'RAW'`, `'IEEE802_11_RADIO'`) or
   * `'Unknown linktype N'` with the DLT number. Throws with libpcap's message on failure.
   */
  open(device: string, filter: string, bufferBytes: number, buffer: Buffer): string;
  /** Stops capturing; returns whether a capture was open. Safe to call from inside a 'packet' listener. */
  close(): boolean;
  /** 'packet' is emitted synchronously per packet with the packet copied to the start of `buffer`. */
  on(event: 'packet', listener: (nbytes: number, truncated: boolean) => void): unknown;
  removeAllListeners(event?: string): unknown;
}

/** One entry of `Cap.deviceList()`, as the addon builds it (optional keys are absent, not null). */
export interface CapDeviceEntry {
  readonly name: string;
  readonly description?: string;
  readonly addresses: readonly {
    readonly addr?: string;
    readonly netmask?: string;
    readonly broadaddr?: string;
    readonly dstaddr?: string;
  }[];
  readonly flags?: string;
}

export interface CapConstructor {
  new (): CapHandle;
  deviceList(): CapDeviceEntry[];
  findDevice(ip?: string): string | undefined;
}

/** What the `cap` package exports (`module.exports = addon`, with `addon.Cap`). */
export interface CapModule {
  readonly Cap: CapConstructor;
}

/** How live capture and `listDevices` obtain the addon; tests inject a failing or fake-free loader. */
export type CapLoader = () => Promise<CapModule>;

/** The message tells the user exactly what to do; the underlying load error is kept as `cause`. */
export class LiveCaptureUnavailableError extends Error {
  override readonly name = 'LiveCaptureUnavailableError';
  constructor(cause?: unknown) {
    super(
      "live capture needs the optional 'cap' module built against libpcap: install libpcap-dev " +
        "(apt-get install libpcap-dev, or your system's libpcap development package) and run npm install " +
        'again; reading capture files works without it',
      cause === undefined ? undefined : { cause },
    );
  }
}

// Held in a variable so that neither bundlers nor the type checker resolve the optional module statically.
const CAP_SPECIFIER = 'cap';

function isCapModule(value: unknown): value is CapModule {
  if (typeof value !== 'object' || value === null) return false;
  const cap: unknown = Reflect.get(value, 'Cap');
  return (
    typeof cap === 'function' &&
    typeof Reflect.get(cap, 'deviceList') === 'function' &&
    typeof Reflect.get(cap, 'findDevice') === 'function'
  );
}

/**
 * Imports the addon from `specifier` (normally `'cap'`). Any failure (package absent, addon not built,
 * libpcap shared library missing, unexpected exports) becomes a {@link LiveCaptureUnavailableError}.
 */
export async function importCapModule(specifier: string): Promise<CapModule> {
  let imported: unknown;
  try {
    imported = await import(specifier);
  } catch (err) {
    throw new LiveCaptureUnavailableError(err);
  }
  // `cap` is CommonJS: its exports object arrives as the default export.
  const candidate: unknown =
    typeof imported === 'object' && imported !== null ? Reflect.get(imported, 'default') : undefined;
  if (isCapModule(candidate)) return candidate;
  if (isCapModule(imported)) return imported;
  throw new LiveCaptureUnavailableError(new Error(`the module '${specifier}' does not export Cap`));
}

/** The default {@link CapLoader}: imports `cap`. */
export function loadCapModule(): Promise<CapModule> {
  return importCapModule(CAP_SPECIFIER);
}

/**
 * Every Cap handle that was ever opened, kept reachable for the life of the process.
 *
 * cap 0.2.1 has two lifetime bugs: a handle whose open() failed still holds its pcap handle, and when the
 * garbage collector destroys it the destructor stops an uv_poll_t that was never initialised (the process
 * dies with SIGSEGV; reproduced with `--expose-gc`). A closed handle stops its uv_poll_t but never closes
 * it, so freeing it leaves libuv a dangling handle. Keeping the handles alive costs a few hundred bytes per
 * open, and a process opens one capture (tests a handful).
 */
const retainedHandles = new Set<CapHandle>();

export function retainCapHandle(handle: CapHandle): void {
  retainedHandles.add(handle);
}
