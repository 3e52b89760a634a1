import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyDirectionStats, type FlowKey } from '../../src/reassembly/types.js';
import { createSmtpDecoder, looksLikeCommand } from '../../src/smtp/decoder.js';
import { DEFAULT_SMTP_DECODER_OPTIONS } from '../../src/smtp/options.js';
import { createSmtpStreamFactory } from '../../src/smtp/stream-factory.js';
import type { SmtpEvent } from '../../src/smtp/types.js';
import {
  type Dialogue,
  type DialogueStep,
  forEachDialogueSplit,
  formatEvents,
  parseDialogue,
  runDialogue,
  TEST_FLOW,
} from '../helpers/dialogue.js';
import { eventRecorder } from '../helpers/smtp-events.js';

function events(text: string): SmtpEvent[] {
  return runDialogue(parseDialogue(text));
}

function codes(list: SmtpEvent[]): string[] {
  return list.flatMap((e) => (e.type === 'anomaly' ? [e.code] : []));
}

describe('decoder', () => {
  it('exports its defaults', () => {
    expect(DEFAULT_SMTP_DECODER_OPTIONS).toMatchObject({
      maxLineLength: 4096,
      maxPendingCommands: 1000,
      revealSecrets: false,
    });
  });

  it('assumes a positive DATA reply once the held client bytes pass maxHeldBytes', () => {
    const list = events(`@option maxHeldBytes=16
S: 220 mx
C: HELO c
S: 250 mx
C: MAIL FROM:<a@b>
S: 250 ok
C: RCPT TO:<c@d>
S: 250 ok
C: DATA
C: Subject: a long header line
C: .
S: 354 go
S: 250 queued`);
    const log = formatEvents(list);
    expect(log).toContain('message-bytes 29 "Subject: a long header line\\r\\n"');
    expect(log).toContain('message-end size=29 complete=true');
    expect(log).toMatch(/S 354 "go" -> #3 DATA/);
    expect(log).toMatch(/S 250 "queued" -> end-of-data DATA/);
  });

  it('clears the pending queue past maxPendingCommands', () => {
    const lines = [
      '@option maxPendingCommands=3',
      'S: 220 mx',
      'C: NOOP',
      'C: NOOP',
      'C: NOOP',
      'C: NOOP',
      'S: 250 a',
    ];
    const list = events(lines.join('\n'));
    expect(codes(list)).toContain('excessive-pending-commands');
    const reply = list.find((e) => e.type === 'reply' && e.reply.lines[0] === 'a');
    expect(reply?.type === 'reply' && reply.to.kind === 'command' ? reply.to.command.seq : null).toBe(3);
  });

  it('flags too many recipients once per transaction', () => {
    const rcpts = Array.from({ length: 4 }, (_, i) => `C: RCPT TO:<r${i}@d>`).join('\n');
    const list = events(
      `@option maxRecipients=2\nC: MAIL FROM:<a@b>\n${rcpts}\nC: RSET\nC: MAIL FROM:<a@b>\n${rcpts}`,
    );
    expect(codes(list).filter((c) => c === 'too-many-recipients')).toHaveLength(2);
  });

  it('keeps BDAT framing across a gap inside the chunk octets', () => {
    const log = formatEvents(
      events(`S: 220 mx
C: MAIL FROM:<a@b>
S: 250 ok
C: RCPT TO:<c@d>
S: 250 ok
C= BDAT 10 LAST\\r\\nab
C! gap 5
C= cde
C: QUIT
S: 250 got it
S: 221 bye`),
    );
    expect(log).toContain('! content-gap c2s "5 bytes of a BDAT chunk lost"');
    expect(log).toContain('bdat-chunk size=10 last');
    expect(log).toContain('message-end size=5 complete=false');
    expect(log).toMatch(/C #3 QUIT/);
    expect(log).toMatch(/S 221 "bye" -> #3 QUIT/);
  });

  it('ends a body cut by the end of the connection as incomplete, and flushes a cut multi-line reply', () => {
    const list = events(`S: 220 mx
C: MAIL FROM:<a@b>
S: 250 ok
C: RCPT TO:<c@d>
S: 250 ok
C: DATA
S: 354 go
C: partial body
S= 250-still\\r\\n
@close rst`);
    const log = formatEvents(list);
    expect(log).toContain('message-end size=14 complete=false');
    expect(log).toContain('! invalid-reply s2c "multi-line reply cut by the end of the connection"');
    expect(log).toContain('closed rst');
  });

  it('takes a client-only STARTTLS as accepted when TLS bytes follow it, and not otherwise', () => {
    const tls = formatEvents(events('C: EHLO c\nC: STARTTLS\nC= \\x16\\x03\\x01\\x00\\x01\\x01'));
    expect(tls).toContain('tls-start starttls');
    expect(tls).toContain('tls-bytes c2s=6 s2c=0');
    const plain = formatEvents(events('C: EHLO c\nC: STARTTLS\nC: QUIT'));
    expect(plain).not.toContain('tls-start');
    expect(plain).toMatch(/C #2 QUIT/);
  });

  it('keeps AUTH secrets in commands and events only when asked', () => {
    const text = 'S: 220 mx\nC: AUTH PLAIN AGFsaWNlAHMzY3JldA==\nS: 235 ok';
    const hidden = formatEvents(events(text));
    expect(hidden).toContain('C #0 AUTH "PLAIN [redacted]"');
    expect(hidden).not.toContain('s3cret');
    const shown = formatEvents(events(`@option revealSecrets=true\n${text}`));
    expect(shown).toContain('C #0 AUTH "PLAIN AGFsaWNlAHMzY3JldA=="');
    expect(shown).toContain('secret="s3cret"');
  });

  it('enters the body on a 354 seen during gap recovery', () => {
    const log = formatEvents(
      events(`C! gap 50 midstream
S! gap 20 midstream
S: 354 go ahead
C: body line
C: .
S: 250 ok`),
    );
    expect(log).toContain('message-bytes 11 "body line\\r\\n"');
    expect(log).toMatch(/S 250 "ok" -> end-of-data DATA/);
  });

  it.each([
    ['MAIL FROM:<a@b>', true],
    ['RCPT TO:<a@b> NOTIFY=NEVER', true],
    ['QUIT', true],
    ['Quit smoking', false],
    ['QUIT now', false],
    ['DATA is data', false],
    ['EHLO a.example', true],
    ['EHLO a b', false],
    ['From: someone', false],
    ['BDAT 10', true],
    ['BDAT x', false],
  ])('resynchronises on %j after a gap: %s', (line, expected) => {
    expect(looksLikeCommand(line)).toBe(expected);
  });

  it('creates decoders with implicit TLS on port 465 and LMTP on port 24', () => {
    const seen: SmtpEvent[] = [];
    const factory = createSmtpStreamFactory(() => eventRecorder((e) => seen.push(e)));
    const flow = (port: number): FlowKey => ({ ...TEST_FLOW, server: { ip: '192.0.2.25', port } });
    const tlsHandler = factory.create(flow(465), 0);
    tlsHandler?.onData({ direction: 'c2s', offset: 0, tsMicros: 1, bytes: Uint8Array.of(0x16, 3, 1) });
    expect(seen.map((e) => e.type)).toEqual(['tls-start', 'state', 'tls-bytes']);
    seen.length = 0;
    const lmtp = factory.create(flow(24), 0);
    const enc = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    lmtp?.onData({ direction: 's2c', offset: 0, tsMicros: 1, bytes: enc('220 lmtp\r\n') });
    lmtp?.onData({
      direction: 'c2s',
      offset: 0,
      tsMicros: 2,
      bytes: enc('MAIL FROM:<a@b>\r\nRCPT TO:<x@y>\r\nRCPT TO:<z@y>\r\nDATA\r\n'),
    });
    lmtp?.onData({
      direction: 's2c',
      offset: 10,
      tsMicros: 3,
      bytes: enc('250 a\r\n250 b\r\n250 c\r\n354 d\r\n'),
    });
    lmtp?.onData({ direction: 'c2s', offset: 61, tsMicros: 4, bytes: enc('x\r\n.\r\n') });
    lmtp?.onData({ direction: 's2c', offset: 38, tsMicros: 5, bytes: enc('250 one\r\n450 two\r\n') });
    const targets = seen.flatMap((e) =>
      e.type === 'reply' && e.to.kind === 'end-of-data' ? [e.to.lmtpRecipient] : [],
    );
    expect(targets).toEqual([0, 1]);
  });

  it('never throws on random bytes and gives the same events under any re-chunking', () => {
    const alphabet = [
      'MAIL FROM:<a@b>\r\n',
      'RCPT TO:<c@d>\r\n',
      'DATA\r\n',
      '.\r\n',
      'BDAT 3\r\n',
      'BDAT 0 LAST\r\n',
      'AUTH LOGIN\r\n',
      '334 VXNlcm5hbWU6\r\n',
      'STARTTLS\r\n',
      '220 go\r\n',
      '250-a\r\n',
      '250 b\r\n',
      '354 go\r\n',
      '\r\n',
      '\n',
      '\r',
      '.',
      'x',
      '\x16\x03\x01',
      'ATRN\r\n',
      'QUIT\r\n',
      '221 bye\r\n',
      '535 no\r\n',
    ];
    const piece = fc.oneof(fc.constantFrom(...alphabet), fc.string({ maxLength: 12 }));
    const stepArb = fc.record({
      direction: fc.constantFrom('c2s' as const, 's2c' as const),
      text: fc.array(piece, { maxLength: 6 }).map((parts) => parts.join('')),
      gap: fc.integer({ min: 0, max: 40 }),
    });
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 12 }),
        fc.integer({ min: 1, max: 7 }),
        fc.boolean(),
        (specs, size, lmtp) => {
          const steps: DialogueStep[] = specs.map((spec, i) =>
            spec.gap > 35
              ? {
                  kind: 'gap',
                  direction: spec.direction,
                  length: spec.gap,
                  cause: 'lost',
                  tsMicros: 1_000_000 + i * 1000,
                }
              : {
                  kind: 'data',
                  direction: spec.direction,
                  bytes: Uint8Array.from(spec.text, (c) => c.charCodeAt(0) & 0xff),
                  tsMicros: 1_000_000 + i * 1000,
                },
          );
          const dialogue: Dialogue = {
            steps,
            options: { lmtp, maxLineLength: 20, maxHeldBytes: 10 },
            close: 'fin',
            closeTsMicros: 2_000_000,
            basis: 'syn',
          };
          const whole = formatEvents(runDialogue(dialogue));
          const chunked = formatEvents(
            runDialogue(dialogue, (_i, bytes) => {
              const chunks: Uint8Array[] = [];
              for (let p = 0; p < bytes.length; p += size) chunks.push(bytes.slice(p, p + size));
              return chunks;
            }),
          );
          expect(chunked).toBe(whole);
        },
      ),
      { numRuns: 300, seed: 42 },
    );
  });

  it('ignores calls after close', () => {
    const seen: SmtpEvent[] = [];
    const decoder = createSmtpDecoder(
      TEST_FLOW,
      eventRecorder((e) => seen.push(e)),
    );
    const stats = {
      firstTsMicros: 0,
      lastTsMicros: 0,
      c2s: emptyDirectionStats(),
      s2c: emptyDirectionStats(),
      sawSyn: true,
      sawSynAck: true,
    };
    decoder.onClose('fin', 1, stats);
    decoder.onData({ direction: 'c2s', offset: 0, tsMicros: 2, bytes: Uint8Array.of(65, 13, 10) });
    expect(seen.map((e) => e.type)).toEqual(['closed']);
    expect(decoder.state).toBe('connected');
  });
});

