/**
 * The TLS decryptor of one connection (the contract is in types.ts): reads both directions' records, the clear
 * hellos (client random, suite, version, extensions), finds the session's secrets in the key store by client
 * random, and decrypts every protected record in stream order, handing application data to `onPlaintext`.
 *
 * TLS 1.3: handshake traffic secrets until each side's Finished, then the application traffic secrets,
 * renewed by each KeyUpdate ("traffic upd", derived here: no key log line exists for them); HelloRetryRequest
 * (its special random) waits for the real ServerHello; middlebox-compatibility ChangeCipherSpec records are
 * skipped; PSK resumption needs nothing more than the resumed connection's own lines. Early data is not
 * decrypted: while the client's handshake records fail to open after an early_data offer, they are skipped as
 * a plaintext gap.
 *
 * TLS 1.2: each direction switches to its keys at its ChangeCipherSpec; the key block comes from the
 * `CLIENT_RANDOM` master secret, or for RSA key exchange from an `RSA` line's pre-master secret (extended
 * master secret included: the session hash is taken over the clear handshake messages). Abbreviated
 * handshakes (session id or ticket resumption) are recognised by the server's ChangeCipherSpec coming first or
 * the echoed session id.
 *
 * Keys that are not in the store yet make the connection wait: its records are held (copied, in arrival order
 * across both directions) up to `maxPendingBytes`, for at most `maxKeyWaitMs` of packet time, and tried again
 * whenever the store's generation has moved (on the next push, gap or at close).
 *
 * A capture gap once a direction is decrypting gives onPlaintextGap and is skipped: when it ends inside a
 * record, that record is lost and the next one opens with the following sequence number; when it swallowed a
 * record header, the record reader scans for the next record that authenticates at one of the sequence numbers
 * the lost bytes allow. If keys changed inside the gap (a KeyUpdate, the Finished), the direction stops there.
 * A gap before a direction decrypts anything makes the handshake `incomplete` (or stops that direction).
 *
 * Nothing secret reaches a callback or a status text: details name records, directions and suites only.
 */

import type { Direction, FlowKey } from '../reassembly/types.js';

import {
  type CipherSuite,
  decryptableSuite,
  hashLength,
  tlsCipherName,
  tlsVersionName,
} from './cipher-suites.js';
import {
  createHandshakeReader,
  HANDSHAKE_TYPE,
  type HandshakeReader,
  type HandshakeReaderOptions,
} from './handshake-reader.js';
import {
  clientHelloFacts,
  parseClientHello,
  parseServerHello,
  type ServerHelloInfo,
  serverHelloFacts,
} from './hello.js';
import { nextTrafficSecret, trafficKeys } from './hkdf.js';
import { MAX_HANDSHAKE_MESSAGE_BYTES, MAX_TRANSCRIPT_BYTES, resolveTlsDecryptorOptions } from './options.js';
import { keyBlock, masterSecretFromPreMaster, sessionHash } from './prf.js';
import { createRecordOpener, type RecordKeys, type RecordOpener } from './record-cipher.js';
import {
  CONTENT_TYPE,
  createRecordBufferPool,
  createRecordReader,
  type RecordBufferPool,
  type RecordReader,
  type RecordReaderOptions,
} from './record-reader.js';
import type {
  TlsDecryptionStatus,
  TlsDecryptor,
  TlsDecryptorCallbacks,
  TlsDecryptorFactory,
  TlsDecryptorOptions,
  TlsKeyStore,
  TlsSessionSecrets,
} from './types.js';

/** Who sent a record: the client (c2s) or the server (s2c). */
type Peer = 'client' | 'server';

function peerOf(direction: Direction): Peer {
  return direction === 'c2s' ? 'client' : 'server';
}

function directionOf(peer: Peer): Direction {
  return peer === 'client' ? 'c2s' : 's2c';
}

