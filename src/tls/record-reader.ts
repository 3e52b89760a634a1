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
  return new Reader(options);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** One direction's reader: its state is a few fields; the methods are shared by every reader. */
class Reader implements RecordReader {
  private readonly max: number;
  private readonly pool: RecordBufferPool | null;
  private buf: Uint8Array = NO_BUFFER;
  private held = 0;
  /** Length of the record being assembled in `buf` (header included) once its header is known. */
  private want = 0;
  /** The record being assembled lost bytes to a gap. */
  private damaged = false;
  private stopped = false;
  private resyncing = false;
  private scan: Uint8Array = NO_BUFFER;
  private scanLength = 0;
  private lostBytes = 0;

  constructor(private readonly options: RecordReaderOptions) {
    const max = options.maxRecordBytes;
    this.max = max;
    this.pool =
      options.buffers !== undefined && options.buffers.bufferBytes === RECORD_HEADER_BYTES + max
        ? options.buffers
        : null;
  }

  get buffered(): number {
    return this.held + this.scanLength;
  }

  get failed(): boolean {
    return this.stopped;
  }

  get scanning(): boolean {
    return this.resyncing;
  }

  push(bytes: Uint8Array): void {
    if (this.resyncing) {
      const rest = this.scanPush(bytes);
      if (rest === null) return;
      bytes = rest;
    }
    let p = 0;
    const n = bytes.length;
    while (!this.stopped && p < n) {
      if (this.held > 0) {
        if (this.want === 0) {
          const take = Math.min(RECORD_HEADER_BYTES - this.held, n - p);
          this.ensure(RECORD_HEADER_BYTES);
          const buf = this.buf;
          buf.set(bytes.subarray(p, p + take), this.held);
          this.held += take;
          p += take;
          if (this.held < RECORD_HEADER_BYTES) return;
          this.want = this.check(
            buf[0] as number,
            buf[1] as number,
            buf[2] as number,
            ((buf[3] as number) << 8) | (buf[4] as number),
          );
          if (this.want < 0) return;
        }
        const take = Math.min(this.want - this.held, n - p);
        this.ensure(this.want);
        // A chunk inside a long record is copied whole, without a view of it (most chunks of a long record).
        if (take === n) this.buf.set(bytes, this.held);
        else this.buf.set(bytes.subarray(p, p + take), this.held);
        this.held += take;
        p += take;
        if (this.held < this.want) return;
        this.complete(this.want);
        continue;
      }
      if (n - p < RECORD_HEADER_BYTES) {
        this.ensure(RECORD_HEADER_BYTES);
        this.buf.set(bytes.subarray(p), 0);
        this.held = n - p;
        return;
      }
      const total = this.check(
        bytes[p] as number,
        bytes[p + 1] as number,
        bytes[p + 2] as number,
        ((bytes[p + 3] as number) << 8) | (bytes[p + 4] as number),
      );
      if (total < 0) return;
      if (n - p < total) {
        this.ensure(total);
        this.buf.set(bytes.subarray(p), 0);
        this.held = n - p;
        this.want = total;
        return;
      }
      this.options.onRecord(
        bytes[p] as number,
        ((bytes[p + 1] as number) << 8) | (bytes[p + 2] as number),
        bytes.subarray(p + 5, p + total),
      );
      p += total;
    }
  }

  skip(length: number): 'aligned' | 'lost' {
    if (this.stopped || length <= 0) return 'aligned';
    if (!this.resyncing && this.want > 0 && this.held + length <= this.want) {
      // The gap ends inside (or at the end of) the record being read: its boundaries stay known.
      this.ensure(this.want);
      this.buf.fill(0, this.held, this.held + length);
      this.held += length;
      this.damaged = true;
      if (this.held === this.want) this.complete(this.want);
      return 'aligned';
    }
    this.lostBytes += (this.resyncing ? 0 : this.held) + length;
    this.held = 0;
    this.want = 0;
    this.damaged = false;
    this.resyncing = true;
    this.release();
    return 'lost';
  }

  /** Checks a header; returns the record's total length or -1 after reporting. */
  private check(type: number, major: number, minor: number, length: number): number {
    if (type < CONTENT_TYPE.CHANGE_CIPHER_SPEC || type > CONTENT_TYPE.HEARTBEAT || major !== 3) {
      this.stopped = true;
      this.options.onError(`bytes ${hex2(type)} ${hex2(major)} ${hex2(minor)} are not a TLS record header`);
      return -1;
    }
    if (length > this.max) {
      this.stopped = true;
      this.options.onError(`TLS record of ${length} bytes exceeds the ${this.max}-byte limit`);
      return -1;
    }
    return RECORD_HEADER_BYTES + length;
  }

  private ensure(size: number): void {
    const buf = this.buf;
    if (buf.length >= size) return;
    const grown =
      this.pool !== null
        ? this.pool.take()
        : new Uint8Array(Math.max(size, Math.min(RECORD_HEADER_BYTES + this.max, buf.length * 2 || 1024)));
    grown.set(buf.subarray(0, this.held));
    this.release();
    this.buf = grown;
  }

  /** Nothing is held: the buffer goes back to the pool. */
  private release(): void {
    if (this.pool === null || this.buf === NO_BUFFER) return;
    this.pool.give(this.buf);
    this.buf = NO_BUFFER;
  }

  private complete(total: number): void {
    this.held = 0;
    this.want = 0;
    if (this.damaged) {
      this.damaged = false;
      this.release();
      this.options.onDamaged?.();
      return;
    }
    const buf = this.buf;
    this.options.onRecord(
      buf[0] as number,
      ((buf[1] as number) << 8) | (buf[2] as number),
      buf.subarray(5, total),
    );
    // The record's body was valid during the call only: the buffer can serve another connection now.
    this.release();
  }

  /** Scans for a record boundary; returns the bytes of `bytes` not consumed by the scan (to read normally). */
  private scanPush(bytes: Uint8Array): Uint8Array | null {
    const max = this.max;
    const room = 2 * (RECORD_HEADER_BYTES + max);
    if (this.scan.length < room) {
      const grown = new Uint8Array(room);
      grown.set(this.scan.subarray(0, this.scanLength));
      this.scan = grown;
    }
    const scan = this.scan;
    let input = bytes;
    while (input.length > 0) {
      const take = Math.min(input.length, room - this.scanLength);
      scan.set(input.subarray(0, take), this.scanLength);
      this.scanLength += take;
      input = input.subarray(take);
      let pos = 0;
      while (pos + RECORD_HEADER_BYTES <= this.scanLength) {
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
          if (end > this.scanLength) break; // wait for the rest of this candidate
          const body = scan.subarray(pos + RECORD_HEADER_BYTES, end);
          if (this.options.onCandidate?.(type, 0x0303, body, this.lostBytes + pos) === true) {
            this.resyncing = false;
            this.lostBytes = 0;
            const rest = Uint8Array.from(scan.subarray(end, this.scanLength));
            this.scanLength = 0;
            return rest.length + input.length === 0 ? null : concat(rest, input);
          }
        }
        pos++;
      }
      this.lostBytes += pos;
      scan.copyWithin(0, pos, this.scanLength);
      this.scanLength -= pos;
    }
    return null;
  }
}
