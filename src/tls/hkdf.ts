/**
 * TLS 1.3 key schedule pieces (RFC 8446 section 7): HKDF-Expand (RFC 5869), HKDF-Expand-Label, the traffic
 * key and IV of a traffic secret, and the next traffic secret after a KeyUpdate. Only the expand half is needed:
 * the key log gives the traffic secrets themselves.
 */

import { createHmac } from 'node:crypto';

export type Tls13Hash = 'sha256' | 'sha384';

const HASH_BYTES: Readonly<Record<Tls13Hash, number>> = { sha256: 32, sha384: 48 };

/** HKDF-Expand(PRK, info, L). */
export function hkdfExpand(hash: Tls13Hash, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let previous: Uint8Array = new Uint8Array(0);
  let filled = 0;
  for (let counter = 1; filled < length; counter++) {
    const hmac = createHmac(hash, prk);
    hmac.update(previous);
    hmac.update(info);
    hmac.update(Uint8Array.of(counter));
    previous = hmac.digest();
    const take = Math.min(previous.length, length - filled);
    out.set(previous.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/**
 * HKDF-Expand for at most one hash length, `infoAndOne` being the info with the counter byte 0x01 already
 * appended: T(1) = HMAC(PRK, info | 0x01), cut to `length`. Every TLS 1.3 key, IV and next secret is this case:
 * one HMAC and one update, the digest's own bytes returned.
 */
function hkdfExpandOneBlock(
  hash: Tls13Hash,
  prk: Uint8Array,
  infoAndOne: Uint8Array,
  length: number,
): Uint8Array {
  const block = createHmac(hash, prk).update(infoAndOne).digest();
  return new Uint8Array(block.buffer, block.byteOffset, length);
}

const EMPTY = new Uint8Array(0);

/** The labels this module uses ("key", "iv", "traffic upd"), encoded once. */
const LABELS = new Map<string, Uint8Array>();

function labelBytes(label: string): Uint8Array {
  let bytes = LABELS.get(label);
  if (bytes === undefined) {
    bytes = new TextEncoder().encode(`tls13 ${label}`);
    if (LABELS.size < 16) LABELS.set(label, bytes);
  }
  return bytes;
}

/** HKDF-Expand-Label(Secret, Label, Context, Length) with the "tls13 " prefix. */
export function hkdfExpandLabel(
  hash: Tls13Hash,
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  length: number,
): Uint8Array {
  const fullLabel = labelBytes(label);
  const infoLength = 2 + 1 + fullLabel.length + 1 + context.length;
  const oneBlock = length <= HASH_BYTES[hash];
  // One block (the usual case): the counter byte goes at the end of the info, for a single HMAC update.
  const info = new Uint8Array(infoLength + (oneBlock ? 1 : 0));
  info[0] = (length >> 8) & 0xff;
  info[1] = length & 0xff;
  info[2] = fullLabel.length;
  info.set(fullLabel, 3);
  info[3 + fullLabel.length] = context.length;
  info.set(context, 4 + fullLabel.length);
  if (!oneBlock) return hkdfExpand(hash, secret, info, length);
  info[infoLength] = 1;
  return hkdfExpandOneBlock(hash, secret, info, length);
}

/** The write key and IV of a traffic secret (RFC 8446 section 7.3). */
export function trafficKeys(
  hash: Tls13Hash,
  secret: Uint8Array,
  keyBytes: number,
): { readonly key: Uint8Array; readonly iv: Uint8Array } {
  return {
    key: hkdfExpandLabel(hash, secret, 'key', EMPTY, keyBytes),
    iv: hkdfExpandLabel(hash, secret, 'iv', EMPTY, 12),
  };
}

/** application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 section 7.2). */
export function nextTrafficSecret(hash: Tls13Hash, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(hash, secret, 'traffic upd', EMPTY, secret.length);
}
