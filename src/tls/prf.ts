/**
 * The TLS 1.2 pseudo-random function (RFC 5246 section 5): P_SHA256 or P_SHA384 as the suite says, the master
 * secret from a pre-master secret (plain, or extended: RFC 7627), and the key block (section 6.3).
 */

import { createHash, createHmac } from 'node:crypto';

export type PrfHash = 'sha256' | 'sha384';

/** P_hash(secret, seed) cut to `length` bytes. */
export function pHash(hash: PrfHash, secret: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let a: Uint8Array = seed;
  let filled = 0;
  while (filled < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(seed).digest();
    const take = Math.min(block.length, length - filled);
    out.set(block.subarray(0, take), filled);
    filled += take;
  }
  return out;
}

/** PRF(secret, label, seed) = P_hash(secret, label + seed). */
export function prf(
  hash: PrfHash,
  secret: Uint8Array,
  label: string,
  seed: Uint8Array,
  length: number,
): Uint8Array {
  const labelBytes = new TextEncoder().encode(label);
  const full = new Uint8Array(labelBytes.length + seed.length);
  full.set(labelBytes, 0);
  full.set(seed, labelBytes.length);
  return pHash(hash, secret, full, length);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** master_secret from the pre-master secret: "master secret" over the randoms, or RFC 7627's session hash. */
export function masterSecretFromPreMaster(
  hash: PrfHash,
  preMaster: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  extendedSessionHash: Uint8Array | null,
): Uint8Array {
  if (extendedSessionHash !== null)
    return prf(hash, preMaster, 'extended master secret', extendedSessionHash, 48);
  return prf(hash, preMaster, 'master secret', concat(clientRandom, serverRandom), 48);
}

/** The session hash of RFC 7627: the hash of the handshake messages up to and including ClientKeyExchange. */
export function sessionHash(hash: PrfHash, messages: readonly Uint8Array[]): Uint8Array {
  const h = createHash(hash);
  for (const m of messages) h.update(m);
  return h.digest();
}

/** key_block = PRF(master_secret, "key expansion", server_random + client_random). */
export function keyBlock(
  hash: PrfHash,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  length: number,
): Uint8Array {
  return prf(hash, masterSecret, 'key expansion', concat(serverRandom, clientRandom), length);
}
