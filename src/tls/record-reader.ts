/**
 * One direction's TLS records (RFC 8446 section 5.1, RFC 5246 section 6.2), reassembled across arbitrary chunk
 * boundaries. A record that lies inside one chunk is handed over as a view of that chunk; only a record cut by
 * a chunk boundary is copied into a buffer of at most 5 + `maxRecordBytes` bytes. A header that is not TLS
 * (content type outside 20-24, major version not 3) or announces more than `maxRecordBytes` stops the reader
 * with one `onError`: after it, record boundaries are unknown.
 */

export const RECORD_HEADER_BYTES = 5;

export const CONTENT_TYPE = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;

export interface RecordReaderOptions {
  readonly maxRecordBytes: number;
  /** A complete record; `body` is valid during the call only. */
  onRecord(type: number, version: number, body: Uint8Array): void;
  /** The stream is not (or no longer) TLS records; `detail` names what was wrong. */
  onError(detail: string): void;
}

export interface RecordReader {
  push(bytes: Uint8Array): void;
  /** Bytes of an incomplete record held. */
  readonly buffered: number;
  /** The reader stopped on a bad header. */
  readonly failed: boolean;
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}

export function createRecordReader(options: RecordReaderOptions): RecordReader {
  const max = options.maxRecordBytes;
  let buf: Uint8Array = new Uint8Array(0);
  let held = 0;
  /** Length of the record being assembled in `buf` (header included) once its header is known. */
  let want = 0;
  let failed = false;

  /** Checks a header; returns the record's total length or -1 after reporting. */
  function check(type: number, major: number, minor: number, length: number): number {
    if (type < CONTENT_TYPE.CHANGE_CIPHER_SPEC || type > CONTENT_TYPE.HEARTBEAT || major !== 3) {
      failed = true;
      options.onError(`bytes ${hex2(type)} ${hex2(major)} ${hex2(minor)} are not a TLS record header`);
      return -1;
    }
    if (length > max) {
      failed = true;
      options.onError(`TLS record of ${length} bytes exceeds the ${max}-byte limit`);
      return -1;
    }
    return RECORD_HEADER_BYTES + length;
  }

  function ensure(size: number): void {
    if (buf.length >= size) return;
    const grown = new Uint8Array(Math.max(size, Math.min(RECORD_HEADER_BYTES + max, buf.length * 2 || 1024)));
    grown.set(buf.subarray(0, held));
    buf = grown;
  }

  return {
    push(bytes: Uint8Array): void {
      let p = 0;
      const n = bytes.length;
      while (!failed && p < n) {
        if (held > 0) {
          if (want === 0) {
            const take = Math.min(RECORD_HEADER_BYTES - held, n - p);
            ensure(RECORD_HEADER_BYTES);
            buf.set(bytes.subarray(p, p + take), held);
            held += take;
            p += take;
            if (held < RECORD_HEADER_BYTES) return;
            want = check(
              buf[0] as number,
              buf[1] as number,
              buf[2] as number,
              ((buf[3] as number) << 8) | (buf[4] as number),
            );
            if (want < 0) return;
          }
          const take = Math.min(want - held, n - p);
          ensure(want);
          buf.set(bytes.subarray(p, p + take), held);
          held += take;
          p += take;
          if (held < want) return;
          const total = want;
          held = 0;
          want = 0;
          options.onRecord(
            buf[0] as number,
            ((buf[1] as number) << 8) | (buf[2] as number),
            buf.subarray(5, total),
          );
          continue;
        }
        if (n - p < RECORD_HEADER_BYTES) {
          ensure(RECORD_HEADER_BYTES);
          buf.set(bytes.subarray(p), 0);
          held = n - p;
          return;
        }
        const total = check(
          bytes[p] as number,
          bytes[p + 1] as number,
          bytes[p + 2] as number,
          ((bytes[p + 3] as number) << 8) | (bytes[p + 4] as number),
        );
        if (total < 0) return;
        if (n - p < total) {
          ensure(total);
          buf.set(bytes.subarray(p), 0);
          held = n - p;
          want = total;
          return;
        }
        options.onRecord(
          bytes[p] as number,
          ((bytes[p + 1] as number) << 8) | (bytes[p + 2] as number),
          bytes.subarray(p + 5, p + total),
        );
        p += total;
      }
    },
    get buffered(): number {
      return held;
    },
    get failed(): boolean {
      return failed;
    },
  };
}
