/** Defaults of the TLS decryptor's limits (docs/LIMITS.md, docs/TLS.md). */

import type { TlsDecryptorOptions } from './types.js';

export const DEFAULT_TLS_DECRYPTOR_OPTIONS: TlsDecryptorOptions = Object.freeze({
  /** Ciphertext held per connection while its keys are awaited: 1 MiB (a few SMTP transactions). */
  maxPendingBytes: 1_048_576,
  /** Packet time a connection waits for keys: 10 s, ample for a key log written during the handshake. */
  maxKeyWaitMs: 10_000,
  /** RFC 8446 section 5.2: 2^14 + 256 bytes of ciphertext; RFC 5246 allows 2^14 + 2048, taken here. */
  maxRecordBytes: 16_384 + 2_048,
});

/** Largest handshake message reassembled (certificate chains included). */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 262_144;

/**
 * Handshake messages kept per TLS 1.2 connection for the extended master secret's session hash (needed only
 * with `RSA` key log lines); beyond this the RSA path gives up.
 */
export const MAX_TRANSCRIPT_BYTES = 262_144;

export function resolveTlsDecryptorOptions(options?: Partial<TlsDecryptorOptions>): TlsDecryptorOptions {
  return { ...DEFAULT_TLS_DECRYPTOR_OPTIONS, ...options };
}