const TLS12 = 0x0303;
const TLS13 = 0x0304;
/** Client records skipped after an early_data offer before a failure counts as a wrong key. */
const MAX_SKIPPED_EARLY_RECORDS = 64;
/** After a gap, sequence numbers tried past the expected one: about one per 21 bytes lost (a minimal record). */
const MAX_RESYNC_AHEAD = 4096;
const MIN_RECORD_BYTES = 21;

const ALERTS: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  40: 'handshake_failure',
  42: 'bad_certificate',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  50: 'decode_error',
  51: 'decrypt_error',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback',
  90: 'user_canceled',
  109: 'missing_extension',
  112: 'unrecognized_name',
  116: 'certificate_required',
  120: 'no_application_protocol',
};

function alertName(description: number): string {
  return ALERTS[description] ?? `alert ${description}`;
}

interface HeldRecord {
  readonly kind: 'record';
  readonly direction: Peer;
  readonly type: number;
  readonly version: number;
  readonly body: Uint8Array;
  readonly tsMicros: number;
}

interface HeldGap {
  readonly kind: 'gap';
  readonly direction: Peer;
  readonly length: number;
  readonly tsMicros: number;
}

type Held = HeldRecord | HeldGap;

type Step = 'ok' | 'wait';

const PENDING: TlsDecryptionStatus = Object.freeze({ kind: 'pending' });
const NO_MAC_KEY = new Uint8Array(0);

export function createTlsDecryptorFactory(
  store: TlsKeyStore,
  options?: Partial<TlsDecryptorOptions>,
): TlsDecryptorFactory {
  const limits = resolveTlsDecryptorOptions(options);
  // The connections of this factory assemble their records cut by chunk boundaries in shared buffers.
  const buffers = createRecordBufferPool(limits.maxRecordBytes);
  return {
    create(_flow: FlowKey, callbacks: TlsDecryptorCallbacks): TlsDecryptor {
      return new Connection(store, limits, buffers, callbacks);
    },
  };
}

/**
 * One direction's state. It is also the options object of its record and handshake readers: their callbacks
 * are its methods, which hand the event to the connection with the direction (no closures per connection).
 */
class Side implements RecordReaderOptions, HandshakeReaderOptions {
  readonly maxRecordBytes: number;
  readonly maxMessageBytes = MAX_HANDSHAKE_MESSAGE_BYTES;
  readonly records: RecordReader;
  handshake: HandshakeReader;
  /** A capture gap was skipped in this direction: a record that fails to open ends it, not the session. */
  afterGap = false;
  /** Protected records from now on (TLS 1.2: after ChangeCipherSpec; TLS 1.3: after the ServerHello). */
  encrypted = false;
  opener: RecordOpener | null = null;
  /** TLS 1.3 key phase. */
  phase: 'handshake' | 'application' = 'handshake';
  /** TLS 1.3 application traffic secret in use, once derived. */
  appSecret: Uint8Array | null = null;
  /** KeyUpdates seen whose secret is not derived yet (the base secret was not known then). */
  pendingUpdates = 0;
  /** Set while a record is read: key change to apply after it. */
  switchAfterRecord: 'application' | 'update' | null = null;
  /** No more records can be read (gap, bad header). */
  dead = false;
  /** Records opened. */
  opened = 0;
  /** A clear alert seen in this direction before encryption. */
  alert: string | null = null;

  constructor(
    private readonly connection: Connection,
    readonly peer: Peer,
    limits: TlsDecryptorOptions,
    readonly buffers: RecordBufferPool,
  ) {
    this.maxRecordBytes = limits.maxRecordBytes;
    this.records = createRecordReader(this);
    this.handshake = createHandshakeReader(this);
  }

  /** A new handshake reader (after a gap: a message partly read is lost). */
  resetHandshake(): void {
    this.handshake = createHandshakeReader(this);
  }

  onRecord(type: number, version: number, body: Uint8Array): void {
    this.connection.onRecord(this, type, version, body);
  }

  onError(detail: string): void {
    this.connection.streamBroken(this, detail);
  }

  onDamaged(): void {
    this.connection.damagedRecord(this);
  }

