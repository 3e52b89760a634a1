/**
 * The limit flags that reach the assembler and the session model: --max-buffer-per-conn-mb (out-of-order
 * bytes buffered per direction of a connection) and --max-header-kb (header bytes parsed for the message
 * summary), from the command line to what the analysis does.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generalHelp } from '../../src/cli/help.js';
import { analyzerConfig } from '../../src/cli/main.js';
import { parseCli, UsageError } from '../../src/cli/options.js';
import { DEFAULT_SESSION_LIMITS } from '../../src/model/session-builder.js';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';
import { DEFAULT_ASSEMBLER_OPTIONS } from '../../src/reassembly/options.js';
import { createCaptureWriter } from '../harness/adversarial/capture-writer.js';
import { ipv4, TcpConversation } from '../harness/adversarial/frames.js';
import { writeOutOfOrder } from '../harness/adversarial/scenarios.js';

const work = mkdtempSync(join(tmpdir(), 'smtpscope-limit-flags-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const encoder = new TextEncoder();

/** One session whose message has a header of `fillerLines` 100-byte lines, then a Subject, then a body. */
function writeLongHeaderCapture(path: string, fillerLines: number): void {
  const w = createCaptureWriter(path, 'pcap');
  const c = new TcpConversation(ipv4('192.0.2.30'), 40_030, ipv4('198.51.100.25'), 25);
  let ts = 1_700_000_000_000_000;
  for (const f of c.handshake()) w.packet(f, ts++);
  const say = (fromClient: boolean, text: string) => {
    const bytes = encoder.encode(text);
    for (let i = 0; i < bytes.length; i += 1400)
      w.packet(c.send(fromClient, bytes.subarray(i, i + 1400)), ts++);
  };
  say(false, '220 mx ESMTP\r\n');
  say(true, 'EHLO c.example\r\n');
  say(false, '250 mx\r\n');
  say(true, 'MAIL FROM:<a@example.org>\r\n');
  say(false, '250 Ok\r\n');
  say(true, 'RCPT TO:<b@example.net>\r\n');
  say(false, '250 Ok\r\n');
  say(true, 'DATA\r\n');
  say(false, '354 go\r\n');
  const filler = `X-Filler: ${'f'.repeat(88)}\r\n`; // 100 bytes
  say(true, `From: <a@example.org>\r\n${filler.repeat(fillerLines)}Subject: late\r\n\r\nbody\r\n.\r\n`);
  say(false, '250 Ok queued\r\n');
  say(true, 'QUIT\r\n');
  say(false, '221 Bye\r\n');
  for (const f of c.close()) w.packet(f, ts++);
  w.close();
}

describe('limit flags', () => {
  it('parses --max-buffer-per-conn-mb and --max-header-kb into bytes, and lists them in the usage text', () => {
    const o = parseCli(['a.pcap', '--max-buffer-per-conn-mb', '2', '--max-header-kb', '8']);
    expect(o.maxBufferPerDirectionBytes).toBe(2 * 1024 * 1024);
    expect(o.maxHeaderBytes).toBe(8 * 1024);
    const config = analyzerConfig(o, []);
    expect(config.assembler?.maxBufferedBytesPerDirection).toBe(2 * 1024 * 1024);
    expect(config.session?.maxHeaderBytes).toBe(8 * 1024);

    const plain = parseCli(['a.pcap']);
    expect(plain.maxBufferPerDirectionBytes).toBeNull();
    expect(plain.maxHeaderBytes).toBeNull();
    expect(analyzerConfig(plain, []).assembler).not.toHaveProperty('maxBufferedBytesPerDirection');
    expect(analyzerConfig(plain, []).session).not.toHaveProperty('maxHeaderBytes');
    expect(DEFAULT_ASSEMBLER_OPTIONS.maxBufferedBytesPerDirection).toBe(4 * 1024 * 1024);
    expect(DEFAULT_SESSION_LIMITS.maxHeaderBytes).toBe(DEFAULT_SESSION_LIMITS.messageKeepBytes);

    for (const flag of ['--max-buffer-per-conn-mb', '--max-header-kb']) {
      expect(generalHelp()).toContain(flag);
      expect(() => parseCli(['a.pcap', flag, '0'])).toThrow(UsageError);
      expect(() => parseCli(['a.pcap', flag, 'big'])).toThrow('takes a whole number');
    }
  });

  it('--max-buffer-per-conn-mb turns a hole into a gap once a direction buffers that much', async () => {
    const path = join(work, 'out-of-order.pcap');
    writeOutOfOrder(path, { connections: 2, bytesPerConnection: 1536 * 1024 });
    const run = async (argv: string[]) => {
      const o = parseCli([path, ...argv]);
      return (await analyzeToArray(analyzerConfig(o, [{ kind: 'file', path }]))).summary.stats.assembler;
    };
    const defaults = await run([]);
    expect(defaults.limitHits.perDirection).toBe(0);
    const limited = await run(['--max-buffer-per-conn-mb', '1']);
    expect(limited.limitHits.perDirection).toBeGreaterThanOrEqual(2);
  });

  it('--max-header-kb cuts a longer header there and marks the summary truncated', async () => {
    const path = join(work, 'long-header.pcap');
    writeLongHeaderCapture(path, 30); // a header of about 3 KiB, the Subject at its end
    const summaryOf = async (argv: string[]) => {
      const o = parseCli([path, ...argv]);
      const { sessions } = await analyzeToArray(analyzerConfig(o, [{ kind: 'file', path }]));
      expect(sessions).toHaveLength(1);
      return sessions[0]!.transactions[0]!.message;
    };
    const full = await summaryOf([]);
    expect(full?.subject).toBe('late');
    expect(full?.from).toBe('a@example.org');
    expect(full?.truncated).toBe(false);
    const cut = await summaryOf(['--max-header-kb', '2']);
    expect(cut?.from).toBe('a@example.org');
    expect(cut?.subject).toBeNull();
    expect(cut?.truncated).toBe(true);
    // A header that fits the limit is read whole.
    const fits = await summaryOf(['--max-header-kb', '4']);
    expect(fits?.subject).toBe('late');
    expect(fits?.truncated).toBe(false);
  });
});
