/**
 * One direction's TLS records (RFC 8446 section 5.1, RFC 5246 section 6.2), reassembled across arbitrary chunk
 * boundaries. A record that lies inside one chunk is handed over as a view of that chunk; only a record cut by
 * a chunk boundary is copied into a buffer of at most 5 + `maxRecordBytes` bytes, taken from a shared pool when
 * one is given (`buffers`) and given back as soon as the record is read. A header that is not TLS
 * (content type outside 20-24, major version not 3) or announces more than `maxRecordBytes` stops the reader
 * with one `onError`: after it, record boundaries are unknown.
 *
 * Capture gaps (`skip`): a gap that ends inside the record being read leaves the boundaries known: that record
 * is reported damaged (`onDamaged`, its sequence number is still used up) and reading goes on. A gap that
 * swallows a record header loses them: the reader then scans what follows for a plausible protected-record
 * header (`onCandidate`, which tries to authenticate it) and resumes after the first candidate accepted. The
 * scan buffer holds at most twice 5 + `maxRecordBytes` bytes; bytes scanned past are dropped and counted.
 */

export const RECORD_HEADER_BYTES = 5;

export const CONTENT_TYPE = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;

/**
 * Record buffers shared by the readers of one analysis: a record cut by a chunk boundary is assembled in one
 * only while it is incomplete, so a few buffers serve every connection instead of one per connection and
 * direction. At most `maxFree` buffers are kept between uses ({@link RECORD_BUFFER_POOL_FREE}).
 */
export interface RecordBufferPool {
  /** Each buffer's size: 5 + the largest record body. */
  readonly bufferBytes: number;
  take(): Uint8Array;
  give(buffer: Uint8Array): void;
}

/** Buffers a pool keeps free: 16 of 18,437 bytes (about 290 KiB) with the default record limit. */
export const RECORD_BUFFER_POOL_FREE = 16;

export function createRecordBufferPool(
  maxRecordBytes: number,
  maxFree: number = RECORD_BUFFER_POOL_FREE,
): RecordBufferPool {
  const bufferBytes = RECORD_HEADER_BYTES + maxRecordBytes;
  const free: Uint8Array[] = [];
  return {
    bufferBytes,
    take: () => free.pop() ?? new Uint8Array(bufferBytes),
    give(buffer: Uint8Array): void {
      if (buffer.length === bufferBytes && free.length < maxFree) free.push(buffer);
    },
  };
}

export interface RecordReaderOptions {
  readonly maxRecordBytes: number;
  /** Where records cut by chunk boundaries are assembled; without one, each reader has its own buffer. */
  readonly buffers?: RecordBufferPool;
  /** A complete record; `body` is valid during the call only. */
  onRecord(type: number, version: number, body: Uint8Array): void;
  /** The stream is not (or no longer) TLS records; `detail` names what was wrong. */
  onError(detail: string): void;
  /** A record some of whose bytes a gap replaced. */
  onDamaged?(): void;
  /**
   * While resynchronising after a gap: a plausible record; true when it authenticated (and was consumed).
   * `lostBytes` is how many bytes were lost or skipped since the last good record.
   */
  onCandidate?(type: number, version: number, body: Uint8Array, lostBytes: number): boolean;
}

export interface RecordReader {
  push(bytes: Uint8Array): void;
  /** `length` bytes of the stream are missing here. */
  skip(length: number): 'aligned' | 'lost';
  /** Bytes of an incomplete record held. */
  readonly buffered: number;
  /** The reader stopped on a bad header. */
  readonly failed: boolean;
  /** Looking for a record boundary after a gap. */
  readonly scanning: boolean;
}

function hex2(v: number): string {
  return v.toString(16).padStart(2, '0');
}

const NO_BUFFER = new Uint8Array(0);

