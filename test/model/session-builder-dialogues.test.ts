import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionBuilder } from '../../src/model/session-builder.js';
import type { SmtpSession } from '../../src/model/types.js';
import { parseDialogue, runDialogue, TEST_FLOW } from '../helpers/dialogue.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', 'smtp');

/** Decodes a dialogue (a golden file's name, or its text) and builds the session model from the events. */
function sessionOf(dialogue: string): SmtpSession {
  const text = dialogue.includes('\n')
    ? dialogue
    : readFileSync(join(GOLDEN, `${dialogue}.dialogue.txt`), 'latin1');
  const builder = createSessionBuilder(TEST_FLOW);
  for (const event of runDialogue(parseDialogue(text))) builder.apply(event);
  return builder.finishNow();
}

describe('session-builder on decoded dialogues', () => {
  it('keeps the message of a server one reply short, and does not count the lost reply as pending', () => {
    const session = sessionOf('greeting-without-crlf');
    expect(session.transactions).toHaveLength(1);
    const t = session.transactions[0];
    expect(t?.mailFrom).toBe('alice@c.example');
    expect(t?.dataReply?.code).toBe(354);
    expect(t?.message?.subject).toBe('hello');
    expect(t?.finalReply?.code).toBe(250);
    expect(t?.recipients.map((r) => r.rcptReply?.code ?? null)).toEqual([250, null]);
    const quit = session.commands.find((c) => c.verb === 'QUIT');
    expect(quit?.reply?.code).toBe(221);
    expect(quit?.pipelined).toBe(false);
    expect(session.commands.some((c) => c.verb === 'UNKNOWN')).toBe(false);
  });
});

describe('session-builder: a MAIL refused inside an open transaction', () => {
  it.each(['nested-mail-refused', 'nested-mail-pipelined'])(
    '%s: the open transaction goes on and gets the message',
    (name) => {
      const session = sessionOf(name);
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect(t?.mailFrom).toBe('alice@c.example');
      expect(t?.mailReply?.code).toBe(250);
      expect(t?.recipients.map((r) => [r.index, r.address, r.rcptReply?.code])).toEqual([
        [1, 'carol@d.example', 250],
      ]);
      expect(t?.message?.subject).toBe('hi');
      expect(t?.finalReply?.code).toBe(250);
      expect(t?.outcome).toBe('accepted');
      const mails = session.commands.filter((c) => c.verb === 'MAIL');
      expect(mails.map((c) => [c.reply?.code, c.transaction])).toEqual([
        [250, 1],
        [503, 1],
      ]);
      expect(session.commands.filter((c) => c.transaction !== null).every((c) => c.transaction === 1)).toBe(
        true,
      );
    },
  );

  it('starts a new transaction when the second MAIL is accepted (the server allowed it)', () => {
    const session = sessionOf(
      [
        'S: 220 mx.example.org ESMTP',
        'C: HELO c.example',
        'S: 250 mx.example.org',
        'C: MAIL FROM:<alice@c.example>',
        'S: 250 Ok',
        'C: MAIL FROM:<bob@c.example>',
        'S: 250 Ok',
        'C: QUIT',
        'S: 221 Bye',
        '',
      ].join('\n'),
    );
    expect(session.transactions.map((t) => [t.mailFrom, t.outcome])).toEqual([
      ['alice@c.example', 'aborted'],
      ['bob@c.example', 'aborted'],
    ]);
  });
});
