/** Unit tests of the dialogue's parts (src/smtp/dialogue/), each against an independent statement of its rule. */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { couldBeAuthResponse } from '../../src/smtp/dialogue/auth-exchange.js';
import { HeldBytes } from '../../src/smtp/dialogue/held-bytes.js';
import {
  firstWord,
  latin1,
  offersPipelining,
  startsLikeReply,
  words,
} from '../../src/smtp/dialogue/lines.js';
import { canAnswer, PendingEntry, PendingQueue } from '../../src/smtp/dialogue/pending-queue.js';
import { sniffProxy } from '../../src/smtp/dialogue/proxy-preamble.js';
import { TransactionTracker } from '../../src/smtp/dialogue/transaction.js';
import { parseEhloCapabilities } from '../../src/smtp/extensions.js';
import type { SmtpCommand, SmtpVerb } from '../../src/smtp/types.js';

function command(verb: SmtpVerb, seq = 0, kind: SmtpCommand['kind'] = 'command'): SmtpCommand {
  return {
    seq,
    verb,
    verbText: verb,
    argument: '',
    path: null,
    params: {},
    kind,
    offset: 0,
    tsMicros: 0,
    transaction: null,
    recipient: null,
    opens: null,
    encrypted: false,
  };
}

function entry(verb: SmtpVerb, seq = 0, kind: SmtpCommand['kind'] = 'command'): PendingEntry {
  const c = command(verb, seq, kind);
  return new PendingEntry(c, false, 0, 'DATA', null);
}

const text = fc.string({ unit: fc.constantFrom(...'abcXYZ019 \t-+/=*:<@>.\r'.split('')), maxLength: 12 });

describe('dialogue parts: byte-level text helpers agree with the regular expressions they replace', () => {
  it('startsLikeReply is ^[0-9]{3}([ \\t-]|$)', () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(startsLikeReply(t)).toBe(/^[0-9]{3}([ \t-]|$)/.test(t));
      }),
    );
    for (const t of ['250', '250 ok', '250-x', '250\tx', '25', '2500', 'abc'])
      expect(startsLikeReply(t)).toBe(/^[0-9]{3}([ \t-]|$)/.test(t));
  });

  it('words and firstWord split on runs of spaces and tabs', () => {
    fc.assert(
      fc.property(text, (t) => {
        expect(words(t)).toEqual(t.split(/[ \t]+/).filter((w) => w !== ''));
        expect(firstWord(t)).toBe(t.split(/[ \t]/, 1)[0] ?? '');
      }),
    );
  });

  it('latin1 maps each byte to one character', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(latin1(bytes)).toBe(String.fromCharCode(...bytes));
    expect(latin1(bytes.subarray(10, 20))).toBe(String.fromCharCode(...bytes.subarray(10, 20)));
  });

  it('offersPipelining agrees with the full EHLO parser', () => {
    const keyword = fc.constantFrom(
      'PIPELINING',
      'pipelining',
      'PIPELININGX',
      'XPIPELINING',
      'SIZE 10',
      'AUTH PLAIN',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('', ' ', '\t'), keyword, fc.constantFrom('', ' x')), {
          maxLength: 4,
        }),
        (parts) => {
          const lines = ['mx.example.org', ...parts.map(([pad, k, tail]) => `${pad}${k}${tail}`)];
          expect(offersPipelining(lines)).toBe(parseEhloCapabilities(lines).pipelining);
        },
      ),
    );
    // The first line names the server: never a keyword.
    expect(offersPipelining(['PIPELINING'])).toBe(false);
  });
});

describe('dialogue parts: the AUTH base64 evidence', () => {
  it('takes base64 (RFC 4648 alphabet and padding), a lone *, and the empty line as possible responses', () => {
    for (const t of ['', '*', '=', 'AGFsaWNlAHNlY3JldA==', 'dXNlcg==', 'QUIT', 'a+b/c='])
      expect(couldBeAuthResponse(t), t).toBe(true);
    for (const t of ['MAIL FROM:<a@b>', 'RCPT TO:<x@y>', 'a b', '**', 'abc*', 'x@y', 'a.b', 'a-b'])
      expect(couldBeAuthResponse(t), t).toBe(false);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        expect(couldBeAuthResponse(Buffer.from(bytes).toString('base64'))).toBe(true);
      }),
    );
  });
});

