/**
 * The pcap-filter subset against tcpdump itself: for each expression, the packets of a capture the subset accepts
 * are the packets `tcpdump -r FILE EXPR` prints (every packet of these captures is TCP).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { openFileSource } from '../../src/capture/open-file.js';
import { createPacketDecoder } from '../../src/decode/packet-decoder.js';
import { BpfError, compileBpf } from '../../src/query/bpf.js';

const capture = (name: string) => new URL(`../../captures/${name}`, import.meta.url).pathname;
const hasTcpdump = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' }).status === 0;

async function ours(file: string, expr: string): Promise<number> {
  const accept = compileBpf(expr);
  const decoder = createPacketDecoder({ ports: null });
  const source = await openFileSource(file);
  let n = 0;
  await source.forEach((packet) => {
    if (decoder.decodeSegment(packet) && accept(decoder.segment)) n++;
  });
  return n;
}

function tcpdumps(file: string, expr: string): number {
  const out = execFileSync('tcpdump', ['-nn', '-r', file, expr], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter((l) => l !== '').length;
}

const CASES: [string, string][] = [
  ['bounce-dsn.pcap', 'port 2590'],
  ['bounce-dsn.pcap', 'tcp and dst port 25'],
  ['bounce-dsn.pcap', 'src port 2590 or dst port 25'],
  ['bounce-dsn.pcap', 'not port 25 and !(port 2590)'],
  ['bounce-dsn.pcap', 'host 127.0.0.1 and (port 25 || port 2590)'],
  ['bounce-dsn.pcap', 'net 127.0.0.0/8 and portrange 2500-2600'],
  ['bounce-dsn.pcap', 'src net 127 and dst net 10.0.0.0 mask 255.0.0.0'],
  ['bounce-dsn.pcap', 'ip6 or udp'],
  ['ipv6.pcap', 'ip6 and host ::1 and dst port 25'],
  ['ipv6.pcap', 'ip'],
  ['postfix-basic.pcap', 'port 25 or 2590'],
];

describe('pcap filter subset', () => {
  it.skipIf(!hasTcpdump).each(CASES)('%s: %s selects what tcpdump selects', async (file, expr) => {
    const want = tcpdumps(capture(file), expr);
    expect(await ours(capture(file), expr)).toBe(want);
  });

  it('refuses what it does not support, naming it', () => {
    for (const bad of [
      'host',
      'port x',
      'foo',
      '(port 25',
      'port 25 port 26',
      'host example.org',
      'net 10.0.0.0/33',
    ]) {
      expect(() => compileBpf(bad), bad).toThrow(BpfError);
    }
    expect(compileBpf('')({} as never)).toBe(true);
  });
});
