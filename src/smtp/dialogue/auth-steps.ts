/**
 * The AUTH exchange as the dialogue drives it (RFC 4954): the AUTH command, each client response after a 334, the
 * outcome event, and the evidence used when replies are missing (a line that cannot be base64 is a command).
 * Secrets are redacted unless asked for.
 */

import { decodeBase64Text, exposesSecret, extractAuthCredentials } from '../auth-credentials.js';
import { toSmtpVerb } from '../command-parser.js';
import type { AuthOutcome, SmtpCommand, SmtpReply } from '../types.js';
import { AuthExchange, couldBeAuthResponse, expectedAuthResponses } from './auth-exchange.js';
import { resolveBarrier } from './barriers.js';
import type { SmtpDialogue } from './dialogue.js';
import { firstWord, latin1, words } from './lines.js';
import type { PendingEntry } from './pending-queue.js';

export const REDACTED = '[redacted]';
const EMPTY_PARAMS = Object.freeze({});

export function startAuth(d: SmtpDialogue, command: SmtpCommand, ts: number): void {
  const args = words(command.argument);
  const mechanism = (args[0] ?? '').toUpperCase();
  const initial = d.authInitial;
  d.queueCommand(command, true, ts);
  finishAuth(d, 'unknown', ts);
  const exchange = new AuthExchange(mechanism, expectedAuthResponses(mechanism, initial !== null), command);
  if (initial !== null && initial !== '=') exchange.items.push({ data: initial, prompt: null });
  d.auth = exchange;
  d.lastAuthMechanism = mechanism;
  if (exposesSecret(mechanism) && !d.encrypted)
    d.anomaly(
      'auth-cleartext',
      d.cmdDir,
      `AUTH ${mechanism} without TLS exposes the secret`,
      command.offset,
      ts,
    );
  d.setState('auth', ts);
}

export function finishAuth(d: SmtpDialogue, outcome: AuthOutcome, ts: number): void {
  const exchange = d.auth;
  if (exchange === null) return;
  d.auth = null;
  if (d.mode === 'auth') d.mode = 'lines';
  const credentials = extractAuthCredentials(exchange.mechanism, exchange.items);
  d.out.auth(
    exchange.mechanism,
    credentials.username,
    d.opts.revealSecrets ? credentials.secret : null,
    exchange.aborted && outcome !== 'success' ? 'aborted' : outcome,
    ts,
  );
  if (d.state === 'auth') d.setState('ready', ts);
}

export function expectAuthResponse(d: SmtpDialogue, on: boolean): void {
  if (on) d.mode = 'auth';
  else if (d.mode === 'auth') d.mode = 'lines';
}

/** A complete line held behind an AUTH step is a command that cannot be an AUTH response (not base64). */
export function heldCommandAfterAuth(d: SmtpDialogue): boolean {
  return d.held.someLine((line) => {
    const text = latin1(line).trim();
    return !couldBeAuthResponse(text) && toSmtpVerb(firstWord(text)) !== null;
  });
}

/**
 * An AUTH step whose reply the capture lacks (RFC 4954: the client waits for it before sending anything else,
 * so a command after it proves the reply was sent): the step is left without a reply and the held bytes are
 * read as if it had been accepted (more AUTH responses while they look like base64, then commands).
 */
export function authReplyMissing(d: SmtpDialogue, entry: PendingEntry, ts: number): void {
  const command = entry.command as SmtpCommand;
  if (d.queue.remove(entry)) {
    d.queue.replyMissing();
    d.anomaly(
      'missing-reply',
      d.cmdDir,
      `no reply to ${entry.describe()} in the capture: the client sent a command after it`,
      command.kind === 'command' ? command.offset : null,
      ts,
      { kind: command.kind, seq: command.seq },
    );
  }
  resolveBarrier(d, entry, null, ts);
}

