/**
 * The decryptor's statuses and continuity: RFC 8448's trace end to end, resumption, HelloRetryRequest, wrong and
 * missing keys, keys arriving late (in packet time), overflow, capture gaps, and damaged input (property test).
 */

import { constants } from 'node:crypto';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createTlsKeyStore } from '../../src/tls/key-store.js';
import { mergeRuns, type ReplayStep, rechunk, replay } from './replay.js';
import { RFC8448 } from './rfc8448.js';
import { runTls, serverContext, type TlsRun, type TlsRunOptions, testCertificate } from './tls-peers.js';

const EXCHANGE = [
  '220 mx.smtpscope.test ESMTP\r\n',
  'EHLO client.smtpscope.test\r\n',
  '250-mx.smtpscope.test\r\n250 PIPELINING\r\n',
  'MAIL FROM:<a@smtpscope.test>\r\n',
  '250 2.1.0 Ok\r\n',
  'QUIT\r\n',
  '221 2.0.0 Bye\r\n',
];

function storeWith(keylog: string) {
  const store = createTlsKeyStore();
  store.addKeyLog('test', keylog);
  return store;
}

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('latin1');
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** Every secret in the key log with its last hex digit changed. */
function corrupt(keylog: string): string {
  return keylog
    .split('\n')
    .map((line) => {
      const parts = line.split(' ');
      if (parts.length !== 3) return line;
      const secret = parts[2] as string;
      const last = secret.at(-1) === '0' ? '1' : '0';
      return `${parts[0]} ${parts[1]} ${secret.slice(0, -1)}${last}`;
    })
    .join('\n');
}

const V13: Omit<TlsRunOptions, 'exchange'> = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  certificate: testCertificate('rsa'),
};
const V12_GCM: Omit<TlsRunOptions, 'exchange'> = {
  minVersion: 'TLSv1.2',
  maxVersion: 'TLSv1.2',
  ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
  certificate: testCertificate('rsa'),
};

describe('RFC 8448 simple 1-RTT trace through the decryptor', () => {
  const record = (type: number, body: Uint8Array): Uint8Array =>
    Uint8Array.from([type, 3, 1, body.length >> 8, body.length & 0xff, ...body]);
  const keylog = [
    `CLIENT_HANDSHAKE_TRAFFIC_SECRET ${hexOf(RFC8448.clientRandom)} ${hexOf(RFC8448.clientHandshakeSecret)}`,
    `SERVER_HANDSHAKE_TRAFFIC_SECRET ${hexOf(RFC8448.clientRandom)} ${hexOf(RFC8448.serverHandshakeSecret)}`,
    `CLIENT_TRAFFIC_SECRET_0 ${hexOf(RFC8448.clientRandom)} ${hexOf(RFC8448.clientAppSecret)}`,
    `SERVER_TRAFFIC_SECRET_0 ${hexOf(RFC8448.clientRandom)} ${hexOf(RFC8448.serverAppSecret)}`,
  ].join('\n');
  const wire: ReplayStep[] = [
    { kind: 'data', direction: 'c2s', bytes: record(22, RFC8448.clientHello) },
    {
      kind: 'data',
      direction: 's2c',
      bytes: Uint8Array.from([...RFC8448.serverHelloRecord, ...RFC8448.serverFlightRecord]),
    },
    { kind: 'data', direction: 'c2s', bytes: RFC8448.clientFinishedRecord },
    { kind: 'data', direction: 's2c', bytes: RFC8448.newSessionTicketRecord },
    { kind: 'data', direction: 'c2s', bytes: RFC8448.clientAppRecord },
    { kind: 'data', direction: 's2c', bytes: RFC8448.serverAppRecord },
  ];

  it('decrypts the application data of both sides (00..31) with the four logged secrets', () => {
    const result = replay(storeWith(keylog), wire);
    const payload = Uint8Array.from({ length: 50 }, (_, i) => i);
    expect(result.final).toEqual({
      kind: 'decrypted',
      version: 'TLS 1.3',
      cipher: 'TLS_AES_128_GCM_SHA256',
      resumed: false,
    });
    expect(result.c2s).toEqual(payload);
    expect(result.s2c).toEqual(payload);
    expect(result.hellos.map((h) => [h.side, h.sni, h.cipher, h.versions.join()])).toEqual([
      ['client', 'server', null, 'TLS 1.3'],
      ['server', null, 'TLS_AES_128_GCM_SHA256', 'TLS 1.3'],
    ]);
    expect(result.statuses.map((s) => s.kind)).toEqual(['decrypted']);
  });

  it('the same trace without the application secrets waits, then says no-key at the end', () => {
    const partial = keylog.split('\n').slice(0, 2).join('\n');
    const result = replay(storeWith(partial), wire);
    expect(result.c2s.length).toBe(0);
    expect(result.final.kind).toBe('no-key');
  });
});

