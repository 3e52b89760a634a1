/**
 * One timed measurement, run in a child process of its own so that its peak memory is its own:
 *
 *   node dist-harness/test/harness/bench/measure.js <mode> <capture file> [<output dir> [<key log> | -]]
 *
 * Prints one JSON line: `{ mode, ms, packets, sessions, maxRssBytes }`. `ms` covers the work only (not Node's
 * start-up or module loading; in the threaded modes it includes starting the workers); `maxRssBytes` is the
 * process's peak resident set size (getrusage ru_maxrss), which counts the workers' memory too.
 *
 * With a fourth argument (the TLS row), the analysis modes also count what they found (`tls`: sessions
 * decrypted, transactions, recipients), so that the clear and the decrypted runs can be seen to hold the same
 * sessions; a key log path is given to the analysis as `--tls-keylog` is, `-` means none.
 */

import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openFileSource } from '../../../src/capture/open-file.js';
import { createPacketDecoder } from '../../../src/decode/packet-decoder.js';
import type { Sink } from '../../../src/model/sink.js';
import { createAnalyzer } from '../../../src/pipeline/analyzer.js';
import { tuneHeapGrowth } from '../../../src/pipeline/memory-budget.js';
import { runPacketLoop } from '../../../src/pipeline/packet-loop.js';
import { createParallelAnalyzer } from '../../../src/pipeline/parallel.js';
import { createAssembler } from '../../../src/reassembly/assembler.js';
import { DEFAULT_SMTP_PORTS } from '../../../src/reassembly/options.js';
import type { StreamHandler, StreamHandlerFactory } from '../../../src/reassembly/types.js';
import { createCsvSink } from '../../../src/report/csv-sink.js';
import { createJsonSink } from '../../../src/report/json-sink.js';
import { createSummaryAggregator } from '../../../src/text/summary.js';
import { walkCaptureHeaders } from './header-walk.js';

export const MEASURE_MODES = [
  'read',
  'walk',
  'reassemble',
  'full',
  'csv',
  'ndjson',
  'threads',
  'csv-threads',
  'files-threads',
] as const;
export type MeasureMode = (typeof MEASURE_MODES)[number];

export interface Measurement {
  readonly mode: string;
  readonly ms: number;
  readonly packets: number;
  readonly sessions: number;
  readonly maxRssBytes: number;
  /** CPU time of the process (user + system, every thread) over the same span as `ms` (Node modes). */
  readonly cpuMs?: number;
  /** With a TLS argument, in the analysis modes. */
  readonly tls?: TlsCounts;
}

export interface TlsCounts {
  readonly decrypted: number;
  readonly transactions: number;
  readonly recipients: number;
}

/** The TLS argument of a measurement: the key log to decrypt with, or null for none (the "no key" run). */
export interface TlsArgument {
  readonly keyLog: string | null;
}

/** Counts the sessions decrypted and the transactions and recipients seen; reads no message. */
function createTlsCounter(): Sink & { counts(): TlsCounts } {
  let decrypted = 0;
  let transactions = 0;
  let recipients = 0;
  return {
    name: 'tls-counter',
    readsMessages: false,
    sessionClosed(session) {
      if (session.tls.mode !== 'none' && session.tls.decryption?.kind === 'decrypted') decrypted++;
      transactions += session.transactions.length;
      for (const t of session.transactions) recipients += t.recipients.length;
    },
    close: async () => {},
    counts: () => ({ decrypted, transactions, recipients }),
  };
}

function plainRead(path: string): number {
  const fd = openSync(path, 'r');
  const buffer = new Uint8Array(1024 * 1024);
  let total = 0;
  for (;;) {
    const n = readSync(fd, buffer, 0, buffer.length, null);
    if (n === 0) break;
    total += n;
  }
  closeSync(fd);
  return total;
}

/** A handler that takes every byte and keeps nothing: reassembly cost without SMTP decoding. */
const NULL_HANDLER: StreamHandler = {
  onData() {},
  onGap() {},
  onClose() {},
};
const NULL_FACTORY: StreamHandlerFactory = { create: () => NULL_HANDLER };

