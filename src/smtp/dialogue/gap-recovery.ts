/**
 * A capture gap in the bytes the dialogue reads (docs/SMTP.md, "Gap recovery"): inside a BDAT chunk or a DATA body
 * the framing survives; elsewhere the pending queue is cleared and the side resynchronises (`gap-recovery` mode on
 * the command side, the next reply-looking line on the reply side).
 */

import type { Direction } from '../../reassembly/types.js';
import type { LineEnding } from '../line-splitter.js';
import { finishAuth } from './auth-steps.js';
import { resolveHeldOptimistically } from './barriers.js';
import type { SmtpDialogue } from './dialogue.js';
import { looksLikeCommand } from './looks-like-command.js';
import { bdatChunkDone, endMessage } from './messages.js';

/** A gap in the bytes the dialogue reads (the wire in clear text, or the plaintext of a decrypted TLS). */
export function lineGap(
  d: SmtpDialogue,
  direction: Direction,
  offset: number,
  length: number,
  tsMicros: number,
): void {
  if (direction === d.replyDir && d.queue.gapHoldsMissingReplies(length)) {
    // The hole holds the AUTH replies the client proved were sent: the commands after them still await their
    // own replies, so the queue and the transaction stay; the reply side resumes at the next reply line.
    d.splitter(direction).reset();
    d.assembler.reset();
    d.replyRecovering = true;
    return;
  }
  resolveHeldOptimistically(d, tsMicros);
  const tx = d.tx;
  const message = tx.message;
  if (direction === d.cmdDir) {
    const splitter = d.splitter(direction);
    if (
      message !== null &&
      message.mode === 'BDAT' &&
      tx.chunk !== null &&
      length > 0 &&
      splitter.plainRemaining >= length
    ) {
      // The gap lies inside a BDAT chunk: its octets are lost, the framing is not.
      message.damaged = true;
      d.anomaly('content-gap', direction, `${length} bytes of a BDAT chunk lost`, offset, tsMicros);
      const remaining = splitter.plainRemaining;
      splitter.reset();
      splitter.setPlainDelivery(remaining - length);
      tx.chunk.remaining -= length;
      if (tx.chunk.remaining <= 0) bdatChunkDone(d, tsMicros);
      return;
    }
    if (message !== null && message.mode === 'DATA' && d.mode === 'data') {
      // The body goes on: whatever follows up to the final dot is still message text, even a line that looks
      // like a command. The message is marked damaged; a server reply before the dot means the dot was lost.
      message.damaged = true;
      message.afterGap = true;
      d.anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
      d.dot.resumeAfterGap();
      d.clearPending();
      return;
    }
    if (message !== null) {
      d.anomaly('content-gap', direction, `${length} bytes of the message lost`, offset, tsMicros);
      endMessage(d, false, tsMicros);
    }
    finishAuth(d, 'unknown', tsMicros);
    splitter.reset();
    d.mode = 'gap-recovery';
  } else {
    d.splitter(direction).reset();
    d.assembler.reset();
    d.replyRecovering = true;
  }
  d.clearPending();
  tx.unknown = true;
  tx.forget();
  d.setState('gap-recovery', tsMicros);
}

/**
 * A command-side line in `gap-recovery` mode: a lone dot ends a body whose start was lost (its reply follows);
 * a complete line that looks like a command ends the recovery. True when the line was consumed.
 */
export function recoveringLine(d: SmtpDialogue, text: string, ending: LineEnding, ts: number): boolean {
  if (text === '.') {
    // The end of a body whose start was lost: its reply follows. The message-end (without a message-start)
    // tells the model that a message ended here, of unknown size.
    d.mode = 'lines';
    const transaction = d.tx.forMessage();
    d.out.messageEnd(transaction, 0, false, true, ts);
    d.tx.close();
    d.queueEndOfData('DATA', transaction, ts);
    d.setState('ready', ts);
    return true;
  }
  if (ending !== 'crlf' || !looksLikeCommand(text)) return true; // still lost: body or half a line
  d.mode = 'lines';
  return false;
}
