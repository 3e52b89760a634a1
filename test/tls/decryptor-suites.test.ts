/**
 * Real handshakes made by node:tls (OpenSSL) in memory, decrypted with the client's key log: for every suite and
 * version smtpscope supports, the decrypted streams equal what each application wrote, whatever the chunking.
 */

import { constants } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseServerHello } from '../../src/tls/hello.js';
import { createTlsKeyStore } from '../../src/tls/key-store.js';
import type { TlsDecryptionStatus } from '../../src/tls/types.js';
import { cutWire, mergeRuns, rechunk, replay, totalBytes } from './replay.js';
import { runTls, type TlsRun, type TlsRunOptions, testCertificate } from './tls-peers.js';

const EXCHANGE = [
  '220 mx.smtpscope.test ESMTP\r\n',
  'EHLO client.smtpscope.test\r\n',
  '250-mx.smtpscope.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n',
  `MAIL FROM:<a@smtpscope.test>\r\nRCPT TO:<b@smtpscope.test>\r\nDATA\r\n`,
  '250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n',
  `Subject: hello\r\n\r\n${'A long body line to fill several records. '.repeat(700)}\r\n.\r\nQUIT\r\n`,
  '250 2.0.0 Ok: queued as 4Xyz\r\n221 2.0.0 Bye\r\n',
];

/** A short dialogue for the every-byte split (its cost grows with the square of the capture size). */
const SHORT_EXCHANGE = ['220 mx ESMTP\r\n', 'EHLO c\r\n', '250 mx\r\n', 'QUIT\r\n', '221 Bye\r\n'];

function storeFor(keylog: string) {
  const store = createTlsKeyStore();
  store.addKeyLog('test', keylog);
  return store;
}

function expectDecrypted(
  run: TlsRun,
  result: ReturnType<typeof replay>,
  cipher: string,
  version: 'TLS 1.2' | 'TLS 1.3',
): void {
  expect(result.final).toEqual({
    kind: 'decrypted',
    version,
    cipher,
    resumed: run.reused,
  } satisfies TlsDecryptionStatus);
  expect(Buffer.from(result.c2s).toString('latin1')).toBe(Buffer.from(run.clientWrote).toString('latin1'));
  expect(Buffer.from(result.s2c).toString('latin1')).toBe(Buffer.from(run.serverWrote).toString('latin1'));
  expect(result.gaps).toEqual([]);
}

interface Case {
  readonly name: string;
  readonly version: 'TLS 1.2' | 'TLS 1.3';
  readonly options: Omit<TlsRunOptions, 'exchange' | 'certificate'> & { readonly cert: 'rsa' | 'ec' };
  /** Also replay the connection cut at every byte. */
  readonly everySplit?: boolean;
  /** Expect encrypt_then_mac in the ServerHello (CBC suites). */
  readonly etm?: boolean;
  /** Expect extended_master_secret in the ServerHello. */
  readonly ems?: boolean;
  /** Keep only these key log labels. */
  readonly labels?: readonly string[];
}

const V13 = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' } as const;
const V12 = { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' } as const;
const NO_ETM: number | undefined = (constants as unknown as Record<string, number | undefined>)[
  'SSL_OP_NO_ENCRYPT_THEN_MAC'
];

const CASES: readonly Case[] = [
  {
    name: 'TLS_AES_128_GCM_SHA256',
    version: 'TLS 1.3',
    options: { ...V13, ciphers: 'TLS_AES_128_GCM_SHA256', cert: 'rsa' },
    everySplit: true,
  },
  {
    name: 'TLS_AES_256_GCM_SHA384',
    version: 'TLS 1.3',
    options: { ...V13, ciphers: 'TLS_AES_256_GCM_SHA384', cert: 'ec' },
  },
  {
    name: 'TLS_CHACHA20_POLY1305_SHA256',
    version: 'TLS 1.3',
    options: { ...V13, ciphers: 'TLS_CHACHA20_POLY1305_SHA256', cert: 'rsa' },
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256', cert: 'rsa' },
    everySplit: true,
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384', cert: 'rsa' },
  },
  {
    name: 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', cert: 'ec' },
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305', cert: 'rsa' },
  },
  {
    name: 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', cert: 'ec' },
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-AES128-SHA', cert: 'rsa' },
    etm: true,
    everySplit: true,
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
    version: 'TLS 1.2',
    options: {
      ...V12,
      ciphers: 'ECDHE-RSA-AES128-SHA',
      cert: 'rsa',
      ...(NO_ETM === undefined ? {} : { secureOptions: NO_ETM }),
    },
    etm: false,
    everySplit: true,
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-AES256-SHA', cert: 'rsa' },
    etm: true,
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-RSA-AES128-SHA256', cert: 'rsa' },
    etm: true,
  },
  {
    name: 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    version: 'TLS 1.2',
    options: {
      ...V12,
      ciphers: 'ECDHE-RSA-AES256-SHA384',
      cert: 'rsa',
      ...(NO_ETM === undefined ? {} : { secureOptions: NO_ETM }),
    },
    etm: false,
  },
  {
    name: 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'ECDHE-ECDSA-AES256-SHA384', cert: 'ec' },
    etm: true,
  },
  {
    name: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'AES128-GCM-SHA256', cert: 'rsa' },
  },
  {
    name: 'TLS_RSA_WITH_AES_128_GCM_SHA256',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'AES128-GCM-SHA256', cert: 'rsa' },
    labels: ['RSA'],
  },
  {
    // OpenSSL 3.0's SSL_OP_NO_EXTENDED_MASTER_SECRET (0x1; Node does not name it): the plain "master secret".
    name: 'TLS_RSA_WITH_AES_256_GCM_SHA384',
    version: 'TLS 1.2',
    options: { ...V12, ciphers: 'AES256-GCM-SHA384', cert: 'rsa', secureOptions: 0x1 },
    labels: ['RSA'],
    ems: false,
  },
  {
    name: 'TLS_RSA_WITH_AES_256_CBC_SHA256',
    version: 'TLS 1.2',
    options: {
      ...V12,
      ciphers: 'AES256-SHA256',
      cert: 'rsa',
      ...(NO_ETM === undefined ? {} : { secureOptions: NO_ETM }),
    },
    labels: ['RSA'],
    etm: false,
  },
];