async function reassembleOnly(path: string): Promise<{ packets: number; sessions: number }> {
  const source = await openFileSource(path);
  const decoder = createPacketDecoder({ ports: DEFAULT_SMTP_PORTS });
  const assembler = createAssembler(NULL_FACTORY, { ports: DEFAULT_SMTP_PORTS });
  await runPacketLoop(source, decoder, assembler);
  assembler.flushAll('end-of-capture');
  await source.close();
  return { packets: source.stats().packets, sessions: assembler.stats().totalFlows };
}

async function analyze(
  path: string,
  mode: 'full' | 'csv' | 'ndjson' | 'threads' | 'csv-threads' | 'files-threads',
  outDir: string,
  tls: TlsArgument | null,
): Promise<{ packets: number; sessions: number; tls?: TlsCounts }> {
  const summary = createSummaryAggregator();
  const sinks: Sink[] = [summary];
  const counter = tls === null ? null : createTlsCounter();
  if (counter !== null) sinks.push(counter);
  if (mode === 'csv' || mode === 'csv-threads') {
    mkdirSync(join(outDir, 'csv'), { recursive: true });
    sinks.push(createCsvSink({ dir: join(outDir, 'csv') }));
  } else if (mode === 'ndjson') {
    mkdirSync(outDir, { recursive: true });
    sinks.push(createJsonSink({ path: join(outDir, 'sessions.ndjson') }));
  }
  const input = { kind: 'file' as const, path };
  // The threaded modes split the one file between a worker per core, whatever its size, or (files-threads)
  // analyse as many copies of it as there are cores, one input per worker.
  const copies = mode === 'files-threads' ? availableParallelism() : 1;
  const config = {
    inputs: Array.from({ length: copies }, () => input),
    ...(tls === null || tls.keyLog === null ? {} : { tls: { keyLogFiles: [tls.keyLog], follow: false } }),
  };
  const analyzer =
    mode === 'full' || mode === 'csv' || mode === 'ndjson'
      ? createAnalyzer(config, sinks)
      : createParallelAnalyzer(config, sinks, { shards: availableParallelism(), shardMinBytes: 0 });
  const result = await analyzer.run();
  summary.format(result);
  const counts = { packets: result.stats.source.packets, sessions: result.stats.sessionsClosed };
  return counter === null ? counts : { ...counts, tls: counter.counts() };
}

export async function measure(
  mode: MeasureMode,
  path: string,
  outDir: string,
  tls: TlsArgument | null = null,
): Promise<Measurement> {
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  let packets = 0;
  let sessions = 0;
  let tlsCounts: TlsCounts | undefined;
  switch (mode) {
    case 'read':
      plainRead(path);
      break;
    case 'walk': {
      const walk = walkCaptureHeaders(path, DEFAULT_SMTP_PORTS);
      packets = walk.packets;
      break;
    }
    case 'reassemble':
      ({ packets, sessions } = await reassembleOnly(path));
      break;
    case 'full':
    case 'csv':
    case 'ndjson':
    case 'threads':
    case 'csv-threads':
    case 'files-threads':
      ({ packets, sessions, tls: tlsCounts } = await analyze(path, mode, outDir, tls));
      break;
  }
  // files-threads reports the time per copy, so that its row compares with the others.
  const ms = (performance.now() - started) / (mode === 'files-threads' ? availableParallelism() : 1);
  const cpu = process.cpuUsage(cpuStarted);
  const cpuMs = (cpu.user + cpu.system) / 1000 / (mode === 'files-threads' ? availableParallelism() : 1);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  const result = { mode, ms, cpuMs, packets, sessions, maxRssBytes };
  return tlsCounts === undefined ? result : { ...result, tls: tlsCounts };
}

const isMain = process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (isMain) {
  const [mode, path, outDir, keyLog] = process.argv.slice(2);
  if (mode === undefined || path === undefined || !(MEASURE_MODES as readonly string[]).includes(mode)) {
    process.stderr.write(
      `usage: measure.js <${MEASURE_MODES.join('|')}> <capture> [<output dir> [<key log> | -]]\n`,
    );
    process.exit(2);
  }
  const tls = keyLog === undefined ? null : { keyLog: keyLog === '-' ? null : keyLog };
  // The command line sets V8's heap growth before every run (src/pipeline/memory-budget.ts); the child does the
  // same, so that its peak memory is the command's (without it, 2 GB with the CSV files peaked at 180 MiB
  // here against 148 MiB for `smtpscope FILE --csv DIR`).
  tuneHeapGrowth();
  const result = await measure(mode as MeasureMode, path, outDir ?? '.', tls);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
