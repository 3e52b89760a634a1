import { describe, expect, it } from 'vitest';
import { createSessionBuilder } from '../../src/model/session-builder.js';
import type { CloseReason, FlowKey, FlowStats } from '../../src/reassembly/types.js';
import type { ReplyTarget, SmtpCommand, SmtpEvent, SmtpVerb } from '../../src/smtp/types.js';
import { applyEvent, applyEvents } from '../helpers/smtp-events.js';

const flow: FlowKey = {
  id: 'C000001',
  client: { ip: '192.0.2.10', port: 40000 },
  server: { ip: '198.51.100.25', port: 25 },
  basis: 'syn',
};

function stats(c2sPackets = 10, s2cPackets = 10): FlowStats {
  const dir = (packets: number) => ({
    packets,
    bytes: packets * 10,
    gapBytes: 0,
    gaps: 0,
    retransmissions: 0,
    overlapsDiffering: 0,
    outOfOrder: 0,
  });
  return {
    firstTsMicros: 1_000_000,
    lastTsMicros: 9_000_000,
    c2s: dir(c2sPackets),
    s2c: dir(s2cPackets),
    sawSyn: true,
    sawSynAck: true,
  };
}

/** A tiny script language: `C:` lines are commands, `S:` lines replies to the oldest pending command. */
class Script {
  readonly events: SmtpEvent[] = [];
  private ts = 1_000_000;
  private seq = 0;
  private readonly pending: SmtpCommand[] = [];
  /** The decoder's transaction ids, as its tracker assigns them (MAIL opens the next; RSET, HELO and QUIT close). */
  private tx = 0;
  private txOpen = false;
  private rcpts = 0;

  /** The id of the latest transaction (what message events carry). */
  get transaction(): number {
    return this.tx;
  }

  private tick(): number {
    this.ts += 1000;
    return this.ts;
  }

  greet(code = 220, text = 'mx.example.org ESMTP Postfix'): this {
    return this.reply(code, [text], { kind: 'greeting' });
  }

  cmd(
    verb: SmtpVerb,
    argument = '',
    path: string | null = null,
    kind: SmtpCommand['kind'] = 'command',
  ): SmtpCommand {
    let transaction: number | null = null;
    let recipient: number | null = null;
    let opens: SmtpCommand['opens'] = null;
    if (kind === 'command') {
      if (verb === 'MAIL' || verb === 'SEND' || verb === 'SOML' || verb === 'SAML') {
        if (!this.txOpen) {
          this.tx++;
          this.rcpts = 0;
          opens = 'mail';
        }
        this.txOpen = true;
        transaction = this.tx;
      } else if (verb === 'RCPT') {
        transaction = this.txOpen ? this.tx : null;
        recipient = this.rcpts++;
      } else if (verb === 'DATA' || verb === 'BDAT') {
        if (!this.txOpen) {
          this.tx++;
          opens = 'no-mail';
        }
        this.txOpen = true;
        transaction = this.tx;
      } else if (verb === 'RSET' || verb === 'HELO' || verb === 'EHLO' || verb === 'LHLO' || verb === 'QUIT')
        this.txOpen = false;
    }
    const command: SmtpCommand = {
      seq: this.seq++,
      verb,
      verbText: verb,
      argument,
      path,
      params: {},
      kind,
      offset: 0,
      tsMicros: this.tick(),
      transaction,
      recipient,
      opens,
      encrypted: false,
    };
    this.events.push({ type: 'command', command });
    this.pending.push(command);
    return command;
  }

  c(verb: SmtpVerb, argument = ''): this {
    const path = verb === 'MAIL' || verb === 'RCPT' ? (/<([^>]*)>/.exec(argument)?.[1] ?? null) : null;
    this.cmd(verb, argument, path);
    return this;
  }

  reply(code: number, lines: string[], to: ReplyTarget): this {
    const ts = this.tick();
    const enhanced = /^([245]\.\d{1,3}\.\d{1,3})\b/.exec(lines[0] ?? '')?.[1] ?? null;
    this.events.push({
      type: 'reply',
      reply: {
        code,
        enhancedStatus: enhanced,
        lines,
        offset: 0,
        tsMicros: ts,
        endTsMicros: ts,
        encrypted: false,
      },
      to,
    });
    return this;
  }

  s(code: number, text: string): this {
    const command = this.pending.shift();
    if (command === undefined) throw new Error('no pending command');
    return this.reply(code, text.split('\n'), { kind: 'command', command });
  }

