/**
 * The dialogue captures of captures/README.md ("Dialogue captures"): real traffic for each numbered item of the
 * dialogue redesign, made by make-dialogue-captures.sh, read through the CLI's NDJSON output as an operator
 * would. Each expectation is what the protocol (RFC 5321, RFC 3030, RFC 1928) and the programs' own
 * transcripts (the side files of each capture) say happened, not what smtpscope printed before. (Item 8's EHLO
 * after STARTTLS needs decryption: it is in tls-decryption.test.ts.)
 */

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCli } from '../helpers/built-cli.js';

const CAPTURES = join(import.meta.dirname, '../../captures');

interface Reply {
  readonly code: number;
}
interface JsonRecipient {
  readonly address: string;
  readonly disposition: string;
  readonly rcpt_reply: Reply | null;
}
interface JsonTransaction {
  readonly mail_from: string | null;
  readonly outcome: string;
  readonly failure_stage: string | null;
  readonly outcome_unknown: boolean;
  readonly data_reply: Reply | null;
  readonly final_reply: Reply | null;
  readonly queue_id: string | null;
  readonly recipients: JsonRecipient[];
}
interface JsonSession {
  readonly source: { readonly port: number };
  readonly destination: { readonly port: number };
  readonly smtp: {
    readonly orientation: string;
    readonly helo: string | null;
    readonly greeting: Reply | null;
    readonly quality: { readonly midstream: boolean };
    readonly tls: { readonly mode: string; readonly offered: boolean };
    readonly anomalies: { readonly code: string }[];
    readonly commands: { readonly verb: string; readonly reply: Reply | null }[];
    readonly transactions: JsonTransaction[];
  };
}

