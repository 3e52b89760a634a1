/**
 * Capture layer contracts: one PacketSource interface for capture files, standard input and live capture.
 *
 * Packets are delivered through a reused {@link PacketView}: the source owns the buffer and overwrites the
 * view for the next packet, so a consumer that keeps bytes past the callback must copy them. This keeps the
 * hot path free of per-packet allocation (see docs/PERFORMANCE.md).
 */

/** Link-layer header types (tcpdump.org LINKTYPE_* values) that the decoder understands. */
export const LINKTYPE = {
  NULL: 0,
  ETHERNET: 1,
  RAW: 101,
  /** DLT_RAW on OpenBSD-derived systems. */
  RAW_12: 12,
  /** DLT_RAW on BSD/OS. */
  RAW_14: 14,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  LINUX_SLL2: 276,
} as const;

/** One captured packet. Valid only during the callback it is passed to. */
export interface PacketView {
  /** Buffer holding the packet; the packet is `buffer[offset, offset + capturedLength)`. */
  buffer: Uint8Array;
  offset: number;
  capturedLength: number;
  /** Length on the wire (may exceed capturedLength when the snaplen cut the packet). */
  originalLength: number;
  /** Capture time, integer microseconds since the Unix epoch (exact in a double until year 2255). */
  tsMicros: number;
  /** LINKTYPE_* value of the interface the packet was captured on (per packet: pcapng has several). */
  linkType: number;
  /** pcapng interface index; 0 for classic pcap and live capture. */
  interfaceId: number;
  /** 0-based position of the packet in the source (frame number - 1). */
  index: number;
}

/** Something worth telling the user that did not stop reading (truncated file, skipped block...). */
export interface SourceWarning {
  readonly code:
    | 'truncated-record'
    | 'truncated-block'
    | 'bad-block-length'
    | 'unknown-block'
    | 'unknown-interface'
    | 'oversized-record'
    | 'gzip-trailing-garbage'
    /** Damaged gzip data: decompression stopped; every packet before the damage was delivered. */
    | 'gzip-error'
    /** The gzip data ends before its end marker (a cut file): every packet before the cut was delivered. */
    | 'gzip-truncated'
    | 'live-queue-overflow'
    /** A malformed line in a TLS key log carried by the capture (pcapng decryption secrets). */
    | 'tls-keylog'
    /** Packets stamped far outside the capture's running time, decoded at the running time (pipeline/packet-loop.ts). */
    | 'wild-timestamp';
  /** Byte offset in the (decompressed) input where it happened, when the source is a byte stream. */
  readonly byteOffset: number | null;
  /** Packets delivered before it (the damaged record is number `packetsBefore + 1`); null when unknown. */
  readonly packetsBefore: number | null;
  readonly message: string;
}

export interface SourceStats {
  readonly packets: number;
  /** Bytes of input consumed (decompressed for gzip). */
  readonly bytes: number;
  /** Bytes of the input as stored that were consumed: the compressed bytes for gzip, else `bytes`. */
  readonly storedBytes: number;
  /**
   * Packets dropped by the kernel or by our queue; null when the source cannot know (live via `cap`, or a
   * stream such as standard input, whose writer may have dropped packets unseen).
   */
  readonly dropped: number | null;
  /** Packets whose captured length is below their original length. */
  readonly truncated: number;
}

export type SourceFormat = 'pcap' | 'pcap-ns' | 'pcapng' | 'live';

export interface PacketSource {
  /** Human-readable origin: a file path, `stdin`, or `live:eth0`. */
  readonly description: string;
  /** Container format, known once the source is open. */
  readonly format: SourceFormat;
  /** Whether the input is gzip-compressed. */
  readonly compressed: boolean;
  /**
   * Calls `onPacket` for every packet in order, synchronously within each chunk of input, and resolves when
   * the input ends or {@link close} is called. Truncated or damaged input ends cleanly with warnings: every
   * complete packet before the damage is delivered. Call at most once.
   *
   * `ready`, when given, is asked between chunks of input (a file's reads, a stream's chunks, a live batch):
   * a promise it returns makes the source wait for it before delivering more, which is how slow sinks hold the
   * reading back (docs/LIMITS.md, "Back-pressure"). A file or stream simply reads later; a live capture, which
   * cannot make the network wait, keeps what arrives meanwhile in its bounded queue and counts what overflows.
   */
  forEach(onPacket: (packet: PacketView) => void, ready?: () => Promise<void> | null): Promise<void>;
  /**
   * Sources that stamp packets on arrival (live capture): the time a packet arriving now would get, so that the
   * analysis can move its packet clock while no packet comes. Absent for files and streams, whose packet times
   * need not be near the wall clock.
   */
  readonly nowMicros?: () => number;
  /** Stops delivery: forEach resolves after the packet being delivered. Idempotent. */
  close(): Promise<void>;
  stats(): SourceStats;
  warnings(): readonly SourceWarning[];
}

/** Thrown when an input is not a capture at all (bad magic) or cannot be opened. */
export class CaptureFormatError extends Error {
  override readonly name = 'CaptureFormatError';
}