  body(text: string, complete = true): this {
    this.events.push({ type: 'message-start', mode: 'DATA', transaction: this.tx, tsMicros: this.tick() });
    const bytes = new TextEncoder().encode(text);
    this.events.push({ type: 'message-bytes', bytes });
    this.events.push({
      type: 'message-end',
      transaction: this.tx,
      sizeBytes: bytes.length,
      complete,
      awaitsReply: complete,
      tsMicros: this.tick(),
    });
    if (complete) this.txOpen = false;
    return this;
  }

  endOfData(code: number, text: string, lmtpRecipient: number | null = null): this {
    return this.reply(code, [text], {
      kind: 'end-of-data',
      mode: 'DATA',
      lmtpRecipient,
      transaction: this.tx,
    });
  }

  close(reason: CloseReason = 'fin', flowStats: FlowStats = stats()): SmtpEvent[] {
    this.events.push({ type: 'closed', reason, tsMicros: this.tick(), stats: flowStats });
    return this.events;
  }
}

async function build(events: SmtpEvent[], options: { lmtp?: boolean } = {}) {
  const builder = createSessionBuilder(flow, options);
  applyEvents(builder, events);
  expect(builder.isClosed).toBe(events.some((e) => e.type === 'closed'));
  return builder.finish();
}

const MESSAGE =
  'From: Alice <alice@example.com>\r\nTo: bob@example.org\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMessage-ID: <m1@example.com>\r\n\r\nHello\r\n';

