/**
 * On captures of real traffic, what smtpscope decodes must equal what the programs themselves recorded:
 * swaks' printed transcript (every command and reply line) and Postfix's log (every recipient's fate).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SmtpSession } from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { REDACTED } from '../../src/smtp/decoder.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
/** The bundled captures use the default ports plus the test servers' ports (captures/README.md). */
const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

async function sessionsOf(file: string): Promise<SmtpSession[]> {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: join(CAPTURES, file) }],
    ports: PORTS,
  });
  return sessions.sort((a, b) => a.startedAt - b.startedAt);
}

interface Dialogue {
  readonly client: string[];
  readonly server: string[];
  /** Both sides in the order printed. */
  readonly lines: string[];
}

/** swaks' output: `<-` / `<**` server lines, ` ->` client lines; message body lines are left out. */
function parseSwaks(text: string): Dialogue[] {
  const sessions: Dialogue[] = [];
  let current: Dialogue | null = null;
  let inBody = false;
  for (const raw of text.split('\n')) {
    if (raw.startsWith('=== Connected')) {
      current = { client: [], server: [], lines: [] };
      sessions.push(current);
      inBody = false;
      continue;
    }
    if (current === null) continue;
    const server = /^<(?:-|\*\*) {1,2}(.*)$/.exec(raw);
    const client = /^ (?:-|\*)> (.*)$/.exec(raw);
    if (server !== null) {
      const line = server[1] ?? '';
      current.server.push(line);
      current.lines.push(`S: ${line}`);
      if (line.startsWith('354')) inBody = true;
    } else if (client !== null) {
      const line = client[1] ?? '';
      if (inBody && line !== '.') continue;
      if (inBody && line === '.') inBody = false;
      current.client.push(line);
      current.lines.push(`C: ${line}`);
    }
  }
  return sessions;
}

/** The same shape from a decoded session. */
function dialogueOf(session: SmtpSession): Dialogue {
  const d: Dialogue = { client: [], server: [], lines: [] };
  const replyLines = (code: number, text: string): string[] => {
    const parts = text.split('\n');
    return parts.map((p, i) => `${code}${i === parts.length - 1 ? ' ' : '-'}${p}`);
  };
  const pushServer = (code: number, text: string): void => {
    for (const l of replyLines(code, text)) {
      d.server.push(l);
      d.lines.push(`S: ${l}`);
    }
  };
  if (session.greeting !== null) pushServer(session.greeting.code, session.greeting.text);
  for (const c of session.commands) {
    const line =
      c.verb === 'END-OF-DATA'
        ? '.'
        : c.verb === 'AUTH-RESPONSE'
          ? c.argument
          : c.argument === ''
            ? c.verbText
            : `${c.verbText} ${c.argument}`;
    d.client.push(line);
    d.lines.push(`C: ${line}`);
    if (c.reply !== null) pushServer(c.reply.code, c.reply.text);
  }
  return d;
}

/** A redacted AUTH secret stands for whatever swaks sent there. */
function sameClientLines(ours: readonly string[], theirs: readonly string[]): void {
  expect(ours.length).toBe(theirs.length);
  ours.forEach((line, i) => {
    if (line.includes(REDACTED)) {
      const [prefix] = line.split(REDACTED);
      expect(theirs[i]?.startsWith(prefix ?? '')).toBe(true);
    } else {
      expect(line).toBe(theirs[i]);
    }
  });
}

const swaksFiles = readdirSync(CAPTURES).filter((f) => f.endsWith('.swaks.txt'));