  onCandidate(type: number, version: number, body: Uint8Array, lostBytes: number): boolean {
    return this.connection.candidate(this, type, version, body, lostBytes);
  }

  onMessage(type: number, message: Uint8Array): void {
    this.connection.onHandshake(this, type, message);
  }
}

/**
 * The decryptor of one connection: one object (and its two sides, readers and openers) whose methods are shared
 * by every connection. What only the handshake needs (the hellos beyond the fields kept below, the transcript,
 * the key store's entry) is dropped as soon as the keys it serves are set up.
 */
class Connection implements TlsDecryptor {
  private current: TlsDecryptionStatus = PENDING;
  /** A final verdict: nothing more is read. */
  private finished = false;
  private closed = false;
  private now = 0;

  private readonly client: Side;
  private readonly server: Side;

  /** The ClientHello was seen. */
  private clientHelloSeen = false;
  /** Its random, kept while keys may still be looked up with it. */
  private clientRandom: Uint8Array | null = null;
  /** Its session id, until the ServerHello tells whether the session is resumed. */
  private clientSessionId: Uint8Array | null = null;
  private clientEarlyData = false;
  private clientEncryptThenMac = false;
  private clientExtendedMasterSecret = false;
  /** The (real) ServerHello was seen. */
  private serverHelloSeen = false;
  /** Its random, until the TLS 1.2 key block is made. */
  private serverRandom: Uint8Array | null = null;
  private serverExtendedMasterSecret = false;
  private suite: CipherSuite | null = null;
  private resumed = false;
  private tls12Keys: { client: RecordKeys; server: RecordKeys } | null = null;
  private encryptThenMac = false;
  /** Clear handshake messages kept for the extended master secret (RSA key exchange with RSA lines). */
  private transcript: Uint8Array[] | null = [];
  private transcriptBytes = 0;
  /** TLS 1.2 RSA: first 8 bytes of the encrypted pre-master secret, and the session hash up to it. */
  private rsaPrefix: Uint8Array | null = null;
  private rsaSessionHash: Uint8Array | null = null;
  private skippedEarly = 0;
  /** The key store's entry for the client random, and the store generation it was looked up at. */
  private secrets: TlsSessionSecrets | null = null;
  private secretsGeneration = -1;

  private readonly held: Held[] = [];
  private heldBytes = 0;
  private waitSince: number | null = null;
  private waitGeneration = -1;

  constructor(
    private readonly store: TlsKeyStore,
    private readonly limits: TlsDecryptorOptions,
    buffers: RecordBufferPool,
    private readonly callbacks: TlsDecryptorCallbacks,
  ) {
    this.client = new Side(this, 'client', limits, buffers);
    this.server = new Side(this, 'server', limits, buffers);
  }

  // ---- the decryptor's interface -----------------------------------------------------------------------

  push(direction: Direction, bytes: Uint8Array, tsMicros: number): void {
    if (this.closed || this.finished) return;
    const side = direction === 'c2s' ? this.client : this.server;
    this.now = tsMicros;
    this.retry(false);
    this.checkWait();
    if (this.finished || side.dead || bytes.length === 0) return;
    side.records.push(bytes);
  }

  gap(direction: Direction, length: number, tsMicros: number): void {
    if (this.closed || this.finished) return;
    this.now = tsMicros;
    this.retry(false);
    this.checkWait();
    if (this.finished) return;
    if (this.held.length > 0) {
      this.held.push({ kind: 'gap', direction: peerOf(direction), length, tsMicros });
      return;
    }
    this.applyGap(direction === 'c2s' ? this.client : this.server, length);
  }

  close(tsMicros: number): void {
    if (this.closed) return;
    this.closed = true;
    this.now = tsMicros;
    this.retry(false);
    if (this.finished) return;
    const verdict = this.verdictAtClose();
    this.finished = true;
    if (verdict !== null) {
      this.held.length = 0;
      this.heldBytes = 0;
      this.setStatus(verdict);
    }
    this.dropHandshakeState();
  }

