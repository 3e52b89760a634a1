/**
 * Which source warnings mean the input is damaged, for the exit code (README, "Exit codes"): a record or
 * block that cannot be parsed, a length that cannot be right, a file cut inside a record, damaged gzip data.
 * What was decoded before the damage is still analysed and written; the run then exits 1, as tcpdump (1) and
 * tshark (2) do on the same files.
 *
 * A cut at the end (the input ends inside its last record or block, or the gzip data ends before its end
 * marker) is its own kind: a capture copied while tcpdump was still writing it ends that way, and
 * `--allow-truncated` accepts it (exit 0, the warning still printed). Anything else stays damage.
 */

import type { SourceWarning } from './types.js';

export type InputDamage = 'none' | 'cut-at-end' | 'damaged';

export function damageOf(warning: SourceWarning): InputDamage {
  switch (warning.code) {
    case 'truncated-record':
    case 'truncated-block':
    case 'gzip-truncated':
      return 'cut-at-end';
    case 'bad-block-length':
    case 'oversized-record':
    case 'unknown-interface':
    case 'gzip-error':
    case 'gzip-trailing-garbage':
      return 'damaged';
    // A block type this reader does not know is skipped as the pcapng specification says; a live queue overflow
    // is a counted loss (docs/LIVE.md), not damage to an input.
    // A bad line in a TLS key log carried by the capture spoils decryption, not the capture.
    case 'unknown-block':
    case 'live-queue-overflow':
    case 'tls-keylog':
    // A wild timestamp is a packet stamped far from the others (pipeline/packet-loop.ts): a capture-quality
    // note, the capture itself is whole.
    case 'wild-timestamp':
      return 'none';
  }
}

/** The warnings that make a run exit 1; with `allowCutEnd`, a cut at the end is not one of them. */
export function damagingWarnings(warnings: readonly SourceWarning[], allowCutEnd: boolean): SourceWarning[] {
  return warnings.filter((w) => {
    const damage = damageOf(w);
    return damage === 'damaged' || (damage === 'cut-at-end' && !allowCutEnd);
  });
}
