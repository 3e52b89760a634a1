import { describe, expect, it } from 'vitest';
import { createJoinSink, MAX_HELD_SESSIONS } from '../../src/maillog/join-sink.js';
import { createLogIndex } from '../../src/maillog/log-index.js';
import { sessionLogOf } from '../../src/maillog/session-log.js';
import type { RunSummary, Sink } from '../../src/model/sink.js';
import type { SmtpSession } from '../../src/model/types.js';
import { makeSession, makeTransaction } from '../helpers/sessions.js';

function recorder(): Sink & { ids: string[]; sessions: SmtpSession[]; closed: boolean } {
  const r = {
    name: 'rec',
    ids: [] as string[],
    sessions: [] as SmtpSession[],
    closed: false,
    sessionClosed(s: SmtpSession) {
      r.ids.push(s.id);
      r.sessions.push(s);
    },
    async close() {
      r.closed = true;
    },
  };
  return r;
}

const summary = {} as RunSummary;

describe('join sink', () => {
  it('hands each session on with its log when the logs know its queue id, unchanged otherwise', async () => {
    const index = createLogIndex({ referenceYear: 2024, utcOffsetMinutes: 0 });
    index.addLine(
      'Mar  1 12:00:05 mx postfix/smtp[1]: 4XyZ1A2b3C: to=<bob@example.net>, relay=mx[192.0.2.1]:25, delay=5, delays=0/0/0/5, dsn=5.7.1, status=bounced (host mx[192.0.2.1] said: 554 5.7.1 spam (in reply to end of DATA command))',
    );
    const rec = recorder();
    const notes: string[] = [];
    const sink = createJoinSink({ index, sinks: [rec], onNote: (n) => notes.push(n) });
    const known = makeSession({ id: 'C1' });
    const other = makeSession({ id: 'C2', transactions: [makeTransaction({ queueId: 'ZZZ9999999' })] });
    await sink.sessionClosed(known);
    await sink.sessionClosed(other);
    await sink.close(summary);
    expect(rec.ids).toEqual(['C1', 'C2']);
    expect(sessionLogOf(rec.sessions[0]!)?.transactions[0]?.recipients[0]?.fate).toMatchObject({
      status: 'bounced',
      dsn: '5.7.1',
    });
    expect(rec.sessions[1]).toBe(other);
    expect(rec.closed).toBe(true);
    expect(notes[0]).toContain('1 session(s), 1 transaction(s) and 1 recipient fate(s) joined');
  });

  it('live: holds sessions, lets the oldest go when too many wait, and flushes the rest at close', async () => {
    const index = createLogIndex({ referenceYear: 2024, utcOffsetMinutes: 0 });
    const rec = recorder();
    const sink = createJoinSink({ index, sinks: [rec], holdMs: 60_000, now: () => 0 });
    for (let i = 0; i < MAX_HELD_SESSIONS + 5; i++) await sink.sessionClosed(makeSession({ id: `C${i}` }));
    expect(rec.ids).toEqual(['C0', 'C1', 'C2', 'C3', 'C4']);
    await sink.close(summary);
    expect(rec.ids).toHaveLength(MAX_HELD_SESSIONS + 5);
    expect(rec.ids.at(-1)).toBe(`C${MAX_HELD_SESSIONS + 4}`);
  });
});
