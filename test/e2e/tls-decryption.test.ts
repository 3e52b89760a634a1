/**
 * The TLS captures of captures/README.md ("TLS captures"), decrypted by smtpscope with their key logs, against
 * two oracles that owe nothing to smtpscope:
 *  - tshark with `-o tls.keylog_file:KEYS`: its decrypted byte streams (`-z follow,tls,ascii,N`) read as
 *    lines give the commands and reply codes sent inside TLS, which must equal smtpscope's, in order;
 *  - the client programs' own transcripts (s_client driven by sclient-dialogue.py, Python smtplib's debug
 *    output, nodemailer's protocol log), which must equal smtpscope's transcript line for line in each
 *    direction (message bodies aside).
 * Sessions whose keys are missing or damaged must say so and show nothing after STARTTLS; no secret of a key
 * log may appear in any output. Runs the built CLI as an operator would. Skipped without tshark.
 */

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCli } from '../helpers/built-cli.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const PORTS = '25,465,587,2525-2527';
const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

interface Exchange {
  /** Command verbs in the order sent, upper case; the line ending a message body is END-OF-DATA. */
  readonly verbs: string[];
  /** Reply codes in the order received. */
  readonly codes: number[];
}

/** Commands and replies of one direction pair of SMTP lines (a body runs from a DATA command to "."). */
function exchangeOf(clientLines: readonly string[], serverLines: readonly string[]): Exchange {
  const verbs: string[] = [];
  let inBody = false;
  for (const line of clientLines) {
    if (inBody) {
      if (line === '.') {
        verbs.push('END-OF-DATA');
        inBody = false;
      }
      continue;
    }
    const verb = (line.split(' ')[0] ?? '').toUpperCase();
    verbs.push(verb);
    if (verb === 'DATA') inBody = true;
  }
  const codes = serverLines.filter((l) => /^\d{3}(?: |$)/.test(l)).map((l) => Number(l.slice(0, 3)));
  return { verbs, codes };
}

