/**
 * How a session's TLS decryption shows in each output (issue: "each session says whether and how it was
 * decrypted, the transcript marks the lines that were encrypted on the wire, the summary and dashboard count
 * decrypted against undecrypted TLS sessions; a session without keys stays exactly as today"): the NDJSON
 * `tls.decryption` object and `commands[].encrypted`, the CSV column `tls_decryption`, the transcript's marker
 * and decryption line (docs/TLS.md, "Where the status shows"), the summary counts and the dashboard header.
 */

import { describe, expect, it } from 'vitest';
import { detailLines, tlsDecryptionHeader } from '../../src/dashboard/view-model.js';
import type { RunSummary } from '../../src/model/sink.js';
import type { CommandRecord, SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { SESSION_COLUMNS } from '../../src/report/columns.js';
import { toSessionDocument } from '../../src/report/json-document.js';
import { createSummaryAggregator } from '../../src/text/summary.js';
import { formatTranscript } from '../../src/text/transcript.js';
import type { TlsDecryptionStatus } from '../../src/tls/types.js';
import { makeCommand, makeReply, makeSession, makeTls, T0 } from '../helpers/sessions.js';

const DECRYPTED: TlsDecryptionStatus = {
  kind: 'decrypted',
  version: 'TLS 1.3',
  cipher: 'TLS_AES_128_GCM_SHA256',
  resumed: false,
};
const NO_KEY: TlsDecryptionStatus = { kind: 'no-key', detail: 'no key log line for this client random' };
const BAD_KEY: TlsDecryptionStatus = { kind: 'bad-key', detail: 'client record 1 did not authenticate' };

/** EHLO, STARTTLS (220) in clear text, then, when decrypted, EHLO and QUIT read inside TLS. */
function starttlsSession(decryption: TlsDecryptionStatus | null): SmtpSession {
  const commands: CommandRecord[] = [
    makeCommand({
      seq: 0,
      verb: 'EHLO',
      verbText: 'EHLO',
      argument: 'client.example.org',
      tsMicros: T0 + 10_000,
    }),
    makeCommand({
      seq: 1,
      verb: 'STARTTLS',
      verbText: 'STARTTLS',
      tsMicros: T0 + 20_000,
      reply: makeReply(220, '2.0.0', '2.0.0 Ready to start TLS', T0 + 21_000),
    }),
  ];
  if (decryption?.kind === 'decrypted')
    commands.push(
      makeCommand({
        seq: 2,
        verb: 'EHLO',
        verbText: 'EHLO',
        argument: 'client.example.org',
        tsMicros: T0 + 30_000,
        encrypted: true,
      }),
      makeCommand({
        seq: 3,
        verb: 'QUIT',
        verbText: 'QUIT',
        tsMicros: T0 + 40_000,
        reply: makeReply(221, '2.0.0', '2.0.0 Bye', T0 + 41_000),
        encrypted: true,
      }),
    );
  return makeSession({
    transactions: [],
    commands,
    tls: makeTls({ mode: 'starttls', ...(decryption === null ? {} : { decryption }) }),
  });
}

describe('NDJSON', () => {
  it('tls.decryption states the status, version, cipher and resumption of a decrypted session', () => {
    const doc = toSessionDocument(starttlsSession(DECRYPTED));
    expect(doc.tls.decryption).toEqual({
      status: 'decrypted',
      version: 'TLS 1.3',
      cipher: 'TLS_AES_128_GCM_SHA256',
      resumed: false,
      detail: null,
    });
    expect(doc.smtp.commands.map((c) => [c.verb, c.encrypted])).toEqual([
      ['EHLO', false],
      ['STARTTLS', false],
      ['EHLO', true],
      ['QUIT', true],
    ]);
  });

  it('a session not decrypted says why, in the status and the detail', () => {
    expect(toSessionDocument(starttlsSession(NO_KEY)).tls.decryption).toEqual({
      status: 'no-key',
      version: null,
      cipher: null,
      resumed: null,
      detail: 'no key log line for this client random',
    });
    expect(toSessionDocument(starttlsSession(BAD_KEY)).tls.decryption.status).toBe('bad-key');
  });

  it('no decryption tried: every field null, no command marked', () => {
    const doc = toSessionDocument(starttlsSession(null));
    expect(Object.values(doc.tls.decryption)).toEqual([null, null, null, null, null]);
    expect(doc.smtp.commands.every((c) => c.encrypted === false)).toBe(true);
  });
});

describe('CSV sessions column tls_decryption', () => {
  const column = SESSION_COLUMNS.find((c) => c.name === 'tls_decryption');
  it('holds the status kind, or nothing when no decryption was tried', () => {
    expect(column).toBeDefined();
    expect(column!.get(starttlsSession(DECRYPTED))).toBe('decrypted');
    expect(column!.get(starttlsSession(BAD_KEY))).toBe('bad-key');
    expect(column!.get(starttlsSession(null))).toBeNull();
  });
});

describe('transcript', () => {
  it('marks the lines read from decrypted TLS bytes with "~" and says how TLS was decrypted', () => {
    const lines = formatTranscript(starttlsSession(DECRYPTED), { times: false }).split('\n');
    expect(lines).toContain('*  TLS decryption: decrypted (TLS 1.3, TLS_AES_128_GCM_SHA256)');
    const rows = lines.filter((l) => /^[~ ] [CS]: /.test(l));
    // Clear text before TLS: blank marker column; inside TLS: "~".
    expect(rows.filter((l) => l.startsWith('~ ')).map((l) => l.slice(2, 9))).toEqual([
      'C: EHLO',
      'S: 250 ',
      'C: QUIT',
      'S: 221 ',
    ]);
    expect(rows.filter((l) => l.startsWith('  ')).map((l) => l.slice(2, 9))).toEqual([
      'S: 220 ',
      'C: EHLO',
      'S: 250 ',
      'C: STAR',
      'S: 220 ',
    ]);
  });

  it('a session not decrypted says why, without a marker column', () => {
    const text = formatTranscript(starttlsSession(NO_KEY), { times: false });
    expect(text).toContain(
      '*  TLS decryption: not decrypted: no key (no key log line for this client random)',
    );
    expect(text).not.toMatch(/^~ /m);
  });

  it('without any decryption tried, the transcript is the one of a session that has no status', () => {
    const plain = starttlsSession(null);
    const text = formatTranscript(plain, { times: false });
    expect(text).not.toContain('TLS decryption');
    expect(text).toMatch(/^C: STARTTLS/m);
  });
});

/** The run summary of a small clear-text capture (the summary's header needs one); its sessions are not used. */
async function realSummary(): Promise<RunSummary> {
  return (await analyzeToArray({ inputs: [{ kind: 'file', path: 'captures/postfix-basic.pcap' }] })).summary;
}

describe('summary and dashboard counts', () => {
  const sessions = [starttlsSession(DECRYPTED), starttlsSession(DECRYPTED), starttlsSession(NO_KEY)];

  it('the summary counts decrypted against not decrypted TLS sessions, by reason, under TLS:', async () => {
    const aggregator = createSummaryAggregator();
    for (const s of [...sessions, starttlsSession(BAD_KEY)]) aggregator.sessionClosed(s);
    const text = aggregator.format(await realSummary());
    const tls = text.slice(text.indexOf('\nTLS:\n'), text.indexOf('\n\n', text.indexOf('\nTLS:\n') + 1));
    expect(tls).toMatch(/^ +starttls +4$/m);
    expect(tls).toMatch(/^ +decrypted +2$/m);
    expect(tls).toMatch(/^ +not decrypted: no key +1$/m);
    expect(tls).toMatch(/^ +not decrypted: key did not authenticate +1$/m);
  });

  it('no decryption tried: no decryption rows in the summary, nothing in the dashboard header', async () => {
    const aggregator = createSummaryAggregator();
    aggregator.sessionClosed(starttlsSession(null));
    expect(aggregator.format(await realSummary())).not.toMatch(/decrypted/);
    expect(tlsDecryptionHeader([], [starttlsSession(null)])).toBe('');
  });

  it('the dashboard header counts them, and the session detail states the status', () => {
    expect(tlsDecryptionHeader([sessions[2]!], sessions.slice(0, 2))).toBe(
      'tls decrypted 2 not 1 (no key 1)  ',
    );
    const detail = detailLines(starttlsSession(DECRYPTED), 200)
      .map((line) => line.map((s) => s.text).join(''))
      .join('\n');
    expect(detail).toContain('TLS starttls, decrypted (TLS 1.3, TLS_AES_128_GCM_SHA256)');
    expect(detail).toMatch(/~ C: QUIT/);
  });
});