describe('real traffic: decoded dialogue equals swaks transcript', () => {
  it('has swaks transcripts to compare with', () => {
    expect(swaksFiles.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of swaksFiles) {
    const capture = file.replace('.swaks.txt', '.pcap');
    it(`${capture}: every swaks session is decoded with the same commands and replies`, async () => {
      const printed = parseSwaks(readFileSync(join(CAPTURES, file), 'latin1'));
      const sessions = await sessionsOf(capture);
      // The capture may also hold sessions of other clients (nodemailer, Postfix relaying): each swaks
      // session is matched, in time order, to the first decoded session with the same command verbs.
      const verbs = (lines: readonly string[]) => lines.map((l) => l.split(' ')[0]).join(' ');
      const remaining = [...sessions];
      for (const want of printed) {
        const index = remaining.findIndex((s) => {
          const got = dialogueOf(s);
          return (
            got.client.length === want.client.length &&
            got.server[0] === want.server[0] &&
            verbs(got.client.filter((l) => !l.includes(REDACTED))) ===
              verbs(want.client.filter((_, i) => !got.client[i]?.includes(REDACTED)))
          );
        });
        expect(
          index,
          `no decoded session for swaks session starting ${want.client[0]}`,
        ).toBeGreaterThanOrEqual(0);
        const session = remaining.splice(index, 1)[0]!;
        const got = dialogueOf(session);
        sameClientLines(got.client, want.client);
        expect(got.server).toEqual(want.server);
        // Without pipelining swaks prints the dialogue in wire order: then the interleaving must match too.
        if (!session.commands.some((c) => c.pipelined)) {
          expect(got.lines.map((l) => (l.includes(REDACTED) ? l.split(REDACTED)[0] : l))).toEqual(
            want.lines.map((l, i) =>
              got.lines[i]?.includes(REDACTED) ? l.slice(0, got.lines[i]?.indexOf(REDACTED)) : l,
            ),
          );
        }
      }
    });
  }
});

interface LogFate {
  readonly address: string;
  readonly kind: 'sent' | 'rejected' | 'bounced';
  readonly code: number | null;
}

/** Per-recipient lines from a Postfix log: rejections at RCPT, and delivery results of relayed mail. */
function parseMaillog(text: string): LogFate[] {
  const fates: LogFate[] = [];
  for (const line of text.split('\n')) {
    const reject = /reject: RCPT from [^:]+: (\d{3}) .*; from=<[^>]*> to=<([^>]*)>/.exec(line);
    if (reject !== null) fates.push({ address: reject[2] ?? '', kind: 'rejected', code: Number(reject[1]) });
    const status =
      /postfix\/(smtp|lmtp|discard)\[\d+\]: \w+: to=<([^>]*)>,.* status=(sent|bounced) \((.*)\)/.exec(line);
    if (status !== null) {
      const said = /said: (\d{3}) /.exec(status[4] ?? '') ?? /^(\d{3}) /.exec(status[4] ?? '');
      fates.push({
        address: status[2] ?? '',
        kind: status[3] === 'sent' ? 'sent' : 'bounced',
        code: status[1] === 'discard' || said === null ? null : Number(said[1]),
      });
    }
  }
  return fates;
}

const logFiles = readdirSync(CAPTURES).filter((f) => f.endsWith('.maillog'));

describe('real traffic: recipient outcomes equal Postfix log', () => {
  it('has Postfix logs to compare with', () => {
    expect(logFiles.length).toBeGreaterThanOrEqual(4);
  });

  for (const file of logFiles) {
    const capture = file.replace('.maillog', '.pcap');
    it(`${capture}: every recipient Postfix logged has the same fate in the capture`, async () => {
      const fates = parseMaillog(readFileSync(join(CAPTURES, file), 'latin1'));
      const sessions = await sessionsOf(capture);
      const recipients = sessions.flatMap((s) =>
        s.transactions.flatMap((t) => t.recipients.map((r) => ({ r, server: s.server, t }))),
      );
      for (const fate of fates) {
        const seen = recipients.filter((x) => x.r.address === fate.address);
        expect(seen.length, `recipient ${fate.address} from the log is not in the capture`).toBeGreaterThan(
          0,
        );
        if (fate.kind === 'rejected') {
          // Postfix refused it at RCPT: that reply is in the capture.
          expect(
            seen.some((x) => x.r.rcptReply?.code === fate.code && x.r.disposition.endsWith('-rcpt')),
          ).toBe(true);
        } else if (fate.kind === 'sent') {
          // Accepted by Postfix (and, when relayed, by the next hop, whose reply the log quotes).
          expect(seen.some((x) => x.r.disposition === 'delivered')).toBe(true);
          if (fate.code !== null)
            expect(
              seen.some(
                (x) =>
                  x.r.disposition === 'delivered' &&
                  (x.r.finalReply?.code ?? x.r.rcptReply?.code) === fate.code,
              ),
            ).toBe(true);
        } else {
          // Bounced by the next hop: the leg to it shows the refusal with the code the log quotes.
          expect(
            seen.some(
              (x) =>
                (x.r.rcptReply?.code === fate.code || x.r.finalReply?.code === fate.code) &&
                x.r.disposition !== 'delivered',
            ),
          ).toBe(true);
        }
      }
    });
  }
});