function run(command: string, args: readonly string[]): string {
  // latin1: one character per byte, so that tshark's byte counts index the text.
  const result = spawnSync(command, args, { encoding: 'latin1', timeout: 120_000, maxBuffer: 64 * 2 ** 20 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const TSHARK_PORTS = ['-d', 'tcp.port==2525,smtp', '-d', 'tcp.port==2526,smtp', '-d', 'tcp.port==2527,smtp'];

/**
 * One stream of `tshark -q -z follow,tls,ascii,N`: after the header ("Node 0: ADDR:PORT", "Node 1: ..."), blocks
 * of a byte count line (indented by a tab for node 1) followed by that many bytes of decrypted data and a
 * newline. Returns the bytes of the node whose port is `clientPort` and of the other node, each split at CRLF.
 */
function parseFollow(text: string, clientPort: number): { client: string[]; server: string[] } {
  const node0 = /^Node 0: .*:(\d+)$/m.exec(text);
  const header = /^Node 1: .*$/m.exec(text);
  if (node0 === null || header === null) throw new Error(`unexpected tshark follow output:\n${text}`);
  const node0IsClient = Number(node0[1]) === clientPort;
  const bytes = { client: '', server: '' };
  let at = header.index + header[0].length + 1;
  for (;;) {
    const m = /^(\t?)(\d+)\n/.exec(text.slice(at, at + 16));
    if (m === null) break;
    at += m[0].length;
    const count = Number(m[2]);
    const isNode1 = m[1] === '\t';
    const side = isNode1 === node0IsClient ? 'server' : 'client';
    bytes[side] += text.slice(at, at + count);
    at += count + 1;
  }
  const lines = (s: string): string[] =>
    s === '' ? [] : s.split('\r\n').slice(0, s.endsWith('\r\n') ? -1 : undefined);
  return { client: lines(bytes.client), server: lines(bytes.server) };
}

/** Per TCP stream (by client port): what tshark decrypts inside TLS, from its follow-TLS output. */
function tsharkInsideTls(capture: string, keys: string | null): Map<number, Exchange> {
  const keyArgs = keys === null ? [] : ['-o', `tls.keylog_file:${keys}`];
  const syns = run('tshark', [
    '-r',
    capture,
    '-Y',
    'tcp.flags.syn == 1 && tcp.flags.ack == 0',
    '-T',
    'fields',
    '-e',
    'tcp.stream',
    '-e',
    'tcp.srcport',
  ]);
  const out = new Map<number, Exchange>();
  for (const line of syns.split('\n').filter((l) => l !== '')) {
    const [stream, clientPort] = line.split('\t').map(Number) as [number, number];
    if (out.has(clientPort)) continue; // a retransmitted SYN
    const text = run('tshark', [
      '-r',
      capture,
      ...keyArgs,
      ...TSHARK_PORTS,
      '-q',
      '-z',
      `follow,tls,ascii,${stream}`,
    ]);
    const { client, server } = parseFollow(text, clientPort);
    out.set(clientPort, exchangeOf(client, server));
  }
  return out;
}

interface JsonSession {
  readonly source: { readonly port: number };
  readonly tls: Record<string, unknown>;
  readonly smtp: {
    readonly greeting: { readonly code: number } | null;
    readonly tls: { readonly mode: string; readonly offered: boolean } & Record<string, unknown>;
    readonly commands: { readonly verb: string; readonly reply: { readonly code: number } | null }[];
  };
}

function smtpscope(
  capture: string,
  keys: string | null,
): { sessions: JsonSession[]; json: string; transcript: string } {
  const keyArgs = keys === null ? [] : ['--tls-keylog', keys];
  const json = run(process.execPath, [builtCli(), capture, '-p', PORTS, ...keyArgs, '--json', '-']);
  const transcript = run(process.execPath, [builtCli(), 'transcript', capture, '-p', PORTS, ...keyArgs]);
  const sessions = json
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as JsonSession);
  return { sessions, json, transcript };
}

/** smtpscope's commands and reply codes after TLS started (after the 220 to STARTTLS, or all on implicit TLS). */
function insideTls(session: JsonSession): Exchange {
  const commands = session.smtp.commands;
  const start = commands.findIndex((c) => c.verb === 'STARTTLS' && c.reply?.code === 220);
  const inside = start < 0 ? commands : commands.slice(start + 1);
  const codes = inside.flatMap((c) => (c.reply === null ? [] : [c.reply.code]));
  if (start < 0 && session.smtp.greeting !== null) codes.unshift(session.smtp.greeting.code);
  return { verbs: inside.map((c) => c.verb), codes };
}

/** The decryption verdict, wherever the session record states it, as text to match a reason against. */
const verdict = (s: JsonSession): string => JSON.stringify({ tls: s.tls, smtp_tls: s.smtp.tls });

/** smtpscope's transcript: per session, its C: and S: lines, without timing, latency and body placeholders. */
function transcriptSessions(text: string): { client: string[]; server: string[] }[] {
  return text
    .split(/^Session /m)
    .slice(1)
    .map((block) => {
      const client: string[] = [];
      const server: string[] = [];
      for (const raw of block.split('\n')) {
        const m = /(?:^|\s)([CS]): (.*)$/.exec(raw);
        if (m === null) continue;
        let line = m[2] ?? '';
        while (/\s{2,}\[[^\]]*\]$/.test(line)) line = line.replace(/\s{2,}\[[^\]]*\]$/, '');
        if (m[1] === 'C') {
          if (/^<message body: .*>$/.test(line)) continue;
          client.push(line);
        } else {
          server.push(line);
        }
      }
      return { client, server };
    });
}

/**
 * A program transcript ("-> "/"<- " or "C: "/"S: " lines) cut into sessions; body lines (354 to ".") dropped
 * when the program logs them (`logsBodies`; nodemailer logs neither the body nor its final ".").
 */
function programSessions(
  text: string,
  sentPrefix: string,
  startsSession: (line: string) => boolean,
  logsBodies = true,
) {
  const sessions: { client: string[]; server: string[] }[] = [];
  let inBody = false;
  for (const line of text.split('\n')) {
    const sent = line.startsWith(sentPrefix);
    const received = line.startsWith(sentPrefix === '-> ' ? '<- ' : 'S: ');
    if (!sent && !received) continue;
    const value = line.slice(3);
    if (startsSession(line) || sessions.length === 0) sessions.push({ client: [], server: [] });
    const current = sessions[sessions.length - 1]!;
    if (sent) {
      if (inBody) {
        if (value === '.') {
          inBody = false;
          current.client.push(value);
        }
        continue;
      }
      current.client.push(value);
    } else {
      current.server.push(value);
      if (logsBodies && /^354 /.test(value)) inBody = true;
    }
  }
  return sessions;
}

/** `whole` with the lines before the ones inside TLS dropped: everything after the 220 to STARTTLS. */
function afterStarttls(s: { client: string[]; server: string[] }): { client: string[]; server: string[] } {
  const c = s.client.findIndex((l) => /^STARTTLS$/i.test(l));
  if (c < 0) return s;
  // Server lines: the greeting and the EHLO reply before, the 220 to STARTTLS: skip up to that 220.
  let seen220 = 0;
  const cut = s.server.findIndex((l) => /^220 /.test(l) && ++seen220 === 2);
  return { client: s.client.slice(c + 1), server: s.server.slice(cut + 1) };
}

