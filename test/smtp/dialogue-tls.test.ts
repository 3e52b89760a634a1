/**
 * The dialogue's TLS mode with a decryptor. The decryptor here is a stand-in, not TLS: it frames each direction's
 * bytes as TLS records and "decrypts" application-data records (type 23) by XOR with 0x5a, a trivial transform
 * chosen so that the test controls the plaintext exactly. It exercises the contract of src/tls/types.ts (create
 * once TLS starts, push/gap in order, close once; plaintext, status and gaps through the callbacks); the real
 * decryptor lives in src/tls/ and is tested there.
 */

import { describe, expect, it } from 'vitest';
import { createSessionBuilder } from '../../src/model/session-builder.js';
import type { Direction, FlowKey } from '../../src/reassembly/types.js';
import type { SmtpEvent } from '../../src/smtp/types.js';
import type {
  TlsDecryptionStatus,
  TlsDecryptor,
  TlsDecryptorCallbacks,
  TlsDecryptorFactory,
} from '../../src/tls/types.js';
import {
  type Dialogue,
  forEachDialogueSplit,
  formatEvents,
  parseDialogue,
  runDialogue,
  TEST_FLOW,
} from '../helpers/dialogue.js';
import { applyEvents } from '../helpers/smtp-events.js';

const XOR = 0x5a;

/** Record framing per direction; application data XOR 0x5a. Bytes that do not frame as records stop it. */
class XorRecordDecryptor implements TlsDecryptor {
  status: TlsDecryptionStatus = { kind: 'pending' };
  private readonly buffers: Record<Direction, number[]> = { c2s: [], s2c: [] };
  private readonly broken: Record<Direction, boolean> = { c2s: false, s2c: false };

  constructor(private readonly callbacks: TlsDecryptorCallbacks) {}

  private setStatus(status: TlsDecryptionStatus, ts: number): void {
    this.status = status;
    this.callbacks.onStatus(status, ts);
  }

  push(direction: Direction, bytes: Uint8Array, tsMicros: number): void {
    if (this.broken[direction]) return;
    const buffer = this.buffers[direction];
    for (const b of bytes) buffer.push(b);
    while (buffer.length >= 5) {
      const length = ((buffer[3] as number) << 8) | (buffer[4] as number);
      if (buffer.length < 5 + length) break;
      const record = buffer.splice(0, 5 + length);
      if (record[0] !== 23) continue; // handshake, change cipher spec, alert: nothing to hand out
      if (this.status.kind === 'pending')
        this.setStatus(
          { kind: 'decrypted', version: 'TLS 1.3', cipher: 'TEST_XOR', resumed: false },
          tsMicros,
        );
      this.callbacks.onPlaintext(
        direction,
        Uint8Array.from(record.slice(5), (b) => b ^ XOR),
        tsMicros,
      );
    }
  }

  gap(direction: Direction, _length: number, tsMicros: number): void {
    this.broken[direction] = true;
    this.buffers[direction].length = 0;
    this.callbacks.onPlaintextGap(direction, tsMicros);
  }

  close(tsMicros: number): void {
    if (this.status.kind === 'pending') this.setStatus({ kind: 'no-key' }, tsMicros);
  }
}

function xorFactory(created: FlowKey[] = []): TlsDecryptorFactory {
  return {
    create(flow, callbacks) {
      created.push(flow);
      return new XorRecordDecryptor(callbacks);
    },
  };
}

function hexEscape(bytes: readonly number[]): string {
  return bytes.map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('');
}

function record(type: number, payload: readonly number[]): string {
  return hexEscape([type, 3, 3, payload.length >> 8, payload.length & 0xff, ...payload]);
}

/** Application data carrying `text` (CRLF after each line), "encrypted" by XOR. */
function appData(...lines: string[]): string {
  const text = lines.map((l) => `${l}\r\n`).join('');
  return record(
    23,
    Array.from(text, (c) => (c.charCodeAt(0) & 0xff) ^ XOR),
  );
}

const RANDOM = Array.from({ length: 32 }, (_, i) => i);
// ClientHello: version 1.2, random, no session id, TLS_AES_128_GCM_SHA256, null compression, no extensions.
const CLIENT_HELLO_BODY = [3, 3, ...RANDOM, 0, 0, 2, 0x13, 0x01, 1, 0, 0, 0];
const CLIENT_HELLO = record(22, [1, 0, 0, CLIENT_HELLO_BODY.length, ...CLIENT_HELLO_BODY]);
const SERVER_HELLO_BODY = [3, 3, ...RANDOM, 0, 0x13, 0x01, 0, 0, 0];
const SERVER_HELLO = record(22, [2, 0, 0, SERVER_HELLO_BODY.length, ...SERVER_HELLO_BODY]);