  get status(): TlsDecryptionStatus {
    return this.current;
  }

  // ---- status ------------------------------------------------------------------------------------------

  private setStatus(next: TlsDecryptionStatus): void {
    this.current = next;
    this.callbacks.onStatus(next, this.now);
  }

  /** Ends reading with a final status. */
  private stop(next: TlsDecryptionStatus): void {
    // The first verdict stands: the rest of the chunk being read must not change it (any chunking, one result).
    if (this.finished) return;
    this.finished = true;
    this.held.length = 0;
    this.heldBytes = 0;
    if (this.current.kind !== 'decrypted' || next.kind === 'bad-key') this.setStatus(next);
    this.dropHandshakeState();
  }

  /** Nothing more will be read: what only served the handshake and the key lookups can go. */
  private dropHandshakeState(): void {
    this.transcript = null;
    this.clientRandom = null;
    this.clientSessionId = null;
    this.serverRandom = null;
    this.secrets = null;
    this.tls12Keys = null;
    this.rsaPrefix = null;
    this.rsaSessionHash = null;
  }

  streamBroken(side: Side, detail: string): void {
    if (this.finished || side.dead) return;
    side.dead = true;
    if (this.current.kind === 'decrypted') this.callbacks.onPlaintextGap(directionOf(side.peer), this.now);
    else this.stop({ kind: 'not-tls', detail: `${side.peer}: ${detail}` });
  }

  // ---- clear handshake ---------------------------------------------------------------------------------

  private keepTranscript(message: Uint8Array): void {
    const transcript = this.transcript;
    if (transcript === null) return;
    this.transcriptBytes += message.length;
    if (this.transcriptBytes > MAX_TRANSCRIPT_BYTES) {
      this.transcript = null;
      return;
    }
    transcript.push(message.slice());
  }

  onHandshake(side: Side, type: number, message: Uint8Array): void {
    if (this.finished) return;
    if (side.encrypted) {
      this.protectedHandshake(side, type);
      return;
    }
    const body = message.subarray(4);
    const fromClient = side.peer === 'client';
    if (fromClient && type === HANDSHAKE_TYPE.CLIENT_HELLO) {
      const hello = parseClientHello(body);
      if (hello === null) {
        this.stop({ kind: 'not-tls', detail: 'malformed ClientHello' });
        return;
      }
      if (!this.clientHelloSeen) {
        this.clientHelloSeen = true;
        this.clientRandom = hello.random;
        this.clientSessionId = hello.sessionId;
        this.clientEarlyData = hello.earlyData;
        this.clientEncryptThenMac = hello.encryptThenMac;
        this.clientExtendedMasterSecret = hello.extendedMasterSecret;
        this.callbacks.onHello(clientHelloFacts(hello), this.now);
      }
      this.keepTranscript(message);
      return;
    }
    if (!this.clientHelloSeen) {
      this.stop({
        kind: 'incomplete',
        detail: 'the ClientHello was not seen (TLS started before the capture)',
      });
      return;
    }
    if (!fromClient && type === HANDSHAKE_TYPE.SERVER_HELLO) {
      const hello = parseServerHello(body);
      if (hello === null) {
        this.stop({ kind: 'not-tls', detail: 'malformed ServerHello' });
        return;
      }
      this.keepTranscript(message);
      if (hello.helloRetryRequest) return; // the real ServerHello follows the second ClientHello
      this.serverHelloSeen = true;
      this.serverRandom = hello.random;
      this.serverExtendedMasterSecret = hello.extendedMasterSecret;
      this.callbacks.onHello(serverHelloFacts(hello), this.now);
      this.chooseSuite(hello);
      return;
    }
    this.keepTranscript(message);
    const suite = this.suite;
    if (fromClient && type === HANDSHAKE_TYPE.CLIENT_KEY_EXCHANGE && suite?.keyExchange === 'rsa') {
      // TLS: a 2-byte length, then the RSA-encrypted pre-master secret.
      if (body.length >= 10) this.rsaPrefix = body.slice(2, 10);
      if (this.transcript !== null && this.serverExtendedMasterSecret && this.clientExtendedMasterSecret)
        this.rsaSessionHash = sessionHash(suite.hash, this.transcript);
      this.transcript = null;
    }
  }

