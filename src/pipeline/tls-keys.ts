/**
 * The I/O side of TLS decryption: builds the key store of one analysis from the `--tls-keylog` files (read at
 * the start, and for a live capture followed while the MTA appends to them) and from the pcapng Decryption
 * Secrets Blocks of its inputs, and the decryptor factory the SMTP decoder is handed. Key material goes from
 * the files into the store and nowhere else: errors name the file and the system error, never a line.
 *
 * Following polls each file every {@link KEYLOG_FOLLOW_INTERVAL_MS} and reads at most
 * {@link KEYLOG_FOLLOW_READ_BYTES} per file per poll; a file that shrank (rotated, truncated) is read again
 * from its start. Waiting decryptors look again on their next packet (the store's generation moved).
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import type { SourceWarning } from '../capture/types.js';
import { createTlsDecryptorFactory } from '../tls/decryptor.js';
import { createTlsKeyStore, MAX_KEYLOG_PROBLEMS_KEPT, type MutableTlsKeyStore } from '../tls/key-store.js';
import { createKeyLogParser, type KeyLogParser } from '../tls/keylog-parser.js';
import { DEFAULT_TLS_DECRYPTOR_OPTIONS } from '../tls/options.js';
import type { TlsDecryptor, TlsDecryptorFactory, TlsDecryptorOptions, TlsKeyStore } from '../tls/types.js';

export interface TlsAnalyzerConfig {
  /** NSS key log files (SSLKEYLOGFILE format). */
  readonly keyLogFiles: readonly string[];
  /** Keep reading lines appended to the files while the analysis runs (live capture). */
  readonly follow: boolean;
  /** Decryptor limits; by default keys are awaited (maxKeyWaitMs) only when following. */
  readonly decryptor?: Partial<TlsDecryptorOptions>;
}

/** pcapng Decryption Secrets Block type of an NSS key log ("TLSK"). */
export const PCAPNG_TLS_KEYLOG_SECRETS = 0x544c534b;
export const KEYLOG_FOLLOW_INTERVAL_MS = 500;
export const KEYLOG_FOLLOW_READ_BYTES = 1_048_576;

/**
 * The keys of one input: the key log files' and the input's own secrets blocks. A capture's secrets serve that
 * capture only, so the result of each input does not depend on the other inputs, their order or the threads.
 */
export interface TlsInputKeys {
  /** This input's own secrets (the key log files' are looked up after them). */
  readonly store: MutableTlsKeyStore;
  readonly factory: TlsDecryptorFactory;
  /** Key material is known: key log files were given, or this capture carried secrets. */
  active(): boolean;
  /** The pcapng secrets callback of this input. */
  readonly onSecrets: (secretsType: number, data: Uint8Array) => void;
  /** Malformed lines of this input's secrets blocks found since the last call, as warnings. */
  takeWarnings(): { readonly source: string; readonly warning: SourceWarning }[];
}

export interface TlsKeys {
  /** The key log files' secrets. */
  readonly store: MutableTlsKeyStore;
  /** The keys of one input (`source` names it in malformed-line reports). */
  forInput(source: string): TlsInputKeys;
  /** Reads the key log files (rejects when one cannot be read); starts following them if asked. */
  start(): Promise<void>;
  /** Stops following and closes the files. */
  stop(): Promise<void>;
}

/** What a connection gets when no key material is known: it reports nothing (no status, no plaintext). */
const INERT_DECRYPTOR: TlsDecryptor = Object.freeze({
  push(): void {},
  gap(): void {},
  close(): void {},
  status: { kind: 'pending' } as const,
});

/** Looks in `first`, then in `second`; its generation moves when either grows. */
function layeredStore(first: TlsKeyStore, second: TlsKeyStore): TlsKeyStore {
  return {
    lookup: (random) => first.lookup(random) ?? second.lookup(random),
    lookupRsa: (prefix) => first.lookupRsa(prefix) ?? second.lookupRsa(prefix),
    get generation() {
      return first.generation + second.generation;
    },
    get size() {
      return first.size + second.size;
    },
  };
}

interface Followed {
  readonly path: string;
  handle: FileHandle | null;
  offset: number;
  parser: KeyLogParser;
}

