import { describe, expect, it } from 'vitest';
import { EXT, HELLO_RETRY_RANDOM, parseClientHello, parseServerHello } from '../../src/tls/hello.js';

// Hello bodies built field by field from RFC 8446 section 4.1.2-4.1.3 and the extensions' RFCs.

function u16(v: number): number[] {
  return [v >> 8, v & 0xff];
}

function ext(type: number, data: number[]): number[] {
  return [...u16(type), ...u16(data.length), ...data];
}

function block(extensions: number[][]): number[] {
  const all = extensions.flat();
  return [...u16(all.length), ...all];
}

const RANDOM = Array.from({ length: 32 }, (_, i) => i + 1);
const SESSION_ID = Array.from({ length: 32 }, (_, i) => 0xa0 + (i % 16));

function clientHello(extensions: number[] | null, suites = [0x1301, 0x1302, 0x00ff]): Uint8Array {
  return Uint8Array.from([
    ...u16(0x0303),
    ...RANDOM,
    SESSION_ID.length,
    ...SESSION_ID,
    ...u16(suites.length * 2),
    ...suites.flatMap(u16),
    1,
    0, // compression: null only
    ...(extensions ?? []),
  ]);
}

function serverHello(random: number[], extensions: number[]): Uint8Array {
  return Uint8Array.from([...u16(0x0303), ...random, 0, ...u16(0x1302), 0, ...extensions]);
}

const SNI = ext(EXT.SERVER_NAME, [
  ...u16(17),
  0,
  ...u16(14),
  ...Array.from('mx.example.org', (c) => c.charCodeAt(0)),
]);
const ALPN = ext(EXT.ALPN, [...u16(9), 2, 0x68, 0x32, 5, 0x73, 0x6d, 0x74, 0x70, 0x73]);

describe('ClientHello', () => {
  it('reads the fields the key schedule and the user need, GREASE left out', () => {
    const hello = parseClientHello(
      clientHello(
        block([
          SNI,
          ALPN,
          ext(EXT.SUPPORTED_VERSIONS, [6, ...u16(0x3a3a), ...u16(0x0304), ...u16(0x0303)]),
          ext(EXT.KEY_SHARE, [...u16(10), ...u16(0x2a2a), ...u16(1), 0, ...u16(0x001d), ...u16(1), 7]),
          ext(EXT.ENCRYPT_THEN_MAC, []),
          ext(EXT.EXTENDED_MASTER_SECRET, []),
          ext(EXT.SESSION_TICKET, [1, 2, 3]),
          ext(EXT.EARLY_DATA, []),
          ext(EXT.PRE_SHARED_KEY, [0, 0]),
        ]),
      ),
    );
    expect(hello).not.toBeNull();
    expect(Array.from(hello?.random ?? [])).toEqual(RANDOM);
    expect(Array.from(hello?.sessionId ?? [])).toEqual(SESSION_ID);
    expect(hello?.cipherSuites).toEqual([0x1301, 0x1302, 0x00ff]);
    expect(hello?.sni).toBe('mx.example.org');
    expect(hello?.alpn).toEqual(['h2', 'smtps']);
    expect(hello?.supportedVersions).toEqual([0x0304, 0x0303]);
    expect(hello?.keyShareGroups).toEqual([0x001d]);
    expect([
      hello?.encryptThenMac,
      hello?.extendedMasterSecret,
      hello?.sessionTicket,
      hello?.earlyData,
      hello?.preSharedKey,
    ]).toEqual([true, true, true, true, true]);
  });

  it('has no extension facts without extensions, and an empty session ticket is no resumption attempt', () => {
    const bare = parseClientHello(clientHello(null, [0x002f]));
    expect(bare?.cipherSuites).toEqual([0x002f]);
    expect([bare?.sni, bare?.alpn, bare?.supportedVersions, bare?.extendedMasterSecret]).toEqual([
      null,
      [],
      [],
      false,
    ]);
    expect(parseClientHello(clientHello(block([ext(EXT.SESSION_TICKET, [])])))?.sessionTicket).toBe(false);
  });

  it('the hello does not point into the body it was read from', () => {
    const body = clientHello(block([SNI]));
    const hello = parseClientHello(body);
    body.fill(0);
    expect(Array.from(hello?.random ?? [])).toEqual(RANDOM);
    expect(hello?.sni).toBe('mx.example.org');
  });

  it('is null when a length runs past its end', () => {
    const good = block([SNI, ALPN]);
    // An extension longer than the extensions block.
    const longExt = [...good];
    longExt[2 + 3] = 0xff;
    expect(parseClientHello(clientHello(longExt))).toBeNull();
    // An extensions block longer than the body.
    const longBlock = [...good];
    longBlock[0] = 0x40;
    expect(parseClientHello(clientHello(longBlock))).toBeNull();
    // A cut random, a session id over 32 bytes, a suite list past the end.
    expect(parseClientHello(clientHello(null).subarray(0, 20))).toBeNull();
    const sid = clientHello(null);
    sid[34] = 33;
    expect(parseClientHello(sid)).toBeNull();
    const suites = clientHello(null);
    suites[2 + 32 + 1 + 32] = 0x7f;
    expect(parseClientHello(suites)).toBeNull();
  });
});

describe('ServerHello', () => {
  it('reads the chosen version from supported_versions, the key share group and the accepted PSK', () => {
    const hello = parseServerHello(
      serverHello(
        RANDOM,
        block([
          ext(EXT.SUPPORTED_VERSIONS, u16(0x0304)),
          ext(EXT.KEY_SHARE, [...u16(0x0017), ...u16(1), 4]),
          ext(EXT.PRE_SHARED_KEY, u16(0)),
        ]),
      ),
    );
    expect([hello?.legacyVersion, hello?.version, hello?.cipherSuite, hello?.keyShareGroup]).toEqual([
      0x0303, 0x0304, 0x1302, 0x0017,
    ]);
    expect([hello?.preSharedKey, hello?.helloRetryRequest, hello?.extendedMasterSecret]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it('knows a HelloRetryRequest by its random, and keeps the legacy version without supported_versions', () => {
    const hrr = parseServerHello(serverHello(Array.from(HELLO_RETRY_RANDOM), block([])));
    expect(hrr?.helloRetryRequest).toBe(true);
    const tls12 = parseServerHello(
      serverHello(RANDOM, block([ext(EXT.EXTENDED_MASTER_SECRET, []), ext(EXT.ENCRYPT_THEN_MAC, [])])),
    );
    expect([tls12?.version, tls12?.extendedMasterSecret, tls12?.encryptThenMac]).toEqual([
      0x0303,
      true,
      true,
    ]);
  });

  it('is null when an extension runs past the block', () => {
    const extensions = block([ext(EXT.SUPPORTED_VERSIONS, u16(0x0304))]);
    extensions[2 + 3] = 3;
    expect(parseServerHello(serverHello(RANDOM, extensions))).toBeNull();
  });
});
