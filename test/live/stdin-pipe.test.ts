/**
 * Standard input as a capture that does not end: the built CLI reads a pipe whose writer stays open, and a
 * SIGINT must stop it at once (keeping what it read), not when the next bytes or the end of input come. The
 * second test runs the documented `tcpdump -U -w - -i lo ... | smtpscope -` pipe against smtp-server on
 * 127.0.0.1 and compares the sessions with what the server saw; it needs root and tcpdump, and skips without.
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { builtCli, ROOT } from '../helpers/built-cli.js';
import { buildPcapRecord, concatBytes } from '../helpers/pcap-builder.js';
import {
  dialogueOf,
  type PeerSession,
  replyLine,
  sendWithNodemailer,
  startSmtpPeer,
} from '../helpers/smtp-peers.js';

const work = mkdtempSync(join(tmpdir(), 'smtpscope-stdin-pipe-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
const isRoot = process.getuid?.() === 0;
const tcpdumpSkip = !isRoot
  ? 'skipped: capturing on lo needs root'
  : !hasTcpdump
    ? 'skipped: tcpdump is not installed'
    : null;

// The NDJSON documents are checked against docs/JSON.md names; a loose shape keeps it short.
type Doc = any;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Milliseconds from `since` to the exit. */
  readonly afterMs: number;
}

interface Child {
  readonly process: ChildProcess;
  stdout(): string;
  stderr(): string;
  exited(since: number): Promise<Exit>;
}

/** Starts a process; its standard output is collected, unless it goes to `stdout` (another process's input). */
function startChild(
  command: string,
  args: readonly string[],
  stdin: 'pipe' | 'ignore',
  stdout?: Writable,
): Child {
  const child = spawn(command, args, { stdio: [stdin, stdout ?? 'pipe', 'pipe'], cwd: ROOT });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (t: string) => {
    out += t;
  });
  child.stderr?.setEncoding('utf8').on('data', (t: string) => {
    err += t;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() }));
  });
  return {
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited: (since) => exit.then((e) => ({ code: e.code, signal: e.signal, afterMs: e.at - since })),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, ready: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

function readNdjson(path: string): Doc[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Doc);
}