/** Sessions of a capture, in the order they started, with each NDJSON line kept for text checks. */
function analyze(file: string, ...args: string[]): { session: JsonSession; line: string }[] {
  const result = spawnSync(process.execPath, [builtCli(), join(CAPTURES, file), ...args, '--json', '-'], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (result.status !== 0) throw new Error(`smtpscope ${file}: ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => ({ session: JSON.parse(line) as JsonSession, line }))
    .sort((a, b) => a.session.source.port - b.session.source.port);
}

const sessionsOf = (file: string, ...args: string[]): JsonSession[] =>
  analyze(file, ...args)
    .map((s) => s.session)
    .sort((a, b) => a.source.port - b.source.port);

const verbsAndCodes = (s: JsonSession): [string, number | null][] =>
  s.smtp.commands.map((c) => [c.verb, c.reply?.code ?? null]);

const anomalyCodes = (s: JsonSession): string[] => s.smtp.anomalies.map((a) => a.code);

/** The session whose commands include `verb` (captures hold one session per scripted case). */
function withVerb(sessions: readonly JsonSession[], verb: string, code: number): JsonSession {
  const found = sessions.filter((s) =>
    s.smtp.commands.some((c) => c.verb === verb && c.reply?.code === code),
  );
  expect(found, `one session with ${verb} answered ${code}`).toHaveLength(1);
  return found[0]!;
}

describe('dialogue items on real captures', () => {
  it('1. a refused BDAT reaches its transaction (bdat-refused.pcap)', () => {
    const sessions = sessionsOf('bdat-refused.pcap', '-p', '2525,2531');
    expect(sessions).toHaveLength(3);

    // BDAT 5 X after MAIL and RCPT: Postfix answers 521 5.5.4 and closes. The transaction ends refused by that
    // reply, at the data stage as a refused DATA would (no end of data was sent, so there is no final reply);
    // it was not lost with the connection, and its outcome is known.
    const malformed = withVerb(sessions, 'BDAT', 521);
    expect(malformed.smtp.transactions).toHaveLength(1);
    const refused = malformed.smtp.transactions[0]!;
    expect(refused.data_reply?.code).toBe(521);
    expect(refused.failure_stage).toBe('data');
    expect(refused.outcome).toBe('rejected');
    expect(refused.outcome_unknown).toBe(false);
    expect(refused.failure_stage).not.toBe('connection-lost');
    expect(refused.recipients.map((r) => r.disposition)).not.toContain('delivered');

    // BDAT before any MAIL (503), BDAT 0 LAST (551), then MAIL, RCPT, BDAT LAST (250): one transaction, the real one.
    const early = withVerb(sessions, 'BDAT', 503);
    expect(early.smtp.transactions).toHaveLength(1);
    const delivered = early.smtp.transactions[0]!;
    expect(delivered.mail_from).toBe('alice@sender.test');
    expect(delivered.outcome).toBe('accepted');
    expect(delivered.queue_id).toMatch(/^[0-9A-F]{8,}$/);
    expect(delivered.recipients.map((r) => [r.address, r.disposition])).toEqual([
      ['bob@sink.test', 'delivered'],
    ]);

    // A non-LAST chunk over the 1000-byte limit: 552 5.3.4, then BDAT 10 LAST is answered 551 (discarded).
    const tooBig = withVerb(sessions, 'BDAT', 552);
    expect(tooBig.smtp.transactions).toHaveLength(1);
    const big = tooBig.smtp.transactions[0]!;
    expect(big.outcome).toBe('rejected');
    expect(big.outcome_unknown).toBe(false);
    expect([552, 551]).toContain(big.final_reply?.code);
    expect(big.recipients.map((r) => r.disposition)).not.toContain('delivered');
  }, 120_000);

  it('2. with the AUTH replies missing, MAIL, RCPT and QUIT are still commands (auth-replies-deleted.pcap)', () => {
    const sessions = sessionsOf('auth-replies-deleted.pcap', '-p', '2601');
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      const verbs = verbsAndCodes(s);
      // swaks' transcript: MAIL 250, RCPT 550 5.1.1, QUIT 221 after the AUTH exchange.
      expect(verbs.slice(-3)).toEqual([
        ['MAIL', 250],
        ['RCPT', 550],
        ['QUIT', 221],
      ]);
      expect(anomalyCodes(s)).not.toContain('reply-without-command');
      expect(s.smtp.transactions).toHaveLength(1);
      const t = s.smtp.transactions[0]!;
      expect(t.mail_from).toBe('alice@sender.test');
      expect(t.recipients.map((r) => [r.address, r.rcpt_reply?.code, r.disposition])).toEqual([
        ['nosuchuser@sink.test', 550, 'rejected-rcpt'],
      ]);
    }
  }, 120_000);

  it('4. a refused EHLO inside a transaction resets neither the envelope nor the HELO name (ehlo-refused.pcap)', () => {
    const [s] = sessionsOf('ehlo-refused.pcap', '-p', '2525');
    expect(verbsAndCodes(s!)).toEqual([
      ['HELO', 250],
      ['MAIL', 250],
      ['EHLO', 501],
      ['RCPT', 250],
      ['DATA', 354],
      ['END-OF-DATA', 250],
      ['QUIT', 221],
    ]);
    expect(s!.smtp.helo).toBe('client.smtpscope.test');
    expect(anomalyCodes(s!)).not.toContain('rcpt-without-mail');
    expect(s!.smtp.transactions).toHaveLength(1);
    const t = s!.smtp.transactions[0]!;
    expect(t.mail_from).toBe('alice@sender.test');
    expect(t.outcome).toBe('accepted');
    expect(t.recipients.map((r) => [r.address, r.disposition])).toEqual([['bob@sink.test', 'delivered']]);
  }, 120_000);

  it('5. a RCPT after a finished message joins no transaction (rcpt-after-data.pcap)', () => {
    const [s] = sessionsOf('rcpt-after-data.pcap', '-p', '2525');
    expect(verbsAndCodes(s!)).toEqual([
      ['MAIL', 250],
      ['RCPT', 250],
      ['DATA', 354],
      ['END-OF-DATA', 250],
      ['RCPT', 503],
      ['QUIT', 221],
    ]);
    expect(s!.smtp.transactions).toHaveLength(1);
    const t = s!.smtp.transactions[0]!;
    expect(t.outcome).toBe('accepted');
    expect(t.recipients.map((r) => [r.address, r.disposition])).toEqual([['bob@sink.test', 'delivered']]);
  }, 120_000);

  it('6. bytes before the greeting leave the session oriented, with its greeting (early-talkers.pcap)', () => {
    const sessions = sessionsOf('early-talkers.pcap', '-p', '2602,2604');
    expect(sessions).toHaveLength(3);
    for (const s of sessions) {
      expect(s.smtp.orientation).toBe('syn');
      expect(s.smtp.quality.midstream).toBe(false);
      expect(anomalyCodes(s)).not.toContain('midstream');
      expect(anomalyCodes(s)).not.toContain('reply-without-command');
    }
    // early-talkers.client.txt: smtp-server refuses the early HTTP request with its greeting-time 421.
    const http421 = sessions.find((s) => s.destination.port === 2602)!;
    expect(http421.smtp.greeting?.code).toBe(421);
    // Postfix behind the banner delay: its 220 is the greeting, and its 221 answers the GET line.
    const viaDelay = sessions.filter((s) => s.destination.port === 2604);
    expect(viaDelay.map((s) => s.smtp.greeting?.code)).toEqual([220, 220]);
    const httpToPostfix = viaDelay.find((s) => s.smtp.transactions.length === 0)!;
    expect(httpToPostfix.smtp.commands.map((c) => c.reply?.code ?? null)).toContain(221);
    // smtplib's EHLO before the 220 (early-talkers.smtplib.txt), then a whole transaction.
    const ehloFirst = viaDelay.find((s) => s.smtp.transactions.length === 1)!;
    expect(verbsAndCodes(ehloFirst)[0]).toEqual(['EHLO', 250]);
    expect(ehloFirst.smtp.transactions[0]?.outcome).toBe('accepted');
  }, 120_000);

  it('7. SMTP on a port that is not listed is found by its content (non-listed-port.pcap, no -p)', () => {
    const sessions = sessionsOf('non-listed-port.pcap');
    expect(sessions).toHaveLength(1);
    const s = sessions[0]!;
    expect(s.destination.port).toBe(10025);
    expect(s.smtp.greeting?.code).toBe(220);
    const t = s.smtp.transactions[0]!;
    expect(t.recipients.map((r) => [r.address, r.rcpt_reply?.code])).toEqual([
      ['bob@sink.test', 250],
      ['nosuchuser@sink.test', 550],
    ]);
    expect(t.outcome).toBe('accepted');
  }, 120_000);

  it('7. SMTP behind SOCKS5 and HTTP CONNECT decodes from its greeting, the proxy target shown (proxied.pcap, no -p)', () => {
    const sessions = analyze('proxied.pcap');
    expect(sessions.map((s) => s.session.destination.port).sort()).toEqual([1080, 3128]);
    for (const { session: s, line } of sessions) {
      expect(s.smtp.greeting?.code).toBe(220);
      expect(s.smtp.quality.midstream).toBe(false);
      expect(anomalyCodes(s)).not.toContain('midstream');
      expect(anomalyCodes(s)).not.toContain('reply-without-command');
      expect(anomalyCodes(s)).not.toContain('nul-in-line');
      // curl's -v output (proxied.client.txt): EHLO, MAIL, RCPT, DATA, the message queued.
      expect(verbsAndCodes(s).slice(0, 5)).toEqual([
        ['EHLO', 250],
        ['MAIL', 250],
        ['RCPT', 250],
        ['DATA', 354],
        ['END-OF-DATA', 250],
      ]);
      expect(s.smtp.transactions[0]?.queue_id).toMatch(/^[0-9A-F]{8,}$/);
      // Both proxies were asked for 127.0.0.1:2525; the session record names that target.
      expect(line).toMatch(/127\.0\.0\.1\D{1,20}2525|"2525"|:2525\b/);
    }
  }, 120_000);

  it('8. SEND, SOML and SAML FROM open transactions whose RCPT is in order (send-from.pcap)', () => {
    const [s] = sessionsOf('send-from.pcap', '-p', '2603');
    expect(anomalyCodes(s!)).not.toContain('rcpt-without-mail');
    expect(
      s!.smtp.transactions.map((t) => [t.mail_from, t.outcome, t.recipients.map((r) => r.address)]),
    ).toEqual([
      ['alice@sender.test', 'accepted', ['send@sink.test']],
      ['alice@sender.test', 'accepted', ['soml@sink.test']],
      ['alice@sender.test', 'accepted', ['saml@sink.test']],
    ]);
  }, 120_000);

  it('8. a last line ended by FIN without CRLF is reported (fin-without-crlf.pcap)', () => {
    const [s] = sessionsOf('fin-without-crlf.pcap', '-p', '2525');
    expect(verbsAndCodes(s!).at(-1)).toEqual(['QUIT', null]);
    expect(anomalyCodes(s!)).toContain('unterminated-line');
    expect(s!.smtp.transactions[0]?.outcome).toBe('accepted');
  }, 120_000);
});
