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

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;

/** Each byte's hex digit value, or -1. */
const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(256).fill(-1);
  for (let d = 0; d < 10; d++) table[48 + d] = d;
  for (let d = 0; d < 6; d++) {
    table[65 + d] = 10 + d;
    table[97 + d] = 10 + d;
  }
  return table;
})();

/** The labels the byte-level fast path knows: the usable ones and the ignored ones. */
const FAST_LABELS: readonly {
  readonly bytes: Uint8Array;
  readonly label: string;
  readonly usable: boolean;
}[] = [
  ...Object.keys(SECRET_BYTES).map((label) => ({ label, usable: true })),
  ...[...IGNORED].map((label) => ({ label, usable: false })),
].map(({ label, usable }) => ({ bytes: Uint8Array.from(label, (c) => c.charCodeAt(0)), label, usable }));

/** The known label spelled by bytes [from, to), or null. */
function fastLabel(b: Uint8Array, from: number, to: number): (typeof FAST_LABELS)[number] | null {
  const length = to - from;
  for (const known of FAST_LABELS) {
    if (known.bytes.length !== length) continue;
    let i = 0;
    while (i < length && b[from + i] === known.bytes[i]) i++;
    if (i === length) return known;
  }
  return null;
}

/** `n` bytes from the 2n hex digits at `from`, or null at the first byte that is not a hex digit. */
function hexBytes(b: Uint8Array, from: number, n: number): Uint8Array | null {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const high = HEX_VALUE[b[from + 2 * i] as number] as number;
    const low = HEX_VALUE[b[from + 2 * i + 1] as number] as number;
    if ((high | low) < 0) return null;
    out[i] = (high << 4) | low;
  }
  return out;
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

  /**
   * The byte-level fast path for one line [from, to) (its LF excluded) of the usual shape: a known label at the
   * start, then for a usable label exactly `LABEL SP ID SP SECRET [CR]` with hex fields of the right lengths.
   * Gives the same result as {@link parseLine} and returns true; returns false (having done nothing) for
   * anything else, which then goes through the text path.
   */
  function fastLine(b: Uint8Array, from: number, to: number): boolean {
    const end = to > from && b[to - 1] === CR ? to - 1 : to;
    let sp1 = from;
    while (sp1 < end && b[sp1] !== SPACE) sp1++;
    if (sp1 === from || sp1 >= end) return false;
    const known = fastLabel(b, from, sp1);
    if (known === null) return false;
    if (!known.usable) {
      lineNumber++;
      options.onIgnored?.(known.label);
      return true;
    }
    const label = known.label as KeyLogLabel;
    let sp2 = sp1 + 1;
    while (sp2 < end && b[sp2] !== SPACE) sp2++;
    const idBytes = label === 'RSA' ? 8 : 32;
    const secretDigits = end - sp2 - 1;
    if (sp2 - sp1 - 1 !== 2 * idBytes || secretDigits <= 0 || secretDigits % 2 !== 0) return false;
    if (!(SECRET_BYTES[label] as readonly number[]).includes(secretDigits / 2)) return false;
    const id = hexBytes(b, sp1 + 1, idBytes);
    const secret = id === null ? null : hexBytes(b, sp2 + 1, secretDigits / 2);
    if (id === null || secret === null) return false;
    lineNumber++;
    options.onEntry({ label, id, secret });
    return true;
  }

  /** Text from `push`: whole lines and a carried partial one. */
  function pushText(text: string): void {
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
  }

  /** Bytes [from, to) as text, one character per byte (latin1, made natively). */
  function latin1(b: Uint8Array, from: number, to: number): string {
    return Buffer.from(b.buffer, b.byteOffset + from, to - from).toString('latin1');
  }

  return {
    push(chunk: string | Uint8Array): void {
      if (typeof chunk === 'string') {
        pushText(chunk);
        return;
      }
      // Bytes: each whole line of the usual shape is read from the bytes themselves; any other line, a line
      // begun in an earlier chunk and the unfinished last one go through the text path.
      let start = 0;
      if (carry !== '' || skipping) {
        const nl = chunk.indexOf(LF);
        start = nl < 0 ? chunk.length : nl + 1;
        pushText(latin1(chunk, 0, start));
      }
      for (;;) {
        const nl = chunk.indexOf(LF, start);
        if (nl < 0) break;
        if (nl - start > maxLine + 1 || !fastLine(chunk, start, nl)) pushText(latin1(chunk, start, nl + 1));
        start = nl + 1;
      }
      if (start < chunk.length) pushText(latin1(chunk, start, chunk.length));
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