/** Secrets (third field) of every key log line. */
function secretsOf(keys: string): string[] {
  return readFileSync(keys, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.split(' ')[2] ?? '').toLowerCase())
    .filter((s) => s.length >= 32);
}

interface Case {
  readonly capture: string;
  /** Key log file, or null when the keys are inside the capture. */
  readonly keys: string | null;
  readonly sessions: number;
}

const FULL: Case[] = [
  { capture: 'tls13-suites.pcap', keys: 'tls13-suites.keys', sessions: 3 },
  { capture: 'tls12-suites.pcap', keys: 'tls12-suites.keys', sessions: 7 },
  { capture: 'tls-keyupdate.pcap', keys: 'tls-keyupdate.keys', sessions: 1 },
  { capture: 'tls-hrr.pcap', keys: 'tls-hrr.keys', sessions: 1 },
  { capture: 'tls-resumption.pcap', keys: 'tls-resumption.keys', sessions: 4 },
  { capture: 'tls-python.pcap', keys: 'tls-python.keys', sessions: 1 },
  { capture: 'tls-node-587.pcap', keys: 'tls-node-587.keys', sessions: 1 },
  { capture: 'tls-node-465.pcap', keys: 'tls-node-465.keys', sessions: 1 },
  { capture: 'tls-postfix-preload.pcap', keys: 'tls-postfix-preload.keys', sessions: 2 },
  { capture: 'tls-injected-secrets.pcapng', keys: null, sessions: 2 },
];

const path = (name: string): string => join(CAPTURES, name);

