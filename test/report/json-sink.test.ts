import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunSummary } from '../../src/model/sink.js';
import { toSessionDocument } from '../../src/report/json-document.js';
import { createJsonSink, toNdjsonLine } from '../../src/report/json-sink.js';
import {
  makeAuth,
  makeMessage,
  makeMimePart,
  makeRecipient,
  makeReply,
  makeSession,
  makeTls,
  makeTransaction,
  T0,
} from '../helpers/sessions.js';

const summary = {} as RunSummary;

/** Every leaf path with its JSON type ("null" kept apart), array elements folded into `[]`. */
function leafTypes(v: unknown, path = '', out = new Map<string, Set<string>>()): Map<string, Set<string>> {
  if (Array.isArray(v)) {
    const kinds = new Set(v.map((x) => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x)));
    expect(kinds.size, `one element type in ${path}`).toBeLessThanOrEqual(1);
    expect(kinds.has('array'), `no nested array in ${path}`).toBe(false);
    for (const x of v) leafTypes(x, `${path}[]`, out);
    if (v.length === 0) out.set(`${path}[]`, out.get(`${path}[]`) ?? new Set());
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) leafTypes(x, path === '' ? k : `${path}.${k}`, out);
  } else {
    const set = out.get(path) ?? new Set<string>();
    set.add(v === null ? 'null' : typeof v);
    out.set(path, set);
  }
  return out;
}

