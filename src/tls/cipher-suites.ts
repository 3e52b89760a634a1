/**
 * TLS cipher suites: IANA names (for display) and, for the suites smtpscope can decrypt, how their records are
 * protected. One table, shared by the hello parser (names) and the decryptor (parameters).
 */

export type HashName = 'sha1' | 'sha256' | 'sha384';

/** How records of a suite are protected once its keys are in use. */
export type RecordProtection =
  /** TLS 1.3 AEAD: nonce = IV xor sequence number, inner content type. */
  | { readonly kind: 'tls13'; readonly aead: AeadName; readonly keyBytes: number }
  /** TLS 1.2 AES-GCM (RFC 5288): 4-byte implicit salt and 8-byte explicit nonce per record. */
  | { readonly kind: 'tls12-gcm'; readonly aead: AeadName; readonly keyBytes: number }
  /** TLS 1.2 ChaCha20-Poly1305 (RFC 7905): 12-byte IV xor sequence number, no explicit nonce. */
  | { readonly kind: 'tls12-chacha'; readonly aead: AeadName; readonly keyBytes: number }
  /** TLS 1.2 AES-CBC with HMAC (explicit per-record IV), MAC-then-encrypt or encrypt-then-MAC (RFC 7366). */
  | {
      readonly kind: 'tls12-cbc';
      readonly cipher: 'aes-128-cbc' | 'aes-256-cbc';
      readonly keyBytes: number;
      readonly mac: HashName;
    };

export type AeadName = 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

export interface CipherSuite {
  readonly id: number;
  readonly name: string;
  /** TLS 1.3 suites name only the AEAD and hash; TLS 1.2 suites their key exchange too. */
  readonly version: 'TLS 1.3' | 'TLS 1.2';
  /** TLS 1.3: HKDF hash; TLS 1.2: PRF hash. */
  readonly hash: 'sha256' | 'sha384';
  /** TLS 1.2 key exchange: RSA (the pre-master secret travels encrypted: `RSA` key log lines) or (EC)DHE. */
  readonly keyExchange: 'rsa' | 'dhe' | 'none';
  readonly protection: RecordProtection;
}

const GCM128 = { aead: 'aes-128-gcm', keyBytes: 16 } as const;
const GCM256 = { aead: 'aes-256-gcm', keyBytes: 32 } as const;
const CHACHA = { aead: 'chacha20-poly1305', keyBytes: 32 } as const;

function suite(
  id: number,
  name: string,
  version: CipherSuite['version'],
  hash: CipherSuite['hash'],
  keyExchange: CipherSuite['keyExchange'],
  protection: RecordProtection,
): CipherSuite {
  return { id, name, version, hash, keyExchange, protection };
}

function cbc(bits: 128 | 256, mac: HashName): RecordProtection {
  return { kind: 'tls12-cbc', cipher: bits === 128 ? 'aes-128-cbc' : 'aes-256-cbc', keyBytes: bits / 8, mac };
}

/** Every suite smtpscope decrypts. */
const DECRYPTABLE: readonly CipherSuite[] = [
  suite(0x1301, 'TLS_AES_128_GCM_SHA256', 'TLS 1.3', 'sha256', 'none', { kind: 'tls13', ...GCM128 }),
  suite(0x1302, 'TLS_AES_256_GCM_SHA384', 'TLS 1.3', 'sha384', 'none', { kind: 'tls13', ...GCM256 }),
  suite(0x1303, 'TLS_CHACHA20_POLY1305_SHA256', 'TLS 1.3', 'sha256', 'none', { kind: 'tls13', ...CHACHA }),
  // TLS 1.2 AES-GCM
  suite(0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256', 'TLS 1.2', 'sha256', 'rsa', {
    kind: 'tls12-gcm',
    ...GCM128,
  }),
  suite(0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384', 'TLS 1.2', 'sha384', 'rsa', {
    kind: 'tls12-gcm',
    ...GCM256,
  }),
  suite(0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM128,
  }),
  suite(0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS 1.2', 'sha384', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM256,
  }),
  suite(0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM128,
  }),
  suite(0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'TLS 1.2', 'sha384', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM256,
  }),
  suite(0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM128,
  }),
  suite(0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'TLS 1.2', 'sha384', 'dhe', {
    kind: 'tls12-gcm',
    ...GCM256,
  }),
  // TLS 1.2 ChaCha20-Poly1305 (RFC 7905)
  suite(0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-chacha',
    ...CHACHA,
  }),
  suite(0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-chacha',
    ...CHACHA,
  }),
  suite(0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'TLS 1.2', 'sha256', 'dhe', {
    kind: 'tls12-chacha',
    ...CHACHA,
  }),
  // TLS 1.2 AES-CBC
  suite(0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA', 'TLS 1.2', 'sha256', 'rsa', cbc(128, 'sha1')),
  suite(0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS 1.2', 'sha256', 'rsa', cbc(256, 'sha1')),
  suite(0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256', 'TLS 1.2', 'sha256', 'rsa', cbc(128, 'sha256')),
  suite(0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256', 'TLS 1.2', 'sha256', 'rsa', cbc(256, 'sha256')),
  suite(0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha1')),
  suite(0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(256, 'sha1')),
  suite(0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha256')),
  suite(0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256', 'TLS 1.2', 'sha256', 'dhe', cbc(256, 'sha256')),
  suite(0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha1')),
  suite(0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(256, 'sha1')),
  suite(0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha1')),
  suite(0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'TLS 1.2', 'sha256', 'dhe', cbc(256, 'sha1')),
  suite(0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha256')),
  suite(0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384', 'TLS 1.2', 'sha384', 'dhe', cbc(256, 'sha384')),
  suite(0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'TLS 1.2', 'sha256', 'dhe', cbc(128, 'sha256')),
  suite(0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384', 'TLS 1.2', 'sha384', 'dhe', cbc(256, 'sha384')),
];

/** Names of suites seen with SMTP that smtpscope shows but does not decrypt. */
const NAMED_ONLY: Readonly<Record<number, string>> = {
  4868: 'TLS_AES_128_CCM_SHA256',
  4869: 'TLS_AES_128_CCM_8_SHA256',
  10: 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  5: 'TLS_RSA_WITH_RC4_128_SHA',
  4: 'TLS_RSA_WITH_RC4_128_MD5',
  49170: 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  49324: 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM',
  49308: 'TLS_RSA_WITH_AES_128_CCM',
  255: 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV',
};

const BY_ID = new Map<number, CipherSuite>(DECRYPTABLE.map((s) => [s.id, s]));

/** The suite's parameters when smtpscope can decrypt it, else null. */
export function decryptableSuite(id: number): CipherSuite | null {
  return BY_ID.get(id) ?? null;
}

function hex4(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

/** IANA name of a cipher suite, or 0xXXXX for one not in the table. */
export function tlsCipherName(id: number): string {
  return BY_ID.get(id)?.name ?? NAMED_ONLY[id] ?? hex4(id);
}

const VERSION_NAMES: Readonly<Record<number, string>> = {
  768: 'SSL 3.0',
  769: 'TLS 1.0',
  770: 'TLS 1.1',
  771: 'TLS 1.2',
  772: 'TLS 1.3',
};

/** "TLS 1.2" style name of a protocol version number, or 0xXXXX. */
export function tlsVersionName(version: number): string {
  return VERSION_NAMES[version] ?? hex4(version);
}

/** Hash output length in bytes. */
export function hashLength(hash: HashName): number {
  return hash === 'sha1' ? 20 : hash === 'sha256' ? 32 : 48;
}
