/**
 * On captures of real traffic, what smtpscope decodes must equal what the programs themselves recorded:
 * swaks' printed transcript (every command and reply line) and Postfix's log (every recipient's fate).
 */

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type {
  RecipientDisposition,
  RecipientRecord,
  SmtpSession,
  TransactionRecord,
} from '../../src/model/types.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { REDACTED } from '../../src/smtp/decoder.js';
import { formatTranscript } from '../../src/text/transcript.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
/** The bundled captures use the default ports plus the test servers' ports (captures/README.md). */
const PORTS = new Set([...DEFAULT_SMTP_PORTS, 2526, 2587, 2588, 2589, 2590, 2591, 2592]);

interface Decoded {
  readonly sessions: SmtpSession[];
  /** Message bodies per session id, in the order they were sent. */
  readonly bodies: Map<string, Uint8Array[]>;
}

async function decode(file: string): Promise<Decoded> {
  const bodies = new Map<string, Uint8Array[]>();
  const open = new Map<string, number[]>();
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: join(CAPTURES, file) }],
    ports: PORTS,
    bodyListener: {
      messageStart(sessionId) {
        open.set(sessionId, []);
      },
      messageBytes(sessionId, _depth, bytes) {
        open.get(sessionId)?.push(...bytes);
      },
      messageEnd(sessionId) {
        const body = open.get(sessionId);
        open.delete(sessionId);
        if (body === undefined) return;
        const list = bodies.get(sessionId) ?? [];
        list.push(Uint8Array.from(body));
        bodies.set(sessionId, list);
      },
    },
  });
  return { sessions: sessions.sort((a, b) => a.startedAt - b.startedAt), bodies };
}

async function sessionsOf(file: string): Promise<SmtpSession[]> {
  return (await decode(file)).sessions;
}

/** One dialogue as `C: ` / `S: ` lines, commands each followed by their reply, and whether each command was pipelined. */
interface Paired {
  readonly lines: string[];
  /** For each client command line (not body lines), in order: sent while an earlier one awaited its reply. */
  readonly pipelined: boolean[];
}

/**
 * swaks' output (`<-` / `<**` server lines, ` ->` client lines, in the order swaks wrote and read them), paired
 * as the protocol pairs it: each complete reply answers the oldest command still waiting (RFC 2920), so a
 * pipelined batch printed as N commands then N replies becomes N command/reply pairs. Body lines (after a 354)
 * answer nothing and stay where they are, as does the greeting.
 */
function parseSwaks(text: string): Paired[] {
  const sessions: Paired[] = [];
  let current: Paired | null = null;
  let waiting: string[] = [];
  let reply: string[] = [];
  let inBody = false;
  // swaks prints body lines with the CR of their CRLF.
  for (const raw of text.split('\n').map((l) => l.replace(/\r$/, ''))) {
    if (raw.startsWith('=== Connected')) {
      current = { lines: [], pipelined: [] };
      sessions.push(current);
      waiting = [];
      reply = [];
      inBody = false;
      continue;
    }
    if (current === null) continue;
    const server = /^<(?:-|\*\*) {1,2}(.*)$/.exec(raw);
    const client = /^ (?:-|\*)> (.*)$/.exec(raw);
    if (server !== null) {
      const line = server[1] ?? '';
      reply.push(line);
      if (/^\d{3}-/.test(line)) continue; // a multi-line reply goes on
      const command = waiting.shift();
      if (command !== undefined) current.lines.push(`C: ${command}`);
      for (const l of reply) current.lines.push(`S: ${l}`);
      reply = [];
      if (line.startsWith('354')) inBody = true;
    } else if (client !== null) {
      const line = client[1] ?? '';
      if (inBody && line !== '.') {
        current.lines.push(`C: ${line}`);
        continue;
      }
      inBody = false;
      current.pipelined.push(waiting.length > 0);
      waiting.push(line);
    }
  }
  return sessions;
}

/**
 * The same from smtpscope's `transcript` output: its `C:` / `S:` lines, the `<message body: ...>` line replaced by the
 * body's lines (dot-stuffed again, as they went on the wire), latencies dropped after reading the `pipelined` mark;
 * annotation lines (`#` meanings, `!` anomalies, `*` AUTH and TLS) are not part of the dialogue.
 */