export function authResponse(
  d: SmtpDialogue,
  exchange: AuthExchange,
  text: string,
  offset: number,
  ts: number,
): void {
  exchange.addResponse(text.trim());
  expectAuthResponse(d, false);
  const command = credentialCommand(d, text, offset, ts);
  exchange.lastStep = command;
  d.queueCommand(command, true, ts);
}

/** Emits a client line of an AUTH exchange, redacted (kept as sent only when empty, `=` or `*`). */
export function credentialCommand(d: SmtpDialogue, text: string, offset: number, ts: number): SmtpCommand {
  const trimmed = text.trim();
  const argument =
    d.opts.revealSecrets || trimmed === '*' || trimmed === '' || trimmed === '=' ? trimmed : REDACTED;
  const command: SmtpCommand = {
    seq: d.commandSeq++,
    verb: 'AUTH',
    verbText: '',
    argument,
    path: null,
    params: EMPTY_PARAMS,
    kind: 'auth-response',
    offset,
    tsMicros: ts,
    transaction: null,
    recipient: null,
    opens: null,
    encrypted: d.encrypted,
  };
  d.out.command(command);
  return command;
}

/**
 * A 334 with no AUTH step waiting. With an exchange open (a gap cleared the queue), it answers the exchange's
 * latest step. With none, an earlier reply was paired with AUTH that was not its answer: the server still waits
 * for an AUTH response, so the exchange resumes and the next client line is read (and redacted) as one.
 */
export function onLoneChallenge(d: SmtpDialogue, reply: SmtpReply, ts: number): void {
  const prompt = decodeBase64Text(reply.lines[0] ?? '');
  const auth = d.auth;
  if (auth !== null && auth.lastStep !== null) {
    d.out.reply(reply, auth.lastStep);
    expectAuthResponse(d, true);
    auth.prompt = prompt;
    return;
  }
  d.anomaly(
    d.midstream || d.state === 'gap-recovery' || d.mode === 'gap-recovery'
      ? 'reply-without-command'
      : 'unmatched-reply',
    d.replyDir,
    'reply 334 answers no waiting AUTH step; the next client line is read as an AUTH response',
    reply.offset,
    ts,
  );
  d.out.unmatchedReply(reply);
  finishAuth(d, 'unknown', ts);
  const exchange = new AuthExchange(
    d.lastAuthMechanism === '' ? 'UNKNOWN' : d.lastAuthMechanism,
    Number.POSITIVE_INFINITY,
    null,
  );
  exchange.prompt = prompt;
  d.auth = exchange;
  expectAuthResponse(d, true);
  d.setState('auth', ts);
}

/**
 * A command-side line while AUTH may be under way: a credential line (sent before the AUTH step's reply, or an
 * AUTH response in `auth` mode) is emitted redacted; a line that cannot be base64 ends the exchange. True when the
 * line was consumed as a credential.
 */
export function authLine(d: SmtpDialogue, text: string, offset: number, ts: number): boolean {
  if (offset < d.credentialUntil && d.mode !== 'auth' && couldBeAuthResponse(text.trim())) {
    // Sent before the AUTH step's reply arrived: a credential line even though the exchange is over.
    credentialCommand(d, text, offset, ts);
    return true;
  }

  const auth = d.auth;
  if (d.mode === 'auth' && auth !== null) {
    // Base64 evidence: a line that cannot be base64 is a command, whatever the (missing) replies said.
    const looksLikeCommandLine = toSmtpVerb(firstWord(text)) !== null && text.indexOf(' ') >= 0;
    const countingOnly = !d.seen(d.replyDir) && auth.expectedRemaining === Number.POSITIVE_INFINITY;
    if (!(looksLikeCommandLine && (countingOnly || !couldBeAuthResponse(text.trim())))) {
      authResponse(d, auth, text, offset, ts);
      return true;
    }
    finishAuth(d, 'unknown', ts);
  } else if (auth !== null && d.held.barrier === null) {
    // AUTH exchange over without a final reply (client-only capture, or replies missing).
    finishAuth(d, 'unknown', ts);
  }
  return false;
}
