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
