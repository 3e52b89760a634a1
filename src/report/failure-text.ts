/**
 * The one place reports turn a failure reply into words: the reason class, a one-line explanation and the
 * meaning of the enhanced status code. The knowledge lives in model/reason-class.ts and
 * smtp/enhanced-status.ts; this file only adapts it to report rows.
 */

import { classifyFailure, type ExplainContext, explainFailure } from '../model/reason-class.js';
import type { FailureStage, ReasonClass, ReplyRecord } from '../model/types.js';
import { describeEnhancedStatus } from '../smtp/enhanced-status.js';

export interface FailureContext {
  readonly stage: FailureStage | null;
  readonly recipient?: string | null;
  readonly sender?: string | null;
}

function explainContext(context: FailureContext): ExplainContext {
  return {
    ...(context.stage === null ? {} : { stage: context.stage }),
    ...(context.recipient === undefined ? {} : { recipient: context.recipient }),
    ...(context.sender === undefined ? {} : { sender: context.sender }),
  };
}

/** Reason class of a failure reply (4xx/5xx); null for a reply that is not a failure. */
export function reasonOf(
  reply: Pick<ReplyRecord, 'code' | 'enhancedStatus' | 'text'>,
  stage: FailureStage | null,
): ReasonClass | null {
  return classifyFailure(reply.code, reply.enhancedStatus, reply.text, stage ?? undefined);
}

/** One-line explanation of a failure reply, for people troubleshooting a bounce. */
export function explainReply(
  reply: Pick<ReplyRecord, 'code' | 'enhancedStatus' | 'text'>,
  context: FailureContext,
): string {
  return explainFailure(reply.code, reply.enhancedStatus, reply.text, explainContext(context));
}

/** Meaning of an RFC 3463 enhanced status ("5.1.1" → "Bad destination mailbox address"). */
export function enhancedMeaning(status: string | null): string | null {
  if (status === null || status === '') return null;
  const d = describeEnhancedStatus(status);
  return d === null ? null : d.detail;
}
