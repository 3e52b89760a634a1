/**
 * The command-line entry: argv → options → analyzer and sinks → exit code. Thin on purpose: every decision
 * lives in the library; this file only wires it to files, the terminal and signals.
 */

import { closeSync, mkdirSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sniffFormat } from '../capture/open-file.js';
import { CaptureFormatError } from '../capture/types.js';
import type { Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type AnalyzerConfig, analyzeToArray, createAnalyzer, type InputSpec } from '../pipeline/analyzer.js';
import { listFlows } from '../pipeline/flows.js';
import { createParallelAnalyzer } from '../pipeline/parallel.js';
import { checkKeyLogFiles } from '../pipeline/tls-keys.js';
import { createOutputFile } from '../report/output-file.js';
import { endpoint, formatBytes, isoMicros } from '../text/format.js';
import { createSummaryAggregator } from '../text/summary.js';
import { formatTranscript } from '../text/transcript.js';
import { copyBytes } from '../util/copy-bytes.js';
import { safeText, table } from '../util/display-text.js';
import { type CliOptions, parseCli, USAGE, UsageError } from './options.js';
import { buildOutputSinks, clickHouseConnection, openLiveInput, readsLive } from './outputs.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether standard output is a terminal (the dashboard opens only then). */
  readonly isTty: boolean;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
};

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, LIVE_UNAVAILABLE: 3 } as const;

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`smtpscope: ${error.message}\nRun 'smtpscope --help' for usage.\n`);
      return EXIT.USAGE;
    }
    throw error;
  }
  if (options.help) {
    io.stdout(USAGE);
    return EXIT.OK;
  }
  if (options.version) {
    io.stdout('smtpscope 0.1.0\n');
    return EXIT.OK;
  }
  try {
    switch (options.command) {
      case 'devices':
        return await runDevices(io);
      case 'flows':
        return await runFlows(options, io);
      case 'transcript':
        return await runTranscript(options, io);
      case 'bounces':
        return await runBounces(options, io);
      case 'clickhouse-replay':
        return await runClickHouseReplay(options, io);
      case 'analyze':
      case 'help':
        return await runAnalyze(options, io);
    }
  } catch (error) {
    return reportError(error, io);
  }
}

function reportError(error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    io.stderr(`smtpscope: ${error.message}\n`);
    return EXIT.USAGE;
  }
  if (error instanceof Error && error.name === 'LiveCaptureUnavailableError') {
    io.stderr(`smtpscope: ${error.message}\n`);
    return EXIT.LIVE_UNAVAILABLE;
  }
  if (error instanceof Error && error.name === 'LiveCaptureError') {
    // libpcap refused the interface, the filter or an option: its message says which and what to do.
    io.stderr(`smtpscope: ${error.message}\n`);
    return Reflect.get(error, 'reason') === 'bad-filter' ? EXIT.USAGE : EXIT.ERROR;
  }
  if (error instanceof Error && (error.name === 'PrivilegeDropError' || error.name === 'PcapWriteError')) {
    io.stderr(`smtpscope: ${error.message}\n`);
    return EXIT.ERROR;
  }
  if (error instanceof CaptureFormatError) {
    io.stderr(`smtpscope: ${error.message}\n`);
    return EXIT.ERROR;
  }
  const e = error as NodeJS.ErrnoException;
  if (typeof e?.code === 'string' && typeof e.message === 'string') {
    io.stderr(`smtpscope: ${e.message}\n`);
    return EXIT.ERROR;
  }
  throw error;
}

function requireInputs(options: CliOptions, max = Number.POSITIVE_INFINITY): void {
  if (options.inputs.length === 0 && options.live === null)
    throw new UsageError(`'${options.command}' needs a capture file ('-' for standard input)`);
  if (options.inputs.length > max) throw new UsageError(`'${options.command}' takes at most ${max} file(s)`);
}