describe('dialogue parts: the pending-command queue', () => {
  it('pairs codes tied to one command with that command only (RFC 5321 4.3.2, RFC 4954)', () => {
    expect(canAnswer(354, entry('DATA'))).toBe(true);
    expect(canAnswer(354, entry('RCPT'))).toBe(false);
    expect(canAnswer(334, entry('AUTH'))).toBe(true);
    expect(canAnswer(334, entry('AUTH', 0, 'auth-response'))).toBe(true);
    expect(canAnswer(235, entry('MAIL'))).toBe(false);
    expect(canAnswer(221, entry('QUIT'))).toBe(true);
    expect(canAnswer(221, entry('AUTH', 0, 'auth-response'))).toBe(false);
    expect(canAnswer(250, entry('RCPT'))).toBe(true);
  });

  it('is bounded: a push past the limit clears it first and says so', () => {
    const queue = new PendingQueue(3);
    expect([
      queue.push(entry('NOOP', 0)),
      queue.push(entry('NOOP', 1)),
      queue.push(entry('NOOP', 2)),
    ]).toEqual([true, true, true]);
    expect(queue.push(entry('NOOP', 3))).toBe(false);
    expect(queue.size).toBe(1);
    expect(queue.peek()?.command?.seq).toBe(3);
  });

  it('finds the later entry a code can answer, removes an entry anywhere, keeps order across shifts', () => {
    const queue = new PendingQueue(1000);
    const entries = [entry('RCPT', 0), entry('RCPT', 1), entry('DATA', 2), entry('QUIT', 3)];
    for (const e of entries) queue.push(e);
    expect(queue.laterAnswering(354)).toBe(entries[2]);
    expect(queue.laterAnswering(221)).toBe(entries[3]);
    expect(queue.laterAnswering(334)).toBeNull();
    expect(queue.remove(entries[1] as PendingEntry)).toBe(true);
    expect(queue.remove(entries[1] as PendingEntry)).toBe(false);
    queue.shift();
    expect(queue.peek()).toBe(entries[2]);
    expect(queue.has(entries[3] as PendingEntry)).toBe(true);
    for (let i = 0; i < 200; i++) queue.push(entry('NOOP', 10 + i));
    for (let i = 0; i < 150; i++) queue.shift();
    expect(queue.peek()?.command?.seq).toBe(10 + 148);
  });
});

describe('dialogue parts: the transaction tracker', () => {
  it('gives MAIL-like commands new ids, RCPT its index, and no id outside a transaction', () => {
    const tx = new TransactionTracker(false);
    expect(tx.place('RCPT', true)).toBeNull(); // RCPT without MAIL, start seen: no transaction
    expect(tx.place('MAIL', true)).toBe(1);
    expect(tx.nested).toBe(false);
    expect([tx.place('RCPT', true), tx.recipient]).toEqual([1, 0]);
    expect([tx.place('RCPT', true), tx.recipient]).toEqual([1, 1]);
    expect(tx.place('SAML', true)).toBe(1); // nested: the open transaction
    expect(tx.nested).toBe(true);
    expect(tx.place('DATA', true)).toBe(1);
    tx.close(); // end of data
    expect(tx.place('RCPT', true)).toBeNull();
    expect(tx.place('BDAT', false)).toBeNull(); // malformed, nothing open
    expect(tx.place('SEND', true)).toBe(2);
  });

  it('opens an id with an unknown sender after a gap, and undoes the reset of a refused HELO', () => {
    const tx = new TransactionTracker(true);
    expect(tx.place('RCPT', true)).toBe(1);
    expect(tx.place('RCPT', true)).toBe(1);
    expect(tx.place('MAIL', true)).toBe(2);
    tx.place('RCPT', true);
    tx.helloSent();
    expect(tx.open).toBe(false);
    expect(tx.helloAnswered(false)).toBe(true);
    expect([tx.open, tx.current, tx.rcpts]).toEqual([true, 2, 1]);
    tx.helloSent();
    expect(tx.helloAnswered(true)).toBe(false);
    expect(tx.current).toBeNull();
  });

  it('places a valid BDAT with no MAIL before it in no transaction when the envelope is known (RFC 3030 2)', () => {
    const known = new TransactionTracker(false);
    expect(known.place('BDAT', true)).toBeNull(); // refused by the server (503): no phantom transaction
    expect(known.place('BDAT', true)).toBeNull();
    expect(known.place('MAIL', true)).toBe(1); // the real message is the first transaction
    expect(known.place('BDAT', true)).toBe(1);
    // After a gap or a midstream start the MAIL may have been lost: the chunk opens one with an unknown sender.
    const lost = new TransactionTracker(true);
    expect(lost.place('BDAT', true)).toBe(1);
  });
});