describe('decoder AUTH redaction when the pairing is off', () => {
  const golden = join(import.meta.dirname, '..', 'golden', 'smtp');
  const misaligned = [
    'auth-challenge-glued-to-ehlo-reply',
    'auth-challenge-after-early-reply',
    'auth-reply-lost-in-greeting',
  ];
  // The user name and password lines of those dialogues, as sent and decoded.
  const secrets = ['YWxpY2U=', 'czNjcmV0', 's3cret'];

  function leaks(list: readonly SmtpEvent[]): string[] {
    const text = JSON.stringify(list.filter((e) => e.type !== 'message-bytes'));
    return secrets.filter((s) => text.includes(s));
  }

  it.each(misaligned)('%s: no event carries a credential line, under every chunking', (name) => {
    const dialogue = parseDialogue(readFileSync(join(golden, `${name}.dialogue.txt`), 'latin1'));
    const whole = runDialogue(dialogue);
    expect(leaks(whole)).toEqual([]);
    const responses = whole.filter((e) => e.type === 'command' && e.command.kind === 'auth-response');
    expect(responses).toHaveLength(2);
    expect(whole.some((e) => e.type === 'command' && e.command.verb === 'UNKNOWN')).toBe(false);
    forEachDialogueSplit(dialogue, (chunker, label) => {
      const found = leaks(runDialogue(dialogue, chunker));
      if (found.length > 0) expect(found, label).toEqual([]);
    });
  });

  it('reveals the late credential line only when asked', () => {
    const text = readFileSync(join(golden, 'auth-challenge-glued-to-ehlo-reply.dialogue.txt'), 'latin1');
    const revealed = runDialogue(parseDialogue(`@option revealSecrets=true\n${text}`));
    const arguments_ = revealed.flatMap((e) =>
      e.type === 'command' && e.command.kind === 'auth-response' ? [e.command.argument] : [],
    );
    expect(arguments_).toEqual(['YWxpY2U=', 'czNjcmV0']);
  });
});