export function analyzerConfig(options: CliOptions, inputs: readonly InputSpec[]): AnalyzerConfig {
  const decoder = { verifyChecksums: options.verifyChecksums };
  const assembler = {
    ...(options.maxConnections === null ? {} : { maxConnections: options.maxConnections }),
    ...(options.idleTimeoutMs === null ? {} : { idleTimeoutMs: options.idleTimeoutMs }),
    ...(options.maxBufferBytes === null ? {} : { maxBufferedBytesTotal: options.maxBufferBytes }),
    ...(options.maxBufferPerDirectionBytes === null
      ? {}
      : { maxBufferedBytesPerDirection: options.maxBufferPerDirectionBytes }),
  };
  const smtp = {
    revealSecrets: options.revealSecrets,
    ...(options.maxLineLength === null ? {} : { maxLineLength: options.maxLineLength }),
    ...(options.maxPendingCommands === null ? {} : { maxPendingCommands: options.maxPendingCommands }),
  };
  const session = {
    ...(options.messageKeepBytes === null ? {} : { messageKeepBytes: options.messageKeepBytes }),
    ...(options.maxHeaderBytes === null ? {} : { maxHeaderBytes: options.maxHeaderBytes }),
  };
  const tls = { keyLogFiles: options.tlsKeyLogs, follow: options.live !== null };
  return { inputs, ports: options.ports, decoder, assembler, smtp, session, tls };
}

/**
 * The capture files named on the command line; a directory stands for the capture files directly inside it
 * (in name order; files that do not start like a pcap, pcapng or gzip file are skipped with a note).
 */
function fileInputs(options: CliOptions, io: CliIo): InputSpec[] {
  const inputs: InputSpec[] = [];
  for (const path of options.inputs) {
    if (path === '-' || !statSync(path, { throwIfNoEntry: false })?.isDirectory()) {
      inputs.push({ kind: 'file', path });
      continue;
    }
    const before = inputs.length;
    for (const name of readdirSync(path).sort()) {
      const file = join(path, name);
      if (!statSync(file).isFile()) continue;
      if (sniffFormat(readHead(file)) === null)
        io.stderr(`smtpscope: ${file}: skipped, not a capture file\n`);
      else inputs.push({ kind: 'file', path: file });
    }
    if (inputs.length === before) throw new UsageError(`${path}: no capture files in this folder`);
  }
  return inputs;
}

/**
 * Sum of the sizes of the input files when every one is a regular file (what the sources' stored-byte counts,
 * compressed for gzip, reach at the end); null otherwise, as a stream has no size.
 */
function inputFileBytes(inputs: readonly InputSpec[]): number | null {
  let total = 0;
  for (const input of inputs) {
    if (input.kind !== 'file') return null;
    try {
      const stat = statSync(input.path);
      if (!stat.isFile()) return null;
      total += stat.size;
    } catch {
      return null;
    }
  }
  return total;
}

