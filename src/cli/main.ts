/**
 * The command-line entry: argv → options → analyzer and sinks → exit code. Thin on purpose: every decision
 * lives in the library; this file only wires it to files, the terminal and signals.
 */

import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { damagingWarnings } from '../capture/damage.js';
import { CaptureFormatError, type SourceWarning } from '../capture/types.js';
import type { RunSummary, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import { type AnalyzerConfig, analyzeToArray, createAnalyzer, type InputSpec } from '../pipeline/analyzer.js';
import { listFlows } from '../pipeline/flows.js';
import { DEFAULT_MEMORY_BUDGET_MB, tuneHeapGrowth } from '../pipeline/memory-budget.js';
import { createParallelAnalyzer } from '../pipeline/parallel.js';
import { checkKeyLogFiles } from '../pipeline/tls-keys.js';
import { createOutputFile } from '../report/output-file.js';
import { endpoint, formatBytes, isoMicros } from '../text/format.js';
import { createSessionLineSink } from '../text/session-line.js';
import { createSummaryAggregator } from '../text/summary.js';
import { formatTranscript } from '../text/transcript.js';
import { copyBytes } from '../util/copy-bytes.js';
import { safeText, table } from '../util/display-text.js';
import { commandHelp, generalHelp } from './help.js';
import { describeFsError, isErrnoError, missingFolder, OutputPathError, reasonFor } from './human-error.js';
import { formatSkipped, scanInputs } from './inputs.js';
import { type CliOptions, parseCli, UsageError, VERSION } from './options.js';
import {
  buildOutputSinks,
  clickHouseConnection,
  openLiveInput,
  readsLive,
  sessionFileOf,
} from './outputs.js';

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Whether standard output is a terminal (the dashboard opens only then). */
  readonly isTty: boolean;
  /** Width of the terminal on standard output (text is cut to it there); absent when not a terminal. */
  readonly columns?: number;
  /** Whether standard input is a terminal (`-` is then refused: nobody types a capture). Default false. */
  readonly stdinIsTty?: boolean;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  isTty: process.stdout.isTTY === true,
  stdinIsTty: process.stdin.isTTY === true,
  ...(process.stdout.isTTY === true ? { columns: process.stdout.columns } : {}),
};

export const EXIT = { OK: 0, ERROR: 1, USAGE: 2, LIVE_UNAVAILABLE: 3 } as const;

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let options: CliOptions;
  try {
    options = parseCli(argv);
  } catch (error) {
    if (error instanceof UsageError) return reportError(error, io);
    throw error;
  }
  if (options.help) {
    io.stdout(options.helpTopic === null ? generalHelp() : commandHelp(options.helpTopic));
    return EXIT.OK;
  }
  if (options.version) {
    io.stdout(`smtpscope ${VERSION}\n`);
    return EXIT.OK;
  }
  tuneHeapGrowth();
  try {
    if (options.inputs.includes('-') && io.stdinIsTty === true)
      throw new UsageError('standard input is a terminal; pipe a capture into it (tcpdump -w - ...)');
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
      case 'completion': {
        const { completionScript } = await import('./completion.js');
        io.stdout(completionScript(options.shell === 'zsh' ? 'zsh' : 'bash'));
        return EXIT.OK;
      }
      case 'analyze':
      case 'help':
        return await runAnalyze(options, io);
    }
  } catch (error) {
    return reportError(error, io, options.command);
  }
}

/** The usage hint under a usage error: the command's own help when the error is about one command. */
function usageHint(command: string | null): string {
  return command === null || command === 'analyze' || command === 'help'
    ? "Run 'smtpscope --help' for usage."
    : `Run 'smtpscope ${command} --help' for usage.`;
}

function reportError(error: unknown, io: CliIo, command: string | null = null): number {
  if (error instanceof UsageError) {
    // A message that already points to the help needs no second line.
    io.stderr(
      `smtpscope: ${error.message}\n${error.message.includes('--help') ? '' : `${usageHint(command)}\n`}`,
    );
    return EXIT.USAGE;
  }
  if (error instanceof NothingToAnalyse) return EXIT.ERROR;
  if (error instanceof OutputPathError) {
    io.stderr(`smtpscope: ${error.message}\n`);
    return EXIT.ERROR;
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
    io.stderr(`smtpscope: ${humanizeNodeMessage(error.message)}\n`);
    return EXIT.ERROR;
  }
  if (isErrnoError(error)) {
    const path = error.path ?? '';
    const writing =
      ['mkdir', 'write', 'rename', 'unlink', 'fsync', 'ftruncate'].includes(error.syscall ?? '') ||
      /\.tmp$/.test(path);
    io.stderr(`smtpscope: ${describeFsError(error, writing ? 'write' : 'read')}\n`);
    return EXIT.ERROR;
  }
  throw error;
}