function pairedOf(session: SmtpSession, bodies: readonly Uint8Array[]): Paired {
  const out: Paired = { lines: [], pipelined: [] };
  let body = 0;
  for (const line of formatTranscript(session, { times: false }).split('\n')) {
    if (line.startsWith('C: <message body:')) {
      const bytes = bodies[body++];
      expect(bytes, `body ${body} of ${session.id}`).toBeDefined();
      const text = Buffer.from(bytes ?? new Uint8Array()).toString('latin1');
      const lines = text.split('\r\n');
      expect(lines.pop(), `body ${body} of ${session.id} ends with CRLF`).toBe('');
      for (const l of lines) out.lines.push(`C: ${l.startsWith('.') ? `.${l}` : l}`);
      continue;
    }
    if (!line.startsWith('C: ') && !line.startsWith('S: ')) continue;
    const latency = / {3}\[([^\]]*)\]$/.exec(line);
    if (line.startsWith('C: ')) out.pipelined.push(latency?.[1]?.endsWith(', pipelined') ?? false);
    out.lines.push(latency === null ? line : line.slice(0, latency.index));
  }
  return out;
}

/** A redacted AUTH secret stands for whatever swaks sent there; every other line must be equal. */
function sameLines(ours: readonly string[], theirs: readonly string[]): boolean {
  return (
    ours.length === theirs.length &&
    ours.every((line, i) => {
      const their = theirs[i] ?? '';
      if (!line.includes(REDACTED)) return line === their;
      return their.startsWith(line.split(REDACTED)[0] ?? '');
    })
  );
}

// The relay captures (make-maillog-captures.sh) run on private ports with one log per MTA: test/maillog covers them.
const RELAY = /^(postfix|exim)-relay\./;
const swaksFiles = readdirSync(CAPTURES).filter((f) => f.endsWith('.swaks.txt') && !RELAY.test(f));

describe('real traffic: the transcript equals swaks transcript', () => {
  it('has swaks transcripts to compare with', () => {
    expect(swaksFiles.length).toBeGreaterThanOrEqual(4);
  });

  it('pairs a pipelined swaks batch as the protocol does', () => {
    const [paired] = parseSwaks(
      [
        '=== Connected to 127.0.0.1.',
        '<-  220 mx ESMTP',
        ' -> MAIL FROM:<a@b>',
        ' -> RCPT TO:<c@d>',
        ' -> DATA',
        '<-  250 Ok',
        '<** 550 No',
        '<-  354 Go',
        ' -> .hidden',
        ' -> .',
        '<-  250-Ok',
        '<-  250 queued',
      ].join('\n'),
    );
    expect(paired?.lines).toEqual([
      'S: 220 mx ESMTP',
      'C: MAIL FROM:<a@b>',
      'S: 250 Ok',
      'C: RCPT TO:<c@d>',
      'S: 550 No',
      'C: DATA',
      'S: 354 Go',
      'C: .hidden',
      'C: .',
      'S: 250-Ok',
      'S: 250 queued',
    ]);
    expect(paired?.pipelined).toEqual([false, true, true, false]);
  });

  for (const file of swaksFiles) {
    const capture = file.replace('.swaks.txt', '.pcap');
    it(`${capture}: each swaks session is printed line for line, pipelining included`, async () => {
      const printed = parseSwaks(readFileSync(join(CAPTURES, file), 'latin1'));
      const { sessions, bodies } = await decode(capture);
      // The capture may also hold sessions of other clients (nodemailer, Postfix relaying): each swaks session
      // is the first remaining decoded session whose transcript has the same lines.
      const remaining = sessions.map((s) => ({ s, paired: pairedOf(s, bodies.get(s.id) ?? []) }));
      for (const want of printed) {
        const index = remaining.findIndex((x) => sameLines(x.paired.lines, want.lines));
        if (index < 0) {
          // Show the difference against the session that starts like this one.
          const near = remaining.find(
            (x) => x.paired.lines[0] === want.lines[0] && x.paired.lines[1] === want.lines[1],
          );
          expect(
            near?.paired.lines ?? [],
            `no decoded session prints swaks session ${want.lines[1]}`,
          ).toEqual(want.lines);
        }
        const got = remaining.splice(index, 1)[0]!;
        expect(got.paired.pipelined, `${got.s.id}: pipelined commands`).toEqual(want.pipelined);
      }
    });
  }
});

/**
 * One recipient's fate as Postfix logged it. `leg` says which connection of the capture shows it: `accepted` is the
 * connection that handed the message to Postfix (the transaction whose final reply gave `queueId`, or none for
 * NOQUEUE), `relay` the connection Postfix opened to the next hop on `port`.
 */
interface LogFate {
  readonly line: string;
  /** null: every recipient the transaction accepted at RCPT (a refusal of the whole message). */
  readonly address: string | null;
  readonly leg:
    | { readonly kind: 'accepted'; readonly queueId: string | null }
    | { readonly kind: 'relay'; readonly port: number }
    /** A message refused at end of data, known by its Message-ID (Postfix logs no recipient then). */
    | { readonly kind: 'message'; readonly messageId: string };
  /** The recipient disposition the capture must show on that leg. */
  readonly disposition: RecipientDisposition;
  /** The reply code the log quotes (RCPT reply for a refusal at RCPT, else the final reply), or null. */
  readonly code: number | null;
  /** For a relay leg that accepted: the next hop's queue id quoted in the log ("queued as ..."). */
  readonly nextQueueId: string | null;
}

