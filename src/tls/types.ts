/**
 * TLS decryption contracts: the key store built from NSS key log lines (and pcapng Decryption Secrets Blocks),
 * and the per-connection decryptor the SMTP dialogue hands its TLS bytes to once TLS has started (after a 220 to
 * STARTTLS, or from the first byte on an implicit-TLS connection). Pure: no I/O, packet time only.
 *
 * Call order for one connection:
 *  1. `TlsDecryptorFactory.create(flow, callbacks)` when the dialogue enters TLS (never before).
 *  2. `push` / `gap` zero or more times, in capture order across both directions; within a direction, bytes are
 *     contiguous in stream order (a gap stands for the bytes it replaces).
 *  3. `close` exactly once. It flushes what can still be decrypted (keys that arrived late) and settles `status`.
 *
 * Callbacks run synchronously inside `push`, `gap` or `close`. Plaintext handed to `onPlaintext` is valid during
 * the call only. No secret (key log line, derived key, IV, master secret) ever reaches a callback, a status
 * text or an error message.
 */

import type { Direction, FlowKey } from '../reassembly/types.js';

export interface TlsHello {
  readonly side: 'client' | 'server';
  /** Record/handshake legacy version and supported_versions, as "TLS 1.2" style names. */
  readonly versions: readonly string[];
  readonly sni: string | null;
  /** Server hello: chosen cipher suite name or 0x hex. */
  readonly cipher: string | null;
  readonly alpn: readonly string[];
}

/** Secrets of one TLS session, found by its ClientHello random. Each field is absent until its line is known. */
export interface TlsSessionSecrets {
  /** TLS 1.2 and earlier: `CLIENT_RANDOM` (48-byte master secret). */
  readonly masterSecret?: Uint8Array;
  /** TLS 1.3 `CLIENT_HANDSHAKE_TRAFFIC_SECRET`. */
  readonly clientHandshakeTrafficSecret?: Uint8Array;
  /** TLS 1.3 `SERVER_HANDSHAKE_TRAFFIC_SECRET`. */
  readonly serverHandshakeTrafficSecret?: Uint8Array;
  /** TLS 1.3 `CLIENT_TRAFFIC_SECRET_0` (later generations are derived on KeyUpdate). */
  readonly clientTrafficSecret0?: Uint8Array;
  /** TLS 1.3 `SERVER_TRAFFIC_SECRET_0`. */
  readonly serverTrafficSecret0?: Uint8Array;
}

/** An index of key log secrets by client random; it may grow while a live capture runs. */
export interface TlsKeyStore {
  /** Secrets for a 32-byte ClientHello random, or null when no line names it (yet). */
  lookup(clientRandom: Uint8Array): TlsSessionSecrets | null;
  /** RSA pre-master secret by the first 8 bytes of the encrypted pre-master secret (`RSA` lines), or null. */
  lookupRsa(encryptedPreMasterPrefix: Uint8Array): Uint8Array | null;
  /** Grows by one each time lines are added: a decryptor waiting for keys retries when it changes. */
  readonly generation: number;
  /** Client randoms indexed so far. */
  readonly size: number;
}

/** How a TLS session of the capture was, or was not, decrypted. Texts never hold secrets. */
export type TlsDecryptionStatus =
  | { readonly kind: 'pending' } // TLS started, no verdict yet
  | {
      readonly kind: 'decrypted';
      readonly version: 'TLS 1.2' | 'TLS 1.3';
      readonly cipher: string; // IANA suite name, e.g. TLS_AES_128_GCM_SHA256
      readonly resumed: boolean;
    }
  // no key log line for this client random (or none arrived in time, or the ciphertext held meanwhile overflowed);
  // detail says which, when known
  | { readonly kind: 'no-key'; readonly detail?: string }
  | { readonly kind: 'bad-key'; readonly detail: string } // a record did not authenticate with the logged key
  | { readonly kind: 'unsupported'; readonly detail: string } // e.g. "cipher TLS_RSA_WITH_3DES_EDE_CBC_SHA"
  | { readonly kind: 'not-tls'; readonly detail: string } // bytes that do not parse as TLS records
  | { readonly kind: 'incomplete'; readonly detail: string }; // a gap or the end of the capture cut the handshake

export interface TlsDecryptorCallbacks {
  /** Decrypted application data of one direction, in stream order. Valid during the call only. */
  onPlaintext(direction: Direction, bytes: Uint8Array, tsMicros: number): void;
  /** ClientHello / ServerHello facts (SNI, versions, cipher), once each side's hello is parsed. */
  onHello(hello: TlsHello, tsMicros: number): void;
  /** Each change of status (pending → decrypted / no-key / ...). */
  onStatus(status: TlsDecryptionStatus, tsMicros: number): void;
  /** Plaintext of a direction can no longer be continuous (a gap in the ciphertext, a record lost). */
  onPlaintextGap(direction: Direction, tsMicros: number): void;
}

export interface TlsDecryptor {
  push(direction: Direction, bytes: Uint8Array, tsMicros: number): void;
  gap(direction: Direction, length: number, tsMicros: number): void;
  close(tsMicros: number): void;
  readonly status: TlsDecryptionStatus;
}

export interface TlsDecryptorFactory {
  create(flow: FlowKey, callbacks: TlsDecryptorCallbacks): TlsDecryptor;
}

/** Limits of one decryptor (docs/LIMITS.md). */
export interface TlsDecryptorOptions {
  /** Ciphertext held per connection while its keys have not arrived (live key logs); overflow gives up. */
  readonly maxPendingBytes: number;
  /**
   * Packet time a connection waits for its keys before it is reported `no-key`; 0: no waiting (every key is
   * known before the capture is read), nothing is held.
   */
  readonly maxKeyWaitMs: number;
  /** Largest TLS record accepted (RFC 8446: 2^14 + 256 ciphertext overhead). */
  readonly maxRecordBytes: number;
}
