/**
 * Questions every output asks of a session, answered in one place so the CSV, the bounce report, the
 * dashboard and the text summary cannot disagree: which reply decided a recipient, which dispositions count
 * as failures, and the domain of an address.
 */

import type { RecipientDisposition, RecipientRecord, ReplyRecord, TransactionRecord } from './types.js';

/** The reply that decided a recipient's fate: the RCPT refusal (4xx or 5xx), else the final reply. */
export function decidingReply(r: Pick<RecipientRecord, 'rcptReply' | 'finalReply'>): ReplyRecord | null {
  if (r.rcptReply !== null && r.rcptReply.code >= 400) return r.rcptReply;
  return r.finalReply;
}

/** Whether each disposition is a failure (refused or deferred, at RCPT or after the data); every one named. */
const FAILED: Readonly<Record<RecipientDisposition, boolean>> = {
  delivered: false,
  'rejected-rcpt': true,
  'deferred-rcpt': true,
  'rejected-data': true,
  'deferred-data': true,
  'not-sent': false,
  unknown: false,
};

/** The dispositions that are failures: `rejected-rcpt`, `deferred-rcpt`, `rejected-data`, `deferred-data`. */
export const FAILED_DISPOSITIONS: ReadonlySet<RecipientDisposition> = new Set(
  (Object.keys(FAILED) as RecipientDisposition[]).filter((d) => FAILED[d]),
);

/** Whether a recipient with this disposition failed (was refused or deferred). */
export function isFailedDisposition(disposition: RecipientDisposition): boolean {
  return FAILED[disposition];
}

/**
 * The domain of a mailbox address: what follows the last `@`, lower-cased (a stray closing `>` dropped);
 * null for no address, the null sender `<>` (empty), no `@`, or nothing after it.
 */
export function addressDomain(address: string | null): string | null {
  if (address === null) return null;
  const at = address.lastIndexOf('@');
  if (at < 0) return null;
  let domain = address.slice(at + 1).toLowerCase();
  if (domain.endsWith('>')) domain = domain.slice(0, -1);
  return domain === '' ? null : domain;
}

/** A transaction whose message went out but whose final reply was never captured (a retry may deliver twice). */
export function isOutcomeUnknown(t: TransactionRecord): boolean {
  return t.mode !== null && t.finalReply === null && (t.outcome === 'incomplete' || t.outcome === 'unknown');
}
