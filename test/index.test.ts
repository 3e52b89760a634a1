/**
 * The library entry point (src/index.ts, package.json `main`): a program that imports only from it can run
 * the analyzer over a capture with a sink of its own and with the shipped NDJSON sink. The expected outcomes
 * are the ones swaks printed while postfix-rejects.pcap was recorded (captures/postfix-rejects.swaks.txt).
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  createAnalyzer,
  createHtmlSink,
  createJsonSink,
  createZeekSink,
  type RecipientDisposition,
  type Sink,
  type SmtpSession,
} from '../src/index.js';

const CAPTURE = join(import.meta.dirname, '..', 'captures', 'postfix-rejects.pcap');

describe('src/index.ts', () => {
  it('runs the analyzer with a custom sink and the NDJSON sink from the public API alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-index-'));
    try {
      const sessions: SmtpSession[] = [];
      const mine: Sink = {
        name: 'mine',
        sessionClosed(session) {
          sessions.push(session);
        },
        async close() {},
      };
      const json = join(dir, 'sessions.ndjson');
      const summary = await createAnalyzer({ inputs: [{ kind: 'file', path: CAPTURE }] }, [
        mine,
        createJsonSink({ path: json }),
      ]).run();
      // Three sessions to port 25 and one to 2525.
      expect(sessions).toHaveLength(4);
      expect(summary.stats.sessionsClosed).toBe(4);
      expect(readFileSync(json, 'utf8').trim().split('\n')).toHaveLength(4);
      const outcomes = new Map<string, RecipientDisposition>();
      for (const s of sessions)
        for (const t of s.transactions) for (const r of t.recipients) outcomes.set(r.address, r.disposition);
      // 550 5.1.1 unknown user at RCPT, 450 4.2.0 greylisted at RCPT.
      expect([...outcomes.values()]).toContain('rejected-rcpt');
      expect([...outcomes.values()]).toContain('deferred-rcpt');
      expect([...outcomes.values()]).toContain('delivered');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('exports the Zeek-format log and HTML report sinks the command line uses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smtpscope-index-'));
    try {
      const html = join(dir, 'report.html');
      await createAnalyzer({ inputs: [{ kind: 'file', path: CAPTURE }] }, [
        createZeekSink({ dir }),
        createHtmlSink({ path: html }),
      ]).run();
      // One smtp.log row per transaction with a MAIL FROM, under Zeek's header lines.
      const smtpLog = readFileSync(join(dir, 'smtp.log'), 'utf8').split('\n');
      expect(smtpLog[0]).toBe('#separator \\x09');
      expect(smtpLog.filter((l) => l !== '' && !l.startsWith('#')).length).toBeGreaterThan(0);
      const conn = readFileSync(join(dir, 'conn.log'), 'utf8').split('\n');
      expect(conn.filter((l) => l !== '' && !l.startsWith('#'))).toHaveLength(4);
      const page = readFileSync(html, 'utf8');
      expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(page).toContain('550');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
