/**
 * The key store: key log secrets indexed by ClientHello random in a Map (any order, any number of files, lines
 * added while a capture runs). `generation` moves on every addition so that a decryptor waiting for keys knows
 * when to look again. Bounded: past `maxSessions` client randoms the oldest is forgotten (counted).
 */

import {
  createKeyLogParser,
  type KeyLogEntry,
  type KeyLogParser,
  type KeyLogProblem,
} from './keylog-parser.js';
import type { TlsKeyStore, TlsSessionSecrets } from './types.js';

export interface TlsKeyStoreOptions {
  /** Client randoms kept; the oldest is dropped beyond this (default {@link DEFAULT_MAX_KEY_SESSIONS}). */
  readonly maxSessions?: number;
  /** Longest key log line (see keylog-parser). */
  readonly maxLineBytes?: number;
}

/** Bounds the store at some hundreds of megabytes in the worst case (about 400 bytes per session). */
export const DEFAULT_MAX_KEY_SESSIONS = 1_000_000;
/** Malformed-line reports kept for the summary; later ones are only counted. */
export const MAX_KEYLOG_PROBLEMS_KEPT = 100;

export interface KeyStoreCounts {
  /** Usable lines added. */
  readonly entries: number;
  /** Lines known and not needed (EXPORTER_SECRET...). */
  readonly ignored: number;
  readonly malformed: number;
  /** Client randoms forgotten because of `maxSessions`. */
  readonly evicted: number;
}

export interface MutableTlsKeyStore extends TlsKeyStore {
  /** Adds one parsed key log line. */
  add(entry: KeyLogEntry): void;
  /** A parser of key log text feeding this store (one per file or block: line numbers are its own). */
  parser(source: string): KeyLogParser;
  /** Parses a whole key log text at once (a pcapng Decryption Secrets Block, a file read in one go). */
  addKeyLog(source: string, text: string | Uint8Array): void;
  counts(): KeyStoreCounts;
  /** The first malformed lines, by source and line number (never their content). */
  problems(): readonly (KeyLogProblem & { readonly source: string })[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The map key of a client random (or RSA prefix): one character per byte, made in one call. (Not through a
 * Buffer over `bytes.buffer`: reading `buffer` of a small typed array moves its bytes off the heap first.)
 */
function bytesKey(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

export function createTlsKeyStore(options: TlsKeyStoreOptions = {}): MutableTlsKeyStore {
  const maxSessions = Math.max(1, options.maxSessions ?? DEFAULT_MAX_KEY_SESSIONS);
  const sessions = new Map<string, Mutable<TlsSessionSecrets>>();
  const rsa = new Map<string, Uint8Array>();
  let generation = 0;
  let entries = 0;
  let ignored = 0;
  let malformed = 0;
  let evicted = 0;
  const problems: (KeyLogProblem & { source: string })[] = [];

  function add(entry: KeyLogEntry): void {
    const key = bytesKey(entry.id);
    entries++;
    generation++;
    if (entry.label === 'RSA') {
      if (!rsa.has(key) && rsa.size >= maxSessions) {
        const oldest = rsa.keys().next().value;
        if (oldest !== undefined) rsa.delete(oldest);
        evicted++;
      }
      rsa.set(key, entry.secret);
      return;
    }
    let secrets = sessions.get(key);
    if (secrets === undefined) {
      if (sessions.size >= maxSessions) {
        const oldest = sessions.keys().next().value;
        if (oldest !== undefined) sessions.delete(oldest);
        evicted++;
      }
      secrets = {};
      sessions.set(key, secrets);
    }
    switch (entry.label) {
      case 'CLIENT_RANDOM':
        secrets.masterSecret = entry.secret;
        break;
      case 'CLIENT_HANDSHAKE_TRAFFIC_SECRET':
        secrets.clientHandshakeTrafficSecret = entry.secret;
        break;
      case 'SERVER_HANDSHAKE_TRAFFIC_SECRET':
        secrets.serverHandshakeTrafficSecret = entry.secret;
        break;
      case 'CLIENT_TRAFFIC_SECRET_0':
        secrets.clientTrafficSecret0 = entry.secret;
        break;
      case 'SERVER_TRAFFIC_SECRET_0':
        secrets.serverTrafficSecret0 = entry.secret;
        break;
    }
  }

  function parser(source: string): KeyLogParser {
    return createKeyLogParser({
      onEntry: add,
      onMalformed(problem) {
        malformed++;
        if (problems.length < MAX_KEYLOG_PROBLEMS_KEPT) problems.push({ ...problem, source });
      },
      onIgnored() {
        ignored++;
      },
      ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    });
  }

  return {
    lookup(clientRandom: Uint8Array): TlsSessionSecrets | null {
      // An input's own store is usually empty (no secrets block): no key to make then.
      return sessions.size === 0 ? null : (sessions.get(bytesKey(clientRandom)) ?? null);
    },
    lookupRsa(prefix: Uint8Array): Uint8Array | null {
      return rsa.size === 0 ? null : (rsa.get(bytesKey(prefix.subarray(0, 8))) ?? null);
    },
    get generation(): number {
      return generation;
    },
    get size(): number {
      return sessions.size;
    },
    add,
    parser,
    addKeyLog(source: string, text: string | Uint8Array): void {
      const p = parser(source);
      p.push(text);
      p.end();
    },
    counts(): KeyStoreCounts {
      return { entries, ignored, malformed, evicted };
    },
    problems() {
      return problems;
    },
  };
}