  private chooseSuite(hello: ServerHelloInfo): void {
    const version = hello.version;
    const offered = this.clientSessionId;
    this.clientSessionId = null;
    if (version !== TLS12 && version !== TLS13) {
      this.stop({ kind: 'unsupported', detail: `version ${tlsVersionName(version)}` });
      return;
    }
    const found = decryptableSuite(hello.cipherSuite);
    if (found === null || (found.version === 'TLS 1.3') !== (version === TLS13)) {
      this.stop({ kind: 'unsupported', detail: `cipher ${tlsCipherName(hello.cipherSuite)}` });
      return;
    }
    this.suite = found;
    if (version === TLS13) {
      this.resumed = hello.preSharedKey;
      this.transcript = null;
      this.serverRandom = null;
      this.client.encrypted = true;
      this.server.encrypted = true;
    } else {
      this.encryptThenMac =
        found.protection.kind === 'tls12-cbc' && hello.encryptThenMac && this.clientEncryptThenMac;
      if (offered !== null && offered.length > 0 && sameBytes(offered, hello.sessionId)) this.resumed = true;
      if (found.keyExchange !== 'rsa') this.transcript = null;
    }
  }

  // ---- keys --------------------------------------------------------------------------------------------

  /** The key store's entry for the client random, looked up again only when the store has grown. */
  private sessionSecrets(): TlsSessionSecrets | null {
    const random = this.clientRandom;
    if (random === null) return null;
    const generation = this.store.generation;
    if (this.secretsGeneration !== generation) {
      this.secrets = this.store.lookup(random);
      this.secretsGeneration = generation;
    }
    return this.secrets;
  }

  /** TLS 1.2 key block for both directions; null while the secret is unknown. */
  private tls12KeyBlock(): { client: RecordKeys; server: RecordKeys } | null {
    if (this.tls12Keys !== null) return this.tls12Keys;
    const suite = this.suite;
    const clientRandom = this.clientRandom;
    const serverRandom = this.serverRandom;
    if (clientRandom === null || serverRandom === null || suite === null) return null;
    let master = this.sessionSecrets()?.masterSecret ?? null;
    if (master === null && this.rsaPrefix !== null) {
      const preMaster = this.store.lookupRsa(this.rsaPrefix);
      if (preMaster !== null)
        master = masterSecretFromPreMaster(
          suite.hash,
          preMaster,
          clientRandom,
          serverRandom,
          this.rsaSessionHash,
        );
    }
    if (master === null) return null;
    const p = suite.protection;
    const macBytes = p.kind === 'tls12-cbc' ? hashLength(p.mac) : 0;
    const ivBytes = p.kind === 'tls12-gcm' ? 4 : p.kind === 'tls12-chacha' ? 12 : 16;
    const block = keyBlock(
      suite.hash,
      master,
      clientRandom,
      serverRandom,
      2 * (macBytes + p.keyBytes + ivBytes),
    );
    const keyAt = 2 * macBytes;
    const ivAt = keyAt + 2 * p.keyBytes;
    this.tls12Keys = {
      client: {
        key: block.slice(keyAt, keyAt + p.keyBytes),
        iv: block.slice(ivAt, ivAt + ivBytes),
        macKey: block.slice(0, macBytes),
      },
      server: {
        key: block.slice(keyAt + p.keyBytes, ivAt),
        iv: block.slice(ivAt + ivBytes, ivAt + 2 * ivBytes),
        macKey: block.slice(macBytes, 2 * macBytes),
      },
    };
    // The key block is all the key store and the hellos were needed for.
    this.secrets = null;
    this.rsaSessionHash = null;
    return this.tls12Keys;
  }

