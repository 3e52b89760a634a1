import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionBuilder } from '../../src/model/session-builder.js';
import type { SmtpSession } from '../../src/model/types.js';
import { formatTranscript } from '../../src/text/transcript.js';
import { parseDialogue, runDialogue, TEST_FLOW } from '../helpers/dialogue.js';
import { applyEvents } from '../helpers/smtp-events.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', 'smtp');

function sessionOf(name: string): SmtpSession {
  const dialogue = parseDialogue(readFileSync(join(GOLDEN, `${name}.dialogue.txt`), 'latin1'));
  const builder = createSessionBuilder(TEST_FLOW, { lmtp: dialogue.options.lmtp === true });
  applyEvents(builder, runDialogue(dialogue));
  return builder.finishNow();
}

/** The transcript's dialogue lines (C: / S:), without the header, the end line and latencies. */
function dialogueLines(session: SmtpSession): string[] {
  return formatTranscript(session, { times: false })
    .split('\n')
    .filter((line) => /^(C|S): /.test(line))
    .map((line) => line.replace(/ {3}\[[^\]]*\]$/, ''));
}

describe('transcript', () => {
  it('prints a reply that answers no command in the capture where it came, and says so', () => {
    const text = formatTranscript(sessionOf('gap-mid-command'), { times: false }).split('\n');
    const at = text.indexOf('S: 250 Ok');
    expect(at).toBeGreaterThan(0);
    expect(text[at + 1]).toBe('   (answers no command in the capture)');
    expect(text.slice(at + 2).some((line) => line.startsWith('C: RCPT TO:<b@mx.example.org>'))).toBe(true);
  });

  it('prints the body and the dot once before the LMTP per-recipient replies, and QUIT after them', () => {
    expect(dialogueLines(sessionOf('lmtp-pipelined-quit')).slice(-8)).toEqual([
      'C: DATA',
      'S: 354 Go ahead',
      'C: <message body: 21 B>',
      'C: .',
      'S: 250 2.0.0 <bob@example.org> delivered',
      'S: 452 4.2.2 <carol@example.org> mailbox full',
      'C: QUIT',
      'S: 221 Bye',
    ]);
  });

  it('prints the final dot before a MAIL pipelined behind it', () => {
    const lines = dialogueLines(sessionOf('pipelined-mail-after-dot'));
    const dot = lines.indexOf('C: .');
    expect(lines.slice(dot - 1, dot + 3)).toEqual([
      'C: <message body: 23 B>',
      'C: .',
      'S: 250 2.0.0 Ok: queued as 4AAA1',
      'C: MAIL FROM:<carol@c.example>',
    ]);
  });

  it('says under a failure reply what its code and enhanced status stand for', () => {
    const lines = formatTranscript(sessionOf('lmtp'), { times: false }).split('\n');
    const at = lines.findIndex((l) => l.includes('S: 550 5.1.1 User unknown'));
    expect(lines[at + 1]?.trim()).toBe(
      '#  550: Requested action not taken: mailbox unavailable (not found, no access, or refused by policy); 5.1.1: Bad destination mailbox address: the mailbox does not exist at the destination',
    );
    // No meaning line under a positive reply.
    const ok = lines.findIndex((l) => l.includes('S: 250 2.1.0 Ok'));
    expect(lines[ok + 1]).not.toMatch(/^\s*#/);
  });

  /** Transcript lines without times and latencies (the header and the end line included). */
  const plainLines = (name: string): string[] =>
    formatTranscript(sessionOf(name), { times: false })
      .split('\n')
      .map((line) => line.replace(/ {3}\[[^\]]*\]$/, '').trim());

  it('prints an anomaly where it happened: a gap inside the body between DATA and the body line', () => {
    const lines = plainLines('gap-mid-data');
    const data = lines.indexOf('C: DATA');
    expect(lines.slice(data, data + 5)).toEqual([
      'C: DATA',
      'S: 354 go ahead',
      '!  content-gap: 500 bytes of the message lost',
      'C: <message body: 62 B, incomplete>',
      'C: .',
    ]);
    expect(lines.at(-1)).toMatch(/^-- ended/);
  });

  it('prints the TLS hellos after the 220 to STARTTLS', () => {
    const lines = plainLines('starttls-accepted');
    const at = lines.indexOf('C: STARTTLS');
    expect(lines.slice(at, at + 3)).toEqual([
      'C: STARTTLS',
      'S: 220 2.0.0 Ready to start TLS',
      '*  TLS (starttls): client hello TLS 1.3, TLS 1.2, SNI mx.example.org; server hello TLS 1.3, cipher TLS_AES_256_GCM_SHA384',
    ]);
  });

  it('prints the AUTH outcome after the exchange, before the next command', () => {
    const lines = plainLines('auth-plain-success');
    const at = lines.indexOf('C: AUTH PLAIN [redacted]');
    expect(lines.slice(at, at + 5)).toEqual([
      'C: AUTH PLAIN [redacted]',
      'S: 235 2.7.0 Authentication successful',
      '!  auth-cleartext: AUTH PLAIN without TLS exposes the secret',
      '*  AUTH PLAIN user alice: success',
      'C: QUIT',
    ]);
  });
});
