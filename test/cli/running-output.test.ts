import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtCli } from '../helpers/built-cli.js';

const CAPTURE = join(import.meta.dirname, '../../captures/postfix-rejects.pcap');

describe('a live run without the dashboard (a capture piped in, --no-tui)', () => {
  it('says what it reads, prints one line per session as it ends, and the summary at the end', async () => {
    const bytes = readFileSync(CAPTURE);
    const child = spawn(process.execPath, [builtCli(), '-', '--no-tui', '--ports', '25,2525'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    const firstLine = new Promise<string>((resolve) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        if (out.includes('\n')) resolve(out);
      });
    });
    // The first two thirds of the capture (the first session ends well inside them); the rest only after
    // the first session's line came: the line is printed as the session ends, not at the end of the input.
    child.stdin.write(bytes.subarray(0, Math.floor((bytes.length * 2) / 3)));
    const early = await firstLine;
    expect(early).not.toContain('smtpscope summary');
    child.stdin.end(bytes.subarray(Math.floor((bytes.length * 2) / 3)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(err).toBe('smtpscope: reading standard input; one line per session as it ends\n');
    const lines = out.split('\n');
    // The four sessions of postfix-rejects.pcap (captures/postfix-rejects.swaks.txt), as they ended.
    expect(lines.slice(0, 4)).toEqual([
      '18:14:18.860335 C000001 127.0.0.1:35226 -> 127.0.0.1:25 quit: 1 message(s), 0 delivered, 1 failed: mail 554 5.7.1',
      '18:14:19.218572 C000002 127.0.0.1:35242 -> 127.0.0.1:25 quit: 1 message(s), 2 delivered, 2 failed: nosuchuser@localhost 550 5.1.1, greylist@sink.test 450 4.2.0',
      '18:14:19.578053 C000003 127.0.0.1:35254 -> 127.0.0.1:25 quit: 1 message(s), 0 delivered, 1 failed: bob@sink.test 552 5.3.4',
      '18:14:20.039806 C000004 127.0.0.1:58258 -> 127.0.0.1:2525 quit: 1 message(s), 0 delivered, 1 failed: mail 530 5.7.0',
    ]);
    expect(lines[4]).toBe('smtpscope summary: stdin (pcap)');
  }, 60_000);
});