export function createRecordReader(options: RecordReaderOptions): RecordReader {
  const max = options.maxRecordBytes;
  const pool =
    options.buffers !== undefined && options.buffers.bufferBytes === RECORD_HEADER_BYTES + max
      ? options.buffers
      : null;
  let buf: Uint8Array = NO_BUFFER;
  let held = 0;
  /** Length of the record being assembled in `buf` (header included) once its header is known. */
  let want = 0;
  /** The record being assembled lost bytes to a gap. */
  let damaged = false;
  let failed = false;
  let scanning = false;
  let scan: Uint8Array = new Uint8Array(0);
  let scanLength = 0;
  let lostBytes = 0;

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
    const grown =
      pool !== null
        ? pool.take()
        : new Uint8Array(Math.max(size, Math.min(RECORD_HEADER_BYTES + max, buf.length * 2 || 1024)));
    grown.set(buf.subarray(0, held));
    release();
    buf = grown;
  }

  /** Nothing is held: the buffer goes back to the pool. */
  function release(): void {
    if (pool === null || buf === NO_BUFFER) return;
    pool.give(buf);
    buf = NO_BUFFER;
  }

  function complete(total: number): void {
    held = 0;
    want = 0;
    if (damaged) {
      damaged = false;
      release();
      options.onDamaged?.();
      return;
    }
    options.onRecord(
      buf[0] as number,
      ((buf[1] as number) << 8) | (buf[2] as number),
      buf.subarray(5, total),
    );
    // The record's body was valid during the call only: the buffer can serve another connection now.
    release();
  }

  /** Scans for a record boundary; returns the bytes of `bytes` not consumed by the scan (to read normally). */
  function scanPush(bytes: Uint8Array): Uint8Array | null {
    const room = 2 * (RECORD_HEADER_BYTES + max);
    if (scan.length < room) {
      const grown = new Uint8Array(room);
      grown.set(scan.subarray(0, scanLength));
      scan = grown;
    }
    let input = bytes;
    while (input.length > 0) {
      const take = Math.min(input.length, room - scanLength);
      scan.set(input.subarray(0, take), scanLength);
      scanLength += take;
      input = input.subarray(take);
      let pos = 0;
      while (pos + RECORD_HEADER_BYTES <= scanLength) {
        const type = scan[pos] as number;
        const length = ((scan[pos + 3] as number) << 8) | (scan[pos + 4] as number);
        const plausible =
          (type === CONTENT_TYPE.APPLICATION_DATA ||
            type === CONTENT_TYPE.ALERT ||
            type === CONTENT_TYPE.HANDSHAKE) &&
          scan[pos + 1] === 3 &&
          scan[pos + 2] === 3 &&
          length > 0 &&
          length <= max;
        if (plausible) {
          const end = pos + RECORD_HEADER_BYTES + length;
          if (end > scanLength) break; // wait for the rest of this candidate
          const body = scan.subarray(pos + RECORD_HEADER_BYTES, end);
          if (options.onCandidate?.(type, 0x0303, body, lostBytes + pos) === true) {
            scanning = false;
            lostBytes = 0;
            const rest = Uint8Array.from(scan.subarray(end, scanLength));
            scanLength = 0;
            return rest.length + input.length === 0 ? null : concat(rest, input);
          }
        }
        pos++;
      }
      lostBytes += pos;
      scan.copyWithin(0, pos, scanLength);
      scanLength -= pos;
    }
    return null;
  }

  function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
    const out = new Uint8Array(a.length + b.length);
    out.set(a, 0);
    out.set(b, a.length);
    return out;
  }

  function push(bytes: Uint8Array): void {
    if (scanning) {
      const rest = scanPush(bytes);
      if (rest === null) return;
      bytes = rest;
    }
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
        complete(want);
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
  }

  return {
    push,
    skip(length: number): 'aligned' | 'lost' {
      if (failed || length <= 0) return 'aligned';
      if (!scanning && want > 0 && held + length <= want) {
        // The gap ends inside (or at the end of) the record being read: its boundaries stay known.
        ensure(want);
        buf.fill(0, held, held + length);
        held += length;
        damaged = true;
        if (held === want) complete(want);
        return 'aligned';
      }
      lostBytes += (scanning ? 0 : held) + length;
      held = 0;
      want = 0;
      damaged = false;
      scanning = true;
      release();
      return 'lost';
    },
    get buffered(): number {
      return held + scanLength;
    },
    get failed(): boolean {
      return failed;
    },
    get scanning(): boolean {
      return scanning;
    },
  };
}
