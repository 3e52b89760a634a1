/**
 * A push parser of NSS key log text (the SSLKEYLOGFILE format that OpenSSL, NSS, Go, Node and Python write):
 * one `LABEL <client random hex> <secret hex>` per line, `#` comments, blank lines, LF or CRLF. Chunk-agnostic:
 * a line cut between two pushes parses as if it came whole. Lines longer than `maxLineBytes` are skipped up to
 * their end and counted.
 *
 * Malformed lines are reported with their line number and a reason that never quotes the secret (at most the
 * label, cut short and stripped to printable characters).
 */

export type KeyLogLabel =
  | 'CLIENT_RANDOM'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0'
  | 'RSA';

/** One usable key log line. `id` is the 32-byte client random, or for `RSA` the 8-byte encrypted pre-master prefix. */
export interface KeyLogEntry {
  readonly label: KeyLogLabel;
  readonly id: Uint8Array;
  readonly secret: Uint8Array;
}

export interface KeyLogProblem {
  /** 1-based line number in the text fed to this parser. */
  readonly line: number;
  readonly reason: string;
}

export interface KeyLogParserOptions {
  onEntry(entry: KeyLogEntry): void;
  onMalformed(problem: KeyLogProblem): void;
  /** Lines known and deliberately unused (EXPORTER_SECRET, CLIENT_EARLY_TRAFFIC_SECRET...). */
  onIgnored?(label: string): void;
  /** Longest line accepted, in characters (default {@link DEFAULT_MAX_KEYLOG_LINE}). */
  readonly maxLineBytes?: number;
}

export interface KeyLogParser {
  push(chunk: string | Uint8Array): void;
  /** The end of the text: a last line without a newline is parsed now. */
  end(): void;
  /** Lines seen so far. */
  readonly lines: number;
}

/** The longest real line is `CLIENT_RANDOM` or a SHA-384 traffic secret line: about 200 characters. */
export const DEFAULT_MAX_KEYLOG_LINE = 1024;

/** Secret lengths accepted per label (bytes). */
const SECRET_BYTES: Readonly<Record<KeyLogLabel, readonly number[]>> = {
  CLIENT_RANDOM: [48],
  CLIENT_HANDSHAKE_TRAFFIC_SECRET: [32, 48],
  SERVER_HANDSHAKE_TRAFFIC_SECRET: [32, 48],
  CLIENT_TRAFFIC_SECRET_0: [32, 48],
  SERVER_TRAFFIC_SECRET_0: [32, 48],
  RSA: [48],
};

const IGNORED = new Set([
  'EXPORTER_SECRET',
  'EARLY_EXPORTER_SECRET',
  'CLIENT_EARLY_TRAFFIC_SECRET',
  'EARLY_EXPORTER_MASTER_SECRET',
]);

const LATER_TRAFFIC_SECRET = /^(CLIENT|SERVER)_TRAFFIC_SECRET_([1-9][0-9]*|N)$/;

/**
 * The bytes of a hex string, or null when it is not an even number of hex digits. Decoded by Buffer's native
 * hex decoder, which stops at the first pair that is not two hex digits: a shorter result means a bad digit.
 * The result is copied out of Buffer's shared pool into its own array.
 */
function fromHex(text: string): Uint8Array | null {
  if (text.length % 2 !== 0) return null;
  const decoded = Buffer.from(text, 'hex');
  if (decoded.length * 2 !== text.length) return null;
  const out = new Uint8Array(decoded.length);
  out.set(decoded);
  return out;
}

/**
 * A label as it may appear in a reason: only a short upper-case word without a run of hex digits. A line whose
 * fields ran together (a lost space) starts with key material, which is never shown.
 */
function safeLabel(label: string): string {
  if (label.length <= 40 && /^[A-Z][A-Z0-9_]*$/.test(label) && !/[0-9A-F]{8}/.test(label)) return label;
  return '(not shown: it may hold key material)';
}

function isKnownLabel(label: string): label is KeyLogLabel {
  return Object.hasOwn(SECRET_BYTES, label);
}

export function createKeyLogParser(options: KeyLogParserOptions): KeyLogParser {
  const maxLine = options.maxLineBytes ?? DEFAULT_MAX_KEYLOG_LINE;
  let carry = '';
  /** Inside a line already found too long: skip to its end. */
  let skipping = false;
  let lineNumber = 0;

  function parseLine(raw: string): void {
    lineNumber++;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const fields = trimmed.split(/[ \t]+/);
    const label = fields[0] as string;
    // Later generations: OpenSSL 3.0 writes `CLIENT_TRAFFIC_SECRET_N` on KeyUpdate; they are derived instead.
    if (IGNORED.has(label) || LATER_TRAFFIC_SECRET.test(label)) {
      options.onIgnored?.(label);
      return;
    }
    if (!isKnownLabel(label)) {
      options.onMalformed({ line: lineNumber, reason: `unknown label ${safeLabel(label)}` });
      return;
    }
    if (fields.length !== 3) {
      options.onMalformed({ line: lineNumber, reason: `${label}: ${fields.length - 1} fields, expected 2` });
      return;
    }
    const id = fromHex(fields[1] as string);
    const idBytes = label === 'RSA' ? 8 : 32;
    if (id === null || id.length !== idBytes) {
      const what = label === 'RSA' ? 'encrypted pre-master prefix' : 'client random';
      options.onMalformed({ line: lineNumber, reason: `${label}: ${what} is not ${idBytes} hex bytes` });
      return;
    }
    const secret = fromHex(fields[2] as string);
    if (secret === null || !(SECRET_BYTES[label] as readonly number[]).includes(secret.length)) {
      options.onMalformed({
        line: lineNumber,
        reason: `${label}: secret is not ${SECRET_BYTES[label].join(' or ')} hex bytes`,
      });
      return;
    }
    options.onEntry({ label, id, secret });
  }

  function tooLong(): void {
    options.onMalformed({ line: lineNumber, reason: `line longer than ${maxLine} characters` });
  }

  return {
    push(chunk: string | Uint8Array): void {
      // One character per byte (latin1, made natively): a line's length is its byte count, and a chunk boundary
      // never falls inside a character.
      const text =
        typeof chunk === 'string'
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).toString('latin1');
      let start = 0;
      for (;;) {
        const nl = text.indexOf('\n', start);
        if (nl < 0) break;
        if (skipping) {
          skipping = false;
          carry = '';
        } else {
          const line = carry + text.slice(start, nl);
          carry = '';
          if (line.length > maxLine + 1) {
            lineNumber++;
            tooLong();
          } else parseLine(line);
        }
        start = nl + 1;
      }
      if (skipping) return;
      carry += text.slice(start);
      if (carry.length > maxLine + 1) {
        lineNumber++;
        tooLong();
        carry = '';
        skipping = true;
      }
    },
    end(): void {
      if (!skipping && carry !== '') parseLine(carry);
      carry = '';
      skipping = false;
    },
    get lines(): number {
      return lineNumber;
    },
  };
}
