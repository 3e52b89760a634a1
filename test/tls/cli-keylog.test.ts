import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzerConfig } from '../../src/cli/main.js';
import { parseCli } from '../../src/cli/options.js';
import { runMain } from '../helpers/run-main.js';

const SECRET = 'c3'.repeat(48);

describe('--tls-keylog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smtpscope-cli-keys-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is repeatable and reaches the analyzer config (followed only for live capture)', () => {
    const options = parseCli(['x.pcap', '--tls-keylog', 'a.keys', '--tls-keylog', 'b.keys']);
    expect(options.tlsKeyLogs).toEqual(['a.keys', 'b.keys']);
    expect(analyzerConfig(options, []).tls).toEqual({ keyLogFiles: ['a.keys', 'b.keys'], follow: false });
    expect(analyzerConfig(parseCli(['x.pcap']), []).tls).toEqual({ keyLogFiles: [], follow: false });
  });

  it('a missing key log: exit 1 naming the file', async () => {
    const result = await runMain([
      'captures/postfix-basic.pcap',
      '--summary',
      '--tls-keylog',
      join(dir, 'missing.keys'),
    ]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/missing\.keys/);
  });

  it('malformed lines are reported by line number and reason, never with their secret; the analysis runs', async () => {
    const path = join(dir, 'bad.keys');
    writeFileSync(
      path,
      `# comment\nCLIENT_RANDOM ${'a1'.repeat(32)} ${SECRET}\nCLIENT_RANDOM zz ${SECRET}\n`,
    );
    const result = await runMain(['captures/postfix-basic.pcap', '--summary', '--tls-keylog', path]);
    expect(result.code).toBe(0);
    expect(result.err).toContain(
      `${path}: TLS key log line 3 ignored: CLIENT_RANDOM: client random is not 32 hex bytes`,
    );
    expect(result.err + result.out).not.toContain(SECRET.slice(0, 12));
  });
});