  /** The TLS 1.3 opener of a direction in its current phase; null while its secret is unknown. */
  private tls13Opener(side: Side): RecordOpener | null {
    if (side.opener !== null) return side.opener;
    const suite = this.suite;
    if (!this.clientHelloSeen || suite === null) return null;
    const hash = suite.hash;
    const fromClient = side.peer === 'client';
    let secret: Uint8Array | null;
    if (side.phase === 'handshake') {
      const secrets = this.sessionSecrets();
      secret =
        (fromClient ? secrets?.clientHandshakeTrafficSecret : secrets?.serverHandshakeTrafficSecret) ?? null;
    } else {
      secret = side.appSecret;
      if (secret === null) {
        const secrets = this.sessionSecrets();
        secret = (fromClient ? secrets?.clientTrafficSecret0 : secrets?.serverTrafficSecret0) ?? null;
      }
      if (secret === null) return null;
      for (; side.pendingUpdates > 0; side.pendingUpdates--) secret = nextTrafficSecret(hash, secret);
      side.appSecret = secret;
      // Both directions have their application secrets: the key store is not asked again.
      if (this.client.appSecret !== null && this.server.appSecret !== null) {
        this.clientRandom = null;
        this.secrets = null;
      }
    }
    if (secret === null || secret.length !== hashLength(hash)) return null;
    const { key, iv } = trafficKeys(hash, secret, suite.protection.keyBytes);
    side.opener = createRecordOpener(suite.protection, { key, iv, macKey: NO_MAC_KEY }, false);
    return side.opener;
  }

  // ---- records -----------------------------------------------------------------------------------------

  onRecord(side: Side, type: number, version: number, body: Uint8Array): void {
    if (this.finished || side.dead) return;
    if (this.held.length > 0) {
      this.hold({
        kind: 'record',
        direction: side.peer,
        type,
        version,
        body: body.slice(),
        tsMicros: this.now,
      });
      return;
    }
    if (this.step(side, type, version, body) === 'wait') {
      if (this.limits.maxKeyWaitMs <= 0) {
        this.stop({ kind: 'no-key', detail: 'no key log line for this client random' });
        return;
      }
      this.waitSince = this.now;
      this.waitGeneration = this.store.generation;
      this.hold({
        kind: 'record',
        direction: side.peer,
        type,
        version,
        body: body.slice(),
        tsMicros: this.now,
      });
    }
  }

  private hold(entry: Held): void {
    this.held.push(entry);
    if (entry.kind === 'record') this.heldBytes += 5 + entry.body.length;
    if (this.heldBytes > this.limits.maxPendingBytes) {
      this.stop({
        kind: 'no-key',
        detail: `more than ${this.limits.maxPendingBytes} bytes of ciphertext held while waiting for the keys of this client random`,
      });
    }
  }

  /** Reads one record; 'wait' when its keys are not known yet (nothing has changed then). */
  private step(side: Side, type: number, version: number, body: Uint8Array): Step {
    const suite = this.suite;
    if (type === CONTENT_TYPE.CHANGE_CIPHER_SPEC) {
      if (suite === null || suite.version === 'TLS 1.3' || side.encrypted) return 'ok';
      const keys = this.tls12KeyBlock();
      if (keys === null) return 'wait';
      side.encrypted = true;
      side.opener = createRecordOpener(
        suite.protection,
        side.peer === 'client' ? keys.client : keys.server,
        this.encryptThenMac,
      );
      if (side.peer === 'server' && !this.client.encrypted) this.resumed = true;
      if (this.client.encrypted && this.server.encrypted) this.dropHandshakeState();
      return 'ok';
    }
    const tls13 = suite?.version === 'TLS 1.3';
    if (!side.encrypted || (tls13 && type !== CONTENT_TYPE.APPLICATION_DATA)) {
      this.clearRecord(side, type, body);
      return 'ok';
    }
    const opener = tls13 ? this.tls13Opener(side) : side.opener;
    if (opener === null) return 'wait';
    const result = opener.open(type, version, body);
    if (!result.ok) {
      if (side.afterGap) {
        // Keys may have changed inside the gap (a KeyUpdate, the Finished): this direction ends here.
        side.dead = true;
        this.callbacks.onPlaintextGap(directionOf(side.peer), this.now);
        return 'ok';
      }
      if (
        side.peer === 'client' &&
        tls13 &&
        side.phase === 'handshake' &&
        side.opened === 0 &&
        this.clientEarlyData &&
        this.skippedEarly < MAX_SKIPPED_EARLY_RECORDS
      ) {
        this.skippedEarly++;
        if (this.skippedEarly === 1) this.callbacks.onPlaintextGap('c2s', this.now);
        return 'ok';
      }
      const which = `${side.peer} record ${side.opened + 1} (${tls13 ? side.phase : 'after ChangeCipherSpec'})`;
      this.stop({
        kind: 'bad-key',
        detail:
          result.reason === 'auth'
            ? `${which} did not authenticate with the logged secret`
            : `${which} is too short or misaligned for ${suite?.name ?? 'its cipher'}`,
      });
      return 'ok';
    }
    this.opened(side, result.type, result.plaintext);
    return 'ok';
  }

