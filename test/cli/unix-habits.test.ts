/**
 * The command line behaves like the tools mail admins already use (issue: pipes, standard input, usage
 * errors, lists of files, error wording, help): each case failed before.
 */

import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { humanizeNodeMessage } from '../../src/cli/main.js';
import { builtCli } from '../helpers/built-cli.js';
import { runMain } from '../helpers/run-main.js';

const CAPTURES = join(import.meta.dirname, '../../captures');
const capture = (name: string) => join(CAPTURES, name);
const work = mkdtempSync(join(tmpdir(), 'smtpscope-habits-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Runs the built CLI, reads standard output until `keep` bytes came, then closes it (as `| head -c` does). */
function runAndCloseStdout(
  args: string[],
  keep: number,
): Promise<{ code: number | null; signal: string | null; head: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [builtCli(), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let head = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.stdout.on('data', (d: Buffer) => {
      head += d.toString('utf8');
      if (head.length >= keep) child.stdout.destroy();
    });
    child.on('close', (code, signal) => resolve({ code, signal, head, err }));
  });
}

describe('a closed standard output (| head)', () => {
  const many = join(work, 'many');
  beforeAll(() => {
    // Forty copies: every output below is far larger than a pipe's buffer.
    mkdirSync(many);
    for (let i = 0; i < 40; i++) copyFileSync(capture('postfix-rejects.pcap'), join(many, `c${i}.pcap`));
  });

  for (const args of [['transcript'], ['--json', '-'], ['--csv-commands', '-']]) {
    it(`ends the run quietly with exit 0: ${args.join(' ')}`, async () => {
      const r = await runAndCloseStdout([...args, many], 100);
      expect(r.head.length).toBeGreaterThanOrEqual(100);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
    }, 60_000);
  }
});

describe('standard input', () => {
  it('is refused at once when it is a terminal, with how to pipe a capture in, exit 2', async () => {
    for (const argv of [['-'], ['transcript', '-'], ['-r', '-']]) {
      const r = await runMain(argv, { stdinIsTty: true });
      expect(r.code).toBe(2);
      expect(r.err).toContain('standard input is a terminal; pipe a capture into it (tcpdump -w - ...)');
      expect(r.out).toBe('');
    }
  });
});

describe('usage mistakes', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'two CSV levels to standard output',
      ['--csv-sessions', '-', '--csv-commands', '-'],
      /only one output can go to standard output \('-'\), not --csv-sessions and --csv-commands/,
    ],
    ['NDJSON and CSV both to standard output', ['--json', '-', '--csv', '-'], /not --json and --csv/],
    ['--extract -', ['--extract', '-'], /--extract takes a folder for the \.eml files, not '-'/],
    [
      '--csv naming a regular file',
      ['--csv', capture('README.md')],
      /--csv takes a folder, and .*README\.md is a file/,
    ],
  ];
  for (const [name, flags, message] of cases) {
    it(`${name}: exit 2, one line and the usage hint, nothing written`, async () => {
      const cwd = process.cwd();
      process.chdir(work);
      try {
        const r = await runMain([capture('postfix-basic.pcap'), ...flags]);
        expect(r.code).toBe(2);
        expect(r.err).toMatch(message);
        expect(r.err.trim().split('\n')).toHaveLength(2);
        expect(r.err).toContain("Run 'smtpscope --help' for usage.");
        expect(r.err).not.toMatch(/internal error|\n\s+at /);
        expect(r.out).toBe('');
        expect(existsSync(join(work, '-'))).toBe(false);
      } finally {
        process.chdir(cwd);
      }
    });
  }
});