describe('json-sink', () => {
  const session = makeSession({
    auth: [makeAuth()],
    tls: makeTls({
      mode: 'starttls',
      clientHello: {
        side: 'client',
        versions: ['TLS 1.2', 'TLS 1.3'],
        sni: 'mx.example.net',
        cipher: null,
        alpn: [],
      },
      serverHello: {
        side: 'server',
        versions: ['TLS 1.2', 'TLS 1.3'],
        sni: null,
        cipher: 'TLS_AES_256_GCM_SHA384',
        alpn: [],
      },
    }),
    transactions: [
      makeTransaction({
        message: makeMessage({
          subject: 'evil \u001b]0;title\u0007 subject',
          parts: [
            makeMimePart(),
            makeMimePart({
              contentType: 'application/pdf',
              filename: 'q1.pdf',
              disposition: 'attachment',
              sizeBytes: 5000,
            }),
          ],
        }),
        recipients: [
          makeRecipient(),
          makeRecipient({ index: 2, address: 'carol@example.net', params: { NOTIFY: 'FAILURE,DELAY' } }),
        ],
      }),
    ],
  });

  it('uses ECS names for connection, TLS, user and message fields', () => {
    const d = toSessionDocument(session);
    expect(d['@timestamp']).toBe('2024-03-01T12:00:00.000000Z');
    expect(d.event).toMatchObject({
      kind: 'event',
      outcome: 'success',
      start: '2024-03-01T12:00:00.000000Z',
      duration: 200_000_000,
    });
    expect(d.source).toMatchObject({ ip: '192.0.2.10', port: 50123 });
    expect(d.destination).toMatchObject({ ip: '198.51.100.25', port: 25, domain: 'mx.example.net' });
    expect(d.network).toMatchObject({ transport: 'tcp', protocol: 'smtp' });
    expect(d.tls).toMatchObject({
      established: true,
      version: '1.3',
      version_protocol: 'tls',
      cipher: 'TLS_AES_256_GCM_SHA384',
    });
    expect(d.tls.client.server_name).toBe('mx.example.net');
    expect(d.user.name).toBe('alice');
    const t = d.smtp.transactions[0]!;
    expect(t.email.from.address).toEqual(['alice@example.org']);
    expect(t.email.to.address).toEqual(['bob@example.net']);
    expect(t.email.message_id).toBe('<20240301120000.1@example.org>');
    expect(t.email.x_mailer).toBe('Thunderbird 115.8');
    expect(t.email.local_id).toBe('4XyZ1A2b3C');
    expect(t.email.attachments).toEqual([
      {
        file: { name: 'q1.pdf', mime_type: 'application/pdf', size: 5000, hash: { sha256: null } },
        hash_complete: null,
      },
    ]);
    expect(t.email.origination_timestamp).toBe('2024-03-01T12:00:00.000Z');
    expect(t.mail_params).toEqual(['SIZE=1234', 'BODY=8BITMIME']);
    expect(t.recipients[1]!.notify).toBe('FAILURE,DELAY');
  });

  it('round-trips through NDJSON with wire strings intact and escaped', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-json-'));
    const path = join(dir, 'out.ndjson');
    const sink = createJsonSink({ path });
    await sink.sessionClosed(session);
    await sink.sessionClosed(makeSession({ startedAt: T0 + 1_000_000, endedAt: T0 + 1_200_000 }));
    expect(existsSync(path)).toBe(false);
    await sink.close(summary);
    const text = readFileSync(path, 'utf8');
    const lines = text.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(text).not.toContain('\u001b');
    expect(text).toContain('\\u001b');
    const back = JSON.parse(lines[0]!);
    expect(back).toEqual(JSON.parse(JSON.stringify(toSessionDocument(session))));
    expect(back.smtp.transactions[0].email.subject).toBe('evil \u001b]0;title\u0007 subject');
  });

  it('writes C1 controls, bidirectional overrides and line separators as escapes that parse back', () => {
    const hostile = 'a\u009b31mred \u202eevil\u2066x\u2069 \u0085next\u2028line';
    const line = toNdjsonLine(makeSession({ helo: hostile }));
    expect(line).not.toMatch(/[\u0080-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(line).toContain('\\u009b31mred \\u202eevil');
    expect(JSON.parse(line).smtp.helo).toBe(hostile);
  });

  it('marks a transaction whose start the capture missed, with its unknown sender as null', () => {
    const picked = makeTransaction({ mailFrom: null, midstream: true });
    const doc = toSessionDocument(makeSession({ transactions: [picked, makeTransaction({ depth: 2 })] }));
    expect(doc.smtp.transactions.map((t) => [t.started_midstream, t.mail_from])).toEqual([
      [true, null],
      [false, makeTransaction().mailFrom],
    ]);
  });

  it('keeps one type per field across very different sessions', () => {
    const failed = makeSession({
      greeting: makeReply(554, '5.7.1', 'go away'),
      capabilities: null,
      helo: null,
      transactions: [
        makeTransaction({
          message: null,
          finalReply: null,
          dataReply: null,
          mode: null,
          sizeBytes: null,
          queueId: null,
          outcome: 'aborted',
          mailParams: {},
          recipients: [],
        }),
      ],
    });
    const merged = new Map<string, Set<string>>();
    for (const s of [session, failed, makeSession({ transactions: [] })]) {
      for (const [p, types] of leafTypes(JSON.parse(JSON.stringify(toSessionDocument(s))))) {
        const set = merged.get(p) ?? new Set<string>();
        for (const t of types) set.add(t);
        merged.set(p, set);
      }
    }
    for (const [p, types] of merged) {
      const nonNull = [...types].filter((t) => t !== 'null');
      expect(nonNull.length, `${p}: ${[...types].join(', ')}`).toBeLessThanOrEqual(1);
    }
    expect(toSessionDocument(failed).event.outcome).toBe('failure');
  });

  it("puts the session's message at the top in ECS email.*: the only one, or the last of several", () => {
    const one = toSessionDocument(session);
    expect(one.email).toEqual(one.smtp.transactions[0]!.email);
    expect(one.email.message_id).toBe('<20240301120000.1@example.org>');
    expect(one.smtp.messages).toBe(1);
    expect(one.smtp.email_depth).toBe(1);

    const two = toSessionDocument(
      makeSession({
        transactions: [
          makeTransaction({ depth: 1 }),
          makeTransaction({
            depth: 2,
            queueId: 'Q2',
            message: makeMessage({ subject: 'second', messageId: '<2@x>' }),
          }),
          makeTransaction({ depth: 3, message: null, outcome: 'aborted' }),
        ],
      }),
    );
    expect(two.email).toEqual(two.smtp.transactions[1]!.email);
    expect(two.email).toMatchObject({ subject: 'second', message_id: '<2@x>', local_id: 'Q2' });
    expect(two.smtp.messages).toBe(2);
    expect(two.smtp.email_depth).toBe(2);

    const none = toSessionDocument(makeSession({ transactions: [] }));
    expect(none.email).toMatchObject({ subject: null, message_id: null, local_id: null, attachments: [] });
    expect(none.email.from.address).toEqual([]);
    expect(none.smtp.messages).toBe(0);
    expect(none.smtp.email_depth).toBeNull();
  });

  it('names every field of a document in the "All fields" table of docs/JSON.md', () => {
    const doc = readFileSync(join(import.meta.dirname, '../../docs/JSON.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## All fields'));
    const names = new Set([...section.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!));
    const paths = [...leafTypes(JSON.parse(JSON.stringify(toSessionDocument(session)))).keys()];
    expect(paths.length).toBeGreaterThan(50);
    // An object that is null in this document (smtp.transactions[].dsn) is documented by its fields.
    const documented = (p: string): boolean => names.has(p) || [...names].some((n) => n.startsWith(`${p}.`));
    for (const p of paths) expect(documented(p.endsWith('[]') ? p.slice(0, -2) : p), p).toBe(true);
  });

  it('has the same keys in every document', () => {
    const keys = (v: unknown): string[] =>
      [...leafTypes(JSON.parse(JSON.stringify(v))).keys()].filter((k) => !k.includes('[]')).sort();
    expect(keys(toSessionDocument(makeSession({ capabilities: null, transactions: [] })))).toEqual(
      keys(toSessionDocument(session)),
    );
  });

  it('appends lines in live mode', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-json-'));
    const path = join(dir, 'live.ndjson');
    const a = createJsonSink({ path, append: true });
    await a.sessionClosed(session);
    expect(readFileSync(path, 'utf8').split('\n')).toHaveLength(2);
    await a.close(summary);
    const b = createJsonSink({ path, append: true });
    await b.sessionClosed(session);
    await b.close(summary);
    expect(readFileSync(path, 'utf8').trimEnd().split('\n')).toHaveLength(2);
  });
});

