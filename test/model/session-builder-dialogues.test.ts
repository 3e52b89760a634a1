import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSessionBuilder } from '../../src/model/session-builder.js';
import type { SmtpSession } from '../../src/model/types.js';
import type { FlowKey } from '../../src/reassembly/types.js';
import {
  type Dialogue,
  forEachDialogueSplit,
  parseDialogue,
  runDialogue,
  type StepChunker,
  TEST_FLOW,
  WHOLE,
} from '../helpers/dialogue.js';
import { applyEvents } from '../helpers/smtp-events.js';

const GOLDEN = join(import.meta.dirname, '..', 'golden', 'smtp');

function dialogueOf(dialogue: string): Dialogue {
  const text = dialogue.includes('\n')
    ? dialogue
    : readFileSync(join(GOLDEN, `${dialogue}.dialogue.txt`), 'latin1');
  return parseDialogue(text);
}

/** A connection picked up without its handshake (oriented by port). */
const NO_SYN_FLOW: FlowKey = { ...TEST_FLOW, basis: 'port' };

function build(
  dialogue: Dialogue,
  chunker: StepChunker = WHOLE,
  flow: FlowKey = dialogue.basis === 'syn' ? TEST_FLOW : { ...TEST_FLOW, basis: dialogue.basis },
): SmtpSession {
  const builder = createSessionBuilder(flow, { lmtp: dialogue.options.lmtp === true });
  const events = runDialogue(dialogue, chunker, flow);
  applyEvents(builder, events);
  return builder.finishNow();
}

/** Decodes a dialogue (a golden file's name, or its text) and builds the session model from the events. */
function sessionOf(dialogue: string): SmtpSession {
  return build(dialogueOf(dialogue));
}

/**
 * Runs `check` on the model built from the dialogue as written, then asserts that every chunking (1-byte
 * chunks, each 2-way split of each segment, random runs) gives the same model.
 */
function checkEverySplit(dialogue: string, check: (session: SmtpSession) => void, flowKey?: FlowKey): void {
  const parsed = dialogueOf(dialogue);
  const flow = flowKey ?? (parsed.basis === 'syn' ? TEST_FLOW : { ...TEST_FLOW, basis: parsed.basis });
  const whole = build(parsed, WHOLE, flow);
  check(whole);
  const expected = JSON.stringify(whole);
  forEachDialogueSplit(
    parsed,
    (chunker, label) => {
      const got = JSON.stringify(build(parsed, chunker, flow));
      if (got !== expected) expect(got, label).toBe(expected);
    },
    5,
  );
}

/** The command list as `verb argument -> reply code (transaction)` strings. */
function rows(session: SmtpSession): string[] {
  return session.commands.map(
    (c) =>
      `${c.verb}${c.argument === '' ? '' : ` ${c.argument}`} -> ${c.reply?.code ?? '-'} (${c.transaction ?? '-'})`,
  );
}

