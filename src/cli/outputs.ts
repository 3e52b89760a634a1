/**
 * Turns output flags into sinks, and `-i` into a live input (with the `-w` writer and the `-Z` privilege drop).
 */

import { readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve, sep } from 'node:path';
import { createPcapWriter, type PcapWriter } from '../capture/pcap-writer.js';
import { dropPrivileges } from '../capture/privileges.js';
import type { PacketView } from '../capture/types.js';
import { type ClickHouseTarget, resolveClickHouseTarget } from '../fleet/clickhouse-target.js';
import type { MessageBodyListener, Sink } from '../model/sink.js';
import type { SmtpSession } from '../model/types.js';
import type { InputSpec } from '../pipeline/analyzer.js';
import { createAttachmentHasher, fanOutBodyListener } from '../report/attachment-hashes.js';
import { createCsvSink } from '../report/csv-sink.js';
import { createExtractSink } from '../report/extract-sink.js';
import { createJsonSink } from '../report/json-sink.js';
import { missingFolder, OutputPathError } from './human-error.js';
import type { CliIo } from './main.js';
import { type CliOptions, UsageError } from './options.js';

export interface Outputs {
  readonly sinks: Sink[];
  readonly bodyListener?: MessageBodyListener;
  /** Set once the live source is open (the `-w` writer). */
  tap?: (packet: PacketView) => void;
  /** Some output goes to standard output, so the summary goes to standard error and no dashboard opens. */
  readonly usesStdout: boolean;
  /** The capture files of the run, in input order (filled once the inputs are known; empty when live). */
  readonly captureFiles: string[];
}

/** The capture file a session came from: its `N-` id prefix picks the input when there are several. */
function captureFileOf(sessionId: string, files: readonly string[]): string | null {
  if (files.length === 1) return files[0] === '-' ? null : (files[0] ?? null);
  const n = /^(\d+)-/.exec(sessionId)?.[1];
  const file = n === undefined ? undefined : files[Number(n) - 1];
  return file === undefined || file === '-' ? null : file;
}

/** Standard input, a FIFO or a device: an input that may never end. */
export function isStreamInput(path: string): boolean {
  if (path === '-') return true;
  const stat = statSync(path, { throwIfNoEntry: false });
  return stat !== undefined && !stat.isFile() && !stat.isDirectory();
}

/** Live capture, or an input that may never end (`tcpdump -U -w - | smtpscope -`). */
export function readsLive(options: CliOptions): boolean {
  return options.live !== null || options.inputs.some(isStreamInput);
}

/**
 * Refuses output combinations that cannot work before anything is read or written: two outputs on standard
 * output (their lines would interleave), `--extract -`, `--csv` naming a file; and an output whose folder
 * does not exist (found now, not after an hour of analysis).
 */