const failed = (code: number, stage: 'rcpt' | 'data'): RecipientDisposition =>
  `${code >= 500 ? 'rejected' : 'deferred'}-${stage}` as RecipientDisposition;

/**
 * Per-recipient lines of a Postfix log: smtpd refusals at RCPT and at the end of data (`reject: RCPT`,
 * `reject: END-OF-MESSAGE` / `reject: DATA`), and delivery results (`status=sent|bounced|deferred`) of the discard
 * (kept by Postfix: accepted on the incoming leg), smtp and lmtp (relayed: the incoming leg accepted it, the relay
 * leg shows the next hop's answer) agents, and a message refused for its size at end of data (`warning: QID: queue
 * file size limit exceeded`, answered 552, with no recipient in the line: known by the Message-ID cleanup logged).
 * Messages Postfix made itself (`sender non-delivery notification: QID`) have no incoming leg.
 */
function parseMaillog(text: string): LogFate[] {
  const fates: LogFate[] = [];
  const lines = text.split('\n');
  const local = new Set<string>();
  const messageIds = new Map<string, string>();
  for (const line of lines) {
    const notice =
      /postfix\/bounce\[\d+\]: \w+: sender (?:non-)?delivery (?:status )?notification: (\w+)/.exec(line);
    if (notice?.[1] !== undefined) local.add(notice[1]);
    const id = /postfix\/cleanup\[\d+\]: (\w+): message-id=(<[^>]*>)/.exec(line);
    if (id?.[1] !== undefined && id[2] !== undefined) messageIds.set(id[1], id[2]);
  }
  for (const line of lines) {
    const tooBig = /postfix\/smtpd\[\d+\]: warning: (\w+): queue file size limit exceeded/.exec(line);
    const messageId = tooBig?.[1] === undefined ? undefined : messageIds.get(tooBig[1]);
    if (messageId !== undefined) {
      fates.push({
        line,
        address: null,
        leg: { kind: 'message', messageId },
        disposition: 'rejected-data',
        code: 552,
        nextQueueId: null,
      });
      continue;
    }
    const reject =
      /postfix\/smtpd\[\d+\]: (\w+): reject: (RCPT|END-OF-MESSAGE|DATA) from [^:]+: (\d{3}) .*?; (?:from=<[^>]*> )?to=<([^>]*)>/.exec(
        line,
      );
    if (reject !== null) {
      const code = Number(reject[3]);
      fates.push({
        line,
        address: reject[4] ?? '',
        leg: { kind: 'accepted', queueId: reject[1] === 'NOQUEUE' ? null : (reject[1] ?? null) },
        disposition: failed(code, reject[2] === 'RCPT' ? 'rcpt' : 'data'),
        code,
        nextQueueId: null,
      });
      continue;
    }
    const status =
      /postfix\/(smtp|lmtp|discard)\[\d+\]: (\w+): to=<([^>]*)>, relay=([^,]*),.* status=(sent|bounced|deferred) \((.*)\)$/.exec(
        line,
      );
    if (status === null) continue;
    const [, agent, queueId, address, relay, result, said] = status as unknown as string[];
    // Postfix took the message on the incoming leg in every case (unless it made it itself): it then delivered,
    // bounced or deferred it.
    if (!local.has(queueId ?? ''))
      fates.push({
        line,
        address: address ?? '',
        leg: { kind: 'accepted', queueId: queueId ?? null },
        disposition: 'delivered',
        code: null,
        nextQueueId: null,
      });
    if (agent === 'discard') continue;
    const port = Number(/:(\d+)$/.exec(relay ?? '')?.[1]);
    const quoted = /said: (\d{3}) /.exec(said ?? '') ?? /^(\d{3}) /.exec(said ?? '');
    if (quoted === null) continue; // connection failures: no leg in the capture
    const code = Number(quoted[1]);
    const atRcpt = /in reply to RCPT TO command/.test(said ?? '');
    fates.push({
      line,
      address: address ?? '',
      leg: { kind: 'relay', port },
      disposition: result === 'sent' ? 'delivered' : failed(code, atRcpt ? 'rcpt' : 'data'),
      code,
      nextQueueId: /queued as (\w+)/.exec(said ?? '')?.[1] ?? null,
    });
  }
  return fates;
}

const logFiles = readdirSync(CAPTURES).filter((f) => f.endsWith('.maillog') && !RELAY.test(f));

interface Seen {
  readonly session: SmtpSession;
  readonly transaction: TransactionRecord;
  readonly recipient: RecipientRecord;
}