describe('json-document reply meanings', () => {
  it('gives the meaning of the final reply and of each recipient deciding reply', () => {
    const refused = makeRecipient({
      index: 2,
      address: 'nobody@example.net',
      rcptReply: makeReply(550, '5.1.1', '5.1.1 <nobody@example.net>: User unknown', T0 + 20_000),
      finalReply: null,
      disposition: 'rejected-rcpt',
      reasonClass: 'mailbox-unknown',
    });
    const doc = toSessionDocument(
      makeSession({ transactions: [makeTransaction({ recipients: [makeRecipient(), refused] })] }),
    );
    const t = doc.smtp.transactions[0];
    expect([t?.final_meaning, t?.final_status_meaning]).toEqual([
      'Requested mail action okay, completed',
      'Other or undefined status: no further detail is given',
    ]);
    expect(t?.recipients.map((r) => [r.reply_meaning, r.reply_status_meaning])).toEqual([
      ['Requested mail action okay, completed', 'Other or undefined status: no further detail is given'],
      [
        'Requested action not taken: mailbox unavailable (not found, no access, or refused by policy)',
        'Bad destination mailbox address: the mailbox does not exist at the destination',
      ],
    ]);
  });

  it('is null without a final reply, and the status meaning null without an enhanced status', () => {
    const noFinal = toSessionDocument(
      makeSession({ transactions: [makeTransaction({ finalReply: null, outcome: 'incomplete' })] }),
    );
    expect(noFinal.smtp.transactions[0]?.final_meaning).toBeNull();
    const plain = toSessionDocument(
      makeSession({ transactions: [makeTransaction({ finalReply: makeReply(250, null, 'Ok') })] }),
    );
    expect([
      plain.smtp.transactions[0]?.final_meaning,
      plain.smtp.transactions[0]?.final_status_meaning,
    ]).toEqual(['Requested mail action okay, completed', null]);
  });
});