describe('a list of inputs with a bad one', () => {
  it('skips an unreadable or non-capture file with a warning, analyses the rest and exits 1', async () => {
    const notes = join(work, 'notes.txt');
    writeFileSync(notes, 'not a capture\n');
    const r = await runMain([
      capture('postfix-basic.pcap'),
      notes,
      join(work, 'missing.pcap'),
      capture('postfix-rejects.pcap'),
      '--summary',
      '--threads',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${notes}: not a pcap, pcapng or gzip file (skipped; the other inputs are analysed)`,
    );
    expect(r.err).toContain(`cannot open ${join(work, 'missing.pcap')}: no such file (skipped`);
    // postfix-basic has 2 sessions, postfix-rejects 4.
    expect(r.out).toMatch(/Sessions: 6 /);
    expect(r.out).toContain('postfix-basic.pcap (pcap), ');
  });

  it('walks sub-folders (not with --no-recurse) and reports the skipped files as one count line', async () => {
    const top = join(work, 'tree');
    mkdirSync(join(top, 'day2'), { recursive: true });
    copyFileSync(capture('postfix-basic.pcap'), join(top, 'a.pcap'));
    copyFileSync(capture('postfix-rejects.pcap'), join(top, 'day2', 'b.pcap'));
    for (const n of ['n1.txt', 'n2.txt', 'n3.txt', 'n4.txt', 'n5.txt']) writeFileSync(join(top, n), 'notes');
    const r = await runMain([top, '--summary', '--threads', '1']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Sessions: 6 /);
    const skipLines = r.err.split('\n').filter((l) => l.includes('skipped'));
    expect(skipLines).toEqual([
      `smtpscope: skipped 5 file(s) in the folder(s) given (not a pcap, pcapng or gzip file): ${join(top, 'n1.txt')}, ${join(top, 'n2.txt')}, ${join(top, 'n3.txt')} and 2 more`,
    ]);
    const flat = await runMain([top, '--no-recurse', '--summary', '--threads', '1']);
    expect(flat.out).toMatch(/Sessions: 2 /);
  });
});

describe('error messages', () => {
  it('says a missing capture and an output in a missing folder in words, without Node codes', async () => {
    const missing = await runMain(['/nonexistent.pcap']);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('smtpscope: cannot open /nonexistent.pcap: no such file\n');
    const out = await runMain([capture('postfix-basic.pcap'), '--json', '/missing/dir/x.ndjson']);
    expect(out.code).toBe(1);
    expect(out.err).toBe(
      'smtpscope: cannot write /missing/dir/x.ndjson: the folder /missing/dir does not exist\n',
    );
  });

  it('rewrites a Node error quoted in a reader message', () => {
    expect(humanizeNodeMessage("cannot open /x.pcap: EACCES: permission denied, open '/x.pcap'")).toBe(
      'cannot open /x.pcap: permission denied',
    );
    expect(humanizeNodeMessage('x.pcap: empty file')).toBe('x.pcap: empty file');
  });
});

describe('help and arguments', () => {
  it('gives each command its own help with its options and an example', async () => {
    const bounces = await runMain(['bounces', '--help']);
    expect(bounces.code).toBe(0);
    expect(bounces.out).toMatch(/^Usage: smtpscope bounces FILE\.\.\. \[--csv FILE\]/);
    expect(bounces.out).toContain('--csv DIR');
    expect(bounces.out).toContain('Examples:\n  smtpscope bounces mail.pcap');
    expect(bounces.out).not.toContain('--json');
    expect((await runMain(['help', 'bounces'])).out).toBe(bounces.out);
    const transcript = await runMain(['transcript', '--help']);
    expect(transcript.out).toContain('--session ID');
    expect(transcript.out).not.toContain('--extract');
    const flows = await runMain(['flows', '--help']);
    expect(flows.out).toContain('--write-streams ID:DIR');
    expect(flows.out).not.toContain('--session');
    const general = await runMain(['--help']);
    expect(general.out).toContain('-V, --version');
    expect(general.out).toContain('-r, --read FILE');
  });

  it('prints the version for --version and -V', async () => {
    for (const flag of ['--version', '-V']) expect((await runMain([flag])).out).toBe('smtpscope 0.1.0\n');
  });

  it('reads -r FILE as tcpdump and tshark users type it', async () => {
    const r = await runMain(['-r', capture('postfix-basic.pcap'), '--summary']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Sessions: 2 /);
  });

  it('says an unknown option in its own words, and suggests the command or option meant', async () => {
    const bogus = await runMain(['--bogus']);
    expect(bogus.code).toBe(2);
    expect(bogus.err).toBe('smtpscope: unknown option --bogus (see smtpscope --help)\n');
    expect((await runMain(['--jsno', '-'])).err).toContain('unknown option --jsno; did you mean --json?');
    const typo = await runMain(['bounce', 'x.pcap']);
    expect(typo.code).toBe(2);
    expect(typo.err).toContain("unknown command 'bounce'; did you mean bounces?");
    const noValue = await runMain(['--json']);
    expect(noValue.err).toContain('--json needs a value (FILE)');
  });
});