describe('dialogue parts: how a transaction opens (SmtpCommand.opens)', () => {
  it('names the command that opens each transaction and how, and no other', () => {
    const tx = new TransactionTracker(false);
    const opened = (verb: string, validBdat = true) => [tx.place(verb, validBdat), tx.opened];
    expect(opened('NOOP')).toEqual([null, null]); // outside a transaction
    expect(opened('MAIL')).toEqual([1, 'mail']);
    expect(opened('RCPT')).toEqual([1, null]);
    expect(opened('NOOP')).toEqual([1, null]); // inside: it belongs to the transaction
    expect(opened('UNKNOWN')).toEqual([1, null]);
    expect(opened('MAIL')).toEqual([1, null]); // nested: the open transaction, not a new one
    expect(opened('DATA')).toEqual([1, null]);
    tx.close(); // end of data
    expect(opened('NOOP')).toEqual([null, null]);
    expect(opened('DATA')).toEqual([2, 'no-mail']); // DATA with no MAIL, the envelope known
    tx.close();
    tx.unknown = true; // a gap
    expect(opened('RCPT')).toEqual([3, 'lost-mail']);
    expect(opened('DATA')).toEqual([3, null]);
  });

  it('gives a message with no command before it the open transaction, or a new one', () => {
    const tx = new TransactionTracker(false);
    expect(tx.place('MAIL', true)).toBe(1);
    expect(tx.forMessage()).toBe(1); // a 354 that answers no command, inside the transaction
    tx.close();
    expect(tx.forMessage()).toBe(2); // a final dot after a gap, nothing open: a transaction of its own
    expect(tx.current).toBe(2);
    expect(tx.place('MAIL', true)).toBe(3);
  });
});

describe('dialogue parts: held bytes and proxy sniffing', () => {
  it('keeps copies up to its limit and finds complete lines across chunks', () => {
    const held = new HeldBytes(10);
    const source = Buffer.from('AB\r\nMAIL');
    expect(held.hold(source, 0, 1)).toBe(8);
    source[0] = 0x7a; // the held copy does not change with the caller's buffer
    expect(held.hold(Buffer.from(' FROM:<a@b>\r\n'), 8, 2)).toBe(2);
    const lines: string[] = [];
    held.someLine((line) => {
      lines.push(Buffer.from(line).toString('latin1'));
      return false;
    });
    expect(lines).toEqual(['AB\r']);
    expect(held.take().map((c) => Buffer.from(c.bytes).toString('latin1'))).toEqual(['AB\r\nMAIL', ' F']);
    expect(held.take()).toEqual([]);
  });

  it('tells SOCKS4, SOCKS5 and CONNECT from SMTP by the first bytes, asking for more when too few', () => {
    const b = (t: string) => Buffer.from(t, 'latin1');
    expect(sniffProxy(b('\x04'))).toBe('more');
    expect(sniffProxy(b('\x04\x01'))).toBe('socks4');
    expect(sniffProxy(b('\x04\x02'))).toBe('no');
    expect(sniffProxy(b('\x05\x01\x00'))).toBe('socks5');
    expect(sniffProxy(b('\x05\x00'))).toBe('no');
    expect(sniffProxy(b('CONN'))).toBe('more');
    expect(sniffProxy(b('CONNECT x:25 HTTP/1.1'))).toBe('http-connect');
    expect(sniffProxy(b('CAPA'))).toBe('no');
    expect(sniffProxy(b('EHLO x'))).toBe('no');
  });
});