describe('standard input that does not end', () => {
  it('stops on SIGINT at once, keeping the sessions already read', async () => {
    const json = join(work, 'stdin.ndjson');
    const capture = readFileSync(join(ROOT, 'captures', 'postfix-basic.pcap'));
    // After the SMTP packets, 1 MiB of frames the decoder skips (a local-experimental ethertype): once the pipe
    // has taken the last byte, the reader is far past the SMTP packets (a pipe buffers 64 KiB).
    const seconds = capture.readUInt32LE(24) + 10;
    const skipped = new Uint8Array(1400);
    skipped.set([0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x88, 0xb5], 0);
    const filler = Array.from({ length: 750 }, (_, i) =>
      buildPcapRecord('le', { seconds, fraction: i, data: skipped }),
    );
    const cli = startChild(process.execPath, [builtCli(), '-', '--no-tui', '--json', json], 'pipe');
    try {
      const stdin = cli.process.stdin;
      if (stdin === null) throw new Error('no standard input pipe');
      // The whole capture, then the writer stays open and silent.
      await new Promise<void>((resolve, reject) =>
        stdin.write(concatBytes(capture, ...filler), (error) => (error ? reject(error) : resolve())),
      );
      // An input that may never end appends each session as it closes: both are on disk before any stop.
      await waitFor(
        'both sessions in the NDJSON file while the pipe is open',
        () => readNdjson(json).length === 2,
        5000,
      );
      const signalled = Date.now();
      cli.process.kill('SIGINT');
      const exit = await Promise.race([cli.exited(signalled), sleep(10_000).then(() => null)]);
      expect(exit, `still running 10 s after SIGINT; stderr: ${cli.stderr()}`).not.toBeNull();
      expect(exit?.code).toBe(0);
      expect(exit?.afterMs).toBeLessThan(5000);
      expect(cli.stderr()).toContain('SIGINT: stopping');
      expect(cli.stdout()).toMatch(/Sessions: 2 {3}transactions: 2/);
      // Drops upstream of a pipe are unknown: n/a, never 0.
      expect(cli.stdout()).toMatch(/dropped +n\/a/);
      expect(readNdjson(json)).toHaveLength(2);
    } finally {
      cli.process.stdin?.destroy();
      if (cli.process.exitCode === null) cli.process.kill('SIGKILL');
    }
  }, 60_000);

  it('stops on SIGINT at once when the pipe has not sent a byte yet', async () => {
    const cli = startChild(process.execPath, [builtCli(), '-', '--no-tui'], 'pipe');
    try {
      // Started, its standard input open and silent (as `tcpdump ... | smtpscope -` before the first packet).
      await waitFor('the CLI to start', () => cli.process.pid !== undefined, 5000);
      // Signalled once it says it is reading (said after its signal handlers are in place; a fixed delay lost
      // the race on a loaded machine, and SIGINT's default action ended it with no summary).
      await waitFor(
        'the CLI to say it is reading',
        () => cli.stderr().includes('reading standard input'),
        20_000,
      );
      const signalled = Date.now();
      cli.process.kill('SIGINT');
      const exit = await Promise.race([cli.exited(signalled), sleep(10_000).then(() => null)]);
      expect(exit, `still running 10 s after SIGINT; stderr: ${cli.stderr()}`).not.toBeNull();
      expect(exit?.code).toBe(0);
      expect(exit?.afterMs).toBeLessThan(3000);
      expect(cli.stdout()).toMatch(/Sessions: 0/);
    } finally {
      cli.process.stdin?.destroy();
      if (cli.process.exitCode === null) cli.process.kill('SIGKILL');
    }
  }, 30_000);

  it.skipIf(tcpdumpSkip !== null)(
    `reads a tcpdump -U pipe from the loopback interface live and stops on SIGINT${tcpdumpSkip === null ? '' : ` [${tcpdumpSkip}]`}`,
    async () => {
      const bin = builtCli();
      const peer = await startSmtpPeer({ starttls: false, reject: (a) => a.startsWith('nobody') });
      const json = join(work, 'tcpdump.ndjson');
      // `tcpdump ... | smtpscope -`: tcpdump writes into smtpscope's standard input pipe. This process keeps the
      // pipe's write end open too, so smtpscope's input never ends: only the signal can stop it.
      const cli = startChild(
        process.execPath,
        [bin, '-', '--no-tui', '--ports', String(peer.port), '--json', json],
        'pipe',
      );
      let tcpdump: Child | null = null;
      try {
        const into = cli.process.stdin;
        if (into === null) throw new Error('no standard input pipe');
        tcpdump = startChild(
          'tcpdump',
          ['-U', '-w', '-', '-i', 'lo', '-s', '0', `tcp port ${peer.port}`],
          'ignore',
          into,
        );
        const dump = tcpdump;
        await waitFor('tcpdump to listen', () => /listening on/.test(dump.stderr()), 15_000);
        await sendWithNodemailer(
          peer,
          [
            {
              from: 'one@client.test',
              to: ['bob@peer.test', 'nobody@peer.test'],
              subject: 'a',
              text: 'first',
            },
            { from: 'two@client.test', to: ['carol@peer.test'], subject: 'b', text: 'second\r\n.dot\r\n' },
          ],
          { pool: true, starttls: false },
        );
        await sendWithNodemailer(
          peer,
          [{ from: 'three@client.test', to: ['dave@peer.test'], subject: 'c', text: 'third' }],
          { pool: false, starttls: false },
        );
        await peer.waitForClosed(2, 15_000);
        // tcpdump -U writes each packet as it comes; give the last ACKs and the reader a moment.
        await sleep(1000);
        const signalled = Date.now();
        cli.process.kill('SIGINT');
        const exit = await Promise.race([cli.exited(signalled), sleep(10_000).then(() => null)]);
        expect(exit, `still running 10 s after SIGINT; stderr: ${cli.stderr()}`).not.toBeNull();
        expect(exit?.code, cli.stderr()).toBe(0);
        expect(exit?.afterMs).toBeLessThan(5000);

        const docs = readNdjson(json);
        expect(docs).toHaveLength(peer.sessions.length);
        const docOf = (s: PeerSession): Doc => {
          const doc = docs.find((d) => d.source.port === s.clientPort && d.destination.port === peer.port);
          if (doc === undefined) throw new Error(`no session for client port ${s.clientPort}`);
          return doc;
        };
        for (const s of peer.sessions) {
          const doc = docOf(s);
          expect(dialogueOf(doc)).toEqual(s.lines);
          expect(doc.smtp.close_reason).toBe('fin');
          expect(doc.smtp.quality.gaps).toBe(0);
          expect(
            doc.smtp.transactions.map((t: Doc) => ({
              mailFrom: t.mail_from,
              recipients: t.recipients.map((p: Doc) => ({
                address: p.address,
                code: p.rcpt_reply.code,
                reply: replyLine(p.rcpt_reply),
              })),
              messageBytes: t.size_bytes,
            })),
          ).toEqual(s.transactions);
        }
      } finally {
        if (cli.process.exitCode === null) cli.process.kill('SIGKILL');
        cli.process.stdin?.destroy();
        if (tcpdump !== null && tcpdump.process.exitCode === null) {
          tcpdump.process.kill('SIGTERM');
          await Promise.race([tcpdump.exited(Date.now()), sleep(5000)]);
          if (tcpdump.process.exitCode === null) tcpdump.process.kill('SIGKILL');
        }
        await peer.close();
      }
    },
    90_000,
  );
});
