/**
 * Numeric outcome codes used inside the decoder, and the preallocated {@link DecodeOutcome} object for each.
 *
 * Layer functions return a small integer (or {@link CONTINUE}) instead of an object, so the hot path compares
 * numbers and the decoder counts outcomes in a typed array indexed by code. The public outcome objects are
 * created once, here, and frozen: `decode()` returns `OUTCOMES[code]` without allocating.
 */

import type { DecodeOutcome, MalformedKind, SkipReason } from './types.js';

/** Returned by a layer function when decoding goes on to the next layer. */
export const CONTINUE = -1;

export const CODE = {
  TCP: 0,
  UNSUPPORTED_LINK: 1,
  NOT_IP: 2,
  NOT_TCP: 3,
  FRAGMENT_PENDING: 4,
  FRAGMENT_DROPPED: 5,
  IP_IN_IP: 6,
  PORT_FILTERED: 7,
  LINK_TRUNCATED: 8,
  VLAN_TRUNCATED: 9,
  IP_BAD_VERSION: 10,
  IPV4_TRUNCATED: 11,
  IPV4_BAD_HEADER_LENGTH: 12,
  IPV4_BAD_TOTAL_LENGTH: 13,
  IPV4_BAD_CHECKSUM: 14,
  IPV6_TRUNCATED: 15,
  IPV6_BAD_PAYLOAD_LENGTH: 16,
  IPV6_BAD_EXTENSION: 17,
  TCP_TRUNCATED: 18,
  TCP_BAD_DATA_OFFSET: 19,
  TCP_BAD_CHECKSUM: 20,
  FRAGMENT_OVERLAP: 21,
  FRAGMENT_TOO_LARGE: 22,
} as const;

export type OutcomeCode = (typeof CODE)[keyof typeof CODE];

/** Number of distinct codes (size of the counter array). */
export const OUTCOME_CODE_COUNT = 23;

/** Skip reasons by code (codes 1..7). */
const SKIP_REASONS: readonly SkipReason[] = [
  'unsupported-link',
  'not-ip',
  'not-tcp',
  'fragment-pending',
  'fragment-dropped',
  'ip-in-ip',
  'port-filtered',
];

/** Malformed kinds by code (codes 8..22). */
const MALFORMED_KINDS: readonly MalformedKind[] = [
  'link-truncated',
  'vlan-truncated',
  'ip-bad-version',
  'ipv4-truncated',
  'ipv4-bad-header-length',
  'ipv4-bad-total-length',
  'ipv4-bad-checksum',
  'ipv6-truncated',
  'ipv6-bad-payload-length',
  'ipv6-bad-extension',
  'tcp-truncated',
  'tcp-bad-data-offset',
  'tcp-bad-checksum',
  'fragment-overlap',
  'fragment-too-large',
];

const FIRST_MALFORMED = CODE.LINK_TRUNCATED;

function buildOutcomes(): readonly DecodeOutcome[] {
  const outcomes: DecodeOutcome[] = [Object.freeze({ kind: 'tcp' })];
  for (const reason of SKIP_REASONS) outcomes.push(Object.freeze({ kind: 'skipped', reason }));
  for (const reason of MALFORMED_KINDS) outcomes.push(Object.freeze({ kind: 'malformed', reason }));
  return Object.freeze(outcomes);
}

/** The outcome object returned for each code; identical objects on every call. */
export const OUTCOMES: readonly DecodeOutcome[] = buildOutcomes();

/** Skip reason of a skip code, or null for other codes. */
export function skipReasonOf(code: number): SkipReason | null {
  return code >= 1 && code < FIRST_MALFORMED ? (SKIP_REASONS[code - 1] ?? null) : null;
}

/** Malformed kind of a malformed code, or null for other codes. */
export function malformedKindOf(code: number): MalformedKind | null {
  return code >= FIRST_MALFORMED ? (MALFORMED_KINDS[code - FIRST_MALFORMED] ?? null) : null;
}
