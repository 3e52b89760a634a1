/**
 * Reads the first TLS handshake message of one direction after STARTTLS (or on an implicit-TLS port): the
 * ClientHello (SNI, offered versions, ALPN) or the ServerHello (chosen version and cipher suite). Tolerates the
 * hello being split over several records and chunks; buffers at most `maxBytes`. Bytes that are not a TLS
 * handshake are reported once through `onNotTls`; after the hello (or a failure) the parser ignores input.
 */

import type { TlsHello } from './types.js';

export interface TlsHelloParserOptions {
  readonly side: 'client' | 'server';
  /** Bytes buffered while looking for the hello (records included). */
  readonly maxBytes: number;
  onHello(hello: TlsHello): void;
  onNotTls(detail: string): void;
}

export interface TlsHelloParser {
  push(bytes: Uint8Array): void;
  /** The hello was parsed or the parser gave up. */
  readonly done: boolean;
}

const VERSION_NAMES: Readonly<Record<number, string>> = {
  768: 'SSL 3.0',
  769: 'TLS 1.0',
  770: 'TLS 1.1',
  771: 'TLS 1.2',
  772: 'TLS 1.3',
};

/** IANA names of the cipher suites commonly seen with SMTP; others are shown as 0xXXXX. */
const CIPHER_NAMES: Readonly<Record<number, string>> = {
  4865: 'TLS_AES_128_GCM_SHA256',
  4866: 'TLS_AES_256_GCM_SHA384',
  4867: 'TLS_CHACHA20_POLY1305_SHA256',
  4868: 'TLS_AES_128_CCM_SHA256',
  49195: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  49196: 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  49199: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  49200: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  52392: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  52393: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  52394: 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  49161: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  49162: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  49171: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  49172: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  49187: 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  49188: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
  49191: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  49192: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  158: 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256',
  159: 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384',
  156: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  157: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  47: 'TLS_RSA_WITH_AES_128_CBC_SHA',
  53: 'TLS_RSA_WITH_AES_256_CBC_SHA',
  60: 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  61: 'TLS_RSA_WITH_AES_256_CBC_SHA256',
  10: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
};