const STARTTLS_DIALOGUE = `
S: 220 mx.example.org ESMTP
C: EHLO c.example
S: 250-mx.example.org
S: 250-PIPELINING
S: 250 STARTTLS
C: STARTTLS
S: 220 2.0.0 Ready to start TLS
C= ${CLIENT_HELLO}
S= ${SERVER_HELLO}
C= ${appData('EHLO c.example')}
S= ${appData('250-mx.example.org', '250-PIPELINING', '250 AUTH PLAIN')}
C= ${appData('AUTH PLAIN AGFsaWNlAHNlY3JldA==')}
S= ${appData('235 2.7.0 Authentication successful')}
C= ${appData('MAIL FROM:<alice@c.example>', 'RCPT TO:<bob@mx.example.org>', 'DATA')}
S= ${appData('250 2.1.0 Ok', '250 2.1.5 Ok', '354 End data with <CR><LF>.<CR><LF>')}
C= ${appData('Subject: inside', '', 'hello', '.')}
S= ${appData('250 2.0.0 Ok: queued as 4A1B2C')}
C= ${appData('QUIT')}
S= ${appData('221 2.0.0 Bye')}
`;

function withDecryptor(text: string, factory: TlsDecryptorFactory = xorFactory()): Dialogue {
  const dialogue = parseDialogue(text);
  return { ...dialogue, options: { ...dialogue.options, tlsDecryptors: factory } };
}

function sessionOf(events: readonly SmtpEvent[]) {
  const builder = createSessionBuilder(TEST_FLOW);
  applyEvents(builder, events);
  return builder.finishNow();
}

