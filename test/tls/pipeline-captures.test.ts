/**
 * The decryptor through the whole pipeline on the real TLS captures of captures/ (made by make-tls-captures.sh
 * with OpenSSL s_client, Postfix, Python smtplib and nodemailer): each session's decryption status, and the
 * commands read inside TLS. Without any key the sessions carry no decryption status at all.
 */

import { describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';

async function statuses(file: string, keys: string | null, port?: number) {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: `captures/${file}` }],
    ...(port === undefined ? {} : { ports: new Set([port]) }),
    tls: { keyLogFiles: keys === null ? [] : [`captures/${keys}`], follow: false },
  });
  return sessions.map((s) => ({
    status: s.tls?.decryption ?? null,
    insideTls: s.commands.filter((c) => c.encrypted === true).map((c) => c.verb),
  }));
}

/** What the clients sent after STARTTLS (their transcripts, *.client.txt): the end of the message is a row too. */
const ALL_INSIDE = ['EHLO', 'MAIL', 'RCPT', 'RCPT', 'DATA', 'END-OF-DATA', 'QUIT'];

describe('real TLS captures through the pipeline', () => {
  it('TLS 1.3, the three suites (Postfix, s_client)', async () => {
    const result = await statuses('tls13-suites.pcap', 'tls13-suites.keys');
    expect(result.map((r) => r.status)).toEqual(
      ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'].map((cipher) => ({
        kind: 'decrypted',
        version: 'TLS 1.3',
        cipher,
        resumed: false,
      })),
    );
    for (const r of result) expect(r.insideTls).toEqual(ALL_INSIDE);
  });

  it('TLS 1.2: GCM, ChaCha20, CBC with and without encrypt-then-MAC, SHA-1/SHA-384 MACs, RSA key exchange', async () => {
    const result = await statuses('tls12-suites.pcap', 'tls12-suites.keys');
    expect(result.map((r) => r.status?.kind === 'decrypted' && r.status.cipher)).toEqual([
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_RSA_WITH_AES_256_GCM_SHA384',
    ]);
    for (const r of result) expect(r.insideTls).toEqual(ALL_INSIDE);
  });

  it('KeyUpdate, HelloRetryRequest, resumption (TLS 1.2 and 1.3), a Postfix-side key log', async () => {
    const keyUpdate = await statuses('tls-keyupdate.pcap', 'tls-keyupdate.keys');
    expect(keyUpdate.map((r) => r.insideTls)).toEqual([ALL_INSIDE]);
    const hrr = await statuses('tls-hrr.pcap', 'tls-hrr.keys', 2526);
    expect(hrr.map((r) => [r.status?.kind, r.insideTls.length])).toEqual([['decrypted', ALL_INSIDE.length]]);
    const resumption = await statuses('tls-resumption.pcap', 'tls-resumption.keys');
    expect(
      resumption.map((r) => r.status?.kind === 'decrypted' && [r.status.version, r.status.resumed]),
    ).toEqual([
      ['TLS 1.2', false],
      ['TLS 1.2', true],
      ['TLS 1.3', false],
      ['TLS 1.3', true],
    ]);
    const preload = await statuses('tls-postfix-preload.pcap', 'tls-postfix-preload.keys', 2527);
    expect(preload.map((r) => r.status?.kind)).toEqual(['decrypted', 'decrypted']);
  });

  it('a capture carrying its own keys (pcapng decryption secrets) decrypts with no key log given', async () => {
    const result = await statuses('tls-injected-secrets.pcapng', null, 2527);
    expect(result.map((r) => [r.status?.kind, r.insideTls.length])).toEqual([
      ['decrypted', ALL_INSIDE.length],
      ['decrypted', ALL_INSIDE.length],
    ]);
  });

  it('a missing key and a corrupted secret: no-key and bad-key; without any key log, no status at all', async () => {
    expect(
      (await statuses('tls-missing-key.pcap', 'tls-missing-key.keys')).map((r) => r.status?.kind),
    ).toEqual(['decrypted', 'no-key']);
    const corrupt = await statuses('tls-corrupt-secret.pcap', 'tls-corrupt-secret.keys');
    expect(corrupt.map((r) => r.status?.kind)).toEqual(['bad-key', 'bad-key']);
    for (const r of corrupt) expect(r.insideTls).toEqual([]);
    expect((await statuses('tls13-suites.pcap', null)).map((r) => r.status)).toEqual([null, null, null]);
  });
});
