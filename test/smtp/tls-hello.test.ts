import { describe, expect, it } from 'vitest';
import { createTlsHelloParser, tlsCipherName, tlsVersionName } from '../../src/smtp/tls-hello.js';
import type { TlsHello } from '../../src/smtp/types.js';
import { forEachSplit } from '../helpers/splits.js';

const u16 = (v: number) => [v >> 8, v & 255];
const u24 = (v: number) => [v >> 16, (v >> 8) & 255, v & 255];
const ext = (type: number, data: number[]) => [...u16(type), ...u16(data.length), ...data];
const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

function clientHello(options: {
  sni?: string;
  versions?: number[];
  alpn?: string[];
  recordSplit?: number;
}): Uint8Array {
  const exts: number[] = [];
  if (options.sni !== undefined) {
    const name = ascii(options.sni);
    exts.push(...ext(0, [...u16(name.length + 3), 0, ...u16(name.length), ...name]));
  }
  if (options.versions !== undefined)
    exts.push(...ext(43, [options.versions.length * 2, ...options.versions.flatMap(u16)]));
  if (options.alpn !== undefined) {
    const list = options.alpn.flatMap((p) => [p.length, ...ascii(p)]);
    exts.push(...ext(16, [...u16(list.length), ...list]));
  }
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(exts.length), ...exts];
  const hs = [1, ...u24(body.length), ...body];
  const split = options.recordSplit ?? hs.length;
  const records = [hs.slice(0, split), hs.slice(split)].filter((r) => r.length > 0);
  return Uint8Array.from(records.flatMap((r) => [22, 3, 1, ...u16(r.length), ...r]));
}

function serverHello(version: number, cipher: number, supported?: number): Uint8Array {
  const exts = supported === undefined ? [] : ext(43, u16(supported));
  const body = [
    ...u16(version),
    ...new Array(32).fill(9),
    0,
    ...u16(cipher),
    0,
    ...(exts.length > 0 ? [...u16(exts.length), ...exts] : []),
  ];
  const hs = [2, ...u24(body.length), ...body];
  return Uint8Array.from([22, 3, 3, ...u16(hs.length), ...hs]);
}

function parse(
  side: 'client' | 'server',
  chunks: Uint8Array[],
  maxBytes = 16384,
): { hellos: TlsHello[]; notTls: string[] } {
  const hellos: TlsHello[] = [];
  const notTls: string[] = [];
  const parser = createTlsHelloParser({
    side,
    maxBytes,
    onHello: (h) => hellos.push(h),
    onNotTls: (d) => notTls.push(d),
  });
  for (const chunk of chunks) parser.push(chunk);
  return { hellos, notTls };
}

describe('tls-hello', () => {
  it('keeps its own copy of undecided bytes: a caller that refills its chunk after each push gets the same hello', () => {
    const bytes = clientHello({ sni: 'mx.example.org', versions: [0x0304], alpn: ['smtp'], recordSplit: 9 });
    forEachSplit(bytes, (chunks, label) => {
      // One buffer refilled for every push, as the assembler does with its chunk, and scribbled over afterwards.
      const reused = new Uint8Array(bytes.length);
      const hellos: TlsHello[] = [];
      const parser = createTlsHelloParser({
        side: 'client',
        maxBytes: 16384,
        onHello: (h) => hellos.push(h),
        onNotTls: () => {},
      });
      for (const chunk of chunks) {
        reused.set(chunk);
        parser.push(reused.subarray(0, chunk.length));
        reused.fill(0xee);
      }
      expect(
        hellos.map((h) => h.sni),
        label,
      ).toEqual(['mx.example.org']);
    });
  });

  it('reads SNI, offered versions without GREASE and ALPN from a ClientHello split over records and chunks', () => {
    const bytes = clientHello({
      sni: 'mx.example.org',
      versions: [0x3a3a, 0x0304, 0x0303],
      alpn: ['smtp'],
      recordSplit: 9,
    });
    forEachSplit(bytes, (chunks, label) => {
      expect(parse('client', chunks), label).toEqual({
        hellos: [
          {
            side: 'client',
            versions: ['TLS 1.3', 'TLS 1.2'],
            sni: 'mx.example.org',
            cipher: null,
            alpn: ['smtp'],
          },
        ],
        notTls: [],
      });
    });
  });

  it('falls back to the legacy version when supported_versions is absent', () => {
    expect(parse('client', [clientHello({})]).hellos[0]?.versions).toEqual(['TLS 1.2']);
  });

  it('reads the chosen version and cipher of a ServerHello', () => {
    expect(parse('server', [serverHello(0x0303, 0x1301, 0x0304)]).hellos).toEqual([
      { side: 'server', versions: ['TLS 1.3'], sni: null, cipher: 'TLS_AES_128_GCM_SHA256', alpn: [] },
    ]);
    expect(parse('server', [serverHello(0x0303, 0xc02f)]).hellos[0]).toMatchObject({
      versions: ['TLS 1.2'],
      cipher: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    });
  });

  it('names unknown versions and suites in hex', () => {
    expect(tlsVersionName(0x7f1c)).toBe('0x7f1c');
    expect(tlsCipherName(0xabcd)).toBe('0xabcd');
    expect(tlsVersionName(0x0301)).toBe('TLS 1.0');
  });

  it('reports bytes that are not TLS once, and a hello that does not fit the buffer', () => {
    expect(parse('client', [Uint8Array.from(ascii('EHLO x\r\n'))])).toEqual({
      hellos: [],
      notTls: ['first byte 0x45 is not a TLS handshake record'],
    });
    const big = clientHello({ sni: 'x'.repeat(300) });
    expect(parse('client', [big], 100).notTls).toHaveLength(1);
    expect(parse('server', [clientHello({})]).notTls).toEqual([
      'first handshake message type 1, expected ServerHello',
    ]);
  });

  it('judges the first handshake record before reading the next record header, in any chunking', () => {
    // A record holding a message that is not a ClientHello, followed by a record with a bad header: the first
    // record decides, whether or not the bad header is already in the buffer (found by the fuzz runner).
    const input = Uint8Array.from([22, 3, 1, 0, 4, 9, 0, 0, 0, 22, 0x16, 0x16, 0x36, 0x16]);
    forEachSplit(input, (chunks) => {
      expect(parse('client', chunks)).toEqual({
        hellos: [],
        notTls: ['first handshake message type 9, expected ClientHello'],
      });
    });
  });

  it('stays quiet on an alert instead of a hello', () => {
    expect(parse('server', [Uint8Array.from([21, 3, 3, 0, 2, 2, 40])])).toEqual({ hellos: [], notTls: [] });
  });
});
