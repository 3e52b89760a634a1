/**
 * The message being sent (docs/SMTP.md, "Modes"): a DATA body read by the dot decoder up to the final dot, or BDAT
 * chunks read as counted octets (RFC 3030), with their message-start, message-bytes, bdat-chunk and message-end
 * events and the end of data that awaits the final reply.
 */

import type { SmtpCommand } from '../types.js';
import type { SmtpDialogue } from './dialogue.js';
import type { PendingEntry } from './pending-queue.js';
import { BdatChunk, MessageInFlight } from './transaction.js';

export function startMessage(
  d: SmtpDialogue,
  mode: 'DATA' | 'BDAT',
  transaction: number | null,
  ts: number,
): void {
  d.tx.message = new MessageInFlight(mode, transaction);
  d.out.messageStart(mode, transaction, ts);
}

/** `atEnd`: the end-of-data mark was reached (final dot, BDAT LAST octets), so a final reply is due. */
export function endMessage(d: SmtpDialogue, complete: boolean, ts: number, atEnd = false): void {
  const message = d.tx.message;
  if (message === null) return;
  const sizeBytes = message.mode === 'DATA' ? d.dot.sizeBytes : message.bdatSize;
  d.out.messageEnd(message.transaction, sizeBytes, complete && !message.damaged, atEnd, ts);
  d.tx.message = null;
  d.tx.bdatOpen = false;
  d.tx.chunk = null;
  if (d.mode === 'data' || d.mode === 'bdat') d.mode = 'lines';
}

/** A DATA body starts; `transaction`: the DATA command's, or null for a 354 that answers no command. */
export function startData(d: SmtpDialogue, transaction: number | null, ts: number): void {
  d.dot.reset();
  d.mode = 'data';
  startMessage(d, 'DATA', transaction ?? d.tx.forMessage(), ts);
  d.setState('data', ts);
}

export function endOfData(d: SmtpDialogue, ts: number): void {
  const transaction = d.tx.message?.transaction ?? d.tx.current;
  endMessage(d, true, ts, true);
  d.mode = 'lines';
  d.tx.close();
  d.queueEndOfData('DATA', transaction, ts);
  d.setState('ready', ts);
}

export function startBdatChunk(
  d: SmtpDialogue,
  command: SmtpCommand,
  size: number,
  last: boolean,
  ts: number,
): void {
  const tx = d.tx;
  if (size > d.opts.maxBdatChunkBytes)
    d.anomaly(
      'bdat-chunk-too-large',
      d.cmdDir,
      `BDAT chunk of ${size} bytes (limit ${d.opts.maxBdatChunkBytes})`,
      command.offset,
      ts,
    );
  if (!tx.bdatOpen) {
    tx.bdatOpen = true;
    startMessage(d, 'BDAT', command.transaction, ts);
  }
  d.setState('bdat', ts);
  if (last) d.queueEndOfData('BDAT', command.transaction, ts);
  else d.queueCommand(command, false, ts);
  tx.chunk = new BdatChunk(size, last);
  if (last) tx.close();
  if (size === 0) bdatChunkDone(d, ts);
  else {
    d.mode = 'bdat';
    d.splitter(d.cmdDir).setPlainDelivery(size);
  }
}

export function onBdatOctets(d: SmtpDialogue, bytes: Uint8Array): void {
  const chunk = d.tx.chunk;
  const message = d.tx.message;
  if (chunk === null) return;
  d.out.messageBytes(bytes);
  chunk.remaining -= bytes.length;
  if (message !== null) message.bdatSize += bytes.length;
  if (chunk.remaining <= 0) bdatChunkDone(d, d.tsOf(d.cmdDir));
}

export function bdatChunkDone(d: SmtpDialogue, ts: number): void {
  const done = d.tx.chunk as BdatChunk;
  d.tx.chunk = null;
  if (d.mode === 'bdat') d.mode = 'lines';
  const transaction = d.tx.message?.transaction ?? null;
  d.out.bdatChunk(transaction, done.size, done.last, ts);
  if (done.refused) endMessage(d, false, ts);
  else if (done.last) {
    endMessage(d, true, ts, true);
    d.tx.close();
    d.setState('ready', ts);
  }
}

/** A non-2xx reply to a BDAT chunk (RFC 3030 3): the message fails, at once or when the octets end. */
export function bdatRefused(d: SmtpDialogue, _entry: PendingEntry, ts: number): void {
  const message = d.tx.message;
  if (message === null || message.mode !== 'BDAT') return;
  if (d.tx.chunk === null) endMessage(d, false, ts);
  else d.tx.chunk.refused = true;
}
