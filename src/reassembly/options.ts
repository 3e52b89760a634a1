/**
 * Reassembly limits and their defaults, one place (see docs/REASSEMBLY.md and docs/LIMITS.md for the reasoning behind each).
 */

import type { AssemblerOptions } from './types.js';

/**
 * Ports that select SMTP-family connections: 25 (SMTP relay), 465 (submission over implicit TLS), 587
 * (submission), 2525 (common alternative submission port), 24 (LMTP), 366 (ODMR).
 */
export const DEFAULT_SMTP_PORTS: ReadonlySet<number> = new Set([25, 465, 587, 2525, 24, 366]);

export const DEFAULT_ASSEMBLER_OPTIONS: AssemblerOptions = {
  ports: DEFAULT_SMTP_PORTS,
  // The port gate: detection is asked for by the pipeline (docs/REASSEMBLY.md, "Content detection").
  detect: false,
  // 4 MiB: a full receive window on a fast link waiting for one retransmission, per direction.
  maxBufferedBytesPerDirection: 4 * 1024 * 1024,
  // 128 MiB of out-of-order data across all connections; past it the largest buffers are flushed as gaps.
  maxBufferedBytesTotal: 128 * 1024 * 1024,
  // 16384 open connections; past it one is closed as `evicted`, connections that never carried a byte first.
  maxConnections: 16_384,
  // 10 minutes: RFC 5321 section 4.5.3.2 server timeouts are 5 minutes, 10 for the end of DATA.
  idleTimeoutMs: 600_000,
  // 30 seconds of absorbing late retransmissions and final ACKs after FIN or RST.
  closedLingerMs: 30_000,
  allowMidstream: true,
  // 5 seconds after both FINs for missing segments to be retransmitted before the holes become gaps.
  finLingerMs: 5_000,
  // 16 KiB of delivered bytes per direction kept to check retransmissions for differing content.
  overlapCheckBytes: 16 * 1024,
};

/** Fills unset options with the defaults. */
export function resolveAssemblerOptions(options: Partial<AssemblerOptions> | undefined): AssemblerOptions {
  return options === undefined ? DEFAULT_ASSEMBLER_OPTIONS : { ...DEFAULT_ASSEMBLER_OPTIONS, ...options };
}