export function createTlsKeys(config: TlsAnalyzerConfig | undefined): TlsKeys {
  const store = createTlsKeyStore();
  const follow = config?.follow === true;
  const decryptorOptions = {
    maxKeyWaitMs: follow ? DEFAULT_TLS_DECRYPTOR_OPTIONS.maxKeyWaitMs : 0,
    ...config?.decryptor,
  };
  const files: Followed[] = [];
  let timer: ReturnType<typeof setInterval> | null = null;
  let polling = false;
  const buffer = new Uint8Array(KEYLOG_FOLLOW_READ_BYTES);

  /** Reads what the file has past `offset`, up to `limit` bytes; false at its end. */
  async function readMore(file: Followed, limit: number): Promise<boolean> {
    const handle = file.handle;
    if (handle === null) return false;
    const size = (await handle.stat()).size;
    if (size < file.offset) {
      file.parser.end();
      file.parser = store.parser(file.path);
      file.offset = 0;
    }
    let read = 0;
    while (read < limit) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, limit - read), file.offset);
      if (bytesRead === 0) return false;
      file.offset += bytesRead;
      read += bytesRead;
      file.parser.push(buffer.subarray(0, bytesRead));
    }
    return true;
  }

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      for (const file of files) await readMore(file, KEYLOG_FOLLOW_READ_BYTES).catch(() => false);
    } finally {
      polling = false;
    }
  }

  return {
    store,
    forInput(source: string): TlsInputKeys {
      const own = createTlsKeyStore();
      let blocks = 0;
      let reported = 0;
      const active = (): boolean => (config?.keyLogFiles.length ?? 0) > 0 || own.counts().entries > 0;
      const real = createTlsDecryptorFactory(layeredStore(own, store), decryptorOptions);
      return {
        store: own,
        // Decided when each connection's TLS starts: with no key material known then, nothing is tried.
        factory: { create: (flow, callbacks) => (active() ? real.create(flow, callbacks) : INERT_DECRYPTOR) },
        active,
        onSecrets(secretsType: number, data: Uint8Array): void {
          if (secretsType !== PCAPNG_TLS_KEYLOG_SECRETS) return;
          blocks++;
          own.addKeyLog(`${source} (decryption secrets block ${blocks})`, data);
        },
        takeWarnings() {
          const problems = own.problems().slice(reported);
          reported += problems.length;
          return problems.map((p) => ({ source: p.source, warning: keyLogWarning(p.line, p.reason) }));
        },
      };
    },
    async start(): Promise<void> {
      for (const path of config?.keyLogFiles ?? []) {
        const file: Followed = { path, handle: await open(path, 'r'), offset: 0, parser: store.parser(path) };
        files.push(file);
        while (await readMore(file, Number.POSITIVE_INFINITY)) {}
        if (!follow) {
          file.parser.end();
          await file.handle?.close();
          file.handle = null;
        }
      }
      if (follow && files.length > 0)
        timer = setInterval(() => void poll(), KEYLOG_FOLLOW_INTERVAL_MS).unref();
    },
    async stop(): Promise<void> {
      if (timer !== null) clearInterval(timer);
      timer = null;
      for (const file of files) {
        if (file.handle !== null) {
          await readMore(file, KEYLOG_FOLLOW_READ_BYTES).catch(() => false);
          file.parser.end();
          await file.handle.close().catch(() => undefined);
          file.handle = null;
        }
      }
    },
  };
}

function keyLogWarning(line: number, reason: string): SourceWarning {
  return {
    code: 'tls-keylog',
    byteOffset: null,
    packetsBefore: null,
    message: `TLS key log line ${line} ignored: ${reason}`,
  };
}

/**
 * Reads the key log files once, parsing them as the analysis will, and returns their malformed lines (for the
 * command line to report once, whatever the number of threads). Only the parser runs: no secret is kept.
 * Throws the system error when a file cannot be read.
 */
export function checkKeyLogFiles(
  paths: readonly string[],
): { readonly source: string; readonly message: string }[] {
  const out: { source: string; message: string }[] = [];
  const chunk = new Uint8Array(KEYLOG_FOLLOW_READ_BYTES);
  for (const path of paths) {
    let entries = 0;
    let malformed = 0;
    const parser = createKeyLogParser({
      onEntry() {
        entries++;
      },
      onMalformed(problem) {
        malformed++;
        if (malformed <= MAX_KEYLOG_PROBLEMS_KEPT)
          out.push({ source: path, message: keyLogWarning(problem.line, problem.reason).message });
      },
    });
    const fd = openSync(path, 'r');
    try {
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) break;
        parser.push(chunk.subarray(0, n));
      }
    } finally {
      closeSync(fd);
    }
    parser.end();
    if (malformed > MAX_KEYLOG_PROBLEMS_KEPT)
      out.push({
        source: path,
        message: `${malformed - MAX_KEYLOG_PROBLEMS_KEPT} more malformed TLS key log lines`,
      });
    if (entries === 0) out.push({ source: path, message: 'no usable TLS key log line' });
  }
  return out;
}
