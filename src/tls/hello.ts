/**
 * ClientHello and ServerHello bodies (RFC 8446 section 4.1.2-4.1.3, RFC 5246 section 7.4.1): the fields the
 * decryptor needs (randoms, session id, suites, the extensions that change the key schedule or the record
 * protection) and the facts shown to the user ({@link TlsHello}). Parsing is bounds-checked: a malformed body
 * gives null, never a throw.
 */

import { tlsCipherName, tlsVersionName } from './cipher-suites.js';
import type { TlsHello } from './types.js';

export const EXT = {
  SERVER_NAME: 0,
  ALPN: 16,
  ENCRYPT_THEN_MAC: 22,
  EXTENDED_MASTER_SECRET: 23,
  SESSION_TICKET: 35,
  PRE_SHARED_KEY: 41,
  EARLY_DATA: 42,
  SUPPORTED_VERSIONS: 43,
  KEY_SHARE: 51,
} as const;

/** SHA-256("HelloRetryRequest"): the random of a HelloRetryRequest (RFC 8446 section 4.1.3). */
export const HELLO_RETRY_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2,
  0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

export interface ClientHelloInfo {
  readonly legacyVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuites: readonly number[];
  /** supported_versions without GREASE values; empty when absent. */
  readonly supportedVersions: readonly number[];
  readonly sni: string | null;
  readonly alpn: readonly string[];
  /** Groups of the key_share entries. */
  readonly keyShareGroups: readonly number[];
  readonly preSharedKey: boolean;
  readonly earlyData: boolean;
  readonly encryptThenMac: boolean;
  readonly extendedMasterSecret: boolean;
  /** session_ticket extension with a ticket in it (a TLS 1.2 resumption attempt). */
  readonly sessionTicket: boolean;
}

export interface ServerHelloInfo {
  readonly legacyVersion: number;
  readonly random: Uint8Array;
  readonly sessionId: Uint8Array;
  readonly cipherSuite: number;
  /** supported_versions when present (TLS 1.3), else the legacy version. */
  readonly version: number;
  readonly helloRetryRequest: boolean;
  readonly alpn: readonly string[];
  readonly keyShareGroup: number | null;
  /** pre_shared_key: the server accepted a PSK (TLS 1.3 resumption). */
  readonly preSharedKey: boolean;
  readonly encryptThenMac: boolean;
  readonly extendedMasterSecret: boolean;
}

function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A bounds-checked reader; every read past the end gives -1 / null and sets `bad`. */
class Reader {
  p = 0;
  bad = false;
  constructor(
    readonly b: Uint8Array,
    readonly end: number = b.length,
  ) {}
  u8(): number {
    if (this.p + 1 > this.end) {
      this.bad = true;
      return -1;
    }
    return this.b[this.p++] as number;
  }
  u16(): number {
    if (this.p + 2 > this.end) {
      this.bad = true;
      return -1;
    }
    const v = ((this.b[this.p] as number) << 8) | (this.b[this.p + 1] as number);
    this.p += 2;
    return v;
  }
  /** A copy of the next `n` bytes (for values kept after the parse: randoms, session ids). */
  bytes(n: number): Uint8Array {
    if (n < 0 || this.p + n > this.end) {
      this.bad = true;
      return new Uint8Array(0);
    }
    this.p += n;
    return this.b.slice(this.p - n, this.p);
  }
  /** A view of the next `n` bytes, valid while the body is (for values read during the parse only). */
  view(n: number): Uint8Array {
    if (n < 0 || this.p + n > this.end) {
      this.bad = true;
      return new Uint8Array(0);
    }
    const out = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return out;
  }
}

function ascii(bytes: Uint8Array): string {
  return String.fromCharCode(...bytes);
}

function u16At(b: Uint8Array, q: number): number {
  return ((b[q] as number) << 8) | (b[q + 1] as number);
}

/**
 * Positions the reader at the first extension and returns the end of the extensions block (the body's end when
 * there are none); -1 when its length does not fit. The extensions are then read in place, without an array
 * of them or a view of each.
 */
function extensionsEnd(r: Reader): number {
  if (r.p >= r.end) return r.p;
  const length = r.u16();
  if (r.bad || r.p + length > r.end) return -1;
  return r.p + length;
}

/** server_name (RFC 6066 section 3): the first host_name; `s`..`e` is the extension's data in `b`. */
function parseSni(b: Uint8Array, s: number, e: number): string | null {
  let q = s + 2;
  while (q + 3 <= e) {
    const nameType = b[q] as number;
    const nameLength = u16At(b, q + 1);
    q += 3;
    if (q + nameLength > e) break;
    if (nameType === 0) return ascii(b.subarray(q, q + nameLength));
    q += nameLength;
  }
  return null;
}

/** application_layer_protocol_negotiation (RFC 7301): the protocol names. */
function parseAlpn(b: Uint8Array, s: number, e: number): string[] {
  const out: string[] = [];
  if (e - s < 2) return out;
  let q = s + 2;
  while (q < e) {
    const n = b[q] as number;
    q++;
    if (q + n > e) break;
    out.push(ascii(b.subarray(q, q + n)));
    q += n;
  }
  return out;
}

const NO_NAMES: readonly string[] = Object.freeze([]);

