/**
 * Real TLS connections made in the test with node:tls over an in-memory stream pair (no network): the client is
 * tls.connect({ socket }) on one end, the server a TLSSocket on the other. Every byte each side writes is
 * recorded in write order (the capture), the client's 'keylog' events give the key log, and what each side's
 * application wrote is returned for comparison with the decrypted streams.
 */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import type { Direction } from '../../src/reassembly/types.js';

export interface WireChunk {
  readonly direction: Direction;
  readonly bytes: Uint8Array;
}

export interface TlsRun {
  readonly wire: readonly WireChunk[];
  readonly keylog: string;
  /** What each side's application wrote, concatenated. */
  readonly clientWrote: Uint8Array;
  readonly serverWrote: Uint8Array;
  readonly protocol: string | null;
  readonly cipher: string;
  readonly reused: boolean;
  /** The client's session, for a resumption run. */
  readonly session: Buffer | null;
}

export interface TlsRunOptions {
  readonly minVersion: tls.SecureVersion;
  readonly maxVersion: tls.SecureVersion;
  /** OpenSSL cipher list (TLS 1.2) or TLS 1.3 suite names, as node:tls `ciphers` takes them. */
  readonly ciphers?: string;
  readonly secureOptions?: number;
  readonly certificate: Certificate;
  /** Reuse a secure context between runs (ticket keys live in it). */
  readonly serverContext?: tls.SecureContext;
  readonly session?: Buffer | null;
  /** Groups: the client's list (its first gets a key share) and the server's (HelloRetryRequest when they differ). */
  readonly clientGroups?: string;
  readonly serverGroups?: string;
  /** The dialogue: alternately the server then the client write one of these. */
  readonly exchange: readonly string[];
}

export interface Certificate {
  readonly key: Buffer;
  readonly cert: Buffer;
}

const certificates = new Map<string, Certificate>();

/** A throw-away self-signed certificate (RSA or EC P-256), made once per test process with openssl. */
export function testCertificate(kind: 'rsa' | 'ec'): Certificate {
  const cached = certificates.get(kind);
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-tls-'));
  try {
    const keyArgs =
      kind === 'rsa'
        ? ['-newkey', 'rsa:2048']
        : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        ...keyArgs,
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=mx.smtpscope.test',
        '-keyout',
        join(dir, 'k.pem'),
        '-out',
        join(dir, 'c.pem'),
      ],
      { stdio: 'ignore', timeout: 20_000 },
    );
    const made = { key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) };
    certificates.set(kind, made);
    return made;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function streamPair(record: (direction: Direction, bytes: Uint8Array) => void): [Duplex, Duplex] {
  let clientEnd: Duplex | null = null;
  let serverEnd: Duplex | null = null;
  clientEnd = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      record('c2s', Uint8Array.from(chunk));
      serverEnd?.push(chunk);
      callback();
    },
    final(callback) {
      serverEnd?.push(null);
      callback();
    },
  });
  serverEnd = new Duplex({
    read() {},
    write(chunk: Buffer, _encoding, callback) {
      record('s2c', Uint8Array.from(chunk));
      clientEnd?.push(chunk);
      callback();
    },
    final(callback) {
      clientEnd?.push(null);
      callback();
    },
  });
  return [clientEnd, serverEnd];
}

export function serverContext(options: TlsRunOptions): tls.SecureContext {
  return tls.createSecureContext({
    key: options.certificate.key,
    cert: options.certificate.cert,
    minVersion: options.minVersion,
    maxVersion: options.maxVersion,
    ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
    ...(options.secureOptions === undefined ? {} : { secureOptions: options.secureOptions }),
    ...(options.serverGroups === undefined ? {} : { ecdhCurve: options.serverGroups }),
    // Finite-field Diffie-Hellman for the DHE suites (RFC 7919 group chosen by OpenSSL).
    dhparam: 'auto',
  });
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

/** Runs one TLS connection to its end; rejects after 10 s. */
export function runTls(options: TlsRunOptions): Promise<TlsRun> {
  return new Promise((resolve, reject) => {
    const wire: WireChunk[] = [];
    const keylog: string[] = [];
    const clientWrote: Uint8Array[] = [];
    const serverWrote: Uint8Array[] = [];
    const [clientEnd, serverEnd] = streamPair((direction, bytes) => wire.push({ direction, bytes }));
    const timer = setTimeout(() => reject(new Error('TLS run did not finish in 10 s')), 10_000);
    let session: Buffer | null = null;
    let protocol: string | null = null;
    let cipher = '';
    let reused = false;

    const server = new tls.TLSSocket(serverEnd, {
      isServer: true,
      secureContext: options.serverContext ?? serverContext(options),
    });
    const client = tls.connect({
      socket: clientEnd,
      rejectUnauthorized: false,
      servername: 'mx.smtpscope.test',
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      ...(options.ciphers === undefined ? {} : { ciphers: options.ciphers }),
      ...(options.secureOptions === undefined ? {} : { secureOptions: options.secureOptions }),
      ...(options.clientGroups === undefined ? {} : { ecdhCurve: options.clientGroups }),
      ...(options.session == null ? {} : { session: options.session }),
    });
    client.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
    client.on('session', (s: Buffer) => {
      session = s;
    });
    client.on('error', reject);
    server.on('error', reject);

    // The exchange: step i is written by the server when i is even, by the client when odd; the next step
    // starts once the other side has read it all.
    let step = 0;
    const received = { client: 0, server: 0 };
    const expected = { client: 0, server: 0 };
    const next = (): void => {
      if (step >= options.exchange.length) {
        client.end();
        return;
      }
      const text = Buffer.from(options.exchange[step] as string, 'latin1');
      const writer = step % 2 === 0 ? server : client;
      (step % 2 === 0 ? serverWrote : clientWrote).push(Uint8Array.from(text));
      expected[step % 2 === 0 ? 'client' : 'server'] += text.length;
      step++;
      writer.write(text);
    };
    client.on('data', (d: Buffer) => {
      received.client += d.length;
      if (received.client === expected.client) next();
    });
    server.on('data', (d: Buffer) => {
      received.server += d.length;
      if (received.server === expected.server) next();
    });
    server.on('end', () => server.end());
    client.on('secureConnect', () => {
      protocol = client.getProtocol();
      cipher = client.getCipher()?.standardName ?? '';
      reused = client.isSessionReused();
      // The server speaks first (an SMTP greeting after STARTTLS is the client's EHLO; any order is TLS).
      setImmediate(next);
    });
    client.on('close', () => {
      // Let the last session ticket event arrive.
      setImmediate(() => {
        clearTimeout(timer);
        resolve({
          wire,
          keylog: keylog.join(''),
          clientWrote: concat(clientWrote),
          serverWrote: concat(serverWrote),
          protocol,
          cipher,
          reused,
          session,
        });
      });
    });
  });
}