export function checkOutputTargets(options: CliOptions): void {
  const stdoutUsers = [
    ['--json', options.json],
    ['--csv', options.csvDir],
    ['--csv-sessions', options.csvSessions],
    ['--csv-transactions', options.csvTransactions],
    ['--csv-recipients', options.csvRecipients],
    ['--csv-commands', options.csvCommands],
    ['--html', options.html],
  ]
    .filter(([, target]) => target === '-')
    .map(([flag]) => flag);
  if (stdoutUsers.length > 1)
    throw new UsageError(
      `only one output can go to standard output ('-'), not ${stdoutUsers.join(' and ')}: send the others to files`,
    );
  if (options.extractDir === '-')
    throw new UsageError("--extract takes a folder for the .eml files, not '-' (standard output)");
  if (options.csvDir !== null && options.csvDir !== '-') {
    const stat = statSync(options.csvDir, { throwIfNoEntry: false });
    if (stat !== undefined && !stat.isDirectory())
      throw new UsageError(
        `--csv takes a folder, and ${options.csvDir} is a file (one level to one file: --csv-sessions FILE, --csv-recipients FILE, ...)`,
      );
  }
  if (options.extractDir !== null) {
    const stat = statSync(options.extractDir, { throwIfNoEntry: false });
    if (stat !== undefined && !stat.isDirectory())
      throw new UsageError(`--extract takes a folder, and ${options.extractDir} is a file`);
    // A file run rewrites index.csv: messages already in the folder would be left out of it. A live run
    // appends to index.csv (a restarted capture goes on where it stopped), so its folder may hold its own files.
    if (stat !== undefined && !readsLive(options) && readdirSync(options.extractDir).length > 0)
      throw new UsageError(
        `--extract ${options.extractDir}: the folder is not empty (files of an earlier run would be missing from the new index.csv): give a new or empty folder`,
      );
  }
  const files = [
    options.json,
    options.csvSessions,
    options.csvTransactions,
    options.csvRecipients,
    options.csvCommands,
    options.clickhouse.spillFile,
    options.writeFile,
    options.html,
  ];
  // The --csv and --extract folders are created with their parents: a file beside them has its folder then.
  const created = [options.csvDir, options.extractDir]
    .filter((d): d is string => d !== null && d !== '-')
    .map((d) => resolve(d));
  for (const file of files) {
    if (file === null || file === '-') continue;
    const folder = dirname(resolve(file));
    if (created.some((d) => d === folder || d.startsWith(`${folder}${sep}`))) continue;
    const problem = missingFolder(file);
    if (problem !== null) throw new OutputPathError(`cannot write ${file}: ${problem}`);
    if (statSync(file, { throwIfNoEntry: false })?.isDirectory() === true)
      throw new OutputPathError(`cannot write ${file}: it is a folder`);
  }
}

/**
 * The capture file each session came from, from its id: with several inputs the analyzer prefixes session ids
 * with the input's number (`2-C000003` is from the second), with one input every session is from it.
 */
export function sessionFileOf(files: readonly string[]): (session: SmtpSession) => string | null {
  if (files.length === 1) {
    const only = files[0] ?? null;
    return () => only;
  }
  return (session) => {
    const m = /^(\d+)-/.exec(session.id);
    return m === null ? null : (files[Number(m[1]) - 1] ?? null);
  };
}

/** `inputFiles`: the capture files analysed, in input order (null for live capture): the CSV `file` column. */
export async function buildOutputSinks(
  options: CliOptions,
  io: CliIo,
  inputFiles: readonly string[] | null = null,
): Promise<Outputs> {
  checkOutputTargets(options);
  const fileOf = sessionFileOf(inputFiles ?? []);
  const sinks: Sink[] = [];
  // Rows of a run that may never end are appended and flushed as each session closes, so a stop loses nothing.
  const append = readsLive(options);
  const files = {
    ...(options.csvSessions === null ? {} : { sessions: options.csvSessions }),
    ...(options.csvTransactions === null ? {} : { transactions: options.csvTransactions }),
    ...(options.csvRecipients === null ? {} : { recipients: options.csvRecipients }),
    ...(options.csvCommands === null ? {} : { commands: options.csvCommands }),
  };
  const csvTargets = [options.csvDir, ...Object.values(files)];
  if (options.csvDir !== null || Object.keys(files).length > 0)
    sinks.push(
      createCsvSink({ ...(options.csvDir === null ? {} : { dir: options.csvDir }), files, append, fileOf }),
    );
  const captureFiles: string[] = [];
  const bodyListeners: MessageBodyListener[] = [];
  if (options.json !== null) {
    // SHA-256 of attachments reads the message bodies (which keeps the run on one thread, as --extract does).
    const hasher = createAttachmentHasher();
    bodyListeners.push(hasher);
    sinks.push(
      createJsonSink({
        path: options.json,
        append,
        level: options.jsonLevel,
        sensor: options.clickhouse.sensor ?? hostname(),
        captureFileOf: (id) => captureFileOf(id, captureFiles),
        hasher,
        attempts: options.connectionAttempts,
      }),
    );
  }
  if (options.zeekDir !== null) {
    const { createZeekSink } = await import('../report/zeek-sink.js');
    sinks.push(createZeekSink({ dir: options.zeekDir, append }));
  }
  if (options.html !== null) {
    const { createHtmlSink } = await import('../text/html-sink.js');
    sinks.push(
      createHtmlSink({
        path: options.html,
        ...(options.htmlMaxSessions === null ? {} : { maxSessions: options.htmlMaxSessions }),
      }),
    );
  }
  let bodyListener: MessageBodyListener | undefined;
  if (options.extractDir !== null) {
    const extract = createExtractSink({
      dir: options.extractDir,
      includeIncomplete: options.extractIncomplete,
      append,
    });
    sinks.push(extract);
    bodyListeners.push(extract);
  }
  if (bodyListeners.length > 0)
    bodyListener = bodyListeners.length === 1 ? bodyListeners[0] : fanOutBodyListener(bodyListeners);
  const ch = options.clickhouse;
  if (ch.url !== null) {
    const { createClickHouseSink } = await import('../fleet/clickhouse-sink.js');
    sinks.push(
      createClickHouseSink({
        ...clickHouseConnection(options),
        ...(ch.sensor === null ? {} : { sensor: ch.sensor }),
        ...(ch.spillFile === null ? {} : { spillFile: ch.spillFile }),
        onWarning: (message) => io.stderr(`smtpscope: clickhouse: ${message}\n`),
      }),
    );
  }
  const usesStdout = options.json === '-' || options.html === '-' || csvTargets.includes('-');
  return { sinks, ...(bodyListener === undefined ? {} : { bodyListener }), usesStdout, captureFiles };
}