describe('session-builder on decoded dialogues', () => {
  it('keeps a reply that answers no command in the capture (a gap took the command), in order', () => {
    checkEverySplit(
      [
        'S: 220 mx.example.org ESMTP',
        'C: EHLO c.example',
        'S: 250 mx.example.org',
        'C! gap 40',
        'S: 550 5.1.1 <gone@example.org>: Recipient address rejected',
        'S: 451 4.3.0 Try again later',
        'C: QUIT',
        'S: 221 2.0.0 Bye',
      ].join('\n'),
      (session) => {
        expect(session.unmatchedReplies.map((r) => `${r.code} ${r.text}`)).toEqual([
          '550 5.1.1 <gone@example.org>: Recipient address rejected',
          '451 4.3.0 Try again later',
        ]);
        expect(rows(session)).toEqual(['EHLO c.example -> 250 (-)', 'QUIT -> 221 (-)']);
      },
    );
  });

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

describe('session-builder: final replies after pipelined commands', () => {
  it('gives the end-of-data reply to the message that ended, not to the MAIL pipelined after its dot', () => {
    checkEverySplit('pipelined-mail-after-dot', (session) => {
      expect(
        session.transactions.map((t) => [
          t.mailFrom,
          t.outcome,
          t.failureStage,
          t.finalReply?.code ?? null,
          t.queueId,
          t.messageComplete,
        ]),
      ).toEqual([
        ['alice@c.example', 'accepted', null, 250, '4AAA1', true],
        ['carol@c.example', 'rejected', 'data', null, null, false],
      ]);
      expect(session.transactions[1]?.recipients.map((r) => r.disposition)).toEqual(['rejected-data']);
      expect(rows(session)).toEqual([
        'EHLO c.example -> 250 (-)',
        'MAIL FROM:<alice@c.example> -> 250 (1)',
        'RCPT TO:<bob@mx.example.org> -> 250 (1)',
        'DATA -> 354 (1)',
        'END-OF-DATA -> 250 (1)',
        'MAIL FROM:<carol@c.example> -> 250 (2)',
        'RCPT TO:<dave@mx.example.org> -> 250 (2)',
        'DATA -> 554 (2)',
        'QUIT -> 221 (-)',
      ]);
      // The dot row has the time the dot was sent; the MAIL behind it was pipelined.
      const dot = session.commands[4];
      const mail = session.commands[5];
      expect(dot?.tsMicros).toBe(mail?.tsMicros);
      expect(mail?.pipelined).toBe(true);
    });
  });

  it('gives each BDAT LAST reply to its own message when the next transaction is pipelined', () => {
    checkEverySplit('bdat-pipelined-next-transaction', (session) => {
      expect(
        session.transactions.map((t) => [t.mailFrom, t.outcome, t.finalReply?.code ?? null, t.queueId]),
      ).toEqual([
        ['a@c.example', 'accepted', 250, 'FIRST1'],
        ['c@c.example', 'deferred', 452, null],
      ]);
      expect(rows(session)).toEqual([
        'EHLO c.example -> 250 (-)',
        'MAIL FROM:<a@c.example> -> 250 (1)',
        'RCPT TO:<b@mx.example.org> -> 250 (1)',
        'BDAT 9 LAST -> 250 (1)',
        'MAIL FROM:<c@c.example> -> 250 (2)',
        'RCPT TO:<d@mx.example.org> -> 250 (2)',
        'BDAT 9 LAST -> 452 (2)',
        'QUIT -> 221 (-)',
      ]);
    });
  });

  it('keeps the LMTP end-of-data rows before a QUIT pipelined behind the dot, each at the time of the dot', () => {
    checkEverySplit('lmtp-pipelined-quit', (session) => {
      expect(rows(session).slice(4)).toEqual([
        'DATA -> 354 (1)',
        'END-OF-DATA recipient 1 -> 250 (1)',
        'END-OF-DATA recipient 2 -> 452 (1)',
        'QUIT -> 221 (-)',
      ]);
      const [first, second] = session.commands.filter((c) => c.verb === 'END-OF-DATA');
      expect(second?.tsMicros).toBe(first?.tsMicros);
      expect(second?.latencyMicros).toBe(
        second === undefined ? null : (second.reply?.tsMicros ?? 0) - second.tsMicros,
      );
      expect(session.commands.map((c) => c.seq)).toEqual(session.commands.map((_c, i) => i));
      const t = session.transactions[0];
      expect(t?.recipients.map((r) => [r.address, r.disposition, r.finalReply?.code])).toEqual([
        ['bob@example.org', 'delivered', 250],
        ['carol@example.org', 'deferred-data', 452],
      ]);
    });
  });

  it('lists every LMTP per-recipient reply to BDAT LAST, not only the first', () => {
    checkEverySplit('lmtp-bdat', (session) => {
      expect(rows(session).slice(4)).toEqual([
        'BDAT 9 LAST -> 250 (1)',
        'END-OF-DATA recipient 2 -> 550 (1)',
        'QUIT -> 221 (-)',
      ]);
      expect(session.transactions[0]?.recipients.map((r) => r.disposition)).toEqual([
        'delivered',
        'rejected-data',
      ]);
    });
  });
});

describe('session-builder: a capture gap inside a message', () => {
  it('keeps body lines after the gap as body: no fake recipient, the final 250 goes to the message', () => {
    checkEverySplit('gap-mid-data-command-lines', (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect(t?.recipients.map((r) => r.address)).toEqual(['bob@mx.example.org']);
      expect([t?.outcome, t?.failureStage, t?.finalReply?.code, t?.queueId, t?.messageComplete]).toEqual([
        'accepted',
        null,
        250,
        '9GAP1',
        false,
      ]);
      expect(rows(session).slice(1)).toEqual([
        'MAIL FROM:<alice@c.example> -> 250 (1)',
        'RCPT TO:<bob@mx.example.org> -> 250 (1)',
        'DATA -> 354 (1)',
        'END-OF-DATA -> 250 (1)',
        'QUIT -> 221 (-)',
      ]);
    });
  });

  it('takes a reply that comes while the body is open after a gap as the final reply (the dot was lost)', () => {
    checkEverySplit('gap-swallows-final-dot', (session) => {
      const t = session.transactions[0];
      expect([t?.outcome, t?.finalReply?.code, t?.queueId, t?.messageComplete]).toEqual([
        'accepted',
        250,
        '9GAP2',
        false,
      ]);
      expect(rows(session).slice(-2)).toEqual(['END-OF-DATA -> 250 (1)', 'QUIT -> 221 (-)']);
    });
  });

  it('says capture-gap, not connection-lost, when a gap took the final reply and the connection went on', () => {
    const dialogue = [
      'S: 220 mx.example.org ESMTP',
      'C: HELO c.example',
      'S: 250 mx.example.org',
      'C: MAIL FROM:<alice@c.example>',
      'S: 250 Ok',
      'C: RCPT TO:<bob@mx.example.org>',
      'S: 250 Ok',
      'C: DATA',
      'S: 354 go ahead',
      'C: Subject: x',
      'C:',
      'C: body',
      'C: .',
      'S! gap 40',
      'C: QUIT',
      'S: 221 Bye',
      '',
    ].join('\n');
    checkEverySplit(dialogue, (session) => {
      expect(session.end).toBe('quit');
      const t = session.transactions[0];
      expect([t?.outcome, t?.failureStage, t?.messageComplete]).toEqual(['incomplete', 'capture-gap', true]);
      expect(t?.recipients.map((r) => r.disposition)).toEqual(['unknown']);
    });
  });

  it('still says connection-lost when the connection ends before the final reply, with no gap', () => {
    const dialogue = [
      'S: 220 mx.example.org ESMTP',
      'C: HELO c.example',
      'S: 250 mx.example.org',
      'C: MAIL FROM:<alice@c.example>',
      'S: 250 Ok',
      'C: RCPT TO:<bob@mx.example.org>',
      'S: 250 Ok',
      'C: DATA',
      'S: 354 go ahead',
      'C: Subject: x',
      'C:',
      'C: body',
      'C: .',
      '@close rst',
      '',
    ].join('\n');
    checkEverySplit(dialogue, (session) => {
      const t = session.transactions[0];
      expect([t?.outcome, t?.failureStage]).toEqual(['incomplete', 'connection-lost']);
    });
  });
});

describe('session-builder: captures that miss the start', () => {
  const anomalyCodes = (session: SmtpSession): string[] => session.anomalies.map((a) => a.code);

  it('keeps both recipients of a capture that starts at RCPT (no handshake), the sender unknown', () => {
    const dialogue = [
      'C: RCPT TO:<bob@mx.example.org>',
      'C: RCPT TO:<nobody@mx.example.org>',
      'C: DATA',
      'S: 250 2.1.5 Ok',
      'S: 550 5.1.1 <nobody@mx.example.org>: Recipient address rejected',
      'S: 354 go ahead',
      'C: Subject: x',
      'C:',
      'C: hi',
      'C: .',
      'S: 250 2.0.0 Ok: queued as MID1',
      'C: QUIT',
      'S: 221 Bye',
      '',
    ].join('\n');
    checkEverySplit(
      dialogue,
      (session) => {
        expect(session.quality.midstream).toBe(true);
        expect(anomalyCodes(session)).toEqual(['midstream']);
        expect(session.transactions).toHaveLength(1);
        const t = session.transactions[0];
        expect([t?.mailFrom, t?.midstream, t?.outcome, t?.queueId]).toEqual([null, true, 'accepted', 'MID1']);
        expect(t?.recipients.map((r) => [r.address, r.rcptReply?.code, r.disposition])).toEqual([
          ['bob@mx.example.org', 250, 'delivered'],
          ['nobody@mx.example.org', 550, 'rejected-rcpt'],
        ]);
        expect(session.commands.every((c) => c.verb === 'QUIT' || c.transaction === 1)).toBe(true);
      },
      NO_SYN_FLOW,
    );
  });

  it('flags a pickup at EHLO without a handshake as midstream, not as a missing greeting', () => {
    const dialogue = [
      'C: EHLO c.example',
      'S: 250-mx.example.org',
      'S: 250 PIPELINING',
      'C: QUIT',
      'S: 221 Bye',
      '',
    ].join('\n');
    checkEverySplit(
      dialogue,
      (session) => {
        expect(anomalyCodes(session)).toEqual(['midstream']);
        expect(session.commands.map((c) => [c.verb, c.reply?.code])).toEqual([
          ['EHLO', 250],
          ['QUIT', 221],
        ]);
        expect(session.capabilities?.pipelining).toBe(true);
      },
      NO_SYN_FLOW,
    );
  });

  it('still greets normally without a handshake when the capture starts at the 220', () => {
    const dialogue = [
      'S: 220 mx.example.org ESMTP',
      'C: EHLO c.example',
      'S: 250 mx.example.org',
      'C: RCPT TO:<bob@mx.example.org>',
      'S: 503 5.5.1 Error: need MAIL command',
      'C: QUIT',
      'S: 221 Bye',
      '',
    ].join('\n');
    checkEverySplit(
      dialogue,
      (session) => {
        expect(session.greeting?.code).toBe(220);
        // After EHLO the start is known: a RCPT without MAIL is the client's error, not a lost MAIL.
        expect(anomalyCodes(session)).toEqual(['rcpt-without-mail']);
        expect(session.transactions).toEqual([]);
      },
      NO_SYN_FLOW,
    );
  });

  it('keeps the final reply and queue id of a capture that starts mid-DATA', () => {
    checkEverySplit('midstream', (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect([t?.mailFrom, t?.midstream, t?.mode, t?.sizeBytes, t?.messageComplete]).toEqual([
        null,
        true,
        'DATA',
        null,
        false,
      ]);
      expect([t?.outcome, t?.finalReply?.code, t?.queueId]).toEqual(['accepted', 250, '77']);
      expect(rows(session)).toEqual(['END-OF-DATA -> 250 (1)', 'QUIT -> 221 (-)']);
    });
  });

  it('gives a server-only capture the transaction its 354 and final reply show', () => {
    const dialogue = [
      'S: 220 mx.example.org ESMTP',
      'S: 250-mx.example.org',
      'S: 250 PIPELINING',
      'S: 250 2.1.0 Ok',
      'S: 250 2.1.5 Ok',
      'S: 354 go ahead',
      'S: 250 2.0.0 Ok: queued as SRV1',
      'S: 221 Bye',
      '',
    ].join('\n');
    checkEverySplit(dialogue, (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect([
        t?.mailFrom,
        t?.midstream,
        t?.dataReply?.code,
        t?.finalReply?.code,
        t?.queueId,
        t?.outcome,
      ]).toEqual([null, true, 354, 250, 'SRV1', 'accepted']);
    });
  });

  it('marks an ordinary transaction as not midstream', () => {
    checkEverySplit('pipelined-mail-after-dot', (session) => {
      expect(session.transactions.map((t) => t.midstream)).toEqual([false, false]);
    });
  });
});

describe('session-builder: STARTTLS answered 220 but TLS never started', () => {
  it('keeps decoding the clear-text commands after it, and does not report TLS', () => {
    checkEverySplit('starttls-never-started', (session) => {
      expect(session.tls.mode).toBe('none');
      expect(session.tls.refused).toBe(false);
      expect(session.anomalies.map((a) => a.code)).toEqual(['tls-not-tls']);
      expect(rows(session)).toEqual([
        'EHLO c.example -> 250 (-)',
        'STARTTLS -> 220 (-)',
        'MAIL FROM:<alice@c.example> -> 554 (1)',
        'QUIT -> 221 (-)',
      ]);
      expect(session.end).toBe('quit');
      const t = session.transactions[0];
      expect([t?.outcome, t?.failureStage]).toEqual(['rejected', 'mail']);
    });
  });

  it('still reports TLS when the client hello follows the 220', () => {
    checkEverySplit('starttls-accepted', (session) => {
      expect(session.tls.mode).toBe('starttls');
      expect(session.tls.clientHello?.sni).toBe('mx.example.org');
    });
  });
});

describe('session-builder: reply meanings', () => {
  it('gives the final reply and each recipient deciding reply their standard meaning', () => {
    const session = sessionOf('lmtp');
    const t = session.transactions[0];
    expect(t?.finalMeaning).toEqual({
      code: 250,
      codeMeaning: 'Requested mail action okay, completed',
      enhancedStatus: '2.0.0',
      statusMeaning: 'Other or undefined status: no further detail is given',
    });
    expect(t?.recipients.map((r) => [r.meaning?.code, r.meaning?.statusMeaning])).toEqual([
      [250, 'Other or undefined status: no further detail is given'],
      [550, 'Bad destination mailbox address: the mailbox does not exist at the destination'],
      [452, 'Mailbox full: it is over its storage quota'],
    ]);
    const none = sessionOf('pipelined-mail-after-dot').transactions[1];
    expect(none?.finalMeaning).toBeNull();
  });
});

describe('session-builder: ATRN/TURN role swap and XCLIENT', () => {
  it('keeps the first server greeting, host name, HELO and capabilities, and records the swapped side apart', () => {
    checkEverySplit('atrn', (session) => {
      expect(session.rolesSwapped).toBe(true);
      expect([session.greeting?.text, session.serverName, session.helo, session.heloVerb]).toEqual([
        'odmr.example.net ESMTP',
        'odmr.example.net',
        'client.example.com',
        'EHLO',
      ]);
      expect(session.capabilities?.keywords).toEqual(['AUTH', 'ATRN']);
      expect(session.swapped).toMatchObject({
        greeting: { code: 220, text: 'client.example.com ready' },
        serverName: 'client.example.com',
        helo: 'odmr.example.net',
        heloVerb: 'EHLO',
      });
      expect(session.swapped?.capabilities?.keywords).toEqual([]);
    });
  });

  it('has no swapped side without a swap', () => {
    expect(sessionOf('pipelined-mail-after-dot').swapped).toBeNull();
  });

  it('does not flag the EHLO sent again after the 220 to XCLIENT as a duplicate', () => {
    checkEverySplit('xclient', (session) => {
      expect(session.anomalies.map((a) => a.code)).toEqual([]);
      expect(session.helo).toBe('client.example');
      expect(session.greeting?.text).toBe('mx.example.org ESMTP Postfix');
    });
  });
});

/**
 * Issue "One owner for the SMTP dialogue", numbered items: each dialogue is a golden file of its own (its
 * comment says what the old decoder or model got wrong). The expectations follow the RFCs cited there.
 */
describe('session-builder: the dialogue owner fixes', () => {
  const codes = (session: SmtpSession): string[] => session.anomalies.map((a) => a.code);

  it('1: a refused BDAT decides its transaction, and a malformed BDAT before MAIL opens none', () => {
    checkEverySplit('bdat-refused-chunk', (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect([t?.mailFrom, t?.mode, t?.outcome, t?.failureStage, t?.dataReply?.code]).toEqual([
        'a@c.example',
        'BDAT',
        'rejected',
        'data',
        552,
      ]);
      expect(t?.recipients.map((r) => [r.address, r.disposition])).toEqual([
        ['b@mx.example.org', 'rejected-data'],
      ]);
      expect(
        session.commands.filter((c) => c.verb === 'BDAT').map((c) => [c.transaction, c.reply?.code]),
      ).toEqual([
        [null, 501],
        [1, 552],
      ]);
    });
  });

  it('1: chunks sent before any MAIL open no transaction; the message after MAIL is the only one', () => {
    checkEverySplit('bdat-before-mail', (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect([t?.mailFrom, t?.mode, t?.outcome, t?.finalReply?.code, t?.queueId, t?.sizeBytes]).toEqual([
        'alice@c.example',
        'BDAT',
        'accepted',
        250,
        '4F2A1B3C',
        25,
      ]);
      expect(t?.recipients.map((r) => [r.address, r.disposition])).toEqual([
        ['bob@mx.example.org', 'delivered'],
      ]);
      expect(
        session.commands.filter((c) => c.verb === 'BDAT').map((c) => [c.transaction, c.reply?.code]),
      ).toEqual([
        [null, 503],
        [null, 551],
        [1, 250],
      ]);
    });
  });

  it('2: AUTH PLAIN whose 235 is missing does not swallow the envelope', () => {
    checkEverySplit('auth-plain-reply-missing', (session) => {
      expect(session.auth.map((a) => [a.mechanism, a.username, a.outcome])).toEqual([
        ['PLAIN', 'alice', 'unknown'],
      ]);
      const t = session.transactions[0];
      expect([t?.mailFrom, t?.mailReply?.code, t?.outcome, t?.failureStage]).toEqual([
        'alice@c.example',
        250,
        'rejected',
        'rcpt',
      ]);
      expect(t?.recipients.map((r) => [r.address, r.rcptReply?.code, r.disposition])).toEqual([
        ['nobody@mx.example.org', 550, 'rejected-rcpt'],
      ]);
      expect(session.end).toBe('quit');
    });
  });

  it('2: AUTH LOGIN with no replies: the responses stay redacted, the commands after them are commands', () => {
    checkEverySplit('auth-login-replies-missing', (session) => {
      expect(session.commands.map((c) => [c.verb, c.argument])).toEqual([
        ['EHLO', 'c.example'],
        ['AUTH', 'LOGIN'],
        ['AUTH-RESPONSE', '[redacted]'],
        ['AUTH-RESPONSE', '[redacted]'],
        ['MAIL', 'FROM:<alice@c.example>'],
        ['RCPT', 'TO:<nobody@mx.example.org>'],
        ['QUIT', ''],
      ]);
      expect(session.transactions[0]?.recipients[0]?.disposition).toBe('rejected-rcpt');
    });
  });

  it('4: a refused EHLO inside a transaction keeps the envelope and the HELO name', () => {
    checkEverySplit('helo-refused-mid-transaction', (session) => {
      expect([session.helo, session.heloVerb]).toEqual(['c.example', 'HELO']);
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect([t?.mailFrom, t?.outcome, t?.queueId]).toEqual(['a@c.example', 'accepted', '4A1B2C']);
      expect(t?.recipients.map((r) => r.disposition)).toEqual(['delivered']);
      expect(codes(session)).not.toContain('rcpt-without-mail');
    });
  });

  it('5: a RCPT after a delivered message with no new MAIL joins no transaction', () => {
    checkEverySplit('rcpt-after-message', (session) => {
      expect(session.transactions).toHaveLength(1);
      const t = session.transactions[0];
      expect(t?.recipients.map((r) => [r.address, r.disposition])).toEqual([
        ['b@mx.example.org', 'delivered'],
      ]);
      expect(t?.outcome).toBe('accepted');
      const rcpt = session.commands.find((c) => c.verb === 'RCPT' && c.argument.includes('c@'));
      expect([rcpt?.transaction, rcpt?.reply?.code]).toEqual([null, 503]);
    });
  });

  it('6: bytes before the greeting on a connection whose handshake was seen are not a midstream start', () => {
    checkEverySplit('junk-before-greeting', (session) => {
      expect(codes(session)).toEqual(['junk-before-greeting', 'unknown-command', 'command-before-greeting']);
      expect(session.greeting?.code).toBe(220);
      expect(session.commands.map((c) => [c.verbText, c.reply?.code])).toEqual([
        ['GET', 502],
        ['EHLO', 250],
        ['QUIT', 221],
      ]);
      expect(session.end).toBe('quit');
    });
    checkEverySplit('client-hello-before-greeting', (session) => {
      expect(session.tls.mode).toBe('implicit');
      expect(codes(session)).not.toContain('midstream');
      expect(session.commands).toEqual([]);
    });
  });

  it('8: SEND FROM opens a transaction as MAIL does', () => {
    checkEverySplit('send-opens-transaction', (session) => {
      expect(codes(session)).toEqual(['nested-mail']);
      expect(session.transactions.map((t) => [t.mailFrom, t.recipients.length])).toEqual([
        ['a@c.example', 1],
      ]);
    });
  });

  it('8: the EHLO after an accepted STARTTLS keeps the clear-text offer; clear text after the 220 is said', () => {
    checkEverySplit('starttls-then-clear-text', (session) => {
      expect(session.tls.offered).toBe(true);
      expect(session.tls.mode).toBe('none');
      expect(session.tls.clearTextAfterStarttls).toBe(true);
      expect(session.tls.capabilities?.starttls).toBe(false);
      expect(session.capabilities?.starttls).toBe(true);
    });
  });

  it('8: a last line ended by FIN without CRLF is read and flagged', () => {
    checkEverySplit('last-line-without-crlf', (session) => {
      expect(codes(session)).toEqual(['unterminated-line', 'unterminated-line']);
      expect(session.end).toBe('quit');
    });
  });
});

describe('session-builder: proxy preambles (issue item 7)', () => {
  it('records the proxy and decodes the SMTP after it', () => {
    checkEverySplit('socks5-preamble', (session) => {
      expect(session.proxy).toEqual({ protocol: 'socks5', target: 'mx.example.org:25', accepted: true });
      expect(session.greeting?.code).toBe(220);
      expect(session.commands.map((c) => c.verb)).toEqual(['EHLO', 'QUIT']);
      expect(session.anomalies).toEqual([]);
    });
    checkEverySplit('http-connect-refused', (session) => {
      expect(session.proxy).toEqual({
        protocol: 'http-connect',
        target: 'mx.example.org:25',
        accepted: false,
      });
      expect(session.greeting).toBeNull();
    });
  });

  it('has no proxy field without a proxy', () => {
    expect('proxy' in sessionOf('xclient')).toBe(false);
  });
});

describe("session-builder: a fold over the decoder's transaction ids", () => {
  const dialogue = (lines: string[]): string => `${lines.join('\n')}\n`;
  const GREETING = ['S: 220 mx.example.org ESMTP', 'C: EHLO c.example', 'S: 250 mx.example.org'];
  const MESSAGE = ['C: MAIL FROM:<a@c.example>', 'S: 250 Ok', 'C: RCPT TO:<b@mx.example.org>', 'S: 250 Ok'];
  const BODY = ['C: DATA', 'S: 354 go', 'C: Subject: x', 'C:', 'C: hi', 'C: .', 'S: 250 Ok queued as ABC'];

  it('puts NOOP and unknown commands in the open transaction, and in none once its message is over', () => {
    // RFC 5321 3.3: the transaction ends with the reply to the end of data; the decoder closes it there.
    const text = dialogue([
      ...GREETING,
      'C: MAIL FROM:<a@c.example>',
      'S: 250 Ok',
      'C: NOOP',
      'S: 250 Ok',
      'C: RCPT TO:<b@mx.example.org>',
      'S: 250 Ok',
      'C: XYZZY',
      'S: 502 5.5.2 Error: command not recognized',
      ...BODY,
      'C: NOOP',
      'S: 250 Ok',
      'C: QUIT',
      'S: 221 Bye',
    ]);
    checkEverySplit(text, (session) => {
      expect(rows(session)).toEqual([
        'EHLO c.example -> 250 (-)',
        'MAIL FROM:<a@c.example> -> 250 (1)',
        'NOOP -> 250 (1)',
        'RCPT TO:<b@mx.example.org> -> 250 (1)',
        'UNKNOWN -> 502 (1)',
        'DATA -> 354 (1)',
        'END-OF-DATA -> 250 (1)',
        'NOOP -> 250 (-)',
        'QUIT -> 221 (-)',
      ]);
    });
  });

  it('starts a transaction with an unknown sender for a RCPT after a gap that follows a delivered message', () => {
    // The MAIL may have been in the gap; the delivered message gets no recipient it was not sent to.
    const text = dialogue([
      ...GREETING,
      ...MESSAGE,
      ...BODY,
      'C: NOOP',
      'C! gap 30',
      'S: 250 Ok',
      'C: RCPT TO:<c@mx.example.org>',
      'S: 250 Ok',
      'C: DATA',
      'S: 354 go',
      'C: Subject: y',
      'C:',
      'C: .',
      'S: 250 Ok queued as DEF',
      'C: QUIT',
      'S: 221 Bye',
    ]);
    checkEverySplit(text, (session) => {
      expect(
        session.transactions.map((t) => [
          t.mailFrom,
          t.midstream,
          t.recipients.map((r) => r.address),
          t.outcome,
          t.queueId,
        ]),
      ).toEqual([
        ['a@c.example', false, ['b@mx.example.org'], 'accepted', 'ABC'],
        [null, true, ['c@mx.example.org'], 'accepted', 'DEF'],
      ]);
    });
  });

  it('keeps a MAIL refused as nested (a BDAT message cut by it) in the open transaction, as the server says', () => {
    checkEverySplit('bdat-missing-last', (session) => {
      expect(session.transactions).toHaveLength(1);
      const mails = session.commands.filter((c) => c.verb === 'MAIL');
      expect(mails.map((c) => [c.reply?.code, c.transaction])).toEqual([
        [250, 1],
        [503, 1],
      ]);
      expect(session.transactions[0]?.mailReply?.code).toBe(250);
    });
  });

  it('moves the RCPT and DATA pipelined after an accepted nested MAIL to the transaction it starts', () => {
    const text = dialogue([
      'S: 220 mx.example.org ESMTP',
      'C: EHLO c.example',
      'S: 250-mx.example.org',
      'S: 250 PIPELINING',
      'C= MAIL FROM:<a@c.example>\\r\\nRCPT TO:<x@mx.example.org>\\r\\nMAIL FROM:<b@c.example>\\r\\nRCPT TO:<y@mx.example.org>\\r\\nDATA\\r\\n',
      'S= 250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n250 Ok\\r\\n354 go\\r\\n',
      'C: Subject: x',
      'C:',
      'C: .',
      'S: 250 Ok queued as ABC',
      'C: QUIT',
      'S: 221 Bye',
    ]);
    checkEverySplit(text, (session) => {
      expect(
        session.transactions.map((t) => [
          t.mailFrom,
          t.recipients.map((r) => [r.index, r.address, r.disposition]),
          t.outcome,
        ]),
      ).toEqual([
        ['a@c.example', [[1, 'x@mx.example.org', 'not-sent']], 'aborted'],
        ['b@c.example', [[1, 'y@mx.example.org', 'delivered']], 'accepted'],
      ]);
      expect(rows(session).slice(1, 6)).toEqual([
        'MAIL FROM:<a@c.example> -> 250 (1)',
        'RCPT TO:<x@mx.example.org> -> 250 (1)',
        'MAIL FROM:<b@c.example> -> 250 (2)',
        'RCPT TO:<y@mx.example.org> -> 250 (2)',
        'DATA -> 354 (2)',
      ]);
    });
  });
});