  private opened(side: Side, type: number, plaintext: Uint8Array): void {
    side.opened++;
    const suite = this.suite;
    if (this.current.kind !== 'decrypted' && suite !== null) {
      this.setStatus({
        kind: 'decrypted',
        version: suite.version,
        cipher: suite.name,
        resumed: this.resumed,
      });
    }
    this.protectedContent(side, type, plaintext);
    this.applyKeyChange(side);
  }

  private currentOpener(side: Side): RecordOpener | null {
    return this.suite?.version === 'TLS 1.3' ? this.tls13Opener(side) : side.opener;
  }

  /** A record a gap damaged: its sequence number is used up. */
  damagedRecord(side: Side): void {
    if (this.finished) return;
    const opener = this.currentOpener(side);
    if (opener === null) side.dead = true;
    else opener.skipRecord();
  }

  /** After a gap lost the record boundaries: a plausible record, tried at the sequence numbers it may have. */
  candidate(side: Side, type: number, version: number, body: Uint8Array, lost: number): boolean {
    if (this.finished) return false;
    const opener = this.currentOpener(side);
    if (opener === null) return false;
    const ahead = Math.min(MAX_RESYNC_AHEAD, Math.ceil(lost / MIN_RECORD_BYTES) + 1);
    const result = opener.openAhead(type, version, body, ahead);
    if (!result.ok) return false;
    this.opened(side, result.type, result.plaintext);
    return true;
  }

  private clearRecord(side: Side, type: number, body: Uint8Array): void {
    if (type === CONTENT_TYPE.HANDSHAKE) {
      side.handshake.push(body);
    } else if (type === CONTENT_TYPE.ALERT) {
      if (body.length >= 2) side.alert = alertName(body[1] as number);
    } else if (type === CONTENT_TYPE.APPLICATION_DATA && side.peer === 'client' && !this.serverHelloSeen) {
      // Early data (0-RTT) sent before the ServerHello: not decrypted.
      if (this.skippedEarly++ === 0) this.callbacks.onPlaintextGap('c2s', this.now);
    }
  }

  private protectedContent(side: Side, type: number, plaintext: Uint8Array): void {
    if (type === CONTENT_TYPE.APPLICATION_DATA) {
      if (plaintext.length > 0) this.callbacks.onPlaintext(directionOf(side.peer), plaintext, this.now);
    } else if (type === CONTENT_TYPE.HANDSHAKE) {
      side.handshake.push(plaintext);
    }
    // Alerts (close_notify) and heartbeats carry nothing for the dialogue.
  }

  private protectedHandshake(side: Side, type: number): void {
    if (this.suite?.version !== 'TLS 1.3') return;
    if (type === HANDSHAKE_TYPE.FINISHED && side.phase === 'handshake')
      side.switchAfterRecord = 'application';
    else if (type === HANDSHAKE_TYPE.KEY_UPDATE && side.phase === 'application')
      side.switchAfterRecord = 'update';
  }

