/**
 * Handshake messages of one direction (RFC 8446 section 4, RFC 5246 section 7.4) reassembled from the
 * handshake-type record fragments they were cut into (a message may span records, a record may hold several
 * messages). A message longer than `maxMessageBytes` stops the reader with one `onError`.
 */

export const HANDSHAKE_HEADER_BYTES = 4;

export const HANDSHAKE_TYPE = {
  HELLO_REQUEST: 0,
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  NEW_SESSION_TICKET: 4,
  END_OF_EARLY_DATA: 5,
  ENCRYPTED_EXTENSIONS: 8,
  CERTIFICATE: 11,
  SERVER_KEY_EXCHANGE: 12,
  CERTIFICATE_REQUEST: 13,
  SERVER_HELLO_DONE: 14,
  CERTIFICATE_VERIFY: 15,
  CLIENT_KEY_EXCHANGE: 16,
  FINISHED: 20,
  KEY_UPDATE: 24,
} as const;

export interface HandshakeReaderOptions {
  readonly maxMessageBytes: number;
  /** A complete message: `message` holds the 4-byte header and the body; valid during the call only. */
  onMessage(type: number, message: Uint8Array): void;
  onError(detail: string): void;
}

export interface HandshakeReader {
  push(fragment: Uint8Array): void;
  /** A message is partly read (key changes must fall on message boundaries). */
  readonly partial: boolean;
  readonly failed: boolean;
}

const NO_BUFFER = new Uint8Array(0);

export function createHandshakeReader(options: HandshakeReaderOptions): HandshakeReader {
  return new Reader(options);
}

function messageLength(b: Uint8Array, p: number): number {
  return ((b[p + 1] as number) << 16) | ((b[p + 2] as number) << 8) | (b[p + 3] as number);
}

/**
 * A message that lies inside one fragment is handed over as a view of it; only a message cut by a record
 * boundary is assembled in the reader's buffer, which is let go once the message is read (handshake messages
 * are few: a buffer kept for the rest of the connection would outlive its use).
 */
class Reader implements HandshakeReader {
  private buf: Uint8Array = NO_BUFFER;
  private held = 0;
  private stopped = false;

  constructor(private readonly options: HandshakeReaderOptions) {}

  get partial(): boolean {
    return this.held > 0;
  }

  get failed(): boolean {
    return this.stopped;
  }

  push(fragment: Uint8Array): void {
    const options = this.options;
    let p = 0;
    const n = fragment.length;
    while (!this.stopped && p < n) {
      if (this.held === 0 && n - p >= HANDSHAKE_HEADER_BYTES) {
        const length = messageLength(fragment, p);
        if (length > options.maxMessageBytes) {
          this.tooLong(length);
          return;
        }
        if (n - p >= HANDSHAKE_HEADER_BYTES + length) {
          options.onMessage(fragment[p] as number, fragment.subarray(p, p + HANDSHAKE_HEADER_BYTES + length));
          p += HANDSHAKE_HEADER_BYTES + length;
          continue;
        }
      }
      // Assemble in the buffer: first the header, then the body.
      if (this.held < HANDSHAKE_HEADER_BYTES) {
        this.grow(HANDSHAKE_HEADER_BYTES);
        const take = Math.min(HANDSHAKE_HEADER_BYTES - this.held, n - p);
        this.buf.set(fragment.subarray(p, p + take), this.held);
        this.held += take;
        p += take;
        if (this.held < HANDSHAKE_HEADER_BYTES) return;
      }
      const length = messageLength(this.buf, 0);
      if (length > options.maxMessageBytes) {
        this.tooLong(length);
        return;
      }
      const total = HANDSHAKE_HEADER_BYTES + length;
      this.grow(total);
      const take = Math.min(total - this.held, n - p);
      this.buf.set(fragment.subarray(p, p + take), this.held);
      this.held += take;
      p += take;
      if (this.held < total) return;
      const buf = this.buf;
      this.held = 0;
      this.buf = NO_BUFFER;
      options.onMessage(buf[0] as number, buf.subarray(0, total));
    }
  }

  private grow(size: number): void {
    const buf = this.buf;
    if (buf.length >= size) return;
    const grown = new Uint8Array(Math.max(size, buf.length * 2, 256));
    grown.set(buf.subarray(0, this.held));
    this.buf = grown;
  }

  private tooLong(length: number): void {
    this.stopped = true;
    this.options.onError(
      `handshake message of ${length} bytes exceeds the ${this.options.maxMessageBytes}-byte limit`,
    );
  }
}