describe('session-builder', () => {
  it('gives each recipient its own outcome: one unknown mailbox, two delivered', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'client.example.com').s(250, 'mx.example.org\nPIPELINING\nSIZE 10240000\nSTARTTLS\n8BITMIME');
    s.c('MAIL', 'FROM:<alice@example.com>').s(250, '2.1.0 Ok');
    s.c('RCPT', 'TO:<bob@example.org>').s(250, '2.1.5 Ok');
    s.c('RCPT', 'TO:<nobody@example.org>').s(
      550,
      '5.1.1 <nobody@example.org>: Recipient address rejected: User unknown in local recipient table',
    );
    s.c('RCPT', 'TO:<carol@example.org>').s(250, '2.1.5 Ok');
    s.c('DATA').s(354, 'End data with <CR><LF>.<CR><LF>');
    s.body(MESSAGE).endOfData(250, '2.0.0 Ok: queued as 4XyZ1234AB');
    s.c('QUIT').s(221, '2.0.0 Bye');
    const session = await build(s.close());

    expect(session.helo).toBe('client.example.com');
    expect(session.serverName).toBe('mx.example.org');
    expect(session.software).toBe('postfix');
    expect(session.capabilities?.pipelining).toBe(true);
    expect(session.capabilities?.size).toBe(10240000);
    expect(session.tls.offered).toBe(true);
    expect(session.end).toBe('quit');
    expect(session.transactions).toHaveLength(1);
    const t = session.transactions[0]!;
    expect(t.outcome).toBe('accepted');
    expect(t.queueId).toBe('4XyZ1234AB');
    expect(t.mailFrom).toBe('alice@example.com');
    expect(t.sizeBytes).toBe(MESSAGE.length);
    expect(t.recipients.map((r) => [r.address, r.disposition, r.reasonClass])).toEqual([
      ['bob@example.org', 'delivered', null],
      ['nobody@example.org', 'rejected-rcpt', 'mailbox-unknown'],
      ['carol@example.org', 'delivered', null],
    ]);
    expect(t.message?.subject).toBe('Grüße');
    expect(t.message?.messageId).toBe('<m1@example.com>');
    // Every command is paired with its reply, and latency is reply time minus command time.
    const rcpt = session.commands.find((c) => c.verb === 'RCPT' && c.argument.includes('nobody'));
    expect(rcpt?.reply?.code).toBe(550);
    expect(rcpt?.latencyMicros).toBe(1000);
    // seq is each record's position in the list, so it is unique even for END-OF-DATA and LMTP replies.
    expect(session.commands.map((c) => c.seq)).toEqual(session.commands.map((_, i) => i));
    const eod = session.commands.find((c) => c.verb === 'END-OF-DATA');
    expect(eod?.reply?.code).toBe(250);
    expect(eod?.transaction).toBe(1);
  });

  it('gives each session its own TLS record: counted bytes for one with TLS, the empty record for one without', async () => {
    const withTls = new Script().greet();
    withTls.c('EHLO', 'client.example.com').s(250, 'mx.example.org\nSTARTTLS');
    withTls.c('STARTTLS').s(220, '2.0.0 Ready to start TLS');
    withTls.events.push(
      { type: 'tls-start', mode: 'starttls', tsMicros: 1_100_000 },
      { type: 'tls-bytes', direction: 'c2s', length: 517 },
      { type: 'tls-bytes', direction: 's2c', length: 1400 },
      { type: 'tls-bytes', direction: 'c2s', length: 80 },
    );
    const without = new Script().greet();
    without.c('EHLO', 'client.example.com').s(250, 'mx.example.org\nSTARTTLS');
    without.c('QUIT').s(221, '2.0.0 Bye');
    const plain = new Script().greet();
    plain.c('HELO', 'client.example.com').s(250, 'mx.example.org');
    plain.c('QUIT').s(221, '2.0.0 Bye');
    // Built in turns: a session without TLS must not see (or change) another's TLS state.
    const [a, b, c] = await Promise.all([
      build(withTls.close()),
      build(without.close()),
      build(plain.close()),
    ]);
    expect(a.tls).toEqual({
      mode: 'starttls',
      offered: true,
      refused: false,
      clientHello: null,
      serverHello: null,
      bytes: { c2s: 597, s2c: 1400 },
      capabilities: null,
      clearTextAfterStarttls: false,
      decryption: null,
    });
    const none = {
      mode: 'none',
      refused: false,
      clientHello: null,
      serverHello: null,
      bytes: { c2s: 0, s2c: 0 },
      capabilities: null,
      clearTextAfterStarttls: false,
      decryption: null,
    };
    expect(b.tls).toEqual({ ...none, offered: true });
    expect(c.tls).toEqual({ ...none, offered: false });
    // The JSON keys come in the same order whether the record is shared or made for the session.
    expect(Object.keys(b.tls)).toEqual(Object.keys(a.tls));
    expect(Object.keys(c.tls)).toEqual(Object.keys(a.tls));
    expect(a.rolesSwapped || b.rolesSwapped || c.rolesSwapped).toBe(false);
  });

  it('marks pipelined commands and pairs their batched replies in order', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx\nPIPELINING');
    s.c('MAIL', 'FROM:<a@x>');
    s.c('RCPT', 'TO:<b@y>');
    s.c('RCPT', 'TO:<c@y>');
    s.c('DATA');
    s.s(250, '2.1.0 Ok')
      .s(450, '4.2.0 <b@y>: Recipient address rejected: Greylisted')
      .s(250, '2.1.5 Ok')
      .s(354, 'go ahead');
    s.body(MESSAGE).endOfData(250, '2.0.0 Ok: queued as ABC');
    const session = await build(s.close());
    const verbs = session.commands.map((c) => `${c.verb}:${c.pipelined}:${c.reply?.code ?? '-'}`);
    expect(verbs).toEqual([
      'EHLO:false:250',
      'MAIL:false:250',
      'RCPT:true:450',
      'RCPT:true:250',
      'DATA:true:354',
      'END-OF-DATA:false:250',
    ]);
    const t = session.transactions[0]!;
    expect(t.recipients.map((r) => r.disposition)).toEqual(['deferred-rcpt', 'delivered']);
    expect(t.recipients[0]?.reasonClass).toBe('greylisted');
    // No QUIT was sent: the connection just ended.
    expect(session.end).toBe('fin-without-quit');
  });

  it('fails the whole transaction at end of data and every accepted recipient with it', async () => {
    const s = new Script().greet();
    s.c('HELO', 'c').s(250, 'mx');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
    s.c('RCPT', 'TO:<bad@y>').s(550, '5.1.1 unknown');
    s.c('DATA').s(354, 'go');
    s.body(MESSAGE).endOfData(552, '5.3.4 Message size exceeds fixed limit');
    s.c('QUIT').s(221, 'Bye');
    const session = await build(s.close());
    const t = session.transactions[0]!;
    expect(t.outcome).toBe('rejected');
    expect(t.failureStage).toBe('end-of-data');
    expect(t.reasonClass).toBe('message-too-big');
    expect(t.queueId).toBeNull();
    expect(t.recipients.map((r) => r.disposition)).toEqual(['rejected-data', 'rejected-rcpt']);
    expect(session.heloVerb).toBe('HELO');
  });

  it('tells rejected at MAIL, refused DATA, aborted and lost transactions apart', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx');
    s.c('MAIL', 'FROM:<spam@spammer.test>').s(
      554,
      '5.7.1 <spam@spammer.test>: Sender address rejected: Access denied',
    );
    s.c('RSET').s(250, 'Ok');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
    s.c('DATA').s(554, '5.5.1 Error: no valid recipients');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
    s.c('RSET').s(250, 'Ok');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<c@y>').s(250, 'Ok');
    s.c('DATA').s(354, 'go');
    s.events.push({ type: 'message-start', mode: 'DATA', transaction: s.transaction, tsMicros: 1_500_000 });
    const session = await build(s.close('rst'));
    expect(session.transactions.map((t) => [t.outcome, t.failureStage, t.reasonClass])).toEqual([
      ['rejected', 'mail', 'policy-or-spam'],
      ['rejected', 'data', 'protocol-error'],
      ['aborted', null, null],
      ['incomplete', 'connection-lost', null],
    ]);
    expect(session.transactions[2]?.recipients[0]?.disposition).toBe('not-sent');
    expect(session.transactions[3]?.recipients[0]?.disposition).toBe('unknown');
    expect(session.end).toBe('rst');
  });

  it('gives LMTP recipients their own end-of-data replies in the order they were accepted', async () => {
    const s = new Script().greet(220, 'lmtp.example.org LMTP ready');
    s.c('LHLO', 'c').s(250, 'lmtp.example.org\nPIPELINING');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<one@y>').s(250, 'Ok');
    s.c('RCPT', 'TO:<gone@y>').s(550, '5.1.1 unknown');
    s.c('RCPT', 'TO:<full@y>').s(250, 'Ok');
    s.c('DATA').s(354, 'go');
    s.body(MESSAGE)
      .endOfData(250, '2.0.0 <one@y> delivered', 0)
      .endOfData(452, '4.2.2 <full@y> Mailbox full', 2);
    const session = await build(s.close(), { lmtp: true });
    expect(session.protocol).toBe('lmtp');
    const t = session.transactions[0]!;
    expect(t.recipients.map((r) => [r.disposition, r.reasonClass])).toEqual([
      ['delivered', null],
      ['rejected-rcpt', 'mailbox-unknown'],
      ['deferred-data', 'mailbox-full'],
    ]);
    expect(t.outcome).toBe('accepted');
    expect(session.commands.filter((c) => c.verb === 'END-OF-DATA')).toHaveLength(2);
  });

  it('judges nothing in a client-only capture: outcomes are unknown, not failures', async () => {
    const s = new Script();
    s.c('EHLO', 'c');
    s.c('MAIL', 'FROM:<a@x>');
    s.c('RCPT', 'TO:<b@y>');
    s.c('DATA');
    s.body(MESSAGE);
    const session = await build(s.close('end-of-capture', stats(8, 0)));
    expect(session.quality.oneSided).toBe('c2s-only');
    expect(session.greeting).toBeNull();
    const t = session.transactions[0]!;
    expect(t.outcome).toBe('unknown');
    expect(t.recipients[0]?.disposition).toBe('unknown');
    expect(t.message?.from).toContain('alice@example.com');
  });

  it('answers BDAT LAST with the end-of-data reply on the chunk command', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx\nCHUNKING');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
    s.cmd('BDAT', '10');
    s.events.push({ type: 'bdat-chunk', transaction: 1, sizeBytes: 10, last: false, tsMicros: 1_100_000 });
    s.s(250, '2.0.0 Ok: 10 octets received');
    s.cmd('BDAT', '5 LAST');
    s.events.push({ type: 'bdat-chunk', transaction: 1, sizeBytes: 5, last: true, tsMicros: 1_100_001 });
    s.events.push({
      type: 'message-end',
      transaction: 1,
      sizeBytes: 15,
      complete: true,
      awaitsReply: true,
      tsMicros: 1_100_002,
    });
    s.reply(250, ['2.0.0 Ok: queued as QQQ'], {
      kind: 'end-of-data',
      mode: 'BDAT',
      lmtpRecipient: null,
      transaction: 1,
    });
    const session = await build(s.close());
    const t = session.transactions[0]!;
    expect(t.mode).toBe('BDAT');
    expect(t.bdatChunks).toBe(2);
    expect(t.sizeBytes).toBe(15);
    expect(t.outcome).toBe('accepted');
    expect(t.queueId).toBe('QQQ');
    expect(session.commands.filter((c) => c.verb === 'BDAT').map((c) => c.reply?.code)).toEqual([250, 250]);
  });

  it('gives a message sent with no MAIL its own transaction with an unknown sender', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx');
    s.c('DATA').s(354, 'go');
    s.body(MESSAGE).endOfData(250, '2.0.0 Ok');
    s.c('DATA').s(503, '5.5.1 Error: need MAIL command');
    const session = await build(s.close());
    expect(session.transactions.map((t) => [t.mailFrom, t.outcome, t.failureStage])).toEqual([
      [null, 'accepted', null],
      [null, 'rejected', 'data'],
    ]);
    expect(session.transactions[0]?.message?.subject).toBe('Grüße');
  });

  it('keeps its own copy of message bytes handed over as a reused Buffer', async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
    s.c('DATA').s(354, 'go');
    const shared = Buffer.from(MESSAGE, 'latin1');
    const builder = createSessionBuilder(flow);
    applyEvents(builder, s.events);
    applyEvent(builder, { type: 'message-start', mode: 'DATA', transaction: 1, tsMicros: 2_000_000 });
    // Buffer#slice is a view: the builder must copy, or the next packet overwrites what it kept.
    applyEvent(builder, { type: 'message-bytes', bytes: shared.subarray(0, 40) });
    applyEvent(builder, { type: 'message-bytes', bytes: shared.subarray(40) });
    shared.fill(0x58);
    applyEvent(builder, {
      type: 'message-end',
      transaction: 1,
      sizeBytes: MESSAGE.length,
      complete: true,
      awaitsReply: true,
      tsMicros: 2_000_001,
    });
    applyEvent(builder, { type: 'closed', reason: 'fin', tsMicros: 2_000_002, stats: stats() });
    const session = await builder.finish();
    expect(session.transactions[0]?.message?.from).toContain('alice@example.com');
  });

  it('keeps at most the configured number of commands and counts the rest', async () => {
    const s = new Script().greet();
    for (let i = 0; i < 30; i++) s.c('NOOP').s(250, 'Ok');
    const builder = createSessionBuilder(flow, { maxCommands: 10 });
    for (const e of s.close()) applyEvent(builder, e);
    const session = await builder.finish();
    expect(session.commands).toHaveLength(10);
    expect(session.commandsDropped).toBe(20);
  });

  it("keeps a snapshot taken while open as it was, and numbers the closed session's rows in list order", async () => {
    const s = new Script().greet(220, 'lmtp.example.org LMTP ready');
    s.c('LHLO', 'c').s(250, 'lmtp.example.org\nPIPELINING');
    s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
    s.c('RCPT', 'TO:<one@y>').s(250, 'Ok');
    s.c('RCPT', 'TO:<two@y>').s(250, 'Ok');
    s.c('DATA').s(354, 'go');
    s.body(MESSAGE);
    const quit = s.cmd('QUIT'); // pipelined right behind the final dot
    const builder = createSessionBuilder(flow, {}, true);
    applyEvents(builder, s.events);
    const sent = s.events.length;
    const open = builder.peek();
    const rowsOpen = open.commands.map((c) => [c.seq, c.verb, c.reply?.code ?? null, c.latencyMicros]);

    s.endOfData(250, '2.0.0 <one@y> delivered', 0).endOfData(452, '4.2.2 <two@y> Mailbox full', 1);
    s.s(221, 'Bye');
    for (const e of s.close().slice(sent)) applyEvent(builder, e);
    const closed = builder.finishNow();

    // The open snapshot: one end-of-data row awaiting its reply, QUIT unanswered; later replies left it alone.
    expect(rowsOpen).toEqual([
      [0, 'LHLO', 250, 1000],
      [1, 'MAIL', 250, 1000],
      [2, 'RCPT', 250, 1000],
      [3, 'RCPT', 250, 1000],
      [4, 'DATA', 354, 1000],
      [5, 'END-OF-DATA', null, null],
      [6, 'QUIT', null, null],
    ]);
    expect(open.commands.map((c) => [c.seq, c.verb, c.reply?.code ?? null, c.latencyMicros])).toEqual(
      rowsOpen,
    );
    // Closed: the second LMTP reply's row sits next to the first, QUIT after both, every row numbered by position.
    expect(closed.commands.map((c) => [c.seq, c.verb, c.argument, c.reply?.code ?? null])).toEqual([
      [0, 'LHLO', 'c', 250],
      [1, 'MAIL', 'FROM:<a@x>', 250],
      [2, 'RCPT', 'TO:<one@y>', 250],
      [3, 'RCPT', 'TO:<two@y>', 250],
      [4, 'DATA', '', 354],
      [5, 'END-OF-DATA', 'recipient 1', 250],
      [6, 'END-OF-DATA', 'recipient 2', 452],
      [7, 'QUIT', '', 221],
    ]);
    const quitRow = closed.commands[7]!;
    expect(quitRow.latencyMicros).toBe(closed.commands[7]!.reply!.tsMicros - quit.tsMicros);
    expect(quitRow.pipelined).toBe(true);
    expect(closed.end).toBe('quit');
  });

  it("pairs replies that come long after their pipelined commands, and follows the decoder's ids past many transactions", async () => {
    const s = new Script().greet();
    s.c('EHLO', 'c').s(250, 'mx.example.org\nPIPELINING');
    // 20 recipients sent in one batch, answered after all of them were sent: each reply finds its own RCPT.
    s.c('MAIL', 'FROM:<a@x>');
    for (let i = 0; i < 20; i++) s.c('RCPT', `TO:<r${i}@y>`);
    s.s(250, 'Ok');
    for (let i = 0; i < 20; i++) s.s(i % 3 === 0 ? 550 : 250, i % 3 === 0 ? '5.1.1 unknown' : 'Ok');
    s.c('DATA').s(354, 'go');
    s.body(MESSAGE).endOfData(250, '2.0.0 Ok: queued as Q0');
    // Then 24 more transactions, one message each, with their own queue ids.
    for (let n = 1; n <= 24; n++) {
      s.c('MAIL', 'FROM:<a@x>').s(250, 'Ok');
      s.c('RCPT', 'TO:<b@y>').s(250, 'Ok');
      s.c('DATA').s(354, 'go');
      s.body(MESSAGE).endOfData(250, `2.0.0 Ok: queued as Q${n}`);
    }
    s.c('QUIT').s(221, 'Bye');
    const session = await build(s.close());
    const first = session.transactions[0]!;
    expect(first.recipients.map((r) => r.disposition)).toEqual(
      Array.from({ length: 20 }, (_, i) => (i % 3 === 0 ? 'rejected-rcpt' : 'delivered')),
    );
    expect(first.recipients.map((r) => r.address)).toEqual(Array.from({ length: 20 }, (_, i) => `r${i}@y`));
    expect(session.transactions.map((t) => t.queueId)).toEqual(Array.from({ length: 25 }, (_, n) => `Q${n}`));
    expect(session.transactions.every((t) => t.outcome === 'accepted' && t.sizeBytes !== null)).toBe(true);
    expect(session.commands.map((c) => c.seq)).toEqual(session.commands.map((_, i) => i));
    expect(session.commands.every((c) => c.reply !== null)).toBe(true);
  });

  it('pairs a reply with its command even when the commands came out of their numbering order', async () => {
    const s = new Script().greet();
    const sent = [s.cmd('NOOP', 'a'), s.cmd('NOOP', 'b'), s.cmd('NOOP', 'c')];
    // The decoder numbers commands in the order they come; here the numbers are out of that order.
    const renumbered = sent.map((c, i) => ({ ...c, seq: [7, 3, 9][i] as number }));
    const events: SmtpEvent[] = s.events.map((e) => {
      const at = e.type === 'command' ? sent.indexOf(e.command) : -1;
      return at < 0 ? e : { type: 'command', command: renumbered[at] as SmtpCommand };
    });
    renumbered.forEach((command, i) => {
      const ts = 2_000_000 + i;
      events.push({
        type: 'reply',
        reply: {
          code: 250 + i,
          enhancedStatus: null,
          lines: ['Ok'],
          offset: 0,
          tsMicros: ts,
          endTsMicros: ts,
          encrypted: false,
        },
        to: { kind: 'command', command },
      });
    });
    events.push({ type: 'closed', reason: 'fin', tsMicros: 3_000_000, stats: stats() });
    const session = await build(events);
    expect(session.commands.map((c) => [c.argument, c.reply?.code ?? null])).toEqual([
      ['a', 250],
      ['b', 251],
      ['c', 252],
    ]);
  });
});