/** Opens the live source lazily (so `cap` is loaded only for live capture) and wires `-w` and `-Z`. */
export async function openLiveInput(options: CliOptions, outputs: Outputs): Promise<InputSpec> {
  const live = options.live;
  if (live === null) throw new Error('openLiveInput without -i');
  const source =
    options.liveHelper === 'tcpdump'
      ? await (await import('../capture/tcpdump-source.js')).openTcpdumpSource({ ...live, promiscuous: true })
      : await (await import('../capture/live-source.js')).openLiveSource({ ...live, promiscuous: true });
  let writer: PcapWriter | null = null;
  try {
    if (options.writeFile !== null) {
      writer = createPcapWriter({
        path: options.writeFile,
        linkType: source.linkType,
        snaplen: source.snaplen,
        rotateBytes: options.rotateBytes,
      });
      const w = writer;
      outputs.tap = (packet) => w.write(packet);
      const close = source.close.bind(source);
      Object.assign(source, {
        close: async () => {
          await close();
          w.close();
        },
      });
    }
    if (options.user !== null) {
      const result = dropPrivileges(options.user);
      if (result.kind === 'not-root') process.stderr.write(`smtpscope: ${result.warning}\n`);
    }
  } catch (error) {
    // The capture is already running: left open, it would keep the process alive after the error.
    await source.close();
    throw error;
  }
  return { kind: 'source', open: async () => source };
}

/**
 * Connection options for the ClickHouse sink and `clickhouse-replay`, from the flags: database, user and
 * password from their flags, else from the URL (`http://user:password@host:8123/db`), else the defaults.
 */
export function clickHouseConnection(options: CliOptions): ClickHouseTarget & { createTables: boolean } {
  const ch = options.clickhouse;
  if (ch.url === null)
    throw new UsageError('--clickhouse URL is required (for example http://127.0.0.1:8123)');
  try {
    const target = resolveClickHouseTarget({
      url: ch.url,
      ...(ch.database === null ? {} : { database: ch.database }),
      ...(ch.username === null ? {} : { username: ch.username }),
      ...(ch.password === null ? {} : { password: ch.password }),
    });
    return { ...target, createTables: ch.createTables };
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(`--clickhouse: ${error.message}`);
    throw error;
  }
}
