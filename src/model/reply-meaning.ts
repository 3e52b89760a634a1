/**
 * The standard meaning of a reply (code and enhanced status) for the model and its reports. The knowledge lives in
 * smtp/reply-codes.ts and smtp/enhanced-status.ts; this file only joins the two.
 */

import { describeEnhancedStatus } from '../smtp/enhanced-status.js';
import { describeReplyCode } from '../smtp/reply-codes.js';
import { decidingReply } from './session-queries.js';
import type { RecipientRecord, ReplyMeaning, ReplyRecord, TransactionRecord } from './types.js';

/**
 * Meanings made so far, by enhanced status ('' for none) and code: a run sees a few dozen pairs, so each session
 * shares the record of its pair instead of making one per reply (the records are read-only). Bounded: past
 * MAX_CACHED pairs a meaning is made afresh each time.
 */
const cache = new Map<string, Map<number, ReplyMeaning>>();
let cached = 0;
const MAX_CACHED = 4096;

/** What a reply's code and enhanced status stand for; null for no reply. */
export function replyMeaning(
  reply: Pick<ReplyRecord, 'code' | 'enhancedStatus'> | null,
): ReplyMeaning | null {
  if (reply === null) return null;
  const key = reply.enhancedStatus ?? '';
  let byCode = cache.get(key);
  const known = byCode?.get(reply.code);
  if (known !== undefined) return known;
  const meaning = makeMeaning(reply);
  if (cached < MAX_CACHED) {
    if (byCode === undefined) {
      byCode = new Map();
      cache.set(key, byCode);
    }
    byCode.set(reply.code, meaning);
    cached++;
  }
  return meaning;
}

function makeMeaning(reply: Pick<ReplyRecord, 'code' | 'enhancedStatus'>): ReplyMeaning {
  const status = reply.enhancedStatus === null ? null : describeEnhancedStatus(reply.enhancedStatus);
  return {
    code: reply.code,
    codeMeaning: describeReplyCode(reply.code).meaning,
    enhancedStatus: reply.enhancedStatus,
    statusMeaning: status === null ? null : status.detail,
  };
}

/** The meaning of a transaction's final reply, from the record or derived when it was built without one. */
export function finalMeaningOf(t: TransactionRecord): ReplyMeaning | null {
  return t.finalMeaning !== undefined ? t.finalMeaning : replyMeaning(t.finalReply);
}

/** The meaning of a recipient's deciding reply, from the record or derived when it was built without one. */
export function recipientMeaningOf(r: RecipientRecord): ReplyMeaning | null {
  return r.meaning !== undefined ? r.meaning : replyMeaning(decidingReply(r));
}