describe('resumption and HelloRetryRequest (node:tls)', () => {
  async function resumed(options: Omit<TlsRunOptions, 'exchange'>): Promise<[TlsRun, TlsRun]> {
    const context = serverContext({ ...options, exchange: [] });
    const first = await runTls({ ...options, serverContext: context, exchange: EXCHANGE });
    const second = await runTls({
      ...options,
      serverContext: context,
      session: first.session,
      exchange: EXCHANGE,
    });
    return [first, second];
  }

  it('TLS 1.3 PSK resumption: the resumed connection decrypts with its own lines, marked resumed', async () => {
    const [first, second] = await resumed(V13);
    expect(second.reused).toBe(true);
    const store = storeWith(first.keylog + second.keylog);
    const result = replay(store, second.wire);
    expect(result.final).toMatchObject({ kind: 'decrypted', version: 'TLS 1.3', resumed: true });
    expect(text(result.c2s)).toBe(text(second.clientWrote));
    expect(text(result.s2c)).toBe(text(second.serverWrote));
  });

  it('TLS 1.2 ticket resumption (abbreviated handshake): decrypted and marked resumed', async () => {
    const [first, second] = await resumed(V12_GCM);
    expect(second.reused).toBe(true);
    const result = replay(storeWith(first.keylog + second.keylog), second.wire);
    expect(result.final).toMatchObject({ kind: 'decrypted', version: 'TLS 1.2', resumed: true });
    expect(text(result.c2s)).toBe(text(second.clientWrote));
    expect(text(result.s2c)).toBe(text(second.serverWrote));
    // The full handshake is not "resumed".
    expect(replay(storeWith(first.keylog), first.wire).final).toMatchObject({
      kind: 'decrypted',
      resumed: false,
    });
  });

  it('TLS 1.2 CBC resumption without tickets still decrypts (whatever the server chose)', async () => {
    const [first, second] = await resumed({
      ...V12_GCM,
      ciphers: 'ECDHE-RSA-AES256-SHA',
      secureOptions: constants.SSL_OP_NO_TICKET,
    });
    const result = replay(storeWith(first.keylog + second.keylog), second.wire);
    expect(result.final).toMatchObject({ kind: 'decrypted', resumed: second.reused });
    expect(text(result.c2s)).toBe(text(second.clientWrote));
  });

  it('HelloRetryRequest (client key share X25519, server only P-384): decrypted after the second ClientHello', async () => {
    const run = await runTls({
      ...V13,
      clientGroups: 'X25519:P-384',
      serverGroups: 'P-384',
      exchange: EXCHANGE,
    });
    const serverRecords = mergeRuns(run.wire).filter((c) => c.direction === 's2c');
    // The first server flight is the HelloRetryRequest alone: its random is SHA-256("HelloRetryRequest").
    expect(hexOf(serverRecords[0]!.bytes.subarray(11, 15))).toBe('cf21ad74');
    const result = replay(storeWith(run.keylog), rechunk(run.wire, 7, 13));
    expect(result.final).toMatchObject({ kind: 'decrypted', version: 'TLS 1.3' });
    expect(result.hellos.map((h) => h.side)).toEqual(['client', 'server']);
    expect(text(result.c2s)).toBe(text(run.clientWrote));
    expect(text(result.s2c)).toBe(text(run.serverWrote));
  });
});