/**
 * A message that quotes a Node error ("cannot open x: ENOENT: no such file or directory, open 'x'") with the
 * Node part said in words ("cannot open x: no such file").
 */
export function humanizeNodeMessage(message: string): string {
  return message.replace(/: (E[A-Z]+): [^,]*, \w+ '[^']*'(?: -> '[^']*')?$/, (whole, code: string) => {
    const reason = reasonFor(code, /^cannot write/.test(message) ? 'write' : 'read');
    return reason === null ? whole : `: ${reason}`;
  });
}

function requireInputs(options: CliOptions, max = Number.POSITIVE_INFINITY): void {
  if (options.inputs.length === 0 && options.live === null)
    throw new UsageError(`'${options.command}' needs a capture file ('-' for standard input)`);
  if (options.inputs.length > max) throw new UsageError(`'${options.command}' takes at most ${max} file(s)`);
}

export function analyzerConfig(options: CliOptions, inputs: readonly InputSpec[]): AnalyzerConfig {
  const decoder = { verifyChecksums: options.verifyChecksums };
  const assembler = {
    detect: !options.portsOnly,
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
  const memoryBudgetBytes = options.maxMemoryBytes ?? DEFAULT_MEMORY_BUDGET_MB * 1024 * 1024;
  return {
    inputs,
    ports: options.ports,
    decoder,
    assembler,
    smtp,
    session,
    tls,
    memoryBudgetBytes,
    ...(options.fileFilter === null ? {} : { segmentFilter: options.fileFilter }),
  };
}

/** A run that cannot start: its reason is already said (exit 1). */
class NothingToAnalyse extends Error {
  override readonly name = 'NothingToAnalyse';
}

/**
 * The capture files named on the command line (folders walked: inputs.ts), with a warning for each one skipped.
 * `failed` is set when a skipped file makes the run exit 1 at the end.
 */
function fileInputs(options: CliOptions, io: CliIo, status: RunStatus): InputSpec[] {
  const scanned = scanInputs(options.inputs, { recurse: options.recurse });
  for (const line of formatSkipped(scanned.skipped, scanned.inputs.length > 0))
    io.stderr(`smtpscope: ${line}\n`);
  if (scanned.skipped.some((s) => s.error)) status.failed = true;
  if (scanned.inputs.length === 0) {
    const folder = scanned.emptyFolders[0];
    if (folder !== undefined && scanned.skipped.every((s) => !s.error))
      throw new UsageError(`${folder}: no capture files in this folder`);
    throw new NothingToAnalyse('no capture to analyse');
  }
  return scanned.inputs;
}

/** What the run learnt on the way that changes its exit code. */
interface RunStatus {
  failed: boolean;
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

async function runAnalyze(options: CliOptions, io: CliIo): Promise<number> {
  requireInputs(options);
  const status: RunStatus = { failed: false };
  // Unreadable key logs stop here (exit 1, before any output is created); malformed lines are reported once.
  for (const problem of checkKeyLogFiles(options.tlsKeyLogs))
    io.stderr(`smtpscope: ${problem.source}: ${problem.message}\n`);
  // Inputs are checked before any output is created: a run that cannot start leaves no empty report behind.
  const files = options.live === null ? fileInputs(options, io, status) : null;
  const paths = files?.map((f) => (f.kind === 'file' ? f.path : '-')) ?? null;
  const outputs = await buildOutputSinks(options, io, paths);
  const wantsTui = options.tui && !options.summary && io.isTty && !outputs.usesStdout;
  const inputs = files ?? [await openLiveInput(options, outputs)];
  const exitCode = (code: number): number => (code === EXIT.OK && status.failed ? EXIT.ERROR : code);
  const seen: SourceWarningFrom[] = [];
  for (const input of inputs) if (input.kind === 'file') outputs.captureFiles.push(input.path);
  const config: AnalyzerConfig = {
    ...analyzerConfig(options, inputs),
    ...(outputs.bodyListener === undefined ? {} : { bodyListener: outputs.bodyListener }),
    ...(outputs.tap === undefined ? {} : { tap: outputs.tap }),
    onWarning: (w, source) => {
      seen.push({ source, warning: w });
      if (!wantsTui) io.stderr(`smtpscope: ${source}: ${w.message}\n`);
    },
  };
  const summary = createSummaryAggregator(undefined, paths === null ? {} : { fileOf: sessionFileOf(paths) });
  let sinks: Sink[] = [...outputs.sinks, summary];
  const live = readsLive(options);
  const say = outputs.usesStdout ? io.stderr : io.stdout;
  // A run that may never end says what it listens to, then one line per session as it ends (as tcpdump does);
  // said once a signal would stop it cleanly, so the line also tells that Ctrl-C is safe.
  let listening: string | null = null;
  if (live && !wantsTui) {
    listening =
      options.live === null
        ? `smtpscope: reading ${options.inputs.map((p) => (p === '-' ? 'standard input' : p)).join(', ')}; one line per session as it ends\n`
        : `smtpscope: listening on ${options.live.device} (filter ${options.live.filter}); one line per session as it ends\n`;
    sinks.push(createSessionLineSink(say));
  }
  // --where / --since / --until: only the selected sessions reach the outputs; -w with a capture file keeps their
  // packets (docs/FILTERS.md).
  const { ConnectionSet } = await import('../query/write-selected.js');
  const keepPackets = options.live === null && options.writeFile !== null ? new ConnectionSet() : null;
  if (options.selection !== null || keepPackets !== null) {
    const { createSelectionSink } = await import('../query/selection-sink.js');
    const selection = options.selection ?? { where: null, sinceMicros: null, untilMicros: null };
    sinks = [
      createSelectionSink(
        selection,
        sinks,
        (note) => {
          if (options.selection !== null) io.stderr(`smtpscope: ${note}\n`);
        },
        keepPackets === null ? undefined : (s) => keepPackets.add(s),
      ),
    ];
  }
  const dashboard = wantsTui
    ? (await import('../dashboard/app.js')).createDashboard({
        live,
        title: options.live?.device ?? options.inputs.join(' '),
        inputBytes: live ? null : inputFileBytes(inputs),
        utc: options.utc,
        joined: options.maillogs.length > 0,
      })
    : null;
  // --maillog: the join with the MTA logs runs in front of every sink (docs/MAILLOG.md). The dashboard gets
  // each session as it closes and again once joined (live, the join waits for the log lines), with its fates.
  const notes: string[] = [];
  if (options.maillogs.length > 0) {
    const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
    const logs = await openMaillogs(options.maillogs, live);
    const joined = dashboard === null ? sinks : [...sinks, dashboard.joinedSink];
    // The dashboard owns the terminal: its note is told once the screen is restored.
    const note = (text: string): void =>
      dashboard === null ? io.stderr(`smtpscope: ${text}\n`) : void notes.push(text);
    sinks = [maillogJoinSink(logs, joined, live, note)];
  }
  if (dashboard !== null) {
    let final: RunSummary | null = null;
    const keep: Sink = {
      name: 'final-summary',
      sessionClosed() {},
      async close(result) {
        final = result;
      },
    };
    const analyzer = createAnalyzer(config, [...sinks, keep, dashboard.sink]);
    const code = await dashboard.run(analyzer);
    for (const text of notes) io.stderr(`smtpscope: ${text}\n`);
    // Leaving a live dashboard leaves the summary of what it saw on the terminal.
    const shown = final as RunSummary | null;
    if (live && shown !== null) io.stdout(summary.format(shown, { width: io.columns ?? null }));
    // The dashboard showed no warnings on the terminal it owned: the damage is told now that it is gone.
    return exitCode(damageExit(seen, options, io, code, true));
  }
  // Several files use a worker thread per core, and with --threads one large file is split between threads,
  // with the same result as one thread.
  const analyzer = createParallelAnalyzer(
    config,
    sinks,
    options.threads === null ? {} : { workers: options.threads, shards: options.threads },
  );
  const restoreSignals = handleSignals(() => analyzer.stop(), io);
  if (listening !== null) io.stderr(listening);
  try {
    const result = await analyzer.run();
    const first = inputs[0];
    if (keepPackets !== null && options.writeFile !== null && first?.kind === 'file') {
      const { writeSelectedPackets } = await import('../query/write-selected.js');
      const w = await writeSelectedPackets(first.path, options.writeFile, keepPackets, options.ports);
      io.stderr(`smtpscope: wrote ${w.written} of ${w.packets} packet(s) to ${options.writeFile}\n`);
    }
    if (!outputs.usesStdout || options.summary)
      if (outputs.usesStdout)
        // Cut to the terminal's width on a terminal; never in a file or pipe.
        io.stderr(summary.format(result));
      else io.stdout(summary.format(result, { width: io.isTty ? (io.columns ?? null) : null }));
    return exitCode(damageExit(seen, options, io, EXIT.OK, false));
  } finally {
    restoreSignals();
  }
}

interface SourceWarningFrom {
  readonly source: string;
  readonly warning: SourceWarning;
}

/**
 * Exit 1 when an input was damaged (src/capture/damage.ts), after everything decoded before the damage was
 * written; the last line says which input and where. `repeat` prints the warnings themselves again (after the
 * dashboard, which kept them off its screen).
 */
function damageExit(
  seen: readonly SourceWarningFrom[],
  options: CliOptions,
  io: CliIo,
  code: number,
  repeat: boolean,
): number {
  const damaging = damagingWarnings(
    seen.map((s) => s.warning),
    options.allowTruncated,
  );
  if (damaging.length === 0) return code;
  const sources = seen.filter((s) => damaging.includes(s.warning));
  if (repeat) for (const s of sources) io.stderr(`smtpscope: ${s.source}: ${s.warning.message}\n`);
  const names = [...new Set(sources.map((s) => s.source))];
  io.stderr(
    `smtpscope: damaged input (${names.join(', ')}): what was decoded before the damage was analysed and written; exit 1\n`,
  );
  return code === EXIT.OK ? EXIT.ERROR : code;
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
  const status: RunStatus = { failed: false };
  const seen: SourceWarningFrom[] = [];
  const sessions = await withMaillogs(
    options,
    io,
    (
      await analyzeToArray({
        ...analyzerConfig(options, fileInputs(options, io, status)),
        onWarning: (warning, source) => seen.push({ source, warning }),
      })
    ).sessions,
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
  const code = damageExit(seen, options, io, EXIT.OK, true);
  return status.failed && code === EXIT.OK ? EXIT.ERROR : code;
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
  if (options.csvDir !== null && options.csvDir !== '-') {
    const problem = missingFolder(options.csvDir);
    if (problem !== null) throw new OutputPathError(`cannot write ${options.csvDir}: ${problem}`);
  }
  // A streaming sink: failures reach bounces.csv as each session closes; only totals, groups, the DSN join's
  // index and a bounded listing stay in memory (report/bounce-sink.ts). With --maillog, the join with the
  // MTA's log sits in front of it, session by session.
  const { createBounceSink, resolveBounceCsvPath } = await import('../report/bounce-sink.js');
  const { formatBounceReport } = await import('../text/bounce-text.js');
  const sink = createBounceSink(
    options.csvDir === null ? {} : { csv: await resolveBounceCsvPath(options.csvDir) },
  );
  let sinks: Sink[] = [sink];
  // --where / --since / --until: only the selected sessions reach the report (after the maillog join).
  if (options.selection !== null) {
    const { createSelectionSink } = await import('../query/selection-sink.js');
    sinks = [createSelectionSink(options.selection, sinks, () => {})];
  }
  let note: (() => string) | null = null;
  if (options.maillogs.length > 0) {
    const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
    const join = maillogJoinSink(await openMaillogs(options.maillogs, false), sinks, false, () => {});
    sinks = [join];
    note = () => join.note();
  }
  const status: RunStatus = { failed: false };
  const seen: SourceWarningFrom[] = [];
  await createParallelAnalyzer(
    {
      ...analyzerConfig(options, fileInputs(options, io, status)),
      onWarning: (warning, source) => seen.push({ source, warning }),
    },
    sinks,
    options.threads === null ? {} : { workers: options.threads, shards: options.threads },
  ).run();
  if (note !== null) io.stderr(`smtpscope: ${note()}\n`);
  if (options.csvDir !== '-') io.stdout(formatBounceReport(sink.report()));
  const code = damageExit(seen, options, io, EXIT.OK, true);
  return status.failed && code === EXIT.OK ? EXIT.ERROR : code;
}

/**
 * --maillog and --where / --since / --until for the commands that hold every session: each session joined in close
 * order (the note on standard error), then the selection.
 */
async function withMaillogs(options: CliOptions, io: CliIo, all: SmtpSession[]): Promise<SmtpSession[]> {
  let sessions = all;
  if (options.maillogs.length > 0) {
    const { openMaillogs, maillogJoinSink } = await import('../maillog/open-maillogs.js');
    const join = maillogJoinSink(await openMaillogs(options.maillogs, false), [], false, () => {});
    sessions = sessions.map((s) => join.join(s));
    io.stderr(`smtpscope: ${join.note()}\n`);
  }
  const selection = options.selection;
  if (selection === null) return sessions;
  const { selects } = await import('../query/session-selection.js');
  return sessions.filter((s) => selects(selection, s));
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
  const exitCode = damageExit(
    warnings.map((warning) => ({ source: path, warning })),
    options,
    io,
    EXIT.OK,
    false,
  );
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
  return exitCode;
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