describe('dialogue: TLS mode with a decryptor', () => {
  it('decodes the dialogue inside STARTTLS from the plaintext, marked encrypted, as clear text would be', () => {
    const created: FlowKey[] = [];
    const events = runDialogue(withDecryptor(STARTTLS_DIALOGUE, xorFactory(created)));
    expect(created).toEqual([TEST_FLOW]);
    const commands = events.flatMap((e) => (e.type === 'command' ? [e.command] : []));
    expect(commands.map((c) => [c.verb, c.encrypted])).toEqual([
      ['EHLO', false],
      ['STARTTLS', false],
      ['EHLO', true],
      ['AUTH', true],
      ['MAIL', true],
      ['RCPT', true],
      ['DATA', true],
      ['QUIT', true],
    ]);
    const replies = events.flatMap((e) => (e.type === 'reply' ? [[e.reply.code, e.reply.encrypted]] : []));
    expect(replies).toEqual([
      [220, false],
      [250, false],
      [220, false],
      [250, true],
      [235, true],
      [250, true],
      [250, true],
      [354, true],
      [250, true],
      [221, true],
    ]);
    const types = events.map((e) => e.type);
    expect(types).toContain('tls-start');
    expect(events.filter((e) => e.type === 'tls-hello')).toHaveLength(2);
    expect(events.find((e) => e.type === 'tls-decryption')).toMatchObject({ status: { kind: 'decrypted' } });
    // Inside TLS, AUTH PLAIN exposes nothing on the wire, the second EHLO is the one RFC 3207 asks for, and the
    // plaintext is not a capture that starts mid-session.
    const anomalies = events.flatMap((e) => (e.type === 'anomaly' ? [e.code] : []));
    expect(anomalies).toEqual([]);
    const body = events.flatMap((e) =>
      e.type === 'message-bytes' ? [Buffer.from(e.bytes).toString('latin1')] : [],
    );
    expect(body.join('')).toBe('Subject: inside\r\n\r\nhello\r\n');
  });

  it('gives the same events under every chunking of the wire bytes', () => {
    const dialogue = withDecryptor(STARTTLS_DIALOGUE);
    const expected = formatEvents(runDialogue(dialogue));
    forEachDialogueSplit(
      dialogue,
      (chunker, label) => {
        // A fresh decryptor per run: the factory is part of the options.
        const run = withDecryptor(STARTTLS_DIALOGUE);
        const log = formatEvents(runDialogue(run, chunker));
        if (log !== expected) expect(log, label).toBe(expected);
      },
      10,
    );
  });

  it('builds the session from the decrypted dialogue: envelope, outcome, decryption status, TLS capabilities', () => {
    const session = sessionOf(runDialogue(withDecryptor(STARTTLS_DIALOGUE)));
    expect(session.tls.mode).toBe('starttls');
    expect(session.tls.decryption).toEqual({
      kind: 'decrypted',
      version: 'TLS 1.3',
      cipher: 'TEST_XOR',
      resumed: false,
    });
    expect(session.tls.offered).toBe(true);
    expect(session.tls.capabilities?.authMechanisms).toEqual(['PLAIN']);
    expect(session.capabilities?.starttls).toBe(true);
    expect(session.auth.map((a) => [a.mechanism, a.username, a.outcome])).toEqual([
      ['PLAIN', 'alice', 'success'],
    ]);
    const t = session.transactions[0];
    expect([t?.mailFrom, t?.outcome, t?.queueId, t?.message?.subject]).toEqual([
      'alice@c.example',
      'accepted',
      '4A1B2C',
      'inside',
    ]);
    expect(session.commands.map((c) => [c.verb, c.encrypted === true])).toEqual([
      ['EHLO', false],
      ['STARTTLS', false],
      ['EHLO', true],
      ['AUTH', true],
      ['MAIL', true],
      ['RCPT', true],
      ['DATA', true],
      ['END-OF-DATA', true], // the message travelled inside TLS, as its DATA command did
      ['QUIT', true],
    ]);
    expect(session.end).toBe('quit');
  });

  it('decrypts implicit TLS from the first byte (port 465)', () => {
    const text = `@option implicitTls=true
C= ${CLIENT_HELLO}
S= ${SERVER_HELLO}
S= ${appData('220 mx.example.org ESMTP')}
C= ${appData('EHLO c.example')}
S= ${appData('250 mx.example.org')}
C= ${appData('QUIT')}
S= ${appData('221 Bye')}
`;
    const events = runDialogue(withDecryptor(text));
    expect(formatEvents(events)).toBe(
      [
        '  tls-start implicit t0',
        '  state connected -> tls',
        '  tls-hello client versions=TLS 1.2 sni=- cipher=- alpn=-',
        '  tls-hello server versions=TLS 1.2 sni=- cipher=TLS_AES_128_GCM_SHA256 alpn=-',
        // ClientHello record 5 + 4 + 43 bytes; ServerHello 5 + 4 + 40 and the greeting's record 5 + 26 (one segment).
        '  tls-bytes c2s=52 s2c=80',
        '  tls-decryption decrypted',
        '  state tls -> ready',
        'S 220 "mx.example.org ESMTP" -> greeting @0 t1 encrypted',
        '  tls-bytes c2s=21 s2c=0',
        'C #0 EHLO "c.example" @0 t2 encrypted',
        '  tls-bytes c2s=0 s2c=25',
        'S 250 "mx.example.org" -> #0 EHLO @26 t3 encrypted',
        '  tls-bytes c2s=11 s2c=0',
        'C #1 QUIT "" @16 t4 encrypted',
        '  state ready -> quit',
        '  tls-bytes c2s=0 s2c=14',
        'S 221 "Bye" -> #1 QUIT @46 t5 encrypted',
        '  closed fin',
        '',
      ].join('\n'),
    );
  });

  it('reads a gap in the ciphertext as a gap in the plaintext, and reports no-key when nothing decrypts', () => {
    const gapText = `${STARTTLS_DIALOGUE.split('C= ').slice(0, 4).join('C= ')}C! gap 40\n`;
    const events = runDialogue(withDecryptor(gapText));
    expect(events.some((e) => e.type === 'gap')).toBe(true);
    const noKey = runDialogue(
      withDecryptor(
        `S: 220 mx ESMTP\nC: STARTTLS\nS: 220 Go ahead\nC= ${CLIENT_HELLO}\nS= ${SERVER_HELLO}\n`,
      ),
    );
    expect(
      noKey
        .filter((e) => e.type === 'tls-decryption')
        .map((e) => e.type === 'tls-decryption' && e.status.kind),
    ).toEqual(['no-key']);
    expect(sessionOf(noKey).tls.decryption).toEqual({ kind: 'no-key' });
  });

  it('keeps TLS opaque without a decryptor, exactly as before', () => {
    const events = runDialogue(parseDialogue(STARTTLS_DIALOGUE));
    expect(
      events.filter((e) => e.type === 'command').map((e) => e.type === 'command' && e.command.verb),
    ).toEqual(['EHLO', 'STARTTLS']);
    expect(events.some((e) => e.type === 'tls-decryption')).toBe(false);
  });
});
