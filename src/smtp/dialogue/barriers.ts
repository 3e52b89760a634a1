/**
 * Barriers (docs/SMTP.md): after DATA, STARTTLS and each AUTH step, what the client sends next depends on the
 * reply. The held client bytes are read once the reply (or an optimistic decision) says what they are.
 */

import { decodeBase64Text } from '../auth-credentials.js';
import type { SmtpReply } from '../types.js';
import { expectAuthResponse, finishAuth } from './auth-steps.js';
import type { SmtpDialogue } from './dialogue.js';
import { startData } from './messages.js';
import type { PendingEntry } from './pending-queue.js';
import { startTls, TLS_HANDSHAKE } from './tls-start.js';

/** Decides how the client bytes after a barrier command are read, and replays what was held. */
export function resolveBarrier(
  d: SmtpDialogue,
  target: PendingEntry,
  reply: SmtpReply | null,
  ts: number,
): void {
  if (target.resolved) return;
  target.resolved = true;
  if (d.held.barrier === target) d.held.barrier = null;
  const chunks = d.held.take();
  const command = target.command;
  const last = chunks[chunks.length - 1];
  if (command !== null && command.verb === 'AUTH' && last !== undefined)
    d.credentialUntil = Math.max(d.credentialUntil, last.offset + last.bytes.length);
  const verb = command !== null && command.kind === 'command' ? command.verb : undefined;
  const auth = d.auth;
  if (verb === 'DATA') {
    if (reply === null || reply.code === 354) startData(d, command?.transaction ?? null, ts);
  } else if (verb === 'STARTTLS') {
    const first = chunks[0]?.bytes[0];
    const positive = reply === null ? first === TLS_HANDSHAKE : reply.code === 220;
    if (positive) {
      if (first !== undefined && first !== TLS_HANDSHAKE)
        d.anomaly(
          'invalid-pipelined-sequence',
          d.cmdDir,
          'clear text sent after STARTTLS before its 220 reply',
          chunks[0]?.offset ?? null,
          ts,
        );
      // Nothing held: TLS starts only if the next bytes are TLS (a client may go on in clear text instead).
      if (first === undefined && reply !== null) {
        d.mode = 'tls-pending';
        d.tlsPendingSince = ts;
      } else startTls(d, 'starttls', ts);
    }
  } else if (auth !== null) {
    if (reply === null) {
      expectAuthResponse(d, auth.expectedRemaining > 0);
      if (auth.expectedRemaining <= 0) finishAuth(d, 'unknown', ts);
    } else if (reply.code === 334) {
      expectAuthResponse(d, true);
      auth.prompt = decodeBase64Text(reply.lines[0] ?? '');
    }
  }
  if (
    chunks.length > 0 &&
    reply !== null &&
    (d.mode === 'lines' || d.mode === 'bdat' || d.mode === 'gap-recovery')
  ) {
    d.anomaly(
      'invalid-pipelined-sequence',
      d.cmdDir,
      `client sent data after ${target.describe()} before its reply`,
      chunks[0]?.offset ?? null,
      ts,
    );
  }
  for (const chunk of chunks) {
    d.setTs(d.cmdDir, chunk.tsMicros);
    d.feed(d.cmdDir, chunk.bytes, chunk.offset, chunk.tsMicros);
  }
}

export function resolveHeldOptimistically(d: SmtpDialogue, ts: number): void {
  const barrier = d.held.barrier;
  if (barrier !== null) resolveBarrier(d, barrier, null, ts);
}

/** Client-only capture: resolve a barrier at once; STARTTLS is taken as accepted when TLS bytes follow. */
export function resolveBarrierSniff(
  d: SmtpDialogue,
  target: PendingEntry,
  firstByte: number | undefined,
  ts: number,
): void {
  const verb = target.command?.kind === 'command' ? target.command.verb : undefined;
  if (verb === 'STARTTLS') {
    target.resolved = true;
    d.held.barrier = null;
    if (firstByte === TLS_HANDSHAKE) startTls(d, 'starttls', ts);
    return;
  }
  resolveBarrier(d, target, null, ts);
}
