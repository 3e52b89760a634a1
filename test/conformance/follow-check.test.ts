import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SMTP_PORTS } from '../../src/reassembly/options.js';
import { followCheckFile } from '../harness/conformance/follow-check.js';

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const tshark = hasTshark();

// The full cross-check over captures/ and the peer folder runs in .ci/conformance; this test checks
// the repository's own captures with known outcomes.
describe.skipIf(!tshark)('follow-check (needs tshark; skipped when it is not installed)', () => {
  it('reassembles a clean Postfix capture byte for byte like tshark', async () => {
    const r = await followCheckFile('captures/postfix-basic.pcap', 'postfix-basic', DEFAULT_SMTP_PORTS);
    expect(r.error).toBeNull();
    expect(r.flows).toBeGreaterThan(0);
    expect(r.differences).toEqual([]);
  }, 60_000);

  it('reassembles the pipelining pcapng capture byte for byte like tshark', async () => {
    const r = await followCheckFile(
      'captures/nodemailer-pipelining.pcapng',
      'pipelining',
      DEFAULT_SMTP_PORTS,
    );
    expect(r.error).toBeNull();
    expect(r.differences).toEqual([]);
  }, 60_000);

  it('differs from tshark only in the client stream of the capture with a lost segment', async () => {
    const r = await followCheckFile('captures/lossy-gap.pcap', 'lossy-gap', DEFAULT_SMTP_PORTS);
    expect(r.error).toBeNull();
    expect(r.differences.map((d) => d.direction)).toEqual(['c2s']);
    expect(r.differences[0]?.detail).toContain('first difference at offset 15525');
  }, 60_000);
});
