import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listPeerCaptures } from '../harness/conformance/peer-captures.js';

const root = mkdtempSync(join(tmpdir(), 'peer-captures-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function file(path: string, text = ''): void {
  mkdirSync(join(root, path, '..'), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('peer-captures', () => {
  it('ties Zeek logs to captures through the index, lists the others, reports Suricata tests without their pcap', async () => {
    file(
      'INDEX.md',
      [
        '### zeek (zeek/zeek)',
        '| `a.pcap` | x | t.a__smtp.log, t.a__conn.log |',
        '| `b.pcap` | x | - |',
        '### suricata-verify (OISF/suricata-verify)',
        '| `s1__input.pcap` | x | s1__test.yaml |',
      ].join('\n'),
    );
    file('zeek/a.pcap');
    file('zeek/b.pcap');
    file('zeek/t.a__smtp.log');
    file('zeek/t.a__conn.log');
    file('zeek/t.new__smtp.log');
    file('suricata-verify/s1__input.pcap');
    file('suricata-verify/s1__test.yaml', 'checks: []\n');
    file('suricata-verify/s2__test.yaml', 'pcap: ../gone/input.pcap\nchecks: []\n');
    const folder = await listPeerCaptures(root);
    const a = folder.captures.find((c) => c.name === 'zeek/a.pcap');
    expect(a?.zeekLogs.map((p) => p.slice(root.length))).toEqual(['/zeek/t.a__smtp.log']);
    expect(a?.zeekConnLogs.map((p) => p.slice(root.length))).toEqual(['/zeek/t.a__conn.log']);
    expect(folder.unmappedZeekLogs.map((p) => p.slice(root.length))).toEqual(['/zeek/t.new__smtp.log']);
    expect(
      folder.captures.find((c) => c.name === 'suricata-verify/s1__input.pcap')?.suricataTests,
    ).toHaveLength(1);
    expect(folder.problems).toEqual([
      'suricata-verify/s2__test.yaml reads gone__input.pcap, which is not in the folder: its checks are not run',
    ]);
  });
});
