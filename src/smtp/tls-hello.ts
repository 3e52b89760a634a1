/**
 * Reads the first TLS handshake message of one direction after STARTTLS (or on an implicit-TLS port): the
 * ClientHello (SNI, offered versions, ALPN) or the ServerHello (chosen version and cipher suite). Tolerates the
 * hello being split over several records and chunks; buffers at most `maxBytes`. Bytes that are not a TLS
 * handshake are reported once through `onNotTls`; after the hello (or a failure) the parser ignores input. A hello
 * that comes whole in its first chunk is read in place; otherwise the buffer grows as the bytes come.
 */

import { parseHelloFacts } from '../tls/hello.js';
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

export { tlsCipherName, tlsVersionName } from '../tls/cipher-suites.js';

function hex4(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

const HANDSHAKE = 22;
const MAX_RECORD = 16384 + 2048;

/** Parses a ClientHello or ServerHello body (after the 4-byte handshake header); null when malformed. */
export function parseHelloBody(side: 'client' | 'server', b: Uint8Array): TlsHello | null {
  return parseHelloFacts(side, b);
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
      const n = Math.min(bytes.length, max - rawLength);
      if (raw === null) {
        // The first bytes are read where they are (a hello usually comes whole in one chunk); only what is still
        // undecided after them is copied, into a buffer that grows by doubling up to `max`.
        raw = bytes.subarray(0, n);
        rawLength = n;
        tryParse();
        if (!done) {
          const own = new Uint8Array(Math.min(max, Math.max(1024, 2 * n)));
          own.set(raw);
          raw = own;
        }
      } else {
        if (rawLength + n > raw.length) {
          const grown = new Uint8Array(Math.min(max, Math.max(2 * raw.length, rawLength + n)));
          grown.set(raw.subarray(0, rawLength));
          raw = grown;
        }
        raw.set(bytes.subarray(0, n), rawLength);
        rawLength += n;
        tryParse();
      }
      if (!done && rawLength >= max) fail(`no complete hello in the first ${max} bytes`);
    },
    get done(): boolean {
      return done;
    },
  };
}
