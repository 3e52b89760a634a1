/**
 * Words for a session's TLS decryption status (TlsInfo.decryption), shared by the transcript, the summary, the
 * dashboard and the CSV: the short outcome sessions are counted by, and the one-line account of how TLS was
 * decrypted or why not. Statuses never hold secrets (src/tls/types.ts), and neither do these texts.
 */

import type { TlsDecryptionStatus } from '../tls/types.js';
import type { TlsInfo } from './types.js';

export type TlsDecryptionKind = TlsDecryptionStatus['kind'];

/** The status of a session, or null when no decryption was tried (no key material known when its TLS started). */
export function tlsDecryptionOf(tls: TlsInfo): TlsDecryptionStatus | null {
  return tls.mode === 'none' ? null : (tls.decryption ?? null);
}

/** Short outcome, as counted in the summary and the dashboard: "decrypted", "no key", "key did not authenticate"... */
export function tlsDecryptionOutcome(kind: TlsDecryptionKind): string {
  switch (kind) {
    case 'decrypted':
      return 'decrypted';
    case 'no-key':
      return 'no key';
    case 'bad-key':
      return 'key did not authenticate';
    case 'unsupported':
      return 'unsupported';
    case 'not-tls':
      return 'not TLS';
    case 'incomplete':
      return 'incomplete';
    case 'pending':
      return 'no verdict';
  }
}

/** One line: "decrypted (TLS 1.3, TLS_AES_128_GCM_SHA256, resumed)", "not decrypted: no key (no key log line...)". */
export function tlsDecryptionText(status: TlsDecryptionStatus): string {
  if (status.kind === 'decrypted')
    return `decrypted (${status.version}, ${status.cipher}${status.resumed ? ', resumed' : ''})`;
  const detail = status.kind === 'pending' ? undefined : status.detail;
  return `not decrypted: ${tlsDecryptionOutcome(status.kind)}${detail === undefined ? '' : ` (${detail})`}`;
}

/** The row a session is counted in: "decrypted" or "not decrypted: REASON" (the summary, the dashboard). */
export function tlsDecryptionCount(kind: TlsDecryptionKind): string {
  return kind === 'decrypted' ? 'decrypted' : `not decrypted: ${tlsDecryptionOutcome(kind)}`;
}