/** Every recipient of the capture that stands for the log line: exactly one is expected. */
function candidates(all: readonly Seen[], fate: LogFate): Seen[] {
  const leg = fate.leg;
  return all.filter((x) => {
    if (leg.kind === 'message')
      return (
        x.transaction.message?.messageId === leg.messageId &&
        x.recipient.rcptReply !== null &&
        x.recipient.rcptReply.code < 400
      );
    if (x.recipient.address !== fate.address) return false;
    if (leg.kind === 'relay')
      return (
        x.session.server.port === leg.port &&
        (fate.nextQueueId === null || x.transaction.queueId === fate.nextQueueId)
      );
    // The leg that handed the message to Postfix: the transaction whose final reply gave the queue id (for
    // NOQUEUE, a connection to Postfix's port 25 whose transaction got none).
    return leg.queueId === null
      ? x.session.server.port === 25 && x.transaction.queueId === null
      : x.transaction.queueId === leg.queueId;
  });
}

describe('real traffic: recipient outcomes equal Postfix log', () => {
  it('has Postfix logs to compare with', () => {
    expect(logFiles.length).toBeGreaterThanOrEqual(4);
  });

  it('reads refusals at RCPT and at end of data, and sent, bounced and deferred results', () => {
    const log = [
      'Jan  1 00:00:00 mx postfix/smtpd[1]: AAA1: reject: RCPT from x[192.0.2.1]: 450 4.2.0 <g@s.test>: Greylisted; from=<a@b.test> to=<g@s.test> proto=ESMTP helo=<c>',
      'Jan  1 00:00:00 mx postfix/smtpd[1]: AAA2: reject: END-OF-MESSAGE from x[192.0.2.1]: 550 5.7.1 Spam; from=<a@b.test> to=<v@s.test> proto=ESMTP helo=<c>',
      'Jan  1 00:00:00 mx postfix/smtp[2]: AAA3: to=<d@r.test>, relay=127.0.0.1[127.0.0.1]:2590, delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred (host 127.0.0.1[127.0.0.1] said: 452 4.2.2 Mailbox full (in reply to end of DATA command))',
      'Jan  1 00:00:00 mx postfix/smtp[2]: AAA4: to=<e@r.test>, relay=none, delay=1, delays=0/0/1/0, dsn=4.4.1, status=deferred (connect to r.test[192.0.2.9]:25: Connection refused)',
    ].join('\n');
    expect(parseMaillog(log).map((f) => [f.address, f.leg.kind, f.disposition, f.code])).toEqual([
      ['g@s.test', 'accepted', 'deferred-rcpt', 450],
      ['v@s.test', 'accepted', 'rejected-data', 550],
      ['d@r.test', 'accepted', 'delivered', null],
      ['d@r.test', 'relay', 'deferred-data', 452],
      ['e@r.test', 'accepted', 'delivered', null],
    ]);
  });

  for (const file of logFiles) {
    const capture = file.replace('.maillog', '.pcap');
    it(`${capture}: every recipient Postfix logged has exactly that fate in the capture, and no other`, async () => {
      const fates = parseMaillog(readFileSync(join(CAPTURES, file), 'latin1'));
      const sessions = await sessionsOf(capture);
      const relayPorts = new Set(fates.flatMap((f) => (f.leg.kind === 'relay' ? [f.leg.port] : [])));
      const all: Seen[] = sessions.flatMap((session) =>
        session.transactions.flatMap((transaction) =>
          transaction.recipients.map((recipient) => ({ session, transaction, recipient })),
        ),
      );
      const matched = new Set<RecipientRecord>();
      for (const fate of fates) {
        const found = candidates(all, fate);
        if (fate.address === null)
          expect(new Set(found.map((x) => x.transaction)).size, `one transaction for: ${fate.line}`).toBe(1);
        else expect(found.length, `one recipient in the capture for: ${fate.line}`).toBe(1);
        for (const x of found) {
          matched.add(x.recipient);
          expect(x.recipient.disposition, fate.line).toBe(fate.disposition);
          if (fate.code !== null) {
            const deciding = fate.disposition.endsWith('-rcpt')
              ? x.recipient.rcptReply
              : x.recipient.finalReply;
            expect(deciding?.code, fate.line).toBe(fate.code);
          }
        }
      }
      // The other way round: every recipient Postfix decided on (on a connection to it or from it) is in the log.
      // Recipients never sent (RSET, QUIT) are not logged by Postfix.
      const postfixPorts = new Set([25, ...relayPorts]);
      const unlogged = all.filter(
        (x) =>
          postfixPorts.has(x.session.server.port) &&
          x.recipient.disposition !== 'not-sent' &&
          !matched.has(x.recipient),
      );
      expect(
        unlogged.map((x) => `${x.session.id} ${x.recipient.address} ${x.recipient.disposition}`),
      ).toEqual([]);
    });
  }
});