function keepLabels(keylog: string, labels: readonly string[] | undefined): string {
  if (labels === undefined) return keylog;
  return keylog
    .split('\n')
    .filter((line) => labels.includes(line.split(' ')[0] ?? ''))
    .join('\n');
}

function serverHelloOf(run: TlsRun) {
  const first = mergeRuns(run.wire).find((c) => c.direction === 's2c');
  // The first server record is the ServerHello's handshake record.
  return first === undefined ? null : parseServerHello(first.bytes.subarray(9));
}

it('Node exposes SSL_OP_NO_ENCRYPT_THEN_MAC (the MAC-then-encrypt cases depend on it)', () => {
  expect(typeof NO_ETM).toBe('number');
});

describe.each(CASES)('$name ($version) etm=$etm labels=$labels', (c) => {
  let run: TlsRun;
  beforeAll(async () => {
    run = await runTls({ ...c.options, certificate: testCertificate(c.options.cert), exchange: EXCHANGE });
  });

  it('negotiated what the case asks for', () => {
    expect(run.cipher).toBe(c.name);
    expect(run.protocol).toBe(c.version === 'TLS 1.3' ? 'TLSv1.3' : 'TLSv1.2');
    if (c.etm !== undefined) expect(serverHelloOf(run)?.encryptThenMac).toBe(c.etm);
    expect(serverHelloOf(run)?.extendedMasterSecret).toBe(c.version === 'TLS 1.2' ? (c.ems ?? true) : false);
    if (c.labels !== undefined) expect(keepLabels(run.keylog, c.labels)).not.toContain('CLIENT_RANDOM');
  });

  it('decrypts both directions, in the chunks as written, in 1-byte chunks and in random chunkings', () => {
    const store = storeFor(keepLabels(run.keylog, c.labels));
    const whole = replay(store, run.wire);
    expectDecrypted(run, whole, c.name, c.version);
    expect(whole.hellos.map((h) => h.side)).toEqual(['client', 'server']);
    expect(whole.hellos[1]?.cipher).toBe(c.name);
    expect(whole.hellos[0]?.sni).toBe('mx.smtpscope.test');
    expectDecrypted(run, replay(store, rechunk(run.wire, 1, 1)), c.name, c.version);
    for (let seed = 1; seed <= 10; seed++) {
      expectDecrypted(run, replay(store, rechunk(run.wire, seed, 1 + seed * 37)), c.name, c.version);
    }
    expectDecrypted(run, replay(store, mergeRuns(run.wire)), c.name, c.version);
  });

  it.runIf(c.everySplit === true)(
    'gives the same plaintext with the capture cut at every byte',
    async () => {
      const short = await runTls({
        ...c.options,
        certificate: testCertificate(c.options.cert),
        exchange: SHORT_EXCHANGE,
      });
      const store = storeFor(keepLabels(short.keylog, c.labels));
      const merged = mergeRuns(short.wire);
      const total = totalBytes(merged);
      const expected = replay(store, merged);
      expectDecrypted(short, expected, c.name, c.version);
      for (let at = 1; at < total; at++) {
        const result = replay(store, cutWire(merged, at));
        if (
          result.final.kind !== 'decrypted' ||
          Buffer.compare(result.c2s, expected.c2s) !== 0 ||
          Buffer.compare(result.s2c, expected.s2c) !== 0
        ) {
          expect.fail(`cut at ${at} of ${total}: ${JSON.stringify(result.final)}`);
        }
      }
    },
    60_000,
  );
});
