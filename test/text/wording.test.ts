import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { endDescription } from '../../src/text/session-end.js';
import { runMain } from '../helpers/run-main.js';
import { makeCommand, makeReply, makeSession, makeTls, T0 } from '../helpers/sessions.js';

const capture = (name: string) => join(import.meta.dirname, '../../captures', name);
const PORTS = ['--ports', '2525,2587-2592'];

describe('an encrypted session', () => {
  it('ends as "encrypted after STARTTLS: dialogue not visible", not as a fault, in the summary and transcript', async () => {
    const summary = await runMain([capture('smtp-server-starttls.pcap'), '--summary', ...PORTS]);
    expect(summary.out).toMatch(
      /How sessions ended:\n {2}encrypted after STARTTLS: dialogue not visible {2}1\n/,
    );
    const transcript = await runMain(['transcript', capture('smtp-server-starttls.pcap'), ...PORTS]);
    expect(transcript.out).toMatch(/-- ended: encrypted after STARTTLS: dialogue not visible \(rst\)/);
  });

  it('keeps its own end once decrypted (commands seen after STARTTLS)', () => {
    const starttls = makeCommand({
      seq: 1,
      verb: 'STARTTLS',
      verbText: 'STARTTLS',
      reply: makeReply(220, null, 'Go'),
    });
    const hidden = makeSession({
      tls: makeTls({ mode: 'starttls' }),
      commands: [starttls],
      end: 'fin-without-quit',
    });
    expect(endDescription(hidden)).toBe('encrypted after STARTTLS: dialogue not visible');
    const quit = makeCommand({ seq: 2, verb: 'QUIT', verbText: 'QUIT', tsMicros: T0 + 50_000 });
    const decrypted = makeSession({
      tls: makeTls({ mode: 'starttls' }),
      commands: [starttls, quit],
      end: 'quit',
    });
    expect(endDescription(decrypted)).toBe('quit');
    expect(endDescription(makeSession({ end: 'rst' }))).toBe('rst');
  });
});

describe('bounces', () => {
  it('names the user of a refused AUTH', async () => {
    const r = await runMain(['bounces', capture('smtp-server-auth.pcap'), ...PORTS]);
    expect(r.out).toContain('Login as capture-user: Authentication failed or is required (5.7.8)');
    // The password never appears.
    expect(r.out).not.toContain('wrong-password-for-capture');
  });
});