function hex4(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

export function tlsVersionName(version: number): string {
  return VERSION_NAMES[version] ?? hex4(version);
}

export function tlsCipherName(suite: number): string {
  return CIPHER_NAMES[suite] ?? hex4(suite);
}

function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

const HANDSHAKE = 22;
const MAX_RECORD = 16384 + 2048;

/** Parses a ClientHello or ServerHello body (after the 4-byte handshake header); null when malformed. */
export function parseHelloBody(side: 'client' | 'server', b: Uint8Array): TlsHello | null {
  const end = b.length;
  let p = 0;
  const u8 = (): number => (p < end ? (b[p++] as number) : -1);
  const u16 = (): number => {
    if (p + 2 > end) return -1;
    const v = ((b[p] as number) << 8) | (b[p + 1] as number);
    p += 2;
    return v;
  };
  const legacy = u16();
  if (legacy < 0 || p + 32 > end) return null;
  p += 32;
  const sidLength = u8();
  if (sidLength < 0 || sidLength > 32 || p + sidLength > end) return null;
  p += sidLength;
  let cipher: string | null = null;
  if (side === 'client') {
    const suitesLength = u16();
    if (suitesLength < 0 || p + suitesLength > end) return null;
    p += suitesLength;
    const compressionLength = u8();
    if (compressionLength < 0 || p + compressionLength > end) return null;
    p += compressionLength;
  } else {
    const suite = u16();
    if (suite < 0 || u8() < 0) return null;
    cipher = tlsCipherName(suite);
  }
  let sni: string | null = null;
  const alpn: string[] = [];
  let supported: string[] | null = null;
  if (p < end) {
    const extensionsLength = u16();
    if (extensionsLength < 0 || p + extensionsLength > end) return null;
    const extensionsEnd = p + extensionsLength;
    while (p + 4 <= extensionsEnd) {
      const type = u16();
      const length = u16();
      if (p + length > extensionsEnd) return null;
      const dataEnd = p + length;
      if (type === 0 && side === 'client' && length >= 5) {
        // server_name: list length, then (type, length, name) entries; host_name is type 0.
        let q = p + 2;
        while (q + 3 <= dataEnd) {
          const nameType = b[q] as number;
          const nameLength = ((b[q + 1] as number) << 8) | (b[q + 2] as number);
          q += 3;
          if (q + nameLength > dataEnd) break;
          if (nameType === 0 && sni === null) sni = String.fromCharCode(...b.subarray(q, q + nameLength));
          q += nameLength;
        }
      } else if (type === 16 && length >= 2) {
        let q = p + 2;
        while (q < dataEnd) {
          const protoLength = b[q] as number;
          q++;
          if (q + protoLength > dataEnd) break;
          alpn.push(String.fromCharCode(...b.subarray(q, q + protoLength)));
          q += protoLength;
        }
      } else if (type === 43) {
        supported = [];
        if (side === 'server' && length === 2) {
          supported.push(tlsVersionName(((b[p] as number) << 8) | (b[p + 1] as number)));
        } else if (side === 'client' && length >= 1) {
          const listEnd = Math.min(dataEnd, p + 1 + (b[p] as number));
          for (let q = p + 1; q + 2 <= listEnd; q += 2) {
            const v = ((b[q] as number) << 8) | (b[q + 1] as number);
            if (!isGrease(v)) supported.push(tlsVersionName(v));
          }
        }
      }
      p = dataEnd;
    }
  }
  const versions = supported !== null && supported.length > 0 ? supported : [tlsVersionName(legacy)];
  return { side, versions, sni, cipher: side === 'server' ? cipher : null, alpn };
}

export function createTlsHelloParser(options: TlsHelloParserOptions): TlsHelloParser {
  const max = Math.max(64, options.maxBytes);
  let raw: Uint8Array | null = null;
  let rawLength = 0;
  let done = false;

  function fail(detail: string): void {
    done = true;
    raw = null;
    options.onNotTls(detail);
  }

  function tryParse(): void {
    const buf = raw as Uint8Array;
    const first = buf[0] as number;
    if (first !== HANDSHAKE) {
      if (first === 21) {
        done = true; // an alert instead of a hello: TLS, but nothing to report
        raw = null;
        return;
      }
      fail(`first byte 0x${first.toString(16).padStart(2, '0')} is not a TLS handshake record`);
      return;
    }
    // Collect handshake bytes from the complete handshake records at the start of the stream, judging the hello
    // after each record, before the next record's header: the verdict then depends only on the bytes up to the
    // record that decided it, the same for any chunking.
    let p = 0;
    let handshakeLength = 0;
    const parts: Uint8Array[] = [];
    while (p + 5 <= rawLength) {
      const type = buf[p] as number;
      const major = buf[p + 1] as number;
      const length = ((buf[p + 3] as number) << 8) | (buf[p + 4] as number);
      if (type !== HANDSHAKE) break;
      if (major !== 3 || length === 0 || length > MAX_RECORD) {
        fail(
          `bad TLS record header (version ${hex4(((buf[p + 1] as number) << 8) | (buf[p + 2] as number))}, length ${length})`,
        );
        return;
      }
      if (p + 5 + length > rawLength) break;
      parts.push(buf.subarray(p + 5, p + 5 + length));
      handshakeLength += length;
      p += 5 + length;
      if (judge(parts, handshakeLength)) return;
    }
  }

  /** True when the handshake bytes so far settle the outcome (a hello, or a failure). */
  function judge(parts: readonly Uint8Array[], handshakeLength: number): boolean {
    const wanted = options.side === 'client' ? 1 : 2;
    const firstType = (parts[0] as Uint8Array)[0] as number;
    if (firstType !== wanted) {
      fail(
        `first handshake message type ${firstType}, expected ${options.side === 'client' ? 'ClientHello' : 'ServerHello'}`,
      );
      return true;
    }
    if (handshakeLength < 4) return false;
    const hs = new Uint8Array(handshakeLength);
    let q = 0;
    for (const part of parts) {
      hs.set(part, q);
      q += part.length;
    }
    const bodyLength = ((hs[1] as number) << 16) | ((hs[2] as number) << 8) | (hs[3] as number);
    if (4 + bodyLength > handshakeLength) {
      if (4 + bodyLength > max) {
        fail(`hello of ${bodyLength} bytes exceeds the ${max}-byte buffer`);
        return true;
      }
      return false;
    }
    const hello = parseHelloBody(options.side, hs.subarray(4, 4 + bodyLength));
    done = true;
    raw = null;
    if (hello === null) options.onNotTls('malformed hello');
    else options.onHello(hello);
    return true;
  }

  return {
    push(bytes: Uint8Array): void {
      if (done || bytes.length === 0) return;
      if (raw === null) raw = new Uint8Array(max);
      const n = Math.min(bytes.length, max - rawLength);
      raw.set(bytes.subarray(0, n), rawLength);
      rawLength += n;
      tryParse();
      if (!done && rawLength >= max) fail(`no complete hello in the first ${max} bytes`);
    },
    get done(): boolean {
      return done;
    },
  };
}
