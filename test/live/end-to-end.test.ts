/**
 * Live capture end to end: the real CLI captures on the loopback interface while nodemailer and swaks talk
 * to smtp-server on 127.0.0.1, and what it writes (NDJSON, CSV, the -w pcap) must equal what the server
 * itself recorded and what swaks printed. Needs root and the `cap` addon; skips with the reason otherwise.
 */

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliExit, startCli, waitForExit, waitUntilCapturing } from '../harness/soak/cli-child.js';
import {
  dialogueOf,
  type PeerSession,
  replyLine,
  runSwaks,
  SECRET,
  type SendResult,
  type SmtpPeer,
  sendWithNodemailer,
  startSmtpPeer,
  swaksAvailable,
} from '../helpers/smtp-peers.js';
import { CLI, ensureCliBuilt, liveSkipReason } from './live-env.js';

const skip = liveSkipReason !== null;
const title = (text: string): string => (skip ? `${text} [${liveSkipReason}]` : text);
const hasSwaks = swaksAvailable();
const work = mkdtempSync(join(tmpdir(), 'smtpscope-live-e2e-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

// The NDJSON documents are checked field by field against docs/JSON.md names; a loose shape keeps it short.
type Doc = any;

const USERS = { alice: 'wonderland' };
const rejected = (address: string): boolean => address.startsWith('nobody');

/** The server's log with its credential mask (`/* secured *\/`) written as ours is. */
function serverDialogue(session: PeerSession): string[] {
  return session.lines.map((l) => l.replace('/* secured */', SECRET));
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell.endsWith('\r') ? cell.slice(0, -1) : cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += ch;
  }
  if (cell !== '' || row.length > 0) rows.push([...row, cell]);
  return rows;
}

function readCsv(path: string): Doc[] {
  const [header, ...rows] = parseCsv(readFileSync(path, 'utf8'));
  if (header === undefined) return [];
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

function readNdjson(text: string): Doc[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Doc);
}

/** swaks' printed dialogue in the server-log shape (message body lines left out). */
function swaksDialogue(stdout: string): string[] {
  const lines: string[] = [];
  let inBody = false;
  let pendingReply: string[] = [];
  const flush = (): void => {
    if (pendingReply.length > 0) lines.push(`S: ${pendingReply.join('\r\n')}`);
    pendingReply = [];
  };
  for (const raw of stdout.split('\n')) {
    const server = /^<(?:-|\*\*) {1,2}(.*)$/.exec(raw);
    const client = /^ (?:-|\*)> (.*)$/.exec(raw);
    if (server !== null) {
      const line = server[1] ?? '';
      pendingReply.push(line);
      if (/^\d{3} /.test(line) || line.length === 3) {
        flush();
        if (line.startsWith('354')) inBody = true;
      }
    } else if (client !== null) {
      const line = client[1] ?? '';
      if (inBody) {
        if (line === '.') inBody = false;
        continue;
      }
      lines.push(`C: ${line}`);
    }
  }
  flush();
  return lines;
}

/** Orders swaks' pipelined batch the way the server handled it: each command followed by its reply. */
function interleave(printed: string[]): string[] {
  const out: string[] = [];
  const commands: string[] = [];
  for (const line of printed) {
    if (line.startsWith('C: ')) commands.push(line);
    else {
      const c = commands.shift();
      if (c !== undefined) out.push(c);
      out.push(line);
    }
  }
  return [...out, ...commands];
}

interface Run {
  plain: SmtpPeer;
  tls: SmtpPeer;
  exit: CliExit;
  stderr: string;
  docs: Doc[];
  nodemailer: SendResult[];
  authFailure: unknown;
  allRejected: unknown;
  swaks: { status: number | null; stdout: string } | null;
}

let run: Run | null = null;
const ready = (): Run => {
  if (run === null) throw new Error('the live run did not happen');
  return run;
};
const docOf = (session: PeerSession, port: number): Doc => {
  const doc = ready().docs.find((d) => d.source.port === session.clientPort && d.destination.port === port);
  if (doc === undefined) throw new Error(`no NDJSON document for client port ${session.clientPort}`);
  return doc;
};

describe('live capture end to end', () => {
  beforeAll(async () => {
    if (skip) return;
    await ensureCliBuilt();
    const plain = await startSmtpPeer({ starttls: false, users: USERS, reject: rejected });
    const tls = await startSmtpPeer({ starttls: true, users: USERS, reject: rejected });
    const cli = startCli(
      [
        '-i',
        'lo',
        '-f',
        `tcp port ${plain.port} or tcp port ${tls.port}`,
        '--ports',
        `${plain.port},${tls.port}`,
        '--json',
        join(work, 'live.ndjson'),
        '--csv',
        join(work, 'csv'),
        '-w',
        join(work, 'live.pcap'),
      ],
      { cliPath: CLI },
    );
    try {
      await waitUntilCapturing(cli, 15_000);
      // One pooled connection, three transactions with pipelined envelopes, AUTH PLAIN in clear text.
      const nodemailer = await sendWithNodemailer(
        plain,
        [
          {
            from: 'sender@client.test',
            to: ['bob@peer.test', 'nobody1@peer.test', 'carol@peer.test'],
            subject: 'one',
            text: 'first',
          },
          {
            from: 'sender@client.test',
            to: ['dave@peer.test'],
            subject: 'two',
            text: 'second\r\n.leading dot\r\n',
          },
          {
            from: 'other@client.test',
            to: ['erin@peer.test', 'nobody2@peer.test', 'frank@peer.test', 'grace@peer.test'],
            subject: 'three',
            text: 'third '.repeat(2000),
          },
        ],
        { pool: true, starttls: false, auth: { user: 'alice', pass: 'wonderland', method: 'PLAIN' } },
      );
      // AUTH LOGIN with a wrong password: refused, nothing sent.
      const authFailure = await sendWithNodemailer(
        plain,
        [{ from: 'sender@client.test', to: ['bob@peer.test'], subject: 'x', text: 'x' }],
        { pool: false, starttls: false, auth: { user: 'alice', pass: 'wrong', method: 'LOGIN' } },
      ).then(
        () => null,
        (error: unknown) => error,
      );
      // Every recipient refused: the transaction fails at RCPT.
      const allRejected = await sendWithNodemailer(
        plain,
        [
          {
            from: 'sender@client.test',
            to: ['nobody3@peer.test', 'nobody4@peer.test'],
            subject: 'x',
            text: 'x',
          },
        ],
        { pool: false, starttls: false },
      ).then(
        () => null,
        (error: unknown) => error,
      );
      // STARTTLS, then AUTH and a message inside TLS: only the TLS facts are visible.
      await sendWithNodemailer(
        tls,
        [{ from: 'sender@client.test', to: ['bob@peer.test'], subject: 'secret', text: 'hidden' }],
        {
          pool: false,
          starttls: true,
          servername: 'mail.peer.test',
          auth: { user: 'alice', pass: 'wonderland', method: 'PLAIN' },
        },
      );
      const swaks = hasSwaks
        ? await runSwaks([
            '--server',
            `127.0.0.1:${plain.port}`,
            '--helo',
            'swaks.client.test',
            '--from',
            'swaks@client.test',
            '--to',
            'heidi@peer.test,nobody5@peer.test,ivan@peer.test',
            '--auth',
            'LOGIN',
            '--auth-user',
            'alice',
            '--auth-password',
            'wonderland',
            '--pipeline',
          ])
        : null;
      await plain.waitForClosed(hasSwaks ? 4 : 3, 15_000);
      await tls.waitForClosed(1, 15_000);
      // The last ACKs of the closing handshakes are on their way through the loopback interface.
      await new Promise((resolve) => setTimeout(resolve, 400));
      cli.process.kill('SIGINT');
      const exit = await waitForExit(cli, 20_000);
      run = {
        plain,
        tls,
        exit,
        stderr: cli.stderr(),
        docs: readNdjson(readFileSync(join(work, 'live.ndjson'), 'utf8')),
        nodemailer,
        authFailure,
        allRejected,
        swaks,
      };
    } finally {
      if (cli.process.exitCode === null) cli.process.kill('SIGKILL');
      await plain.close();
      await tls.close();
    }
  }, 90_000);

  it.skipIf(skip)(title('stops on SIGINT, flushes and exits 0, with every connection seen closing'), () => {
    const r = ready();
    expect(r.exit).toEqual({ code: 0, signal: null });
    expect(r.stderr).toContain('SIGINT: stopping');
    const expected = r.plain.sessions.length + r.tls.sessions.length;
    expect(r.docs).toHaveLength(expected);
    for (const doc of r.docs) {
      expect(doc.smtp.close_reason).toBe('fin');
      expect(doc.smtp.quality.gaps).toBe(0);
      expect(doc.smtp.quality.midstream).toBe(false);
      expect(doc.smtp.quality.one_sided).toBeNull();
    }
  });

  it.skipIf(skip)(title('decodes every command and reply exactly as the server handled them'), () => {
    const r = ready();
    for (const session of r.plain.sessions)
      expect(dialogueOf(docOf(session, r.plain.port))).toEqual(serverDialogue(session));
  });

  it.skipIf(skip)(
    title('reports the envelopes, recipient replies and dispositions the server decided'),
    () => {
      const r = ready();
      let recipients = 0;
      for (const session of r.plain.sessions) {
        const doc = docOf(session, r.plain.port);
        expect(doc.smtp.transactions).toHaveLength(session.transactions.length);
        session.transactions.forEach((tx, i) => {
          const ours = doc.smtp.transactions[i];
          expect(ours.mail_from).toBe(tx.mailFrom);
          expect(ours.size_bytes).toBe(tx.messageBytes);
          const accepted = tx.recipients.some((p) => p.code === 250);
          expect(ours.outcome).toBe(accepted ? 'accepted' : 'rejected');
          expect(
            ours.recipients.map((p: Doc) => ({
              address: p.address,
              code: p.rcpt_reply.code,
              reply: replyLine(p.rcpt_reply),
              disposition: p.disposition,
              reasonClass: p.reason_class,
            })),
          ).toEqual(
            tx.recipients.map((p) => ({
              ...p,
              disposition: p.code === 250 ? 'delivered' : 'rejected-rcpt',
              reasonClass: p.code === 250 ? null : 'mailbox-unknown',
            })),
          );
          recipients += tx.recipients.length;
        });
      }
      expect(recipients).toBe(hasSwaks ? 13 : 10);
      // And what nodemailer was told agrees with both.
      const pooled = r.plain.sessions.find((s) => s.transactions.length === 3);
      expect(pooled).toBeDefined();
      const pooledDoc = docOf(pooled as PeerSession, r.plain.port);
      r.nodemailer.forEach((result, i) => {
        const rcpts: Doc[] = pooledDoc.smtp.transactions[i].recipients;
        expect(rcpts.filter((p) => p.disposition === 'delivered').map((p) => p.address)).toEqual(
          result.accepted,
        );
        expect(rcpts.filter((p) => p.disposition === 'rejected-rcpt').map((p) => p.address)).toEqual(
          result.rejected,
        );
      });
      // The message headers, read from the captured DATA, are the ones nodemailer wrote.
      expect(pooledDoc.smtp.transactions.map((t: Doc) => [t.email.subject, t.email.from.address])).toEqual([
        ['one', ['sender@client.test']],
        ['two', ['sender@client.test']],
        ['three', ['other@client.test']],
      ]);
      expect(r.allRejected).toBeInstanceOf(Error);
    },
  );

  it.skipIf(skip)(title('reports each AUTH user and outcome as the server saw them'), () => {
    const r = ready();
    const seen = r.plain.sessions.flatMap((s) =>
      docOf(s, r.plain.port).smtp.auth.map((a: Doc) => ({
        method: a.mechanism,
        username: a.username,
        outcome: a.outcome,
      })),
    );
    expect(seen).toEqual(r.plain.sessions.flatMap((s) => s.auth));
    expect(seen.map((a) => a.outcome)).toContain('failure');
    expect(r.authFailure).toBeInstanceOf(Error);
    for (const s of r.plain.sessions) {
      const doc = docOf(s, r.plain.port);
      const last = s.auth.at(-1);
      expect(doc.user.name).toBe(last === undefined ? null : last.username);
    }
  });

  it.skipIf(skip)(title('sees the STARTTLS session up to the handshake and reads the TLS hellos'), () => {
    const r = ready();
    const [session] = r.tls.sessions;
    expect(session?.tls).not.toBeNull();
    if (session === undefined || session.tls === null) return;
    const doc = docOf(session, r.tls.port);
    const server = serverDialogue(session);
    const upgrade = server.findIndex((l, i) => l.startsWith('S: 220 ') && server[i - 1] === 'C: STARTTLS');
    expect(upgrade).toBeGreaterThan(0);
    // After the 220 the dialogue is encrypted: ours ends there, and no envelope or AUTH can be seen.
    expect(dialogueOf(doc)).toEqual(server.slice(0, upgrade + 1));
    expect(doc.smtp.transactions).toEqual([]);
    expect(doc.smtp.auth).toEqual([]);
    expect(doc.smtp.tls.mode).toBe('starttls');
    expect(doc.smtp.tls.offered).toBe(true);
    expect(doc.tls.established).toBe(true);
    expect(doc.tls.client.server_name).toBe(session.tls.servername);
    expect(session.tls.servername).toBe('mail.peer.test');
    expect(`TLSv${doc.tls.version}`).toBe(session.tls.protocol);
    expect(doc.tls.version_protocol).toBe('tls');
    expect(doc.tls.cipher).toBe(session.tls.cipher);
    expect(doc.smtp.tls.bytes_c2s).toBeGreaterThan(0);
    expect(doc.smtp.tls.bytes_s2c).toBeGreaterThan(0);
  });

  it.skipIf(skip || !hasSwaks)(
    title(
      hasSwaks
        ? "decodes swaks' session exactly as swaks printed it"
        : 'swaks session [skipped: swaks not installed]',
    ),
    () => {
      const r = ready();
      expect(r.swaks?.status).toBe(0);
      const doc = r.docs.find((d) => d.smtp.helo === 'swaks.client.test');
      expect(doc).toBeDefined();
      // swaks prints the AUTH LOGIN responses in clear; ours are masked like the server's log.
      const printed = interleave(swaksDialogue(r.swaks?.stdout ?? '')).map((l, i, all) =>
        all[i - 1]?.startsWith('S: 334 ') && l.startsWith('C: ') ? `C: ${SECRET}` : l,
      );
      expect(dialogueOf(doc as Doc)).toEqual(printed);
    },
  );

  it.skipIf(skip)(
    title('writes the same sessions, transactions, recipients and commands to the CSV files'),
    () => {
      const r = ready();
      const csv = (name: string) => readCsv(join(work, 'csv', name));
      const sessions = csv('sessions.csv');
      expect(sessions.map((s) => s.session_id).sort()).toEqual(r.docs.map((d) => d.smtp.session_id).sort());
      expect(csv('transactions.csv')).toHaveLength(
        r.docs.reduce((n, d) => n + d.smtp.transactions.length, 0),
      );
      const recipients = csv('recipients.csv');
      expect(recipients).toHaveLength(
        r.docs.reduce(
          (n, d) => n + d.smtp.transactions.reduce((m: number, t: Doc) => m + t.recipients.length, 0),
          0,
        ),
      );
      expect(
        recipients
          .filter((p) => p.disposition === 'rejected-rcpt')
          .map((p) => p.address)
          .sort(),
      ).toEqual([
        'nobody1@peer.test',
        'nobody2@peer.test',
        'nobody3@peer.test',
        'nobody4@peer.test',
        ...(hasSwaks ? ['nobody5@peer.test'] : []),
      ]);
      expect(csv('commands.csv')).toHaveLength(r.docs.reduce((n, d) => n + d.smtp.commands.length, 0));
      for (const doc of r.docs) {
        const row = sessions.find((s) => s.session_id === doc.smtp.session_id);
        expect(row?.auth_user ?? '').toBe(doc.user.name ?? '');
        expect(Number(row?.transactions)).toBe(doc.smtp.transactions.length);
      }
    },
  );

  it.skipIf(skip)(title('writes a -w capture that, read back, gives the same sessions'), () => {
    const r = ready();
    const back = spawnSync(
      process.execPath,
      [CLI, join(work, 'live.pcap'), '--ports', `${r.plain.port},${r.tls.port}`, '--json', '-'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(back.status).toBe(0);
    const docs = readNdjson(back.stdout);
    // The file holds exactly the packets the live analysis saw, with the timestamps it gave them. Only the
    // source differs: the read-back documents name the file (log.file.path), the live ones have none.
    for (const doc of docs) {
      expect(doc.log.file.path).toBe(join(work, 'live.pcap'));
      doc.log.file.path = null;
    }
    expect(docs).toEqual(r.docs);
  });
});

describe('live capture: signals and errors', () => {
  beforeAll(async () => {
    if (!skip) await ensureCliBuilt();
  }, 150_000);

  it.skipIf(skip)(title('exits at once with 130 on a second SIGINT while it is still flushing'), async () => {
    const peer = await startSmtpPeer({ starttls: false });
    const dir = join(work, 'twice');
    const cli = startCli(
      [
        '-i',
        'lo',
        '-f',
        `tcp port ${peer.port}`,
        '--ports',
        String(peer.port),
        '--csv',
        dir,
        '--json',
        join(dir, 'x.ndjson'),
      ],
      { cliPath: CLI },
    );
    const sockets: Socket[] = [];
    try {
      await waitUntilCapturing(cli, 15_000);
      // Open sessions make the first stop take a while: each is closed and written out.
      for (let i = 0; i < 40; i++) sockets.push(connect(peer.port, '127.0.0.1').on('error', () => {}));
      await new Promise((resolve) => setTimeout(resolve, 500));
      const handled = new Promise<void>((resolve) => {
        cli.process.stderr.on('data', (chunk: string) => {
          if (String(chunk).includes('stopping')) resolve();
        });
      });
      cli.process.kill('SIGINT');
      await handled;
      cli.process.kill('SIGINT');
      const exit = await waitForExit(cli, 10_000);
      expect(exit).toEqual({ code: 130, signal: null });
      // It left before writing the end-of-run summary.
      expect(cli.stdout()).not.toContain('smtpscope summary');
    } finally {
      for (const s of sockets) s.destroy();
      if (cli.process.exitCode === null) cli.process.kill('SIGKILL');
      await peer.close();
    }
  });

  it.skipIf(skip)(title('lists the loopback interface with -D'), () => {
    const r = spawnSync(process.execPath, [CLI, '-D'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.lo\b/m);
  });

  it.skipIf(skip)(title("refuses a bad capture filter with libpcap's message and exit code 2"), () => {
    const r = spawnSync(process.execPath, [CLI, '-i', 'lo', '-f', 'tcp port', '--no-tui'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^smtpscope: bad capture filter "tcp port": .*syntax error/m);
    expect(r.stderr).not.toContain('internal error');
  });

  it.skipIf(skip)(title('reports an unknown interface with exit code 1'), () => {
    const r = spawnSync(process.execPath, [CLI, '-i', 'nosuchif9', '--no-tui'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^smtpscope: cannot capture on nosuchif9: .*\(list interfaces with -D\)$/m);
  });

  it.skipIf(skip)(title('exits 1 instead of hanging when -Z or -w fails after the capture opened'), () => {
    const user = spawnSync(
      process.execPath,
      [CLI, '-i', 'lo', '-f', 'tcp port 9', '-Z', 'nosuchuser-smtpscope', '--no-tui'],
      {
        encoding: 'utf8',
        timeout: 20_000,
      },
    );
    expect(user.signal).toBeNull();
    expect(user.status).toBe(1);
    expect(user.stderr).toContain('smtpscope: -Z nosuchuser-smtpscope: no such user');
    const link = join(work, 'link.pcap');
    symlinkSync(join(work, 'target.pcap'), link);
    const write = spawnSync(process.execPath, [CLI, '-i', 'lo', '-f', 'tcp port 9', '-w', link, '--no-tui'], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(write.signal).toBeNull();
    expect(write.status).toBe(1);
    expect(write.stderr).toContain('it is a symbolic link');
  });
});

describe('live capture without the cap module', () => {
  beforeAll(async () => {
    await ensureCliBuilt();
  }, 150_000);

  /** A module hook that makes `import('cap')` fail, as when the addon was never built. */
  function noCapHook(): string {
    const dir = join(work, 'no-cap');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'hook.mjs'),
      "export async function resolve(specifier, context, next) {\n  if (specifier === 'cap') {\n" +
        "    throw Object.assign(new Error(\"Cannot find package 'cap'\"), { code: 'ERR_MODULE_NOT_FOUND' });\n  }\n" +
        '  return next(specifier, context);\n}\n',
    );
    writeFileSync(
      join(dir, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n",
    );
    return pathToFileURL(join(dir, 'register.mjs')).href;
  }

  it('exits 3 with the install advice for -i and -D, and still reads capture files', () => {
    const hook = noCapHook();
    for (const args of [['-i', 'lo', '--no-tui'], ['-D']]) {
      const r = spawnSync(process.execPath, ['--import', hook, CLI, ...args], {
        encoding: 'utf8',
        timeout: 20_000,
      });
      expect(r.status).toBe(3);
      expect(r.stderr).toContain(
        "smtpscope: live capture needs the optional 'cap' module built against libpcap",
      );
    }
    const file = spawnSync(
      process.execPath,
      ['--import', hook, CLI, join(import.meta.dirname, '../../captures/postfix-basic.pcap'), '--summary'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    expect(file.status).toBe(0);
    expect(file.stdout).toMatch(/Sessions: \d+/);
  });
});
