/**
 * Decryption of one direction's protected records, with its own sequence number: TLS 1.3 AEAD (RFC 8446
 * section 5.2-5.3), TLS 1.2 AES-GCM (RFC 5288), ChaCha20-Poly1305 (RFC 7905) and AES-CBC with HMAC, both
 * MAC-then-encrypt (RFC 5246 section 6.2.3.2) and encrypt-then-MAC (RFC 7366). node:crypto does the AEAD,
 * block cipher and HMAC work. A record that fails to authenticate is reported, never thrown.
 */

import { createDecipheriv, createHmac, type DecipherGCM, timingSafeEqual } from 'node:crypto';
import { hashLength, type RecordProtection } from './cipher-suites.js';

export type OpenResult =
  | { readonly ok: true; readonly type: number; readonly plaintext: Uint8Array }
  /** auth: the tag or MAC did not verify (wrong key); malformed: the record cannot hold this protection. */
  | { readonly ok: false; readonly reason: 'auth' | 'malformed' };

export interface RecordKeys {
  readonly key: Uint8Array;
  /** TLS 1.3 and ChaCha20: 12-byte IV; GCM: 4-byte salt; CBC: unused (explicit IV per record). */
  readonly iv: Uint8Array;
  /** CBC only. */
  readonly macKey: Uint8Array;
}

export interface RecordOpener {
  /** Decrypts the record with header (type, version) and body; the sequence number moves on success only. */
  open(type: number, version: number, body: Uint8Array): OpenResult;
  /**
   * After records were lost: tries the sequence numbers from the next one to `ahead` further, and continues from
   * the one that authenticates.
   */
  openAhead(type: number, version: number, body: Uint8Array, ahead: number): OpenResult;
  /** A record was seen but could not be read (a gap replaced some of it): its sequence number is used up. */
  skipRecord(): void;
  /** The next sequence number. */
  readonly sequence: number;
}

const TAG = 16;
const AES_BLOCK = 16;

/** Writes the 64-bit big-endian sequence number at `offset`. */
function writeSeq(out: Uint8Array, offset: number, seq: number): void {
  let v = seq;
  for (let i = 7; i >= 0; i--) {
    out[offset + i] = v % 256;
    v = Math.floor(v / 256);
  }
}

/** The per-record nonce (the IV XOR the sequence number, RFC 8446 section 5.3), into `nonce`. */
function xorNonce(nonce: Uint8Array, iv: Uint8Array, seq: number): Uint8Array {
  nonce.set(iv);
  let v = seq;
  for (let i = nonce.length - 1; i >= nonce.length - 8; i--) {
    nonce[i] = (nonce[i] as number) ^ (v % 256);
    v = Math.floor(v / 256);
  }
  return nonce;
}

/** The TLS 1.2 additional data / MAC header: seq_num + type + version + length, into `out` (13 bytes). */
function tls12Header(
  out: Uint8Array,
  seq: number,
  type: number,
  version: number,
  length: number,
): Uint8Array {
  writeSeq(out, 0, seq);
  out[8] = type;
  out[9] = version >> 8;
  out[10] = version & 0xff;
  out[11] = length >> 8;
  out[12] = length & 0xff;
  return out;
}

const AEAD_OPTIONS = Object.freeze({ authTagLength: TAG });

/**
 * Scratch for a record's nonce and additional data (or MAC header), shared by every opener: a record is opened
 * start to end in one synchronous call, and node:crypto copies both before returning.
 */
const NONCE = new Uint8Array(12);
const HEADER = new Uint8Array(13);
/** TLS 1.3's additional data: the record header (5 bytes of the scratch header). */
const AAD13 = HEADER.subarray(0, 5);

/**
 * One AEAD record: the plaintext as node:crypto's own buffer (no copy), or null when the tag does not verify.
 * `aad` is set without a plaintext length: only CCM needs one, and no CCM suite is decrypted.
 */