/** Parses a ClientHello body (after the 4-byte handshake header); null when malformed. */
export function parseClientHello(body: Uint8Array): ClientHelloInfo | null {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sidLength = r.u8();
  if (r.bad || sidLength > 32) return null;
  const sessionId = r.bytes(sidLength);
  const suitesLength = r.u16();
  if (r.bad) return null;
  const suitesEnd = r.p + suitesLength;
  if (suitesEnd > r.end) return null;
  // Made at its final length (a list grown one push at a time reallocates several times).
  const cipherSuites: number[] = new Array<number>(suitesLength >> 1);
  for (let i = 0, q = r.p; q + 2 <= suitesEnd; i++, q += 2) cipherSuites[i] = u16At(body, q);
  r.p = suitesEnd;
  const compressionLength = r.u8();
  r.view(compressionLength);
  if (r.bad) return null;
  const end = extensionsEnd(r);
  if (end < 0) return null;
  let sni: string | null = null;
  let alpn: readonly string[] = NO_NAMES;
  const supportedVersions: number[] = [];
  const keyShareGroups: number[] = [];
  let preSharedKey = false;
  let earlyData = false;
  let encryptThenMac = false;
  let extendedMasterSecret = false;
  let sessionTicket = false;
  let q = r.p;
  while (q + 4 <= end) {
    const type = u16At(body, q);
    const s = q + 4;
    const e = s + u16At(body, q + 2);
    if (e > end) return null;
    q = e;
    switch (type) {
      case EXT.SERVER_NAME:
        if (sni === null && e - s >= 5) sni = parseSni(body, s, e);
        break;
      case EXT.ALPN:
        alpn = parseAlpn(body, s, e);
        break;
      case EXT.SUPPORTED_VERSIONS: {
        const listEnd = Math.min(e, s + 1 + (e > s ? (body[s] as number) : 0));
        for (let v = s + 1; v + 2 <= listEnd; v += 2) {
          const version = u16At(body, v);
          if (!isGrease(version)) supportedVersions.push(version);
        }
        break;
      }
      case EXT.KEY_SHARE: {
        let k = s + 2;
        while (k + 4 <= e) {
          const group = u16At(body, k);
          if (!isGrease(group)) keyShareGroups.push(group);
          k += 4 + u16At(body, k + 2);
        }
        break;
      }
      case EXT.PRE_SHARED_KEY:
        preSharedKey = true;
        break;
      case EXT.EARLY_DATA:
        earlyData = true;
        break;
      case EXT.ENCRYPT_THEN_MAC:
        encryptThenMac = true;
        break;
      case EXT.EXTENDED_MASTER_SECRET:
        extendedMasterSecret = true;
        break;
      case EXT.SESSION_TICKET:
        sessionTicket = e > s;
        break;
    }
  }
  return {
    legacyVersion,
    random,
    sessionId,
    cipherSuites,
    supportedVersions,
    sni,
    alpn,
    keyShareGroups,
    preSharedKey,
    earlyData,
    encryptThenMac,
    extendedMasterSecret,
    sessionTicket,
  };
}

/** Parses a ServerHello (or HelloRetryRequest) body; null when malformed. */
export function parseServerHello(body: Uint8Array): ServerHelloInfo | null {
  const r = new Reader(body);
  const legacyVersion = r.u16();
  const random = r.bytes(32);
  const sidLength = r.u8();
  if (r.bad || sidLength > 32) return null;
  const sessionId = r.bytes(sidLength);
  const cipherSuite = r.u16();
  r.u8(); // compression method
  if (r.bad) return null;
  const end = extensionsEnd(r);
  if (end < 0) return null;
  let version = legacyVersion;
  let alpn: readonly string[] = NO_NAMES;
  let keyShareGroup: number | null = null;
  let preSharedKey = false;
  let encryptThenMac = false;
  let extendedMasterSecret = false;
  let q = r.p;
  while (q + 4 <= end) {
    const type = u16At(body, q);
    const s = q + 4;
    const e = s + u16At(body, q + 2);
    if (e > end) return null;
    q = e;
    switch (type) {
      case EXT.SUPPORTED_VERSIONS:
        if (e - s === 2) version = u16At(body, s);
        break;
      case EXT.ALPN:
        alpn = parseAlpn(body, s, e);
        break;
      case EXT.KEY_SHARE:
        if (e - s >= 2) keyShareGroup = u16At(body, s);
        break;
      case EXT.PRE_SHARED_KEY:
        preSharedKey = true;
        break;
      case EXT.ENCRYPT_THEN_MAC:
        encryptThenMac = true;
        break;
      case EXT.EXTENDED_MASTER_SECRET:
        extendedMasterSecret = true;
        break;
    }
  }
  return {
    legacyVersion,
    random,
    sessionId,
    cipherSuite,
    version,
    helloRetryRequest: sameBytes(random, HELLO_RETRY_RANDOM),
    alpn,
    keyShareGroup,
    preSharedKey,
    encryptThenMac,
    extendedMasterSecret,
  };
}

/** What the user is shown of a ClientHello. */
export function clientHelloFacts(hello: ClientHelloInfo): TlsHello {
  const versions =
    hello.supportedVersions.length > 0
      ? hello.supportedVersions.map(tlsVersionName)
      : [tlsVersionName(hello.legacyVersion)];
  return { side: 'client', versions, sni: hello.sni, cipher: null, alpn: hello.alpn };
}

/** What the user is shown of a ServerHello. */
export function serverHelloFacts(hello: ServerHelloInfo): TlsHello {
  return {
    side: 'server',
    versions: [tlsVersionName(hello.version)],
    sni: null,
    cipher: tlsCipherName(hello.cipherSuite),
    alpn: hello.alpn,
  };
}

/** The user-facing facts of a hello body of either side; null when malformed. */
export function parseHelloFacts(side: 'client' | 'server', body: Uint8Array): TlsHello | null {
  if (side === 'client') {
    const hello = parseClientHello(body);
    return hello === null ? null : clientHelloFacts(hello);
  }
  const hello = parseServerHello(body);
  return hello === null ? null : serverHelloFacts(hello);
}