function readHead(file: string): Uint8Array {
  const head = Buffer.alloc(8);
  const fd = openSync(file, 'r');
  try {
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

async function runAnalyze(options: CliOptions, io: CliIo): Promise<number> {
  requireInputs(options);
  // Unreadable key logs stop here (exit 1, before any output is created); malformed lines are reported once.
  for (const problem of checkKeyLogFiles(options.tlsKeyLogs))
    io.stderr(`smtpscope: ${problem.source}: ${problem.message}\n`);
  const outputs = await buildOutputSinks(options, io);
  const wantsTui = options.tui && !options.summary && io.isTty && !outputs.usesStdout;
  const inputs = options.live === null ? fileInputs(options, io) : [await openLiveInput(options, outputs)];
  for (const input of inputs) if (input.kind === 'file') outputs.captureFiles.push(input.path);
  const config: AnalyzerConfig = {
    ...analyzerConfig(options, inputs),
    ...(outputs.bodyListener === undefined ? {} : { bodyListener: outputs.bodyListener }),
    ...(outputs.tap === undefined ? {} : { tap: outputs.tap }),
    onWarning: (w, source) => {
      if (!wantsTui) io.stderr(`smtpscope: ${source}: ${w.message}\n`);
    },
  };
  const summary = createSummaryAggregator();
  let sinks: Sink[] = [...outputs.sinks, summary];
  // --maillog: the join with the MTA logs runs in front of every sink (docs/MAILLOG.md).
  if (options.maillogs.length > 0) {
    const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
    const live = readsLive(options);
    const logs = await openMaillogs(options.maillogs, live);
    sinks = [maillogJoinSink(logs, sinks, live, (note) => io.stderr(`smtpscope: ${note}\n`))];
  }
  if (wantsTui) {
    const { createDashboard } = await import('../dashboard/app.js');
    const live = readsLive(options);
    const dashboard = createDashboard({
      live,
      title: options.live?.device ?? options.inputs.join(' '),
      inputBytes: live ? null : inputFileBytes(inputs),
    });
    const analyzer = createAnalyzer(config, [...sinks, dashboard.sink]);
    return await dashboard.run(analyzer);
  }
  // Several files use a worker thread per core, and with --threads one large file is split between threads,
  // with the same result as one thread.
  const analyzer = createParallelAnalyzer(
    config,
    sinks,
    options.threads === null ? {} : { workers: options.threads, shards: options.threads },
  );
  const restoreSignals = handleSignals(() => analyzer.stop(), io);
  try {
    const result = await analyzer.run();
    if (!outputs.usesStdout || options.summary)
      (outputs.usesStdout ? io.stderr : io.stdout)(summary.format(result));
    return EXIT.OK;
  } finally {
    restoreSignals();
  }
}

/** First SIGINT/SIGTERM: stop and flush; a second one exits at once. */
function handleSignals(stop: () => void, io: CliIo): () => void {
  let count = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    count++;
    if (count === 1) {
      io.stderr(
        `smtpscope: ${signal}: stopping, closing open sessions and flushing outputs (again to exit at once)\n`,
      );
      stop();
    } else {
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
}

async function runTranscript(options: CliOptions, io: CliIo): Promise<number> {
  requireInputs(options);
  const sessions = await withMaillogs(
    options,
    io,
    (await analyzeToArray(analyzerConfig(options, fileInputs(options, io)))).sessions,
  );
  const chosen = options.session === null ? sessions : sessions.filter((s) => s.id === options.session);
  if (options.session !== null && chosen.length === 0) {
    io.stderr(
      `smtpscope: no session '${safeText(options.session)}'; sessions are: ${sessions.map((s) => s.id).join(', ')}\n`,
    );
    return EXIT.ERROR;
  }
  const { formatSessionLog } = await import('../maillog/log-transcript.js');
  const text = (s: SmtpSession) =>
    [formatTranscript(s), formatSessionLog(s)].filter((x) => x !== '').join('\n');
  io.stdout(`${chosen.map(text).join('\n\n')}\n`);
  return EXIT.OK;
}

async function runBounces(options: CliOptions, io: CliIo): Promise<number> {
  requireInputs(options);
  // The analyze outputs do not apply here: refuse them rather than ignore them.
  const ignored = [
    ['--json', options.json],
    ['--csv-sessions', options.csvSessions],
    ['--csv-transactions', options.csvTransactions],
    ['--csv-recipients', options.csvRecipients],
    ['--csv-commands', options.csvCommands],
    ['--extract', options.extractDir],
    ['--clickhouse', options.clickhouse.url],
  ].find(([, value]) => value !== null);
  if (ignored !== undefined)
    throw new UsageError(`'bounces' does not take ${ignored[0]}: its output is the report and --csv FILE`);
  // A streaming sink: failures reach bounces.csv as each session closes; only totals, groups, the DSN join's
  // index and a bounded listing stay in memory (report/bounce-sink.ts). With --maillog, the join with the
  // MTA's log sits in front of it, session by session.
  const { createBounceSink, resolveBounceCsvPath } = await import('../report/bounce-sink.js');
  const { formatBounceReport } = await import('../text/bounce-text.js');
  const sink = createBounceSink(
    options.csvDir === null ? {} : { csv: await resolveBounceCsvPath(options.csvDir) },
  );
  let sinks: Sink[] = [sink];
  let note: (() => string) | null = null;
  if (options.maillogs.length > 0) {
    const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
    const join = maillogJoinSink(await openMaillogs(options.maillogs, false), [sink], false, () => {});
    sinks = [join];
    note = () => join.note();
  }
  await createParallelAnalyzer(
    analyzerConfig(options, fileInputs(options, io)),
    sinks,
    options.threads === null ? {} : { workers: options.threads, shards: options.threads },
  ).run();
  if (note !== null) io.stderr(`smtpscope: ${note()}\n`);
  if (options.csvDir !== '-') io.stdout(formatBounceReport(sink.report()));
  return EXIT.OK;
}

/** --maillog for the commands that hold every session: each joined in close order, the note on standard error. */
async function withMaillogs(options: CliOptions, io: CliIo, sessions: SmtpSession[]): Promise<SmtpSession[]> {
  if (options.maillogs.length === 0) return sessions;
  const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
  const join = maillogJoinSink(await openMaillogs(options.maillogs, false), [], false, () => {});
  const joined = sessions.map((s) => join.join(s));
  io.stderr(`smtpscope: ${join.note()}\n`);
  return joined;
}

async function runDevices(io: CliIo): Promise<number> {
  const { listDevices, formatDeviceList } = await import('../capture/devices.js');
  io.stdout(formatDeviceList(await listDevices()));
  return EXIT.OK;
}

async function runFlows(options: CliOptions, io: CliIo): Promise<number> {
  requireInputs(options, 1);
  const path = options.inputs[0] ?? '-';
  let wantId: string | null = null;
  let dir: string | null = null;
  const streams = { c2s: [] as Uint8Array[], s2c: [] as Uint8Array[] };
  if (options.writeStreams !== null) {
    const at = options.writeStreams.indexOf(':');
    if (at <= 0)
      throw new UsageError('--write-streams takes ID:DIR (a flow id from the listing, and a folder)');
    wantId = options.writeStreams.slice(0, at);
    dir = options.writeStreams.slice(at + 1);
  }
  const { flows, warnings } = await listFlows(path, {
    ports: options.ports,
    decoder: { verifyChecksums: options.verifyChecksums },
    ...(wantId === null
      ? {}
      : {
          collector: {
            wants: (flow) => flow.id === wantId,
            data: (_flow, direction, bytes) => streams[direction].push(copyBytes(bytes)),
          },
        }),
  });
  const rows = [
    [
      'id',
      'first seen',
      'client',
      'server',
      'by',
      'pkts c>s',
      'bytes c>s',
      'pkts s>c',
      'bytes s>c',
      'gaps',
      'gap bytes',
      'retrans',
      'differ',
      'close',
    ],
  ];
  for (const f of flows) {
    const s = f.stats;
    rows.push([
      f.key.id,
      isoMicros(s.firstTsMicros),
      endpoint(f.key.client),
      endpoint(f.key.server),
      f.key.basis,
      String(s.c2s.packets),
      String(s.c2s.bytes),
      String(s.s2c.packets),
      String(s.s2c.bytes),
      String(s.c2s.gaps + s.s2c.gaps),
      String(s.c2s.gapBytes + s.s2c.gapBytes),
      String(s.c2s.retransmissions + s.s2c.retransmissions),
      String(s.c2s.overlapsDiffering + s.s2c.overlapsDiffering),
      f.closeReason,
    ]);
  }
  io.stdout(`${table(rows, '').join('\n')}\n${flows.length} connection(s)\n`);
  for (const w of warnings) io.stderr(`smtpscope: ${path}: ${w.message}\n`);
  if (wantId !== null && dir !== null) {
    const flow = flows.find((f) => f.key.id === wantId);
    if (flow === undefined) {
      io.stderr(`smtpscope: no connection '${safeText(wantId)}' in ${path}\n`);
      return EXIT.ERROR;
    }
    mkdirSync(dir, { recursive: true });
    for (const direction of ['c2s', 's2c'] as const) {
      const file = join(dir, `${wantId}.${direction}.bin`);
      // Temporary file (O_EXCL|O_NOFOLLOW) renamed into place: a symlink planted at the name is replaced, not followed.
      const out = createOutputFile(file, { append: false, header: '', mode: 0o600 });
      try {
        for (const bytes of streams[direction]) await out.write(bytes);
        await out.commit();
      } catch (error) {
        await out.abort();
        throw error;
      }
      const total = streams[direction].reduce((n, b) => n + b.length, 0);
      io.stderr(`wrote ${file} (${formatBytes(total)})\n`);
    }
    for (const g of flow.gaps)
      io.stderr(`gap ${g.direction} at ${g.offset}: ${g.length} bytes (${g.cause})\n`);
  }
  return EXIT.OK;
}

async function runClickHouseReplay(options: CliOptions, io: CliIo): Promise<number> {
  const file = options.inputs[0];
  if (file === undefined || options.inputs.length > 1)
    throw new UsageError("'clickhouse-replay' takes one spill file");
  const { replayClickHouseSpill } = await import('../fleet/replay.js');
  const result = await replayClickHouseSpill(file, clickHouseConnection(options));
  const rows = Object.entries(result.rows).map(([level, n]) => `${level} ${n}`);
  io.stdout(`loaded ${rows.join(', ')} rows in ${result.batches} batch(es) from ${file}\n`);
  if (result.badLines.length > 0)
    io.stderr(
      `smtpscope: skipped ${result.badLines.length} unreadable line(s): ${result.badLines.slice(0, 20).join(', ')}\n`,
    );
  return EXIT.OK;
}