describe.skipIf(!hasTshark)('TLS decryption against tshark and the clients’ transcripts', () => {
  for (const c of FULL) {
    it(`${c.capture}: the commands and reply codes inside TLS equal tshark's, session by session`, () => {
      const keys = c.keys === null ? null : path(c.keys);
      const oracle = tsharkInsideTls(path(c.capture), keys);
      expect(oracle.size).toBe(c.sessions);
      for (const exchange of oracle.values())
        expect(exchange.verbs, 'tshark decrypted the session').toContain('MAIL');
      const { sessions } = smtpscope(path(c.capture), keys);
      expect(sessions).toHaveLength(c.sessions);
      for (const session of sessions) {
        expect(insideTls(session), `client port ${session.source.port}`).toEqual(
          oracle.get(session.source.port),
        );
        expect(verdict(session)).not.toMatch(/no[-_ ]?key|bad[-_ ]?key|authenticat/i);
      }
    }, 240_000);
  }

  it('tshark’s decrypted streams hold what the clients’ transcripts say they sent and received (the captures are right)', () => {
    const cases: [string, string, (l: string) => boolean][] = [
      ['tls13-suites', 'tls13-suites.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls12-suites', 'tls12-suites.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls-keyupdate', 'tls-keyupdate.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls-hrr', 'tls-hrr.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls-resumption', 'tls-resumption.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls-postfix-preload', 'tls-postfix-preload.client.txt', (l) => /^-> ehlo /i.test(l)],
      ['tls-python', 'tls-python.smtplib.txt', () => false],
    ];
    for (const [name, transcript, startsSession] of cases) {
      const theirs = programSessions(readFileSync(path(transcript), 'utf8'), '-> ', startsSession).map(
        afterStarttls,
      );
      const oracle = [...tsharkInsideTls(path(`${name}.pcap`), path(`${name}.keys`)).entries()]
        .sort(([a], [b]) => a - b)
        .map(([, exchange]) => exchange);
      expect(oracle, name).toEqual(theirs.map((t) => exchangeOf(t.client, t.server)));
    }
  }, 240_000);

  it('the s_client transcripts equal smtpscope’s transcript inside TLS, line for line in each direction', () => {
    for (const name of [
      'tls13-suites',
      'tls12-suites',
      'tls-keyupdate',
      'tls-hrr',
      'tls-resumption',
      'tls-postfix-preload',
    ]) {
      const theirs = programSessions(readFileSync(path(`${name}.client.txt`), 'utf8'), '-> ', (l) =>
        /^-> ehlo /i.test(l),
      );
      const ours = transcriptSessions(smtpscope(path(`${name}.pcap`), path(`${name}.keys`)).transcript).map(
        afterStarttls,
      );
      expect(ours, name).toEqual(theirs);
    }
  }, 240_000);

  it('the smtplib transcript equals smtpscope’s transcript, before and after STARTTLS', () => {
    const theirs = programSessions(readFileSync(path('tls-python.smtplib.txt'), 'utf8'), '-> ', () => false);
    const ours = transcriptSessions(smtpscope(path('tls-python.pcap'), path('tls-python.keys')).transcript);
    // smtplib writes lower-case verbs and the same bytes smtpscope saw; the greeting is in both.
    expect(ours).toEqual(theirs);
  }, 120_000);

  it('every line of nodemailer’s protocol log is in smtpscope’s transcript, in order, in each direction', () => {
    for (const port of [587, 465]) {
      const [theirs] = programSessions(
        readFileSync(path(`tls-node-${port}.nodemailer.txt`), 'utf8'),
        'C: ',
        () => false,
        false,
      );
      const [ours] = transcriptSessions(
        smtpscope(path(`tls-node-${port}.pcap`), path(`tls-node-${port}.keys`)).transcript,
      );
      // nodemailer does not log the line that ends the body nor its QUIT: its lines are a subsequence of ours.
      const subsequence = (small: readonly string[], big: readonly string[]): boolean => {
        let at = 0;
        for (const line of big) if (line === small[at]) at += 1;
        return at === small.length;
      };
      expect(theirs!.client.length).toBeGreaterThan(8);
      expect(subsequence(theirs!.client, ours!.client), `client lines, port ${port}`).toBe(true);
      expect(subsequence(theirs!.server, ours!.server), `server lines, port ${port}`).toBe(true);
    }
  }, 120_000);

  it('tls-missing-key: the session without keys says so and shows nothing after STARTTLS; the other decrypts', () => {
    const oracle = tsharkInsideTls(path('tls-missing-key.pcap'), path('tls-missing-key.keys'));
    const { sessions } = smtpscope(path('tls-missing-key.pcap'), path('tls-missing-key.keys'));
    expect(sessions).toHaveLength(2);
    const [first, second] = [...sessions]
      .sort((a, b) => a.smtp.commands.length - b.smtp.commands.length)
      .reverse();
    expect(insideTls(first!)).toEqual(oracle.get(first!.source.port));
    expect(oracle.get(second!.source.port)?.verbs).toEqual([]);
    expect(insideTls(second!).verbs).toEqual([]);
    expect(second!.smtp.tls.mode).toBe('starttls');
    expect(verdict(second!)).toMatch(/no[-_ ]?key/i);
  }, 120_000);

  it('tls-corrupt-secret: both sessions are reported as keys that did not authenticate, with no command invented', () => {
    const { sessions } = smtpscope(path('tls-corrupt-secret.pcap'), path('tls-corrupt-secret.keys'));
    expect(sessions).toHaveLength(2);
    // tshark itself decrypts no client record of either session (the TLS 1.3 server's replies only).
    const oracle = tsharkInsideTls(path('tls-corrupt-secret.pcap'), path('tls-corrupt-secret.keys'));
    for (const session of sessions) {
      expect(oracle.get(session.source.port)?.verbs).toEqual([]);
      expect(insideTls(session).verbs).toEqual([]);
      expect(verdict(session)).toMatch(/bad[-_ ]?key|authenticat/i);
    }
  }, 120_000);

  it('prints no secret of any key log in the JSON or the transcript', () => {
    for (const c of [
      ...FULL,
      { capture: 'tls-missing-key.pcap', keys: 'tls-missing-key.keys' },
      { capture: 'tls-corrupt-secret.pcap', keys: 'tls-corrupt-secret.keys' },
    ]) {
      const keys = c.keys ?? 'tls-postfix-preload.keys';
      const { json, transcript } = smtpscope(path(c.capture), c.keys === null ? null : path(keys));
      const output = `${json}\n${transcript}`.toLowerCase();
      for (const secret of secretsOf(path(keys)))
        expect(output.includes(secret), `${c.capture}: a secret`).toBe(false);
    }
  }, 240_000);

  it('an EHLO after STARTTLS keeps tls.offered and the STARTTLS mode (issue 15, item 8)', () => {
    const { sessions } = smtpscope(path('tls13-suites.pcap'), path('tls13-suites.keys'));
    expect(sessions).toHaveLength(3);
    for (const session of sessions) {
      // Two EHLOs: one before STARTTLS (whose reply offers it), one inside TLS (whose reply does not).
      expect(session.smtp.commands.filter((c) => c.verb === 'EHLO')).toHaveLength(2);
      expect(session.smtp.tls.mode).toBe('starttls');
      expect(session.smtp.tls.offered).toBe(true);
    }
  }, 120_000);
});