  private applyKeyChange(side: Side): void {
    const change = side.switchAfterRecord;
    const suite = this.suite;
    if (change === null || suite === null) return;
    side.switchAfterRecord = null;
    side.opener = null;
    if (change === 'application') {
      side.phase = 'application';
      side.appSecret = null;
      side.pendingUpdates = 0;
    } else if (side.appSecret !== null) {
      side.appSecret = nextTrafficSecret(suite.hash, side.appSecret);
    } else {
      side.pendingUpdates++;
    }
  }

  // ---- waiting for keys --------------------------------------------------------------------------------

  private retry(force: boolean): void {
    const held = this.held;
    if (held.length === 0 || this.finished) return;
    if (!force && this.store.generation === this.waitGeneration) return;
    this.waitGeneration = this.store.generation;
    const saved = this.now;
    while (held.length > 0 && !this.finished) {
      const entry = held[0] as Held;
      const side = entry.direction === 'client' ? this.client : this.server;
      this.now = entry.tsMicros;
      if (entry.kind === 'gap') {
        held.shift();
        this.applyGap(side, entry.length);
        continue;
      }
      if (side.dead) {
        held.shift();
        this.heldBytes -= 5 + entry.body.length;
        continue;
      }
      if (this.step(side, entry.type, entry.version, entry.body) === 'wait') break;
      held.shift();
      this.heldBytes -= 5 + entry.body.length;
    }
    this.now = saved;
    if (held.length === 0) this.waitSince = null;
  }

  private checkWait(): void {
    if (this.held.length === 0 || this.finished || this.waitSince === null) return;
    if (this.now - this.waitSince > this.limits.maxKeyWaitMs * 1000) {
      this.stop({
        kind: 'no-key',
        detail: `no key log line for this client random within ${this.limits.maxKeyWaitMs} ms of packet time`,
      });
    }
  }

  private applyGap(side: Side, length: number): void {
    if (side.dead) return;
    const direction = directionOf(side.peer);
    if (side.encrypted && side.opened > 0 && this.suite !== null) {
      // Decrypting already: skip the gap and carry on (resynchronising when record boundaries were lost).
      side.afterGap = true;
      side.resetHandshake();
      side.switchAfterRecord = null;
      this.callbacks.onPlaintextGap(direction, this.now);
      side.records.skip(length);
      return;
    }
    side.dead = true;
    if (this.current.kind === 'decrypted') this.callbacks.onPlaintextGap(direction, this.now);
    else if (!(side.encrypted && this.suite !== null)) {
      this.stop({ kind: 'incomplete', detail: `a capture gap in the ${side.peer}'s handshake` });
    } else {
      // Keys are set up but nothing was opened yet: the other direction may still decrypt.
      this.callbacks.onPlaintextGap(direction, this.now);
    }
  }

  private verdictAtClose(): TlsDecryptionStatus | null {
    if (this.held.length > 0) {
      return {
        kind: 'no-key',
        detail: !this.clientHelloSeen
          ? 'no ClientHello'
          : 'no key log line for this client random by the end of the capture',
      };
    }
    if (this.current.kind !== 'pending') return null;
    if (!this.clientHelloSeen)
      return { kind: 'incomplete', detail: 'no ClientHello before the end of the connection' };
    const alert = this.server.alert ?? this.client.alert;
    if (!this.serverHelloSeen) {
      return {
        kind: 'incomplete',
        detail:
          alert === null
            ? 'no ServerHello before the end of the connection'
            : `handshake ended by alert ${alert}`,
      };
    }
    const client = this.client;
    const server = this.server;
    const wasEncrypted = (client.encrypted && client.opened > 0) || (server.encrypted && server.opened > 0);
    if (!wasEncrypted) {
      return {
        kind: 'incomplete',
        detail:
          alert === null
            ? 'the handshake did not reach its encrypted part'
            : `handshake ended by alert ${alert}`,
      };
    }
    return null;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
