/**
 * Key material that becomes known only while an input is read (a pcapng Decryption Secrets Block, as
 * `editcap --inject-secrets` writes it) must reach the connections whose TLS starts afterwards: the SMTP options
 * are resolved once per input, before its first block is read, so the analysis may not decide "no keys" then.
 */

import { describe, expect, it } from 'vitest';
import { analyzeToArray } from '../../src/pipeline/analyzer.js';

async function sessionsOf(file: string) {
  const { sessions } = await analyzeToArray({
    inputs: [{ kind: 'file', path: `captures/${file}` }],
    ports: new Set([2527]),
  });
  return sessions.map((s) => ({
    status: s.tls?.decryption?.kind ?? null,
    encryptedVerbs: s.commands.filter((c) => c.encrypted === true).map((c) => c.verb),
  }));
}

describe('keys carried by the capture itself', () => {
  it('a secrets block read after the options were resolved still decrypts the sessions that follow it', async () => {
    // tls-injected-secrets.pcapng is tls-postfix-preload.pcap with that capture's key log injected: two
    // Postfix sessions, each EHLO, MAIL, RCPT, RCPT, DATA, end of data... inside TLS (captures/README.md).
    const sessions = await sessionsOf('tls-injected-secrets.pcapng');
    expect(sessions).toHaveLength(2);
    for (const s of sessions) {
      expect(s.status).toBe('decrypted');
      expect(s.encryptedVerbs).toContain('MAIL');
    }
  });

  it('the same capture without its keys (plain pcap, no key log) carries no decryption status at all', async () => {
    const sessions = await sessionsOf('tls-postfix-preload.pcap');
    expect(sessions).toHaveLength(2);
    for (const s of sessions) expect(s).toEqual({ status: null, encryptedVerbs: [] });
  });
});