function aeadOpen(
  aead: string,
  key: Uint8Array,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Buffer | null {
  try {
    // A decipher cannot be given a new nonce, so each record needs its own; the nonce and AAD buffers are the
    // opener's, reused (node:crypto copies them).
    const decipher: DecipherGCM =
      aead === 'chacha20-poly1305'
        ? (createDecipheriv('chacha20-poly1305', key, nonce, AEAD_OPTIONS) as unknown as DecipherGCM)
        : createDecipheriv(aead as 'aes-128-gcm', key, nonce, AEAD_OPTIONS);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const head = decipher.update(ciphertext);
    const tail = decipher.final();
    return tail.length === 0 ? head : Buffer.concat([head, tail]);
  } catch {
    return null;
  }
}

function cbcDecrypt(cipher: string, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array | null {
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    decipher.setAutoPadding(false);
    const head = decipher.update(data);
    const tail = decipher.final();
    return view(tail.length === 0 ? head : Buffer.concat([head, tail]), head.length + tail.length);
  } catch {
    return null;
  }
}

/**
 * The first `length` bytes of a Buffer as a plain Uint8Array (callers compare and slice it as bytes: a Buffer's
 * `slice` would not copy).
 */
function view(b: Buffer, length: number): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, length);
}

function macMatches(expected: Uint8Array, actual: Uint8Array): boolean {
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * A record opener for one direction. `encryptThenMac` matters for CBC suites only (negotiated by the
 * encrypt_then_mac extension in both hellos).
 */
export function createRecordOpener(
  protection: RecordProtection,
  keys: RecordKeys,
  encryptThenMac: boolean,
): RecordOpener {
  return new Opener(protection, keys, encryptThenMac);
}

/** One direction's opener: its state is the next sequence number; the methods are shared by every opener. */
class Opener implements RecordOpener {
  /** The next record's sequence number; each protection's method sets it once a record authenticates. */
  private next = 0;

  constructor(
    private readonly protection: RecordProtection,
    private readonly keys: RecordKeys,
    private readonly encryptThenMac: boolean,
  ) {}

  open(type: number, version: number, body: Uint8Array): OpenResult {
    return this.openAt(type, version, body, this.next);
  }

  openAhead(type: number, version: number, body: Uint8Array, ahead: number): OpenResult {
    let last: OpenResult = { ok: false, reason: 'auth' };
    for (let s = this.next; s <= this.next + ahead; s++) {
      last = this.openAt(type, version, body, s);
      if (last.ok || last.reason === 'malformed') return last;
    }
    return last;
  }

  skipRecord(): void {
    this.next++;
  }

  get sequence(): number {
    return this.next;
  }

  private openAt(type: number, version: number, body: Uint8Array, seq: number): OpenResult {
    switch (this.protection.kind) {
      case 'tls13':
        return this.tls13(type, version, body, seq);
      case 'tls12-gcm':
        return this.gcm(type, version, body, seq);
      case 'tls12-chacha':
        return this.chacha(type, version, body, seq);
      default:
        return this.cbc(type, version, body, seq);
    }
  }

  private tls13(type: number, version: number, body: Uint8Array, seq: number): OpenResult {
    const { protection, keys } = this;
    if (protection.kind !== 'tls13') return { ok: false, reason: 'malformed' };
    if (body.length < TAG + 1) return { ok: false, reason: 'malformed' };
    AAD13[0] = type;
    AAD13[1] = version >> 8;
    AAD13[2] = version & 0xff;
    AAD13[3] = body.length >> 8;
    AAD13[4] = body.length & 0xff;
    const inner = aeadOpen(
      protection.aead,
      keys.key,
      xorNonce(NONCE, keys.iv, seq),
      AAD13,
      body.subarray(0, body.length - TAG),
      body.subarray(body.length - TAG),
    );
    if (inner === null) return { ok: false, reason: 'auth' };
    this.next = seq + 1;
    // TLSInnerPlaintext: the content, its real type, then zero padding.
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    if (end === 0) return { ok: false, reason: 'malformed' };
    return { ok: true, type: inner[end - 1] as number, plaintext: view(inner, end - 1) };
  }

  private gcm(type: number, version: number, body: Uint8Array, seq: number): OpenResult {
    const { protection, keys } = this;
    if (protection.kind !== 'tls12-gcm') return { ok: false, reason: 'malformed' };
    if (body.length < 8 + TAG) return { ok: false, reason: 'malformed' };
    NONCE.set(keys.iv.subarray(0, 4), 0);
    NONCE.set(body.subarray(0, 8), 4);
    const length = body.length - 8 - TAG;
    const plain = aeadOpen(
      protection.aead,
      keys.key,
      NONCE,
      tls12Header(HEADER, seq, type, version, length),
      body.subarray(8, 8 + length),
      body.subarray(8 + length),
    );
    if (plain === null) return { ok: false, reason: 'auth' };
    this.next = seq + 1;
    return { ok: true, type, plaintext: view(plain, plain.length) };
  }

  private chacha(type: number, version: number, body: Uint8Array, seq: number): OpenResult {
    const { protection, keys } = this;
    if (protection.kind !== 'tls12-chacha') return { ok: false, reason: 'malformed' };
    if (body.length < TAG) return { ok: false, reason: 'malformed' };
    const length = body.length - TAG;
    const plain = aeadOpen(
      protection.aead,
      keys.key,
      xorNonce(NONCE, keys.iv, seq),
      tls12Header(HEADER, seq, type, version, length),
      body.subarray(0, length),
      body.subarray(length),
    );
    if (plain === null) return { ok: false, reason: 'auth' };
    this.next = seq + 1;
    return { ok: true, type, plaintext: view(plain, plain.length) };
  }

  private cbc(type: number, version: number, body: Uint8Array, seq: number): OpenResult {
    const { protection, keys } = this;
    if (protection.kind !== 'tls12-cbc') return { ok: false, reason: 'malformed' };
    const macBytes = hashLength(protection.mac);
    if (this.encryptThenMac) {
      const encrypted = body.length - macBytes;
      if (encrypted < 2 * AES_BLOCK || encrypted % AES_BLOCK !== 0) return { ok: false, reason: 'malformed' };
      const mac = createHmac(protection.mac, keys.macKey)
        .update(tls12Header(HEADER, seq, type, version, encrypted))
        .update(body.subarray(0, encrypted))
        .digest();
      if (!macMatches(mac, body.subarray(encrypted))) return { ok: false, reason: 'auth' };
      const plain = cbcDecrypt(
        protection.cipher,
        keys.key,
        body.subarray(0, AES_BLOCK),
        body.subarray(AES_BLOCK, encrypted),
      );
      if (plain === null) return { ok: false, reason: 'malformed' };
      const padding = plain[plain.length - 1] as number;
      if (padding + 1 > plain.length) return { ok: false, reason: 'malformed' };
      for (let i = plain.length - 1 - padding; i < plain.length; i++)
        if (plain[i] !== padding) return { ok: false, reason: 'malformed' };
      this.next = seq + 1;
      return { ok: true, type, plaintext: plain.subarray(0, plain.length - 1 - padding) };
    }
    if (body.length < 2 * AES_BLOCK || body.length % AES_BLOCK !== 0)
      return { ok: false, reason: 'malformed' };
    const plain = cbcDecrypt(
      protection.cipher,
      keys.key,
      body.subarray(0, AES_BLOCK),
      body.subarray(AES_BLOCK),
    );
    if (plain === null) return { ok: false, reason: 'malformed' };
    const padding = plain[plain.length - 1] as number;
    // A wrong key gives random padding: that is an authentication failure as much as a bad MAC is.
    if (padding + 1 + macBytes > plain.length) return { ok: false, reason: 'auth' };
    for (let i = plain.length - 1 - padding; i < plain.length; i++)
      if (plain[i] !== padding) return { ok: false, reason: 'auth' };
    const contentLength = plain.length - 1 - padding - macBytes;
    const content = plain.subarray(0, contentLength);
    const mac = createHmac(protection.mac, keys.macKey)
      .update(tls12Header(HEADER, seq, type, version, contentLength))
      .update(content)
      .digest();
    if (!macMatches(mac, plain.subarray(contentLength, contentLength + macBytes)))
      return { ok: false, reason: 'auth' };
    this.next = seq + 1;
    return { ok: true, type, plaintext: content };
  }
}
