/**
 * `node dist-harness/test/harness/adversarial/generate.js OUTDIR [--scale F]`: writes the adversarial captures into OUTDIR.
 *
 *   syn-flood.pcap            1,000,000 SYNs from distinct clients
 *   long-line.pcap            a 100 MB line with no line ending
 *   out-of-order.pcap         48 connections each sending 3 MiB beyond a hole that never fills (144 MiB)
 *   overlap.pcap              1000 RCPTs each retransmitted with conflicting bytes
 *   pipelined.pcap            10,000 pipelined commands the server never answers
 *   bdat-4g.pcap              BDAT announcing 4294967296 octets, 32 MiB sent
 *   pcap-length-{zero,huge,past-end}.pcap       records whose lengths lie
 *   pcapng-length-{zero,huge,past-end}.pcapng   blocks whose lengths lie
 *
 * Each holds one intact SMTP session (192.0.2.200:41000 → 198.51.100.25:25, two accepted recipients).
 * Everything is streamed to disk; nothing is held in memory. `--scale F` (0 < F <= 1) shrinks the sizes.
 */

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  type LengthLie,
  writeBdat4g,
  writeLengthLie,
  writeLongLine,
  writeOutOfOrder,
  writeOverlap,
  writePipelined,
  writeSynFlood,
} from './scenarios.js';

export function generateAll(outDir: string, scale = 1, log: (line: string) => void = () => {}): void {
  mkdirSync(outDir, { recursive: true });
  const n = (full: number, least: number) => Math.max(least, Math.round(full * scale));
  const step = (name: string, write: (path: string) => void) => {
    const t0 = Date.now();
    write(join(outDir, name));
    log(`${name} (${Date.now() - t0} ms)`);
  };
  step('syn-flood.pcap', (p) => writeSynFlood(p, { connections: n(1_000_000, 100) }));
  step('long-line.pcap', (p) => writeLongLine(p, { bytes: n(100 * 1024 * 1024, 10_000) }));
  step('out-of-order.pcap', (p) =>
    writeOutOfOrder(p, { connections: n(48, 2), bytesPerConnection: n(3 * 1024 * 1024, 10_000) }),
  );
  step('overlap.pcap', (p) => writeOverlap(p, { repeats: n(1000, 10) }));
  step('pipelined.pcap', (p) => writePipelined(p, { commands: n(10_000, 1_100) }));
  step('bdat-4g.pcap', (p) => writeBdat4g(p, { bytesSent: n(32 * 1024 * 1024, 10_000) }));
  for (const lie of ['zero', 'huge', 'past-end'] as LengthLie[]) {
    step(`pcap-length-${lie}.pcap`, (p) => writeLengthLie(p, 'pcap', lie));
    step(`pcapng-length-${lie}.pcapng`, (p) => writeLengthLie(p, 'pcapng', lie));
  }
}

const USAGE = 'usage: node dist-harness/test/harness/adversarial/generate.js OUTDIR [--scale F]\n';

function main(argv: readonly string[]): number {
  let parsed: { values: { scale?: string | undefined }; positionals: string[] };
  try {
    parsed = parseArgs({ args: [...argv], options: { scale: { type: 'string' } }, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const outDir = positionals[0];
  if (outDir === undefined) {
    process.stderr.write(USAGE);
    return 2;
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!(scale > 0 && scale <= 1)) {
    process.stderr.write(`--scale must be in (0, 1], not ${values.scale}\n`);
    return 2;
  }
  generateAll(outDir, scale, (line) => process.stdout.write(`${line}\n`));
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  process.exitCode = main(process.argv.slice(2));
}
