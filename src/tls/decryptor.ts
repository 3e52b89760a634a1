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
import { createHandshakeReader, HANDSHAKE_TYPE, type HandshakeReader } from './handshake-reader.js';
import {
  type ClientHelloInfo,
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
} from './record-reader.js';
import type {
  TlsDecryptionStatus,
  TlsDecryptor,
  TlsDecryptorCallbacks,
  TlsDecryptorFactory,
  TlsDecryptorOptions,
  TlsKeyStore,
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

const PEERS: readonly Peer[] = ['client', 'server'];

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

/** Per direction state. */
interface Side {
  readonly records: RecordReader;
  handshake: HandshakeReader;
  /** A capture gap was skipped in this direction: a record that fails to open ends it, not the session. */
  afterGap: boolean;
  /** Protected records from now on (TLS 1.2: after ChangeCipherSpec; TLS 1.3: after the ServerHello). */
  encrypted: boolean;
  opener: RecordOpener | null;
  /** TLS 1.3 key phase. */
  phase: 'handshake' | 'application';
  /** TLS 1.3 application traffic secret in use, once derived. */
  appSecret: Uint8Array | null;
  /** KeyUpdates seen whose secret is not derived yet (the base secret was not known then). */
  pendingUpdates: number;
  /** Set while a record is read: key change to apply after it. */
  switchAfterRecord: 'application' | 'update' | null;
  /** No more records can be read (gap, bad header). */
  dead: boolean;
  /** Records opened. */
  opened: number;
  /** A clear alert seen in this direction before encryption. */
  alert: string | null;
}

type Step = 'ok' | 'wait';

export function createTlsDecryptorFactory(
  store: TlsKeyStore,
  options?: Partial<TlsDecryptorOptions>,
): TlsDecryptorFactory {
  const limits = resolveTlsDecryptorOptions(options);
  // The connections of this factory assemble their records cut by chunk boundaries in shared buffers.
  const buffers = createRecordBufferPool(limits.maxRecordBytes);
  return {
    create(_flow: FlowKey, callbacks: TlsDecryptorCallbacks): TlsDecryptor {
      return createConnection(store, limits, buffers, callbacks);
    },
  };
}

function createConnection(
  store: TlsKeyStore,
  limits: TlsDecryptorOptions,
  buffers: RecordBufferPool,
  callbacks: TlsDecryptorCallbacks,
): TlsDecryptor {
  let status: TlsDecryptionStatus = { kind: 'pending' };
  /** A final verdict: nothing more is read. */
  let finished = false;
  let closed = false;
  let now = 0;

  let clientHello: ClientHelloInfo | null = null;
  let serverHello: ServerHelloInfo | null = null;
  let suite: CipherSuite | null = null;
  let resumed = false;
  let tls12Keys: { client: RecordKeys; server: RecordKeys } | null = null;
  let encryptThenMac = false;
  /** Clear handshake messages kept for the extended master secret (RSA key exchange with RSA lines). */
  let transcript: Uint8Array[] | null = [];
  let transcriptBytes = 0;
  /** TLS 1.2 RSA: first 8 bytes of the encrypted pre-master secret, and the session hash up to it. */
  let rsaPrefix: Uint8Array | null = null;
  let rsaSessionHash: Uint8Array | null = null;
  let skippedEarly = 0;

  const held: Held[] = [];
  let heldBytes = 0;
  let waitSince: number | null = null;
  let waitGeneration = -1;

  function setStatus(next: TlsDecryptionStatus): void {
    status = next;
    callbacks.onStatus(next, now);
  }

  /** Ends reading with a final status. */
  function stop(next: TlsDecryptionStatus): void {
    // The first verdict stands: the rest of the chunk being read must not change it (any chunking, one result).
    if (finished) return;
    finished = true;
    held.length = 0;
    heldBytes = 0;
    if (status.kind !== 'decrypted' || next.kind === 'bad-key') setStatus(next);
  }

  function handshakeReader(direction: Peer): HandshakeReader {
    return createHandshakeReader({
      maxMessageBytes: MAX_HANDSHAKE_MESSAGE_BYTES,
      onMessage: (type, message) => onHandshake(direction, type, message),
      onError: (detail) => streamBroken(direction, detail),
    });
  }

  function makeSide(direction: Peer): Side {
    const side: Side = {
      records: createRecordReader({
        maxRecordBytes: limits.maxRecordBytes,
        buffers,
        onRecord: (type, version, body) => onRecord(direction, type, version, body),
        onError: (detail) => streamBroken(direction, detail),
        onDamaged: () => damagedRecord(direction),
        onCandidate: (type, version, body, lost) => candidate(direction, type, version, body, lost),
      }),
      handshake: handshakeReader(direction),
      afterGap: false,
      encrypted: false,
      opener: null,
      phase: 'handshake',
      appSecret: null,
      pendingUpdates: 0,
      switchAfterRecord: null,
      dead: false,
      opened: 0,
      alert: null,
    };
    return side;
  }

  const sides: Record<Peer, Side> = { client: makeSide('client'), server: makeSide('server') };

  function streamBroken(direction: Peer, detail: string): void {
    const side = sides[direction];
    if (finished || side.dead) return;
    side.dead = true;
    if (status.kind === 'decrypted') callbacks.onPlaintextGap(directionOf(direction), now);
    else stop({ kind: 'not-tls', detail: `${direction}: ${detail}` });
  }

  // ---- clear handshake ---------------------------------------------------------------------------------

  function keepTranscript(message: Uint8Array): void {
    if (transcript === null) return;
    transcriptBytes += message.length;
    if (transcriptBytes > MAX_TRANSCRIPT_BYTES) {
      transcript = null;
      return;
    }
    transcript.push(message.slice());
  }

  function onHandshake(direction: Peer, type: number, message: Uint8Array): void {
    if (finished) return;
    const side = sides[direction];
    if (side.encrypted) {
      protectedHandshake(direction, type);
      return;
    }
    const body = message.subarray(4);
    if (direction === 'client' && type === HANDSHAKE_TYPE.CLIENT_HELLO) {
      const hello = parseClientHello(body);
      if (hello === null) {
        stop({ kind: 'not-tls', detail: 'malformed ClientHello' });
        return;
      }
      if (clientHello === null) {
        clientHello = hello;
        callbacks.onHello(clientHelloFacts(hello), now);
      }
      keepTranscript(message);
      return;
    }
    if (clientHello === null) {
      stop({ kind: 'incomplete', detail: 'the ClientHello was not seen (TLS started before the capture)' });
      return;
    }
    if (direction === 'server' && type === HANDSHAKE_TYPE.SERVER_HELLO) {
      const hello = parseServerHello(body);
      if (hello === null) {
        stop({ kind: 'not-tls', detail: 'malformed ServerHello' });
        return;
      }
      keepTranscript(message);
      if (hello.helloRetryRequest) return; // the real ServerHello follows the second ClientHello
      serverHello = hello;
      callbacks.onHello(serverHelloFacts(hello), now);
      chooseSuite(hello);
      return;
    }
    keepTranscript(message);
    if (
      direction === 'client' &&
      type === HANDSHAKE_TYPE.CLIENT_KEY_EXCHANGE &&
      suite?.keyExchange === 'rsa'
    ) {
      // TLS: a 2-byte length, then the RSA-encrypted pre-master secret.
      if (body.length >= 10) rsaPrefix = body.slice(2, 10);
      if (
        transcript !== null &&
        serverHello?.extendedMasterSecret === true &&
        clientHello.extendedMasterSecret
      )
        rsaSessionHash = sessionHash(suite.hash, transcript);
      transcript = null;
    }
  }

  function chooseSuite(hello: ServerHelloInfo): void {
    const version = hello.version;
    if (version !== TLS12 && version !== TLS13) {
      stop({ kind: 'unsupported', detail: `version ${tlsVersionName(version)}` });
      return;
    }
    const found = decryptableSuite(hello.cipherSuite);
    if (found === null || (found.version === 'TLS 1.3') !== (version === TLS13)) {
      stop({ kind: 'unsupported', detail: `cipher ${tlsCipherName(hello.cipherSuite)}` });
      return;
    }
    suite = found;
    if (version === TLS13) {
      resumed = hello.preSharedKey;
      transcript = null;
      sides.client.encrypted = true;
      sides.server.encrypted = true;
    } else {
      encryptThenMac =
        found.protection.kind === 'tls12-cbc' && hello.encryptThenMac && clientHello?.encryptThenMac === true;
      const offered = clientHello?.sessionId;
      if (offered !== undefined && offered.length > 0 && sameBytes(offered, hello.sessionId)) resumed = true;
      if (found.keyExchange !== 'rsa') transcript = null;
    }
  }

  // ---- keys --------------------------------------------------------------------------------------------

  /** TLS 1.2 key block for both directions; null while the secret is unknown. */
  function tls12KeyBlock(): { client: RecordKeys; server: RecordKeys } | null {
    if (tls12Keys !== null) return tls12Keys;
    if (clientHello === null || serverHello === null || suite === null) return null;
    let master = store.lookup(clientHello.random)?.masterSecret ?? null;
    if (master === null && rsaPrefix !== null) {
      const preMaster = store.lookupRsa(rsaPrefix);
      if (preMaster !== null)
        master = masterSecretFromPreMaster(
          suite.hash,
          preMaster,
          clientHello.random,
          serverHello.random,
          rsaSessionHash,
        );
    }
    if (master === null) return null;
    const p = suite.protection;
    const macBytes = p.kind === 'tls12-cbc' ? hashLength(p.mac) : 0;
    const ivBytes = p.kind === 'tls12-gcm' ? 4 : p.kind === 'tls12-chacha' ? 12 : 16;
    const block = keyBlock(
      suite.hash,
      master,
      clientHello.random,
      serverHello.random,
      2 * (macBytes + p.keyBytes + ivBytes),
    );
    let q = 0;
    const take = (n: number): Uint8Array => {
      const out = block.slice(q, q + n);
      q += n;
      return out;
    };
    const clientMac = take(macBytes);
    const serverMac = take(macBytes);
    const clientKey = take(p.keyBytes);
    const serverKey = take(p.keyBytes);
    const clientIv = take(ivBytes);
    const serverIv = take(ivBytes);
    tls12Keys = {
      client: { key: clientKey, iv: clientIv, macKey: clientMac },
      server: { key: serverKey, iv: serverIv, macKey: serverMac },
    };
    return tls12Keys;
  }

  /** The TLS 1.3 opener of a direction in its current phase; null while its secret is unknown. */
  function tls13Opener(direction: Peer): RecordOpener | null {
    const side = sides[direction];
    if (side.opener !== null) return side.opener;
    if (clientHello === null || suite === null) return null;
    const hash = suite.hash;
    let secret: Uint8Array | null;
    if (side.phase === 'handshake') {
      const secrets = store.lookup(clientHello.random);
      secret =
        (direction === 'client'
          ? secrets?.clientHandshakeTrafficSecret
          : secrets?.serverHandshakeTrafficSecret) ?? null;
    } else {
      secret = side.appSecret;
      if (secret === null) {
        const secrets = store.lookup(clientHello.random);
        secret =
          (direction === 'client' ? secrets?.clientTrafficSecret0 : secrets?.serverTrafficSecret0) ?? null;
      }
      if (secret === null) return null;
      for (; side.pendingUpdates > 0; side.pendingUpdates--) secret = nextTrafficSecret(hash, secret);
      side.appSecret = secret;
    }
    if (secret === null || secret.length !== hashLength(hash)) return null;
    const { key, iv } = trafficKeys(hash, secret, suite.protection.keyBytes);
    side.opener = createRecordOpener(suite.protection, { key, iv, macKey: new Uint8Array(0) }, false);
    return side.opener;
  }

  // ---- records -----------------------------------------------------------------------------------------

  function onRecord(direction: Peer, type: number, version: number, body: Uint8Array): void {
    if (finished || sides[direction].dead) return;
    if (held.length > 0) {
      hold({ kind: 'record', direction, type, version, body: body.slice(), tsMicros: now });
      return;
    }
    if (step(direction, type, version, body) === 'wait') {
      if (limits.maxKeyWaitMs <= 0) {
        stop({ kind: 'no-key', detail: 'no key log line for this client random' });
        return;
      }
      waitSince = now;
      waitGeneration = store.generation;
      hold({ kind: 'record', direction, type, version, body: body.slice(), tsMicros: now });
    }
  }

  function hold(entry: Held): void {
    held.push(entry);
    if (entry.kind === 'record') heldBytes += 5 + entry.body.length;
    if (heldBytes > limits.maxPendingBytes) {
      stop({
        kind: 'no-key',
        detail: `more than ${limits.maxPendingBytes} bytes of ciphertext held while waiting for the keys of this client random`,
      });
    }
  }

  /** Reads one record; 'wait' when its keys are not known yet (nothing has changed then). */
  function step(direction: Peer, type: number, version: number, body: Uint8Array): Step {
    const side = sides[direction];
    if (type === CONTENT_TYPE.CHANGE_CIPHER_SPEC) {
      if (suite === null || suite.version === 'TLS 1.3' || side.encrypted) return 'ok';
      const keys = tls12KeyBlock();
      if (keys === null) return 'wait';
      side.encrypted = true;
      side.opener = createRecordOpener(suite.protection, keys[direction], encryptThenMac);
      if (direction === 'server' && !sides.client.encrypted) resumed = true;
      return 'ok';
    }
    if (!side.encrypted || (suite?.version === 'TLS 1.3' && type !== CONTENT_TYPE.APPLICATION_DATA)) {
      clearRecord(direction, type, body);
      return 'ok';
    }
    const opener = suite?.version === 'TLS 1.3' ? tls13Opener(direction) : side.opener;
    if (opener === null) return 'wait';
    const result = opener.open(type, version, body);
    if (!result.ok) {
      if (side.afterGap) {
        // Keys may have changed inside the gap (a KeyUpdate, the Finished): this direction ends here.
        side.dead = true;
        callbacks.onPlaintextGap(directionOf(direction), now);
        return 'ok';
      }
      if (
        direction === 'client' &&
        suite?.version === 'TLS 1.3' &&
        side.phase === 'handshake' &&
        side.opened === 0 &&
        clientHello?.earlyData === true &&
        skippedEarly < MAX_SKIPPED_EARLY_RECORDS
      ) {
        skippedEarly++;
        if (skippedEarly === 1) callbacks.onPlaintextGap('c2s', now);
        return 'ok';
      }
      const which = `${direction} record ${side.opened + 1} (${suite?.version === 'TLS 1.3' ? side.phase : 'after ChangeCipherSpec'})`;
      stop({
        kind: 'bad-key',
        detail:
          result.reason === 'auth'
            ? `${which} did not authenticate with the logged secret`
            : `${which} is too short or misaligned for ${suite?.name ?? 'its cipher'}`,
      });
      return 'ok';
    }
    opened(direction, result.type, result.plaintext);
    return 'ok';
  }

  function opened(direction: Peer, type: number, plaintext: Uint8Array): void {
    const side = sides[direction];
    side.opened++;
    if (status.kind !== 'decrypted' && suite !== null) {
      setStatus({ kind: 'decrypted', version: suite.version, cipher: suite.name, resumed });
    }
    protectedContent(direction, type, plaintext);
    applyKeyChange(side);
  }

  function currentOpener(direction: Peer): RecordOpener | null {
    return suite?.version === 'TLS 1.3' ? tls13Opener(direction) : sides[direction].opener;
  }

  /** A record a gap damaged: its sequence number is used up. */
  function damagedRecord(direction: Peer): void {
    if (finished) return;
    const opener = currentOpener(direction);
    if (opener === null) sides[direction].dead = true;
    else opener.skipRecord();
  }

  /** After a gap lost the record boundaries: a plausible record, tried at the sequence numbers it may have. */
  function candidate(
    direction: Peer,
    type: number,
    version: number,
    body: Uint8Array,
    lost: number,
  ): boolean {
    if (finished) return false;
    const opener = currentOpener(direction);
    if (opener === null) return false;
    const ahead = Math.min(MAX_RESYNC_AHEAD, Math.ceil(lost / MIN_RECORD_BYTES) + 1);
    const result = opener.openAhead(type, version, body, ahead);
    if (!result.ok) return false;
    opened(direction, result.type, result.plaintext);
    return true;
  }

  function clearRecord(direction: Peer, type: number, body: Uint8Array): void {
    const side = sides[direction];
    if (type === CONTENT_TYPE.HANDSHAKE) {
      side.handshake.push(body);
    } else if (type === CONTENT_TYPE.ALERT) {
      if (body.length >= 2) side.alert = alertName(body[1] as number);
    } else if (type === CONTENT_TYPE.APPLICATION_DATA && direction === 'client' && serverHello === null) {
      // Early data (0-RTT) sent before the ServerHello: not decrypted.
      if (skippedEarly++ === 0) callbacks.onPlaintextGap('c2s', now);
    }
  }

  function protectedContent(direction: Peer, type: number, plaintext: Uint8Array): void {
    if (type === CONTENT_TYPE.APPLICATION_DATA) {
      if (plaintext.length > 0) callbacks.onPlaintext(directionOf(direction), plaintext, now);
    } else if (type === CONTENT_TYPE.HANDSHAKE) {
      sides[direction].handshake.push(plaintext);
    }
    // Alerts (close_notify) and heartbeats carry nothing for the dialogue.
  }

  function protectedHandshake(direction: Peer, type: number): void {
    if (suite?.version !== 'TLS 1.3') return;
    const side = sides[direction];
    if (type === HANDSHAKE_TYPE.FINISHED && side.phase === 'handshake')
      side.switchAfterRecord = 'application';
    else if (type === HANDSHAKE_TYPE.KEY_UPDATE && side.phase === 'application')
      side.switchAfterRecord = 'update';
  }

  function applyKeyChange(side: Side): void {
    const change = side.switchAfterRecord;
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

  function retry(force: boolean): void {
    if (held.length === 0 || finished) return;
    if (!force && store.generation === waitGeneration) return;
    waitGeneration = store.generation;
    const saved = now;
    while (held.length > 0 && !finished) {
      const entry = held[0] as Held;
      now = entry.tsMicros;
      if (entry.kind === 'gap') {
        held.shift();
        applyGap(entry.direction, entry.length);
        continue;
      }
      if (sides[entry.direction].dead) {
        held.shift();
        heldBytes -= 5 + entry.body.length;
        continue;
      }
      if (step(entry.direction, entry.type, entry.version, entry.body) === 'wait') break;
      held.shift();
      heldBytes -= 5 + entry.body.length;
    }
    now = saved;
    if (held.length === 0) waitSince = null;
  }

  function checkWait(): void {
    if (held.length === 0 || finished || waitSince === null) return;
    if (now - waitSince > limits.maxKeyWaitMs * 1000) {
      stop({
        kind: 'no-key',
        detail: `no key log line for this client random within ${limits.maxKeyWaitMs} ms of packet time`,
      });
    }
  }

  function applyGap(direction: Peer, length: number): void {
    const side = sides[direction];
    if (side.dead) return;
    if (side.encrypted && side.opened > 0 && suite !== null) {
      // Decrypting already: skip the gap and carry on (resynchronising when record boundaries were lost).
      side.afterGap = true;
      side.handshake = handshakeReader(direction);
      side.switchAfterRecord = null;
      callbacks.onPlaintextGap(directionOf(direction), now);
      side.records.skip(length);
      return;
    }
    side.dead = true;
    if (status.kind === 'decrypted') callbacks.onPlaintextGap(directionOf(direction), now);
    else if (!(side.encrypted && suite !== null)) {
      stop({ kind: 'incomplete', detail: `a capture gap in the ${direction}'s handshake` });
    } else {
      // Keys are set up but nothing was opened yet: the other direction may still decrypt.
      callbacks.onPlaintextGap(directionOf(direction), now);
    }
  }

  function verdictAtClose(): TlsDecryptionStatus | null {
    if (held.length > 0) {
      return {
        kind: 'no-key',
        detail:
          clientHello === null
            ? 'no ClientHello'
            : 'no key log line for this client random by the end of the capture',
      };
    }
    if (status.kind !== 'pending') return null;
    if (clientHello === null)
      return { kind: 'incomplete', detail: 'no ClientHello before the end of the connection' };
    if (serverHello === null) {
      const alert = sides.server.alert ?? sides.client.alert;
      return {
        kind: 'incomplete',
        detail:
          alert === null
            ? 'no ServerHello before the end of the connection'
            : `handshake ended by alert ${alert}`,
      };
    }
    const wasEncrypted = PEERS.some((d) => sides[d].encrypted && sides[d].opened > 0);
    if (!wasEncrypted) {
      const alert = sides.server.alert ?? sides.client.alert;
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

  return {
    push(direction: Direction, bytes: Uint8Array, tsMicros: number): void {
      if (closed || finished) return;
      const peer = peerOf(direction);
      now = tsMicros;
      retry(false);
      checkWait();
      if (finished || sides[peer].dead || bytes.length === 0) return;
      sides[peer].records.push(bytes);
    },
    gap(direction: Direction, length: number, tsMicros: number): void {
      if (closed || finished) return;
      now = tsMicros;
      retry(false);
      checkWait();
      if (finished) return;
      if (held.length > 0) {
        held.push({ kind: 'gap', direction: peerOf(direction), length, tsMicros });
        return;
      }
      applyGap(peerOf(direction), length);
    },
    close(tsMicros: number): void {
      if (closed) return;
      closed = true;
      now = tsMicros;
      retry(false);
      if (finished) return;
      const verdict = verdictAtClose();
      finished = true;
      if (verdict !== null) {
        held.length = 0;
        heldBytes = 0;
        setStatus(verdict);
      }
    },
    get status(): TlsDecryptionStatus {
      return status;
    },
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