describe('statuses', () => {
  let v13: TlsRun;
  let v12: TlsRun;
  let cbc: TlsRun;
  beforeAll(async () => {
    v13 = await runTls({ ...V13, exchange: EXCHANGE });
    v12 = await runTls({ ...V12_GCM, exchange: EXCHANGE });
    cbc = await runTls({ ...V12_GCM, ciphers: 'ECDHE-RSA-AES128-SHA256', exchange: EXCHANGE });
  });

  it('a wrong secret: bad-key naming the record, no plaintext, no secret in the detail', () => {
    for (const run of [v13, v12, cbc]) {
      const bad = corrupt(run.keylog);
      const result = replay(storeWith(bad), run.wire);
      expect(result.final.kind).toBe('bad-key');
      expect(result.c2s.length + result.s2c.length).toBe(0);
      const detail = result.final.kind === 'bad-key' ? result.final.detail : '';
      expect(detail).toMatch(/record 1 .*did not authenticate/);
      for (const line of bad.split('\n')) {
        const secret = line.split(' ')[2];
        if (secret !== undefined)
          expect(detail.toLowerCase()).not.toContain(secret.slice(0, 16).toLowerCase());
      }
    }
  });

  it('a bad key followed by bytes that are not TLS in the same chunk: bad-key stands, in any chunking (found by fuzzing)', () => {
    const merged = mergeRuns(v12.wire).map((c) => ({ direction: c.direction, bytes: c.bytes.slice() }));
    // The client's second flight (ClientKeyExchange, ChangeCipherSpec, Finished): its Finished fails first.
    const flight = merged.flatMap((c, i) => (c.direction === 'c2s' ? [i] : []))[1]!;
    const target = merged[flight]!;
    target.bytes = Uint8Array.from([...target.bytes, 0x45, 0x48, 0x4c, 0x4f, 0x0d, 0x0a]);
    const bad = corrupt(v12.keylog);
    const whole = replay(storeWith(bad), merged);
    expect(whole.final.kind).toBe('bad-key');
    expect(whole.statuses.map((s) => s.kind)).toEqual(['bad-key']);
    expect(replay(storeWith(bad), rechunk(merged, 2, 1)).final).toEqual(whole.final);
  });

  it('no key for this client random: no-key at close, the hellos still reported', () => {
    const other = createTlsKeyStore();
    other.addKeyLog('other', v12.keylog.replace(/CLIENT_RANDOM [0-9a-f]{8}/, 'CLIENT_RANDOM 00000000'));
    for (const run of [v13, v12]) {
      const result = replay(createTlsKeyStore(), run.wire);
      expect(result.final).toEqual({
        kind: 'no-key',
        detail: 'no key log line for this client random by the end of the capture',
      });
      expect(result.hellos.length).toBe(2);
      expect(result.c2s.length).toBe(0);
    }
    expect(replay(other, v12.wire).final.kind).toBe('no-key');
  });

  it('keys arriving in the middle (live key log): everything held is decrypted, in order', () => {
    for (const run of [v13, v12]) {
      const store = createTlsKeyStore();
      const wire = rechunk(run.wire, 3, 50);
      const half = Math.floor(wire.length / 2);
      const steps: ReplayStep[] = [
        ...wire.slice(0, half).map((c) => ({ kind: 'data' as const, ...c })),
        { kind: 'call', run: () => store.addKeyLog('late', run.keylog) },
        ...wire.slice(half).map((c) => ({ kind: 'data' as const, ...c })),
      ];
      const result = replay(store, steps);
      expect(result.final.kind).toBe('decrypted');
      expect(text(result.c2s)).toBe(text(run.clientWrote));
      expect(text(result.s2c)).toBe(text(run.serverWrote));
    }
  });

  it('handshake secrets known, application secrets arriving later: the entry is looked up again', () => {
    const store = createTlsKeyStore();
    const lines = v13.keylog.split('\n').filter((line) => line.length > 0);
    const handshake = lines.filter((line) => line.includes('_HANDSHAKE_TRAFFIC_SECRET '));
    const application = lines.filter((line) => line.includes('_TRAFFIC_SECRET_0 '));
    expect([handshake.length, application.length]).toEqual([2, 2]);
    store.addKeyLog('first', `${handshake.join('\n')}\n`);
    const wire = rechunk(v13.wire, 3, 50);
    const half = Math.floor(wire.length / 2);
    const steps: ReplayStep[] = [
      ...wire.slice(0, half).map((c) => ({ kind: 'data' as const, ...c })),
      { kind: 'call', run: () => store.addKeyLog('late', `${application.join('\n')}\n`) },
      ...wire.slice(half).map((c) => ({ kind: 'data' as const, ...c })),
    ];
    const result = replay(store, steps);
    expect(result.final.kind).toBe('decrypted');
    expect(text(result.c2s)).toBe(text(v13.clientWrote));
    expect(text(result.s2c)).toBe(text(v13.serverWrote));
  });

  it('keys that arrive only after the last packet are used at close', () => {
    const store = createTlsKeyStore();
    const result = replay(store, [
      ...v13.wire.map((c) => ({ kind: 'data' as const, ...c })),
      { kind: 'call', run: () => store.addKeyLog('late', v13.keylog) },
    ]);
    expect(result.final.kind).toBe('decrypted');
    expect(text(result.s2c)).toBe(text(v13.serverWrote));
  });

  it('keys later than maxKeyWaitMs of packet time: no-key, and later lines change nothing', () => {
    const store = createTlsKeyStore();
    const wire = v13.wire.map((c, i) => ({ kind: 'data' as const, ...c, tsMicros: 1_000_000 + i * 400_000 }));
    const half = Math.floor(wire.length / 2);
    const result = replay(
      store,
      [
        ...wire.slice(0, half),
        { kind: 'call', run: () => store.addKeyLog('late', v13.keylog) },
        ...wire.slice(half),
      ],
      { maxKeyWaitMs: 100 },
    );
    expect(result.final.kind).toBe('no-key');
    expect(result.final.kind === 'no-key' && result.final.detail).toMatch(/within 100 ms of packet time/);
    expect(result.c2s.length + result.s2c.length).toBe(0);
  });

  it('more ciphertext than maxPendingBytes while waiting: no-key with the overflow in the detail', () => {
    const result = replay(createTlsKeyStore(), v13.wire, { maxPendingBytes: 1000 });
    expect(result.final).toEqual({
      kind: 'no-key',
      detail: 'more than 1000 bytes of ciphertext held while waiting for the keys of this client random',
    });
  });

  it('a capture gap after decryption started: that direction reports a gap, the other stays whole', () => {
    const merged = mergeRuns(v13.wire);
    // Replace the server's last chunk but one (its 221 reply; the last is its close_notify) by a gap.
    const serverChunks = merged.flatMap((c, i) => (c.direction === 's2c' ? [i] : []));
    const lastServer = serverChunks[serverChunks.length - 2];
    const steps: ReplayStep[] = merged.map((c, i) =>
      i === lastServer
        ? { kind: 'gap', direction: 's2c', length: c.bytes.length }
        : { kind: 'data', direction: c.direction, bytes: c.bytes },
    );
    const result = replay(storeWith(v13.keylog), steps);
    expect(result.final.kind).toBe('decrypted');
    expect(result.gaps).toEqual(['s2c']);
    expect(text(result.c2s)).toBe(text(v13.clientWrote));
    expect(text(v13.serverWrote).startsWith(text(result.s2c))).toBe(true);
    expect(result.s2c.length).toBeLessThan(v13.serverWrote.length);
  });

  it('a gap in the handshake: incomplete', () => {
    const merged = mergeRuns(v12.wire);
    const steps: ReplayStep[] = [
      { kind: 'data', direction: 'c2s', bytes: merged[0]!.bytes },
      { kind: 'gap', direction: 's2c', length: merged[1]!.bytes.length },
      ...merged.slice(2).map((c) => ({ kind: 'data' as const, ...c })),
    ];
    const result = replay(storeWith(v12.keylog), steps);
    expect(result.final).toEqual({ kind: 'incomplete', detail: "a capture gap in the server's handshake" });
  });

  it('bytes that are not TLS: not-tls naming them', () => {
    const result = replay(storeWith(v12.keylog), [
      { kind: 'data', direction: 'c2s', bytes: new TextEncoder().encode('EHLO x\r\n') },
    ]);
    expect(result.final).toEqual({
      kind: 'not-tls',
      detail: 'client: bytes 45 48 4c are not a TLS record header',
    });
  });

  it('a record longer than maxRecordBytes: not-tls with the length', () => {
    const result = replay(storeWith(v12.keylog), [
      { kind: 'data', direction: 'c2s', bytes: Uint8Array.of(22, 3, 1, 0x7f, 0xff, 1, 2, 3) },
    ]);
    expect(result.final).toEqual({
      kind: 'not-tls',
      detail: 'client: TLS record of 32767 bytes exceeds the 18432-byte limit',
    });
  });

  it('a suite smtpscope cannot decrypt: unsupported naming it', () => {
    const merged = mergeRuns(v12.wire);
    const server = merged[1]!.bytes.slice();
    // ServerHello: record header 5, handshake header 4, version 2, random 32, session id length + id, then the suite.
    const suiteAt = 5 + 4 + 2 + 32 + 1 + server[5 + 4 + 2 + 32]!;
    server[suiteAt] = 0x00;
    server[suiteAt + 1] = 0x0a;
    const result = replay(storeWith(v12.keylog), [
      merged[0]!,
      { direction: 's2c', bytes: server },
      ...merged.slice(2),
    ]);
    expect(result.final).toEqual({ kind: 'unsupported', detail: 'cipher TLS_RSA_WITH_3DES_EDE_CBC_SHA' });
  });

  it('a connection that ends after the ClientHello: incomplete', () => {
    const result = replay(storeWith(v12.keylog), [mergeRuns(v12.wire)[0]!]);
    expect(result.final).toEqual({
      kind: 'incomplete',
      detail: 'no ServerHello before the end of the connection',
    });
  });

  it('damaged input (truncation, flipped bytes, inserted garbage, bad lengths) never throws and ends in a clear status', () => {
    const kinds = new Set(['decrypted', 'no-key', 'bad-key', 'unsupported', 'not-tls', 'incomplete']);
    const runs = [v13, v12, cbc];
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: runs.length - 1 }),
        fc.array(
          fc.record({
            at: fc.nat(),
            kind: fc.constantFrom('flip', 'truncate', 'insert', 'length'),
            value: fc.integer({ min: 0, max: 255 }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        fc.integer({ min: 1, max: 200 }),
        (which, mutations, chunk) => {
          const run = runs[which]!;
          const store = storeWith(run.keylog);
          let wire = mergeRuns(run.wire).map((c) => ({ direction: c.direction, bytes: c.bytes.slice() }));
          for (const m of mutations) {
            const index = m.at % wire.length;
            const target = wire[index]!;
            const at = m.at % Math.max(1, target.bytes.length);
            if (m.kind === 'flip') target.bytes[at] = target.bytes[at]! ^ (m.value | 1);
            else if (m.kind === 'truncate')
              wire = [...wire.slice(0, index), { ...target, bytes: target.bytes.slice(0, at) }];
            else if (m.kind === 'insert')
              target.bytes = Uint8Array.from([
                ...target.bytes.subarray(0, at),
                m.value,
                m.value ^ 0x55,
                ...target.bytes.subarray(at),
              ]);
            else if (target.bytes.length > at + 4) {
              target.bytes[at + 3] = m.value;
              target.bytes[at + 4] = 0xff;
            }
          }
          const result = replay(store, rechunk(wire, chunk, chunk));
          expect(kinds.has(result.final.kind)).toBe(true);
          // What was decrypted is a prefix of what was written.
          expect(text(run.clientWrote).startsWith(text(result.c2s)) || result.gaps.length > 0).toBe(true);
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });
});

describe('maxKeyWaitMs 0 (keys known up front)', () => {
  it('says no-key at the first protected record and holds nothing', async () => {
    const run = await runTls({ ...V13, exchange: EXCHANGE });
    const statuses: string[] = [];
    const result = replay(createTlsKeyStore(), run.wire, { maxKeyWaitMs: 0, maxPendingBytes: 1 });
    statuses.push(...result.statuses.map((s) => s.kind));
    expect(result.final).toEqual({ kind: 'no-key', detail: 'no key log line for this client random' });
    expect(statuses).toEqual(['no-key']);
    expect(replay(storeWith(run.keylog), run.wire, { maxKeyWaitMs: 0 }).final.kind).toBe('decrypted');
  });
});

describe('capture gaps after decryption started', () => {
  const BIG = [
    '220 mx ESMTP\r\n',
    'EHLO client.smtpscope.test\r\n',
    '250 mx\r\n',
    'MAIL FROM:<a@smtpscope.test>\r\n',
    '250 Ok\r\n',
    `DATA-BODY ${'0123456789abcdef'.repeat(3000)}\r\n.\r\n`,
    '250 queued\r\n',
    'QUIT\r\n',
    '221 Bye\r\n',
  ];

  /** c2s must be what was written with exactly one contiguous piece missing. */
  function expectOneHole(written: string, got: string): { hole: number } {
    let prefix = 0;
    while (prefix < got.length && got[prefix] === written[prefix]) prefix++;
    let suffix = 0;
    while (
      suffix < got.length - prefix &&
      got[got.length - 1 - suffix] === written[written.length - 1 - suffix]
    )
      suffix++;
    expect(prefix + suffix).toBe(got.length);
    expect(got.length).toBeLessThan(written.length);
    return { hole: written.length - got.length };
  }

  const cases: readonly [string, Omit<TlsRunOptions, 'exchange'>][] = [
    ['TLS 1.3 AES-128-GCM', V13],
    ['TLS 1.2 AES-GCM', V12_GCM],
    [
      'TLS 1.2 AES-CBC-SHA (MAC-then-encrypt)',
      { ...V12_GCM, ciphers: 'ECDHE-RSA-AES128-SHA', secureOptions: constants.SSL_OP_NO_ENCRYPT_THEN_MAC },
    ],
    ['TLS 1.2 ChaCha20', { ...V12_GCM, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' }],
  ];

  for (const [name, options] of cases) {
    it(`${name}: a gap inside one record loses that record only`, async () => {
      const run = await runTls({ ...options, exchange: BIG });
      const merged = mergeRuns(run.wire);
      const bodyIndex = merged.reduce(
        (best, c, i) => (c.bytes.length > merged[best]!.bytes.length ? i : best),
        0,
      );
      const body = merged[bodyIndex]!;
      expect(body.direction).toBe('c2s');
      // Records of 2^14 plaintext bytes: byte 20 000 lies inside the second record of the body.
      const steps: ReplayStep[] = merged.flatMap((c, i): ReplayStep[] =>
        i === bodyIndex
          ? [
              { kind: 'data', direction: 'c2s', bytes: c.bytes.slice(0, 20_000) },
              { kind: 'gap', direction: 'c2s', length: 1000 },
              { kind: 'data', direction: 'c2s', bytes: c.bytes.slice(21_000) },
            ]
          : [{ kind: 'data', direction: c.direction, bytes: c.bytes }],
      );
      const result = replay(storeWith(run.keylog), steps);
      expect(result.final.kind).toBe('decrypted');
      expect(result.gaps).toEqual(['c2s']);
      const { hole } = expectOneHole(text(run.clientWrote), text(result.c2s));
      expect(hole).toBeLessThanOrEqual(16_384);
      expect(text(result.c2s).endsWith('\r\n.\r\nQUIT\r\n')).toBe(true);
      expect(text(result.s2c)).toBe(text(run.serverWrote));
    });

    it(`${name}: a gap across record headers is resynchronised at a later record`, async () => {
      const run = await runTls({ ...options, exchange: BIG });
      const merged = mergeRuns(run.wire);
      // The client's runs: ClientHello, its Finished flight, EHLO, MAIL, the body, QUIT. The EHLO record and
      // the first 3 bytes of the MAIL record go missing.
      const clientRuns = merged.flatMap((c, i) => (c.direction === 'c2s' ? [i] : []));
      const ehlo = clientRuns[2]!;
      const mailIndex = clientRuns[3]!;
      const steps: ReplayStep[] = merged.flatMap((c, i): ReplayStep[] => {
        if (i === ehlo) return [{ kind: 'gap', direction: 'c2s', length: c.bytes.length + 3 }];
        if (i === mailIndex) return [{ kind: 'data', direction: 'c2s', bytes: c.bytes.slice(3) }];
        return [{ kind: 'data', direction: c.direction, bytes: c.bytes }];
      });
      const result = replay(storeWith(run.keylog), steps);
      expect(result.final.kind).toBe('decrypted');
      expect(result.gaps).toEqual(['c2s']);
      const got = text(result.c2s);
      expectOneHole(text(run.clientWrote), got);
      expect(got.includes('EHLO')).toBe(false);
      expect(got.endsWith('\r\n.\r\nQUIT\r\n')).toBe(true);
    });
  }
});
