/**
 * Each complete reply: the greeting, or the answer to the oldest waiting command that its code can answer
 * (skipping, with `missing-reply`, those that got none in the capture), then that verb's `onReply` transition.
 */

import { isValidReplyCode } from '../reply-parser.js';
import type { SmtpReply } from '../types.js';
import { onLoneChallenge } from './auth-steps.js';
import { resolveBarrier } from './barriers.js';
import type { SmtpDialogue } from './dialogue.js';
import { endMessage, startData } from './messages.js';
import { canAnswer, LmtpReplies, type PendingEntry } from './pending-queue.js';
import { TRANSITIONS } from './transitions.js';

export function afterGapAnywhere(d: SmtpDialogue): boolean {
  return d.midstream || d.state === 'gap-recovery' || d.mode === 'gap-recovery' || d.replyRecovering;
}

export function onReply(d: SmtpDialogue, reply: SmtpReply): void {
  d.queue.replyRead();
  const direction = d.replyDir;
  const ts = reply.endTsMicros;
  const cmdDir = d.cmdDir;
  if (!isValidReplyCode(reply.code))
    d.anomaly(
      'invalid-reply',
      direction,
      `reply code ${String(reply.code).padStart(3, '0')} out of range`,
      reply.offset,
      ts,
    );
  const message = d.tx.message;
  if (d.mode === 'data' && message !== null && message.afterGap && d.held.barrier === null) {
    // A reply while a body cut by a gap is still open: its final dot was in the gap. The reply answers the end
    // of data; what the client sends next may be body or commands, so the command side resynchronises.
    const transaction = message.transaction;
    endMessage(d, false, ts, true);
    d.queueEndOfData('DATA', transaction, ts);
    d.mode = 'gap-recovery';
    d.tx.close();
    d.setState('gap-recovery', ts);
  }
  const first = !d.replySeen;
  d.replySeen = true;
  const code = reply.code;
  const greetingCode = code === 220 || code === 421 || code === 554;
  if (first && !d.greetingSeen && !d.midstream && !d.handshakeSeen && !greetingCode) {
    // No handshake and the first reply is no greeting: it answers a command, maybe one sent before the capture.
    d.anomalyOnce(
      'midstream',
      direction,
      `no handshake seen and the first reply ${code} is not a greeting; the capture starts mid-session`,
      reply.offset,
      ts,
    );
  }
  if (first && !d.greetingSeen && !d.midstream) {
    const waiting = d.queue.size;
    if (waiting === 0 || greetingCode) {
      if (waiting > 0)
        d.anomaly(
          'command-before-greeting',
          cmdDir,
          `${waiting} command(s) sent before the server greeting`,
          null,
          ts,
        );
      d.greetingSeen = true;
      d.out.greeting(reply);
      if (d.state === 'connected') d.setState('ready', ts);
      return;
    }
    d.anomaly(
      'no-greeting',
      direction,
      `first reply ${code} answers a command; no greeting`,
      reply.offset,
      ts,
    );
  }
  let matched = d.queue.peek();
  if (matched !== null && !canAnswer(code, matched)) {
    // With nothing later that can take it, a reply pairs in order; but a 334 never answers anything but AUTH.
    matched = skipToAnswerable(d, reply, ts) ?? (code === 334 ? null : matched);
  }
  if (matched === null && code === 334 && d.seen(cmdDir) && d.mode !== 'tls') {
    onLoneChallenge(d, reply, ts);
    return;
  }
  if (matched === null) {
    if (!d.seen(cmdDir)) {
      // Server-only capture: nothing could be paired; `one-sided` says so once at the end.
    } else if (afterGapAnywhere(d))
      d.anomaly(
        'reply-without-command',
        direction,
        `reply ${code} after a gap; the command it answers is unknown`,
        reply.offset,
        ts,
      );
    else
      d.anomaly('unmatched-reply', direction, `reply ${code} with no command awaiting it`, reply.offset, ts);
    d.out.unmatchedReply(reply);
    if (code === 354 && d.mode !== 'data' && d.mode !== 'tls') startData(d, null, ts);
    return;
  }
  const command = matched.command;
  if (command === null) {
    // End of data: nothing changes beyond what the command side did.
    let index: number | null = null;
    if (d.lmtp) {
      let lmtp = matched.lmtp;
      if (lmtp === null) {
        lmtp = new LmtpReplies(d.tx.accepted);
        matched.lmtp = lmtp;
      }
      index = lmtp.recipients[lmtp.next] ?? null;
      lmtp.next++;
      lmtp.remaining--;
      if (lmtp.remaining <= 0) d.queue.shift();
    } else d.queue.shift();
    d.out.endOfDataReply(reply, matched.mode, index, matched.transaction);
    return;
  }
  d.queue.shift();
  d.out.reply(reply, command);
  if (command.kind === 'auth-response') TRANSITIONS.AUTH.onReply(d, matched, reply, ts);
  else TRANSITIONS[command.verb].onReply(d, matched, reply, ts);
}

/**
 * Pairing by code: when the oldest waiting command cannot take this reply but a later one can, the commands
 * before it got no reply in the capture: each is flagged `missing-reply` and left without one. Returns the new
 * head, or null when nothing later fits.
 */
export function skipToAnswerable(d: SmtpDialogue, reply: SmtpReply, ts: number): PendingEntry | null {
  const queue = d.queue;
  const answered = queue.laterAnswering(reply.code);
  if (answered === null) return null;
  const answeredName = answered.describe();
  // Skip up to the answered entry by identity: resolving a barrier below replays held client bytes, which
  // may queue, compact or clear the pending list, so positions do not stay valid.
  for (let skipped = queue.peek(); skipped !== null && skipped !== answered; skipped = queue.peek()) {
    queue.shift();
    const command = skipped.command;
    d.anomaly(
      'missing-reply',
      d.cmdDir,
      `no reply to ${skipped.describe()} in the capture: ${reply.code} answers ${answeredName}`,
      command?.kind === 'command' ? command.offset : null,
      ts,
      command === null
        ? { kind: 'end-of-data', transaction: skipped.transaction }
        : { kind: command.kind, seq: command.seq },
    );
    if (d.held.barrier === skipped) {
      resolveBarrier(d, skipped, null, ts);
      // The replay dropped the answered entry (the queue was cleared): what it queued since is not skipped.
      if (!queue.has(answered)) break;
    }
  }
  return queue.peek();
}
